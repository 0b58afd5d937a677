"""The teacher's server's authorizer (loaded there by name: importing jupyterhub's server modules costs
about a second, which no other `attendance` command should pay)."""
from __future__ import annotations

from jupyterhub.singleuser.extension import JupyterHubAuthorizer

from .teacher_server import ALLOWED


class DashboardAuthorizer(JupyterHubAuthorizer):
    """The hub's check (this teacher's own server) plus: only :data:`ALLOWED` API actions, for everyone."""

    def is_authorized(self, handler, user, action: str, resource: str) -> bool:
        if (resource, action) not in ALLOWED:
            self.log.warning("refused %s on %s for %s (%s)", action, resource, user.username, handler.request.path)
            return False
        return super().is_authorized(handler, user, action, resource)
