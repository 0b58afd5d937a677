"""The dashboard pages of a teacher's server on the hub, with the limits ``attendance serve`` has.

A Jupyter Server extension, loaded instead of Voilà's own (``teacher_server.server_config``): it loads
Voilà's extension with the served dashboard's page and shutdown handlers (:mod:`..server.hooks`), so that
a teacher's server, like ``attendance serve``:

- loads nothing from another site (the project's template, no MathJax); its cookies are SameSite=Lax;
- refuses ``?template=`` and ``?theme=`` at once (400), before any kernel starts;
- opens at most ``max_kernels_per_user`` dashboards at once (a teacher's server is theirs alone), and
  answers more with a page saying so (503);
- shuts down a kernel whose page closed (after seconds) or never connected (after two idle minutes), by
  the websocket connections jupyter_server counts for each kernel.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any
from unittest import mock

from ..config import load_settings
from ..server import SAME_SITE
from ..server.hooks import DashboardPageHandler, Guard, OwnKernelShutdownHandler
from ..server.scrub import scrub_logs


@dataclass
class TeacherLimits:
    """What :class:`..server.hooks.Guard` asks of its server, for a teacher's Jupyter Server."""

    kernel_manager: Any
    log: Any
    max_kernels_per_user: int
    closed_page_seconds: float = 10.0
    unopened_page_seconds: float = 120.0

    @property
    def max_kernels(self) -> int:
        return self.max_kernels_per_user  # one teacher per server


class ServerGuard(Guard):
    """:class:`..server.hooks.Guard` for a Jupyter Server: the pages' websockets are jupyter_server's own,
    counted by its kernel manager; a page is closed when its kernel's count falls to 0."""

    def __init__(self, limits: TeacherLimits):
        super().__init__(limits, parent=0)  # type: ignore[arg-type]

    def connected(self, kernel_id: str) -> int:
        count = getattr(self.kernels, "_kernel_connections", {}).get(kernel_id, 0)
        if self.connections.get(kernel_id) and not count:  # its last page just closed
            self.last_closed[kernel_id] = time.time()
        self.connections[kernel_id] = count  # the sweep forgets the kernels that are gone
        return count


class TeacherPageHandler(DashboardPageHandler):
    """The dashboard page of a teacher's server: Voilà's extension mode names the notebook in the path
    (``/voila/render/attendance_dashboard.ipynb``), so every render is a page with a kernel."""

    def starts_kernel(self, path: str | None) -> bool:
        return True


def _jupyter_server_extension_points():
    return [{"module": "attendance_core.hub.teacher_pages"}]


def _load_jupyter_server_extension(server_app) -> None:
    from tornado.ioloop import PeriodicCallback
    import voila.server_extension as voila_extension

    scrub_logs()  # a token in a logged address, even URL-encoded in a redirect's next=, as on the hub
    settings = load_settings()
    guard = ServerGuard(TeacherLimits(server_app.kernel_manager, server_app.log, settings.max_kernels_per_user))
    server_app.web_app.settings["attendance"] = guard
    # No MathJax from a CDN: Voilà's page loads it from cdnjs unless the server names another place, and
    # standalone Voilà (``attendance serve``) names none. The dashboard shows no equations.
    server_app.web_app.settings.update(mathjax_url=None, mathjax_config=None)
    # The server's _xsrf cookie, like the hub's cookies (tornado_settings in plan.py), not sent with another
    # site's requests (jupyter_server sets only its path).
    server_app.web_app.settings.setdefault("xsrf_cookie_kwargs", {}).update(SAME_SITE)
    with mock.patch.object(voila_extension, "TornadoVoilaHandler", TeacherPageHandler), \
            mock.patch.object(voila_extension, "VoilaShutdownKernelHandler", OwnKernelShutdownHandler):
        voila_extension._load_jupyter_server_extension(server_app)
    PeriodicCallback(guard.sweep, 1000).start()
    server_app.log.info("Dashboard pages: at most %d open, ?template= and ?theme= refused", settings.max_kernels_per_user)
