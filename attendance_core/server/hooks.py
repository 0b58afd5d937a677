"""The Voilà process of ``attendance serve``: Voilà with the limits jupyter_server does not give it.

``python -m attendance_core.server.hooks NOTEBOOK --Voila.config_file_paths=DIR`` reads its
configuration (it holds the login) as JSON on standard input, so no file on disk holds a secret, and
runs :class:`AttendanceVoila`, which adds to Voilà:

- a login form that refuses logins after too many failures, per address and in total (``limits``);
- a cap on dashboard kernels per user and in total, answered with a page saying so;
- kernels of closed pages shut down within seconds: the page's ``beforeunload`` call works in every
  login mode (the page sets the ``_xsrf`` cookie it sends), and a kernel with no open page is shut
  down when its websocket has been closed ``closed_page_seconds``;
- ``?template=`` and ``?theme=`` refused at once, before any kernel starts;
- a ``/logout`` that works, request logs without tokens or passwords;
- its own sign-in, sign-out and error pages (the template's ``page.html`` and ``login.html``: accessible,
  nothing from elsewhere);
- no life after its parent: it stops when ``attendance serve`` dies, even by ``kill -9``.
"""
from __future__ import annotations

import html
import json
import math
import os
import signal
import sys
import time
from collections import defaultdict

import jinja2
import tornado.web
from jupyter_core.utils import ensure_async
from jupyter_server.auth.decorator import allow_unauthenticated
from jupyter_server.auth.identity import IdentityProvider, PasswordIdentityProvider
from jupyter_server.auth.logout import LogoutHandler
from tornado.ioloop import IOLoop, PeriodicCallback
from traitlets import Float, Int, Type
from voila.app import Voila
from voila.shutdown_kernel_handler import VoilaShutdownKernelHandler
from voila.tornado.handler import TornadoVoilaHandler
from voila.tornado.kernel_websocket_handler import VoilaKernelWebsocketHandler, read_header_from_binary_message
from voila.voila_identity_provider import VoilaLoginHandler

from . import PARENT_ENV, TEMPLATE, TEMPLATES
from .limits import KernelQuota, LoginLimiter, refusal_message
from .scrub import scrub_logs

PR_SET_PDEATHSIG = 1
#: The pages around the dashboard (login, logout, errors): found in the dashboard's template before Jupyter
#: Server's own.
PAGE_TEMPLATES = TEMPLATES / "voila" / "templates" / TEMPLATE


def log_request(handler) -> None:
    """Jupyter's request log (successes at debug level, secret query values hidden), without metrics."""
    from jupyter_server.log import log_request as jupyter_log_request

    jupyter_log_request(handler, record_prometheus_metrics=False)


def die_with_parent(parent: int) -> None:
    """Ask Linux to send SIGTERM here when ``parent`` dies; exit now if it is already gone."""
    if not parent:
        return
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: the periodic check in Guard.sweep does it
        pass
    if os.getppid() != parent:
        sys.exit(f"attendance serve (pid {parent}) is gone; not starting")


def refusal_page(title: str, text: str) -> str:
    """A small page for a refused request (HTML-escaped)."""
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            f"<meta name='viewport' content='width=device-width, initial-scale=1.0'><title>{html.escape(title)}</title>"
            f"</head><body style='font-family: sans-serif; max-width: 40em; margin: 4em auto; padding: 0 16px'><main>"
            f"<h1>{html.escape(title)}</h1><p>{html.escape(text)}</p></main></body></html>")


