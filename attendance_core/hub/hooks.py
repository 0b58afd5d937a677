"""Code the running hub calls (named in the ``jupyterhub_config.py`` that :mod:`.plan` writes)."""
from __future__ import annotations

import hashlib
import ipaddress
import os
from pathlib import Path
from typing import Callable

from ..config import load_settings
from ..server.scrub import scrub_logs
from .plan import HubError, check_shared_records, open_directory, records_users

__all__ = ["install", "post_auth", "pre_spawn", "refuse_foreign_hosts", "runtime_dir", "scrub_logs"]


def install(c, users_for: str | None = None) -> None:
    """What every hub of the project sets in code (its ``jupyterhub_config.py``, or Zero to JupyterHub's
    ``hub.extraConfig``): no token in the log, even URL-encoded in a redirect's ``next=``; :func:`pre_spawn` and
    :func:`post_auth`. users_for: an authenticator (a key of ``AUTHENTICATORS``) whose admins and allowed users are
    read from the records now (:func:`.plan.records_users`), as a district's hub does when its pod starts."""
    scrub_logs()
    c.Spawner.pre_spawn_hook = pre_spawn
    c.Authenticator.post_auth_hook = post_auth
    if users_for is not None:
        c.Authenticator.update(records_users(load_settings(), users_for))


def _record_sign_in(name: str) -> None:
    """Record a first sign-in as a teacher with no class, and refuse a second user while the records are
    an SQLite file (:func:`check_shared_records`, raises :class:`.plan.HubError`)."""
    settings = load_settings()
    store, directory = open_directory(settings)
    try:
        directory.ensure_user(name)
        check_shared_records(settings, [u.name for u in directory.users()])
    finally:
        store.close()


def post_auth(authenticator, handler, authentication: dict) -> dict:
    """After a successful login: :func:`_record_sign_in` (a refusal is the login page's error message)."""
    from tornado import web

    try:
        _record_sign_in(authentication["name"])
    except HubError as err:
        raise web.HTTPError(403, str(err)) from None
    return authentication


def pre_spawn(spawner) -> None:
    """Before a teacher's own server starts (``hub_dashboards = "per-teacher"``): :func:`_record_sign_in`.
    With the shared dashboard (the default) no teacher server starts: the hub sends teachers to it."""
    settings = load_settings()
    if settings.hub_dashboards == "shared":
        raise HubError("this hub serves every teacher's dashboard at /services/dashboard/ (hub_dashboards = "
                       "\"shared\"): no server of one's own is started")
    _record_sign_in(spawner.user.name)


def runtime_dir(base: str) -> Callable[[object], str]:
    """``JUPYTER_RUNTIME_DIR`` of each teacher's server: a short private folder under ``base`` per user.

    The kernels' Unix sockets live there, and a socket path has at most 107 bytes: a folder named by a
    hash of the user name keeps it short whatever the name.
    """
    def for_spawner(spawner) -> str:
        folder = Path(base) / hashlib.sha256(spawner.user.name.encode()).hexdigest()[:10]
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(folder, 0o700)
        return str(folder)

    return for_spawner


#: The names of this machine a browser on it may use for a hub on 127.0.0.1.
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


def _is_loopback_address(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name, not an address


def refuse_foreign_hosts() -> None:
    """A hub on this machine only (127.0.0.1) answers only requests addressed to this machine, as
    ``attendance serve`` does: a web page of another site whose name it made resolve to 127.0.0.1 (DNS
    rebinding) gets 403 instead of the hub's pages. JupyterHub itself answers any Host header."""
    from jupyterhub.handlers.base import BaseHandler
    from tornado import web

    if getattr(BaseHandler.prepare, "attendance_host_check", False):
        return
    original = BaseHandler.prepare

    async def prepare(self):
        host = self.request.host_name.strip("[]").lower()  # without the port
        if host not in LOCAL_HOSTS and not _is_loopback_address(host):
            self.log.warning("Refused a request for another host (Host: %.100r)", self.request.host)
            raise web.HTTPError(403, "This hub answers requests for this computer only (Host not allowed)")
        return await original(self)

    prepare.attendance_host_check = True  # type: ignore[attr-defined]
    BaseHandler.prepare = prepare

