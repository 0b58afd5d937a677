"""The teachers' dashboard on the hub: one Voilà server for every teacher, a JupyterHub service.

``attendance hub`` runs this as the hub's service ``dashboard`` (``/services/dashboard/``): the same
Voilà as ``attendance serve`` (:mod:`..server.hooks`: the project's template, ``?template=`` refused, kernel
caps, kernels of closed pages shut down, no code from the page), with

- **the hub's login** (JupyterHub OAuth, as every jupyter server on a hub): only users with access to this
  service get a page; who they are comes from the hub, never from the request;
- **preheated kernels**: ``dashboard_warm_kernels`` kernels wait with the dashboard's imports done and
  its page rendered up to the teacher's name (Voilà's ``preheat_kernel``), so signing in takes a kernel
  that is ready instead of starting one;
- **every kernel its teacher's**: the page's kernel learns the signed-in name from this server (a preheated
  kernel through Voilà's request-info channel, a new one through its environment), and only that teacher
  may open its websocket, read or shut it down;
- kernels without the service's hub token (nothing of ``JUPYTERHUB_*`` but the teacher's name).

One process serves every teacher: its imports and the notebook's template are loaded once per machine
instead of once per teacher (``docs/hub.md``, "Sized by measurement").
"""
from __future__ import annotations

import hmac
import os
import secrets
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import tornado.web
from jupyter_server.services.kernels.handlers import KernelHandler
from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager
from jupyterhub.singleuser.extension import JupyterHubIdentityProvider
from traitlets import Type
from voila.request_info_handler import RequestInfoSocketHandler

from ..config import load_settings
from ..school.access import HUB_USER_ENV, REQUEST_INFO_HEADER, REQUEST_INFO_SECRET_ENV, SHARED_DASHBOARD_ENV
from ..server import SAME_SITE, SECRET_ENVS, is_loopback
from ..server.hooks import AttendanceVoila, DashboardPageHandler, TrackedKernelWebsocketHandler, _BindOnStart
from ..server.scrub import scrub_logs

#: Set by :class:`DashboardKernels` from the page's signed-in user; becomes the kernel's ``JUPYTERHUB_USER``.
_PAGE_USER = "_ATTENDANCE_PAGE_USER"
#: A preheated kernel taken by a page is replaced this long after: when teachers sign in together, the
#: replacements (3 core-seconds each) start after the rush instead of slowing every page of it down; a
#: teacher who finds no kernel ready gets one started for their page at once.
REFILL_SECONDS = 60.0
#: What a page's kernel gets of the service's environment: the dashboard's settings (``ATTENDANCE_*``, among
#: them the records' database and the recognition pool), Voilà's own, the teacher's name this server sets,
#: and the basics of a Python process. Not the service's hub credentials (``JUPYTERHUB_*``, ``JPY_*``), serve's
#: login secrets, nor the Jupyter folders of the server (``JUPYTER_RUNTIME_DIR`` holds every kernel's
#: connection file). See docs/hub.md, "What a page's kernel can reach".
KERNEL_ENV = ("PATH", "LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "TZ", "HOME", "TMPDIR", "PYTHONPATH", "VIRTUAL_ENV",
              "JUPYTER_NO_CONFIG", _PAGE_USER)
KERNEL_ENV_PREFIXES = ("ATTENDANCE_", "VOILA_")


def kernel_environment(environ) -> dict[str, str]:
    """The environment a page's kernel starts with: :data:`KERNEL_ENV` and :data:`KERNEL_ENV_PREFIXES` of ``environ``."""
    return {k: v for k, v in environ.items()
            if (k in KERNEL_ENV or k.startswith(KERNEL_ENV_PREFIXES)) and k not in SECRET_ENVS}


class DashboardKernels(AsyncMappingKernelManager):
    """The kernels of the dashboard pages: started without the service's hub credentials; a kernel started
    for a page (not preheated) gets the page's signed-in user as ``JUPYTERHUB_USER``; each kernel a secret of
    its own for the request-info channel (:class:`PageRequestInfoHandler`)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._request_secrets: dict[str, str] = {}

    async def start_kernel(self, *args, **kwargs):
        env = kernel_environment(kwargs.get("env") or os.environ)
        user = env.pop(_PAGE_USER, None)
        if user:
            env[HUB_USER_ENV] = user
        env[SHARED_DASHBOARD_ENV] = "1"
        env[REQUEST_INFO_SECRET_ENV] = secret = secrets.token_urlsafe(32)
        kernel_id = await super().start_kernel(*args, **{**kwargs, "env": env})
        self._request_secrets[kernel_id] = secret
        return kernel_id

    async def shutdown_kernel(self, kernel_id, *args, **kwargs):
        self._request_secrets.pop(kernel_id, None)
        return await super().shutdown_kernel(kernel_id, *args, **kwargs)

    def request_secret(self, kernel_id: str) -> str | None:
        """The secret kernel ``kernel_id`` was started with (None: no such kernel of this server)."""
        return self._request_secrets.get(kernel_id)


class HubIdentityProvider(JupyterHubIdentityProvider):
    """The hub's OAuth login for this service (JupyterHub's own identity provider for jupyter servers),
    with no token of its own: Voilà would print the service's API token in its URL otherwise."""

    def __init__(self, **kwargs):
        kwargs.pop("token", None)  # Voilà passes one to every identity provider
        super().__init__(**kwargs)

    @property
    def token(self) -> str:
        return ""