class Guard:
    """The server's limits and the bookkeeping behind them, shared by the handlers (``settings["attendance"]``)."""

    def __init__(self, app: "AttendanceVoila", parent: int):
        self.app, self.parent = app, parent
        self.kernels = app.kernel_manager
        self.quota = KernelQuota(app.max_kernels_per_user, app.max_kernels)
        self.logins = LoginLimiter()
        self.connections: dict[str, int] = defaultdict(int)
        self.last_closed: dict[str, float] = {}
        self.closing: set[str] = set()
        #: Kernel id -> the signed-in user whose page took that preheated kernel, until the kernel is told
        #: (the hub's shared dashboard, ``hub/dashboard_service.py``).
        self.page_users: dict[str, str] = {}

    def opened(self, kernel_id: str) -> None:
        self.connections[kernel_id] += 1

    def closed(self, kernel_id: str) -> None:
        self.connections[kernel_id] = max(0, self.connections[kernel_id] - 1)
        self.last_closed[kernel_id] = time.time()

    def connected(self, kernel_id: str) -> int:
        """How many pages have ``kernel_id``'s websocket open now."""
        return self.connections.get(kernel_id, 0)

    def sweep(self) -> None:
        """Every second: stop with the parent; shut down the kernels whose page is gone: idle ones after
        ``closed_page_seconds`` (page closed) or ``unopened_page_seconds`` (never opened); a page's kernel still
        busy with no page connected (hung: its page gone while it works, or waiting for what never comes) after
        ``unopened_page_seconds``. Busy kernels no page has taken (Voilà's preheated ones) are left alone."""
        if self.parent and os.getppid() != self.parent:
            self.app.log.warning("attendance serve (pid %s) is gone: stopping", self.parent)
            IOLoop.current().stop()
            return
        live = list(self.kernels.list_kernel_ids())
        self.quota.keep_only(live)
        for gone in (set(self.connections) | set(self.last_closed) | set(self.page_users)) - set(live):
            self.connections.pop(gone, None)
            self.last_closed.pop(gone, None)
            self.page_users.pop(gone, None)
        now = time.time()
        for kernel_id in live:
            if kernel_id in self.closing or self.connected(kernel_id):
                continue
            try:
                kernel = self.kernels.get_kernel(kernel_id)
            except KeyError:
                continue
            if getattr(kernel, "execution_state", "") in ("busy", "starting"):
                taken = self.quota.taken_at(kernel_id)
                if taken is None:
                    continue  # preheated, waiting for a page
                closed = self.last_closed.get(kernel_id)
                quiet = now - max(taken, closed or 0)
                if quiet >= self.app.unopened_page_seconds:
                    why = "closed" if closed else "never opened"
                    IOLoop.current().add_callback(self.shut_down, kernel_id,
                                                  f"its page was {why} and it has been busy for {quiet:.0f} s (hung)")
                continue  # else still rendering the page (or working for it)
            if kernel_id in self.last_closed:
                quiet, limit, why = now - self.last_closed[kernel_id], self.app.closed_page_seconds, "closed"
            else:
                quiet, limit, why = now - kernel.last_activity.timestamp(), self.app.unopened_page_seconds, "never opened"
            quiet = min(quiet, now - kernel.last_activity.timestamp())
            if quiet >= limit:
                IOLoop.current().add_callback(self.shut_down, kernel_id, f"its page was {why} ({quiet:.0f} s)")

    async def shut_down(self, kernel_id: str, why: str) -> None:
        """Shut one kernel down (once), logging why."""
        if kernel_id in self.closing:
            return
        self.closing.add(kernel_id)
        try:
            await ensure_async(self.kernels.shutdown_kernel(kernel_id))
            self.app.log.info("Kernel %s shut down: %s", kernel_id, why)
        except KeyError:
            pass  # already gone
        finally:
            self.closing.discard(kernel_id)


class _BindOnStart:
    """The kernel manager as a dashboard page sees it: the kernel it starts is counted as its user's."""

    def __init__(self, manager, quota: KernelQuota, reservation: int):
        self._manager, self._quota, self._reservation = manager, quota, reservation

    def __getattr__(self, name):
        return getattr(self._manager, name)

    async def start_kernel(self, *args, **kwargs):
        kernel_id = await ensure_async(self._manager.start_kernel(*args, **kwargs))
        self._quota.bind(self._reservation, kernel_id)
        return kernel_id


