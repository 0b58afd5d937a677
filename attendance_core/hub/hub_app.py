"""JupyterHub as ``attendance hub`` runs it (``python -m attendance_core.hub.hub_app -f CONFIG``): JupyterHub
itself, patient with the services it starts.

JupyterHub gives a service it starts (the shared dashboard, the API) ten tries of one second to answer, then
exits. The dashboard's server imports Voilà and Jupyter Server and preheats its kernels first: about 4 s on a
quiet two-core machine, more than 10 s on a busy one, and then the whole hub stopped at start. Here a service
whose process is still running is given up to :data:`SERVICE_START_SECONDS`; one that has exited still stops
the hub at once.
"""
from __future__ import annotations

from jupyterhub.app import JupyterHub
from jupyterhub.objects import Server
from jupyterhub.utils import AnyTimeoutError

#: How long a started service that is still running may take to answer, in all.
SERVICE_START_SECONDS = 180


class AttendanceHub(JupyterHub):
    """JupyterHub, waiting up to :data:`SERVICE_START_SECONDS` for a managed service that is still starting."""

    async def start_service(self, service_name, service, ssl_context=None):
        if await super().start_service(service_name, service, ssl_context):
            return True
        if not (service.managed and service.url) or await service.spawner.poll() is not None:
            return False  # it exited, or it is not ours to wait for: JupyterHub's answer stands
        self.log.warning("Service %s is still starting (a busy machine?): waiting up to %d s for it",
                         service_name, SERVICE_START_SECONDS)
        try:
            await Server.from_orm(service.orm.server).wait_up(http=True, timeout=SERVICE_START_SECONDS,
                                                              ssl_context=ssl_context)
        except AnyTimeoutError:
            self.log.critical("Service %s did not answer within %d s", service_name, SERVICE_START_SECONDS)
            return False
        self.log.info("Service %s answered", service_name)
        return True


main = AttendanceHub.launch_instance

if __name__ == "__main__":
    main()