class _TeachersKernel(_BindOnStart):
    """The kernel manager as one teacher's page sees it: the kernel it takes, preheated or new, is bound to
    the teacher (counted in their quota, theirs alone), and learns the teacher's name from this server."""

    def __init__(self, manager, guard, reservation: int, user: str):
        super().__init__(manager, guard.quota, reservation)
        self._guard, self._user = guard, user

    def get_pool_size(self, notebook: str) -> int:
        # Kernels still starting do not count: a teacher beyond the ready ones starts a kernel at once
        # instead of queueing behind a refill.
        pools = getattr(self._manager, "_pools", {})  # Voilà's preheated kernels (none with 0 warm kernels)
        return sum(1 for task in pools.get(notebook, []) if task.done() and not task.exception())

    async def get_rendered_notebook(self, *args, **kwargs):
        render_task, rendered, kernel_id = await self._manager.get_rendered_notebook(*args, **kwargs)
        self._quota.bind(self._reservation, kernel_id)
        self._guard.page_users[kernel_id] = self._user  # sent with the request's info (PageRequestInfoHandler)
        self._guard.app.log.info("Dashboard page of %s: kernel %s (preheated)", self._user, kernel_id)
        return render_task, rendered, kernel_id

    async def start_kernel(self, *args, **kwargs):
        kwargs["env"] = {**(kwargs.get("env") or {}), _PAGE_USER: self._user}
        kernel_id = await super().start_kernel(*args, **kwargs)
        self._guard.app.log.info("Dashboard page of %s: kernel %s (started for it)", self._user, kernel_id)
        return kernel_id


class HubPageHandler(DashboardPageHandler):
    """The dashboard page: a kernel of the signed-in teacher's own, preheated when one is ready."""

    def page_kernels(self, manager) -> _TeachersKernel:
        return _TeachersKernel(manager, self.settings["attendance"], self._reservation, self.current_user.username)


def _check_owner(handler, kernel_id: str) -> None:
    """403 unless the signed-in user's page started ``kernel_id``."""
    owner = handler.settings["attendance"].quota.owner(kernel_id)
    if owner is None or owner != handler.current_user.username:
        handler.log.warning("Refused %s access to kernel %s (not their page's)", handler.current_user.username,
                            kernel_id)
        raise tornado.web.HTTPError(403, "Not your dashboard's kernel")


class OwnKernelWebsocketHandler(TrackedKernelWebsocketHandler):
    """The kernel websocket, for the teacher whose page started the kernel only."""

    async def pre_get(self):
        _check_owner(self, self.kernel_id)
        await super().pre_get()


class OwnKernelHandler(KernelHandler):
    """A kernel's state, for its teacher only; shutting down goes through the page's own call."""

    async def prepare(self):
        await super().prepare()
        if self.current_user is None:
            return  # not signed in: refused by the handler's own check
        if self.request.method != "GET":
            raise tornado.web.HTTPError(405)
        _check_owner(self, self.path_kwargs.get("kernel_id", ""))