class DashboardPageHandler(TornadoVoilaHandler):
    """The dashboard page: refuses template overrides and pages over the kernel caps; sets the _xsrf cookie."""

    _reservation: int | None = None

    @property
    def kernel_manager(self):
        manager = self.settings["kernel_manager"]
        if self._reservation is None:
            return manager
        return self.page_kernels(manager)

    def page_kernels(self, manager) -> "_BindOnStart":
        """The kernel manager as this page, holding a reservation, sees it: what it starts is its user's."""
        return _BindOnStart(manager, self.settings["attendance"].quota, self._reservation)

    def starts_kernel(self, path: str | None) -> bool:
        """Whether this request renders the dashboard (and so starts a kernel): ``attendance serve`` serves one
        notebook at its root, and Voilà redirects any other path to /voila/files/ without a kernel."""
        return not path

    def _refuse(self, status: int, title: str, text: str, retry_after: int | None = None) -> None:
        self.set_status(status)
        if retry_after:
            self.set_header("Retry-After", str(retry_after))
        self.set_header("Content-Type", "text/html; charset=UTF-8")
        self.finish(refusal_page(title, text))

    @tornado.web.authenticated
    async def get(self, path=None):
        guard: Guard = self.settings["attendance"]
        overrides = sorted(set(self.request.arguments) & {"template", "theme"})
        if overrides:
            return self._refuse(400, "Not available", f"This server shows the dashboard with its own template "
                                f"and theme: remove ?{overrides[0]}= from the address.")
        if not self.starts_kernel(path):
            return await super().get(path)
        user = self.current_user.username
        guard.quota.keep_only(self.kernel_manager.list_kernel_ids())  # kernels shut down since the last sweep
        reservation, cap = guard.quota.reserve(user)
        if reservation is None:
            if cap == "user":
                self.log.warning("Dashboard page refused: %s already has %d open (max_kernels_per_user)",
                                 user, guard.quota.per_user)
                return self._refuse(503, "Too many open dashboards", (
                    f"The dashboard is already open in {guard.quota.per_user} tabs or windows of this browser "
                    f"(the max_kernels_per_user setting). Close one of them, wait a few seconds, then reload this "
                    f"page."), retry_after=10)
            self.log.warning("Dashboard page refused: %d dashboards are open (max_kernels)", guard.quota.total)
            return self._refuse(503, "The server is busy", (
                f"The server already has {guard.quota.total} dashboards open (the max_kernels setting), the most "
                f"it serves at once. Try again in a few minutes; a dashboard closes when its tab is closed or "
                f"after it has been idle for a while."), retry_after=60)
        self._reservation = reservation
        self.xsrf_token  # sets the _xsrf cookie that Voilà's page sends with its shutdown call on unload
        try:
            await super().get(path)
        finally:
            guard.quota.release(reservation)


#: Kernel messages that never go to a page: what a kernel prints (stdout, stderr: a library's warning, a
#: traceback with the server's paths when a crafted comm_open fails) and errors. The dashboard shows its
#: errors in its own widgets; what was held back is logged by the server (the first 500 characters).
PAGE_HIDDEN_MESSAGES = frozenset({"stream", "error"})


def _hidden(message) -> tuple[str, str] | None:
    """(msg_type, its text) of a message on its way to a page that must not reach it; None for the others."""
    if isinstance(message, bytes):
        header = read_header_from_binary_message(message)  # Voilà's reader of the v1 framing
        kind = header.get("msg_type") if isinstance(header, dict) else None
        return (kind, "") if kind in PAGE_HIDDEN_MESSAGES else None
    if isinstance(message, str):
        if not any(f'"{kind}"' in message for kind in PAGE_HIDDEN_MESSAGES):
            return None  # (cheap: most messages are widget updates)
        try:
            message = json.loads(message)
        except ValueError:
            return None
    if not isinstance(message, dict):
        return None
    kind = (message.get("header") or {}).get("msg_type")
    if kind not in PAGE_HIDDEN_MESSAGES:
        return None
    content = message.get("content") or {}
    return kind, str(content.get("text") or "\n".join(content.get("traceback") or []) or content.get("evalue") or "")


class TrackedKernelWebsocketHandler(VoilaKernelWebsocketHandler):
    """The kernel websocket, counted per kernel so that a kernel with no page left can be shut down; what the
    kernel prints and its errors (:data:`PAGE_HIDDEN_MESSAGES`) are not passed to the page."""

    _tracked = False

    def write_message(self, message, binary=False):
        hidden = _hidden(message)
        if hidden:
            self.log.warning("Kernel %s: its %s output kept from the page: %.500s", self.kernel_id, *hidden)
            return None
        return super().write_message(message, binary)

    async def open(self, kernel_id):
        await super().open(kernel_id)
        self.settings["attendance"].opened(kernel_id)
        self._tracked = True

    def on_close(self):
        super().on_close()
        if self._tracked:
            self._tracked = False
            self.settings["attendance"].closed(self.kernel_id)


class OwnKernelShutdownHandler(VoilaShutdownKernelHandler):
    """The page's shutdown call on unload: only for the caller's own kernel; an unknown kernel is a 404."""

    @tornado.web.authenticated
    async def post(self, kernel_id):
        guard: Guard = self.settings["attendance"]
        owner = guard.quota.owner(kernel_id)
        if owner is not None and owner != self.current_user.username:
            raise tornado.web.HTTPError(403)
        if kernel_id not in self.kernel_manager or kernel_id in guard.closing:
            raise tornado.web.HTTPError(404)
        guard.closing.add(kernel_id)
        try:
            await super().post(kernel_id)
            self.log.info("Kernel %s shut down: its page was closed", kernel_id)
        finally:
            guard.closing.discard(kernel_id)


