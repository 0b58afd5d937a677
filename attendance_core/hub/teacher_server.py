"""Each teacher's own server on the hub: the dashboard, and nothing else a Jupyter server can do.

JupyterHub starts one server per signed-in teacher (``jupyterhub-singleuser``, Jupyter Server with the
hub's login). This module makes that server a dashboard only:

- Voilà is the only extension loaded (no JupyterLab, no terminals, no notebook editor), through
  :mod:`.teacher_pages`, with the limits of ``attendance serve`` (template and theme fixed, a kernel cap,
  kernels of closed or never-opened pages shut down); it serves one notebook (a private copy of the
  dashboard) with the project's template, every asset from the server itself (no CDN); the server's
  default page is the dashboard;
- :class:`.authorizer.DashboardAuthorizer` refuses every Jupyter REST API but reading one's own kernels and
  connecting to their websocket: no contents (files), no new kernels, no sessions, no terminals,
  no nbconvert, no server shutdown;
- the kernel websocket passes only the widget messages the dashboard needs (``comm_*``,
  ``kernel_info_request``): an ``execute_request`` from the page is dropped, so a teacher cannot run
  code in their kernel.
"""
from __future__ import annotations

import os
from typing import Any

from ..config import Settings

#: The dashboard's page, relative to the teacher's server (``/user/NAME`` + this).
DASHBOARD_PATH = "/voila/render/attendance_dashboard.ipynb"
#: (resource, action) pairs of Jupyter Server's REST API a teacher's browser may use: read its kernel's
#: state and open the kernel's websocket (the widgets). Voilà's own pages are not behind this check.
ALLOWED = frozenset({("kernels", "read"), ("kernels", "execute")})
#: Kernel messages the page may send: the widget protocol and the kernel-info handshake, no code.
ALLOWED_MESSAGE_TYPES = ["comm_open", "comm_msg", "comm_close", "comm_info_request", "kernel_info_request"]


def server_config(settings: Settings, root_dir: str) -> dict[str, Any]:
    """The Jupyter Server configuration of a teacher's server (``jupyter_server_config.json``).

    root_dir: the folder holding the dashboard notebook, and nothing else.
    """
    from ..server import EXECUTOR, TEMPLATE, websocket_limit

    idle_seconds = round(settings.idle_kernel_minutes * 60)
    return {
        "ServerApp": {
            # Only Voilà (the hub's own extension is added by jupyterhub-singleuser itself).
            "jpserver_extensions": {"attendance_core.hub.teacher_pages": True, "voila": False, "jupyterlab": False,
                                    "jupyter_lsp": False, "notebook": False, "notebook_shim": False,
                                    "nbclassic": False, "jupyter_server_terminals": False},
            "terminals_enabled": False,
            # Root only in throw-away machines (CI); a school runs the hub under an account of its own.
            "allow_root": os.geteuid() == 0,
            "root_dir": root_dir,
            # By name: jupyterhub's server modules load in the teacher's server, not in every `attendance` command.
            "authorizer_class": "attendance_core.hub.authorizer.DashboardAuthorizer",
            "tornado_settings": {
                "websocket_max_message_size": websocket_limit(settings),
                "headers": {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"},
            },
        },
        "VoilaConfiguration": {
            "show_tracebacks": False,
            "strip_sources": True,
            "file_allowlist": [],
            "preheat_kernel": False,
            "template": TEMPLATE,  # found through JUPYTER_PATH (plan.teacher_env): no asset from another site
            "allow_template_override": "NO",
            "allow_theme_override": "NO",
        },
        "VoilaExecutor": dict(EXECUTOR),
        "KernelManager": {"transport": "ipc"},
        "MappingKernelManager": {
            "allowed_message_types": ALLOWED_MESSAGE_TYPES,
            "cull_idle_timeout": max(idle_seconds, 1) if settings.idle_kernel_minutes > 0 else 0,
            "cull_interval": max(1, min(300, idle_seconds // 2)),
            "cull_connected": True,
            "cull_busy": False,
        },
    }
