"""The hub's sign-in form with a brake, as ``attendance serve``'s has (:class:`..server.limits.LoginLimiter`).

JupyterHub's login form has none: from one address, any number of wrong passwords and unknown names were
answered at once; NativeAuthenticator locked a name after 5 failures without saying so (the right password
then got "Invalid username or password"), and refused an unknown name in 3 ms but a known one in 450 ms (its
password hash), telling which names exist. Here:

- failed logins are counted **per address** (:data:`ADDRESS_FAILURES` in 10 minutes, as ``serve``) and **per
  name**, known or not (:data:`NAME_FAILURES`): past either, the form answers 429 and **says so**, with how
  long to wait, for the right password too; a right login clears its address's and name's failures;
- with NativeAuthenticator (the default), a name is refused after **one password check whether it exists or
  not** (an unknown name is checked against a hash of the same cost), so both take the same time.

:class:`NativeLogin` and :class:`LDAPLogin` are the hub's authenticators (``hub.AUTHENTICATORS``): JupyterHub's
own with this form. The counts live in the hub's process (:data:`BRAKE`); behind a reverse proxy, the
address is the client's only if the hub trusts the proxy's ``X-Forwarded-For`` (``docs/hub.md``).
"""
from __future__ import annotations

import math
import secrets
import time
from typing import Callable

import bcrypt
from jupyterhub.handlers.login import LoginHandler
from ldapauthenticator import LDAPAuthenticator
from nativeauthenticator import NativeAuthenticator
from nativeauthenticator.handlers import LoginHandler as NativeLoginHandler

from ..server.limits import LOGIN_FAILURES_PER_ADDRESS, LOGIN_WINDOW_SECONDS, LoginLimiter, refusal_message

ADDRESS_FAILURES = LOGIN_FAILURES_PER_ADDRESS
#: Failed logins for one name (existing or not) within the window before it is locked.
NAME_FAILURES = 5
#: Failed logins from every address together before the form refuses everyone (an attack from many addresses).
TOTAL_FAILURES = 1000
WINDOW_SECONDS = LOGIN_WINDOW_SECONDS


class LoginBrake:
    """Failed logins per address and per name; which one (if any) refuses the next login, and for how long."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self.addresses = LoginLimiter(ADDRESS_FAILURES, TOTAL_FAILURES, WINDOW_SECONDS, clock)
        self.names = LoginLimiter(NAME_FAILURES, 10**9, WINDOW_SECONDS, clock)

    def refusal(self, address: str, name: str) -> tuple[str, float] | None:
        """None if a login of ``name`` from ``address`` may be tried now, else (address | total | name, seconds)."""
        found = self.addresses.refusal(address)
        if found is None and name:
            found = self.names.refusal(name)
            found = ("name", found[1]) if found else None
        return found

    def failed(self, address: str, name: str) -> None:
        self.addresses.failed(address)
        if name:
            self.names.failed(name)

    def succeeded(self, address: str, name: str) -> None:
        self.addresses.succeeded(address)
        self.names.succeeded(name)


#: The hub's brake (one hub process).
BRAKE = LoginBrake()


class BrakedLogin:
    """What a login page's handler adds (a mixin before JupyterHub's ``LoginHandler`` or one of its subclasses):
    logins refused past the brake, failures counted, and the form telling why."""

    #: Replaces the form's "Invalid username or password": a lock, or an account awaiting approval.
    login_note: str | None = None

    def _who(self) -> tuple[str, str]:
        name = self.get_body_argument("username", "", strip=True)[:256]
        try:
            name = self.authenticator.normalize_username(name)
        except Exception:  # an authenticator refusing the name's form: count it as typed
            name = name.lower()
        return self.request.remote_ip or "", name

    async def post(self):
        address, name = self._who()
        refusal = BRAKE.refusal(address, name)
        if refusal:
            scope, wait = refusal
            self.log.warning("Login of %r from %s refused: too many failed logins %s (another try in %d s)",
                             name[:32], address, {"address": "from it", "total": "in total"}.get(scope, "for the name"),
                             math.ceil(wait))
            self.login_note = refusal_message(scope, wait)
            self.set_status(429)
            self.set_header("Retry-After", str(math.ceil(wait)))
            return self.finish(await self._render(username=name[:32]))
        await LoginHandler.post(self)  # JupyterHub's form handling (NativeAuthenticator's checks the password twice)

    async def login_user(self, data=None):
        user = await super().login_user(data)
        if data is not None:
            address, name = self._who()
            if user:
                BRAKE.succeeded(address, name)
            else:
                BRAKE.failed(address, name)
                self.log.warning("Failed login of %r from %s", name[:32], address)
                refusal = BRAKE.refusal(address, name)
                if refusal:
                    self.login_note = refusal_message(*refusal)
        return user

    def _render(self, login_error=None, username=None, **kwargs):
        # only these two: NativeAuthenticator's page takes no more
        return super()._render(login_error=self.login_note or login_error, username=username)


class HubLoginPage(BrakedLogin, LoginHandler):
    """JupyterHub's login form (LDAP), braked."""


class NativeLoginPage(BrakedLogin, NativeLoginHandler):
    """NativeAuthenticator's login form (with its sign-up link), braked."""


class _Braked:
    """An authenticator whose login form is braked (a mixin before the authenticator's class)."""

    def get_handlers(self, app):
        pages = {NativeLoginHandler: NativeLoginPage, LoginHandler: HubLoginPage}
        return [(path, pages.get(handler, handler), *rest) for path, handler, *rest in super().get_handlers(app)]


_same_cost_hash: bytes | None = None


def _hash_of_nobody() -> bytes:
    """A bcrypt hash of NativeAuthenticator's cost that no password matches, made once."""
    global _same_cost_hash
    if _same_cost_hash is None:
        _same_cost_hash = bcrypt.hashpw(secrets.token_bytes(32), bcrypt.gensalt())
    return _same_cost_hash


class NativeLogin(_Braked, NativeAuthenticator):
    """NativeAuthenticator with the braked form, and one password check per login whether the name exists or not
    (its own lock after failed logins is the brake's, which says so)."""

    async def authenticate(self, handler, data):
        username = self.normalize_username(data["username"])
        user = self.get_user(username)
        stored = user.password if user is not None else _hash_of_nobody()
        valid = bcrypt.checkpw(data.get("password", "").encode(), stored)
        if user is None or not valid:
            return None
        if user.has_2fa and not user.is_valid_token(data.get("2fa")):
            return None
        if not user.is_authorized:
            handler.login_note = f"User {username} has not been authorized by an administrator yet."
            return None
        return username


class LDAPLogin(_Braked, LDAPAuthenticator):
    """LDAPAuthenticator with the braked form (the directory's answer time is the directory's)."""