class LimitedLoginHandler(VoilaLoginHandler):
    """Voilà's login form, refusing an address (or everyone) after too many failed logins; logged."""

    @allow_unauthenticated
    def post(self):
        guard: Guard = self.settings["attendance"]
        address = self.request.remote_ip
        refusal = guard.logins.refusal(address)
        if refusal:
            scope, wait = refusal
            self.log.warning("Login from %s refused: too many failed logins %s (another try in %d s)",
                             address, "from it" if scope == "address" else "in total", math.ceil(wait))
            self.set_status(429)
            self.set_header("Retry-After", str(math.ceil(wait)))
            return self._render(message={"error": refusal_message(scope, wait)})
        super().post()
        if self.get_status() == 401:
            guard.logins.failed(address)
            self.log.warning("Failed login from %s", address)
            if guard.logins.refusal(address):
                self.log.warning("Logins from %s are refused for a while: too many failed logins", address)
        elif self.current_user:
            guard.logins.succeeded(address)


class LimitedIdentityProvider(PasswordIdentityProvider):
    """Jupyter's password and token login, with tokens counted as logins: a wrong ``?token=`` (or
    ``Authorization: token``) is a failed login, and an address refused for too many failures is not let in
    by the right one."""

    async def get_user_token(self, handler):
        guard: Guard | None = handler.settings.get("attendance")
        offered = self.get_token(handler)
        if guard is None or not offered or not self.token:
            return await super().get_user_token(handler)
        address = handler.request.remote_ip
        if guard.logins.refusal(address):
            self.log.warning("Token login from %s refused: too many failed logins", address)
            return None
        user = await super().get_user_token(handler)
        if user is None:
            guard.logins.failed(address)
            self.log.warning("Failed token login from %s", address)
        return user


class VoilaLogoutHandler(LogoutHandler):
    """jupyter_server's logout page, with Voilà's static files (jupyter_server's answers 500 under Voilà)."""

    static_url = VoilaLoginHandler.static_url


class AttendanceVoila(Voila):
    """Voilà with the dashboard server's limits (see the module's docstring)."""

    max_kernels = Int(10, config=True, help="Dashboard kernels open at once, all users together.")
    max_kernels_per_user = Int(3, config=True, help="Dashboard kernels open at once for one login.")
    closed_page_seconds = Float(10.0, config=True,
                                help="A kernel whose page closed its websocket this long ago is shut down.")
    unopened_page_seconds = Float(120.0, config=True,
                                  help="A kernel whose page never connected is shut down after this long idle.")
    identity_provider_class = Type(default_value=LimitedIdentityProvider, klass=IdentityProvider, config=True,
                                   help="Password and token login, wrong tokens counted as failed logins.")

    def init_settings(self):
        settings = super().init_settings()
        self.identity_provider.login_handler_class = LimitedLoginHandler
        self.identity_provider.logout_handler_class = VoilaLogoutHandler
        self.guard = Guard(self, int(os.environ.pop(PARENT_ENV, "0") or 0))
        settings.update(log_function=log_request, attendance=self.guard)
        pages = settings["jinja2_env"]
        pages.loader = jinja2.ChoiceLoader([jinja2.FileSystemLoader(str(PAGE_TEMPLATES)), pages.loader])
        return settings

    def init_handlers(self):
        ours = {TornadoVoilaHandler: DashboardPageHandler, VoilaKernelWebsocketHandler: TrackedKernelWebsocketHandler,
                VoilaShutdownKernelHandler: OwnKernelShutdownHandler}
        return [(spec[0], ours.get(spec[1], spec[1]), *spec[2:]) for spec in super().init_handlers()]

    def listen(self):
        PeriodicCallback(self.guard.sweep, 1000).start()
        super().listen()


def main(argv: list[str] | None = None) -> None:
    """Run the dashboard's Voilà with the JSON configuration read from standard input."""
    from traitlets.config import Config

    config = json.loads(sys.stdin.read() or "{}")
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)  # kernels must not inherit the pipe the configuration came through
    os.close(devnull)
    die_with_parent(int(os.environ.get(PARENT_ENV, "0") or 0))
    secrets = (config.get("Voila", {}).get("token") or "",
               config.get("PasswordIdentityProvider", {}).get("hashed_password") or "")
    scrub_logs(tuple(s for s in secrets if s))
    AttendanceVoila.launch_instance(sys.argv[1:] if argv is None else argv, config=Config(config))


if __name__ == "__main__":
    main()
