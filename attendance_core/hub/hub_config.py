"""What every hub of the project is configured with, wherever it runs: on one machine (:mod:`.plan`, ``attendance
hub``) or on a district's Kubernetes with Zero to JupyterHub (:mod:`.district`, its Helm values).

The sign-in form's rules, the custom scope of the attendance API, what a user may reach, where a teacher lands after
login, the cookies, the hub's pages, its services (each named with the module that serves it), when idle servers are
culled, and the environment of the shared dashboard. Where each runs (addresses, ports, folders, commands, the hub's
own database) is the caller's.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from ..config import Settings
from ..server import SAME_SITE, TEMPLATES
from . import AUTHENTICATORS, DASHBOARD_SERVICE

MIN_PASSWORD_LENGTH = 8
#: The hub's page templates (found before JupyterHub's own).
HUB_TEMPLATES = Path(__file__).resolve().parent / "templates"
#: The module each of the hub's services runs (``python -m MODULE``); the dashboard's is given its notebook too.
SERVICE_MODULES = {"attendance-api": "attendance_core.api", DASHBOARD_SERVICE: "attendance_core.hub.dashboard_service"}


def common_config(settings: Settings, authenticator: str, template_paths: list[str] | None = None
                  ) -> dict[str, dict[str, Any]]:
    """JupyterHub's configuration sections that are the same wherever the hub runs. ``services`` name each service
    (see :data:`SERVICE_MODULES`) without its address or command; ``load_roles`` holds the users' role.

    authenticator: a key of :data:`.AUTHENTICATORS`. template_paths: where the hub's page templates are (default:
    this installation's :data:`HUB_TEMPLATES`).
    """
    from ..api import SCOPE, SCOPE_DESCRIPTION, SERVICE_NAME

    services: list[dict[str, Any]] = [{"name": SERVICE_NAME}]
    user_scopes = ["self", SCOPE]
    landing: dict[str, Any] = {"redirect_to_server": True}  # after login, straight to the teacher's own server
    if settings.hub_dashboards == "shared":
        # One dashboard server for every teacher (dashboard_service.py): after login, straight to it; no
        # teacher server is started (hooks.pre_spawn refuses), a first sign-in is recorded at login instead.
        services.append({"name": DASHBOARD_SERVICE, "oauth_no_confirm": True})
        user_scopes.append(f"access:services!service={DASHBOARD_SERVICE}")
        landing = {"default_url": f"/services/{DASHBOARD_SERVICE}/", "redirect_to_server": False}
    return {
        "JupyterHub": {
            "authenticator_class": AUTHENTICATORS[authenticator],
            **landing,
            # Every cookie of the hub and of the teachers' servers (the spawner passes these on): not sent
            # with another site's requests.
            "tornado_settings": {"cookie_options": dict(SAME_SITE)},
            # The hub's pages with readable contrast (hub/templates/page.html; docs/dashboard.md, "Accessibility").
            "template_paths": template_paths or [str(HUB_TEMPLATES)],
            "template_vars": {"native_authenticator": authenticator == "native"},
            # The attendance API for the school's information system (docs/school.md): a token needs SCOPE.
            "custom_scopes": {SCOPE: {"description": SCOPE_DESCRIPTION}},
            "services": services,
            "load_roles": [{"name": "user", "scopes": user_scopes}],
        },
        "NativeAuthenticator": {
            "enable_signup": True,
            "open_signup": False,
            "minimum_password_length": MIN_PASSWORD_LENGTH,
            "check_common_password": True,
            # Failed logins are braked per address and per name by the login form (login.py), which says so.
            "allowed_failed_logins": 0,
        },
    }


def idle_culling(settings: Settings) -> tuple[int, int] | None:
    """``(timeout, every)`` in seconds for ``jupyterhub-idle-culler`` (teachers' servers idle for
    ``idle_kernel_minutes``), or None when that setting is 0."""
    if settings.idle_kernel_minutes <= 0:
        return None
    idle_seconds = round(settings.idle_kernel_minutes * 60)
    return max(idle_seconds, 60), max(30, min(300, idle_seconds // 2))


#: The idle culler's rights (jupyterhub-idle-culler's README: the least it needs).
CULLER_SCOPES = ["list:users", "read:users:activity", "read:servers", "delete:servers"]


def dashboard_environment(settings: Settings) -> dict[str, str]:
    """The environment the hub gives the dashboards (the shared one and teachers' own servers) besides the
    hub's own ``ATTENDANCE_*`` settings: the settings' folders and records, the Voilà template, the kernel caps."""
    env = {
        "JUPYTERHUB_SINGLEUSER_EXTENSION": "1",
        "JUPYTER_NO_CONFIG": "1",
        "ATTENDANCE_ROSTER_DIR": str(settings.roster_dir.resolve()),
        "ATTENDANCE_DATA_DIR": str(settings.data_dir.resolve()),
        "ATTENDANCE_DATABASE_URL": settings.resolved_database_url(),
        "JUPYTER_PATH": str(TEMPLATES),  # the dashboard's Voilà template
        "ATTENDANCE_MAX_KERNELS_PER_USER": str(settings.max_kernels_per_user),  # read by teacher_pages
        # A token in a page's address (?token=) signs no one in: only the hub's login does (JupyterHub 5's
        # default, kept whatever the machine's environment says).
        "JUPYTERHUB_ALLOW_TOKEN_IN_URL": "0",
    }
    if settings.classes_dir:
        env["ATTENDANCE_CLASSES_DIR"] = str(Path(settings.classes_dir).resolve())
    if settings.source != "defaults":
        env["ATTENDANCE_CONFIG"] = str(Path(settings.source).resolve())
    return env