class PageRequestInfoHandler(RequestInfoSocketHandler):
    """Voilà's request-info channel to a preheated kernel, carrying the signed-in teacher's name to the kernel
    that serves their page: for that kernel only, which proves it with the secret it was started with.

    Voilà's channel answers anyone who knows a kernel id (``ps`` shows them to every account of the machine) and
    keeps one listener per kernel, the newest: a stranger's connection took the teacher's name and left the page
    waiting. Without the kernel's secret, or through the hub's proxy, the answer is 403 (logged)."""

    def get(self, kernel_id: str, *args, **kwargs):
        expected = getattr(self.settings["kernel_manager"], "request_secret", lambda _: None)(kernel_id)
        offered = self.request.headers.get(REQUEST_INFO_HEADER, "")
        if (self.request.headers.get("X-Forwarded-For") or not is_loopback(self.request.remote_ip or "")
                or not expected or not hmac.compare_digest(offered.encode(), expected.encode())):
            log = self.settings["attendance"].app.log
            log.warning("Refused the request-info channel of kernel %s to %s: %s", kernel_id[:36],
                        self.request.remote_ip, "not its kernel's secret" if expected else "no such kernel")
            raise tornado.web.HTTPError(403)
        return super().get(kernel_id, *args, **kwargs)

    def open(self, kernel_id: str) -> None:
        self._for_kernel = kernel_id
        super().open(kernel_id)

    def write_message(self, message, binary=False):
        if isinstance(message, dict):
            user = self.settings["attendance"].page_users.pop(getattr(self, "_for_kernel", ""), None)
            message = {**message, HUB_USER_ENV: user or ""}
        return super().write_message(message, binary)


class HubDashboardVoila(AttendanceVoila):
    """:class:`..server.hooks.AttendanceVoila` behind the hub's login, with preheated kernels that are each
    one teacher's (see the module's docstring)."""

    identity_provider_class = Type(default_value=HubIdentityProvider, config=True,
                                   help="The hub's OAuth login.")

    def init_settings(self):
        settings = super().init_settings()
        settings["login_url"] = self.identity_provider.hub_auth.login_url
        return settings

    def init_handlers(self):
        ours = {DashboardPageHandler: HubPageHandler, TrackedKernelWebsocketHandler: OwnKernelWebsocketHandler,
                KernelHandler: OwnKernelHandler, RequestInfoSocketHandler: PageRequestInfoHandler}
        handlers = []
        for spec in super().init_handlers():
            pattern, handler = spec[0], ours.get(spec[1], spec[1])
            if not pattern.startswith(self.server_url):  # the identity provider's /logout and /oauth_callback
                pattern = self.server_url.rstrip("/") + pattern
            handlers.append((pattern, handler, *spec[2:]))
        return handlers


def voila_config(settings, notebook: Path, port: int, base_url: str, ip: str = "127.0.0.1") -> dict[str, Any]:
    """The service's Voilà configuration: ``attendance serve``'s, on ``ip``:``port`` under ``base_url``, with
    the hub's login and ``settings.dashboard_warm_kernels`` preheated kernels.

    ip: 127.0.0.1 when the hub starts the service; a dashboard in a pod of its own (a hub's external
    service) listens on 0.0.0.0, its kernels still reaching it on 127.0.0.1.
    """
    from ..server import plan_server

    config = plan_server(settings, "127.0.0.1", port, token="", notebook=notebook).voila_config
    config.pop("PasswordIdentityProvider", None)
    config["Voila"].update(ip=ip, base_url=base_url, token=None)
    config["Voila"]["tornado_settings"]["allow_remote_access"] = True  # the hub's proxy forwards its own Host
    warm = settings.dashboard_warm_kernels
    config["VoilaConfiguration"].update(
        preheat_kernel=warm > 0, default_pool_size=warm,
        multi_kernel_manager_class="attendance_core.hub.dashboard_service.DashboardKernels")
    config["VoilaKernelManager"] = {"fill_delay": REFILL_SECONDS}
    # The hub's OAuth cookies of this service (service-dashboard, its -oauth-state) SameSite as every other
    # cookie: JupyterHub gives a spawned server this option, not a service.
    config["HubOAuth"] = {"cookie_options": dict(SAME_SITE)}
    config["AttendanceVoila"] = {"max_kernels": settings.hub_max_kernels,
                                 "max_kernels_per_user": settings.max_kernels_per_user}
    return config


def main(argv: list[str] | None = None) -> None:
    """Run the service, as the hub starts it: ``python -m attendance_core.hub.dashboard_service NOTEBOOK``."""
    from traitlets.config import Config

    notebook = Path((argv if argv is not None else sys.argv[1:])[0])
    service_url = urlparse(os.environ["JUPYTERHUB_SERVICE_URL"])
    base_url = os.environ["JUPYTERHUB_SERVICE_PREFIX"]
    os.environ.pop(HUB_USER_ENV, None)  # a kernel's teacher comes from its page's request, nothing else
    settings = load_settings()
    config = voila_config(settings, notebook, service_url.port, base_url, service_url.hostname or "127.0.0.1")
    scrub_logs((os.environ.get("JUPYTERHUB_API_TOKEN", ""),))
    HubDashboardVoila.launch_instance([str(notebook)], config=Config(config))


if __name__ == "__main__":
    main()
