"""The API's Tornado handlers; identity from a hub token, reads through :class:`~attendance_core.school.access.UserStore`."""
from __future__ import annotations

import json
import logging
from datetime import date, datetime, timezone
from typing import Any

import tornado.web

from ..errors import AttendanceError
from ..records import RecordsError, Store, UnknownClassError
from ..school.access import AccessError, PermissionDenied, UserStore
from . import SCOPE

log = logging.getLogger("attendance.api")


class _Handler(tornado.web.RequestHandler):
    """Checks the caller's token with the hub, and its scope, before any read."""

    caller: str | None = None

    def _token(self) -> str:
        header = self.request.headers.get("Authorization", "")
        kind, _, token = header.partition(" ")
        return token.strip() if kind.lower() in ("token", "bearer") else ""

    async def prepare(self) -> None:
        token = self._token()
        model = await self.settings["hub_auth"].user_for_token(token, sync=False) if token else None
        if not model:
            self._fail(401, "send a JupyterHub API token: Authorization: token TOKEN")
        self.caller = model.get("name")
        if model.get("kind", "user") != "user":
            self._fail(403, "only a user's token reads attendance (a teacher's classes, an admin's every class)")
        if SCOPE not in (model.get("scopes") or []):
            self._fail(403, f"this token lacks the scope {SCOPE}")

    def _fail(self, status: int, message: str) -> None:
        self.set_status(status)
        self.finish({"error": message})
        raise tornado.web.Finish()

    def _reader(self) -> UserStore:
        return UserStore(self.settings["store"], self.caller)

    def send(self, body: Any) -> None:
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(body))

    def write_error(self, status_code: int, **kwargs) -> None:
        self.finish({"error": self._reason})

    def on_finish(self) -> None:
        log.info("api: %s %s %s -> %d", self.caller or "-", self.request.method, self.request.uri,
                 self.get_status())


class ClassesHandler(_Handler):
    def get(self) -> None:
        with _Errors(self):
            self.send({"classes": self._reader().classes()})


#: The earliest and latest ``since`` answered (in UTC): what every database and datetime can hold.
SINCE_RANGE = (datetime(1900, 1, 1), datetime(9999, 1, 1))


def parse_since(values: list[bytes]) -> datetime | None:
    """The ``since`` of a query (its raw values): None when absent or empty, else a naive datetime (local time,
    as the records take it). Raises ValueError with the message for a 400."""
    if len(values) > 1:
        raise ValueError("give since once")
    try:
        text = values[0].decode("utf-8") if values else ""
        if not text:
            return None
        if len(text) == 10:
            since = datetime.combine(date.fromisoformat(text), datetime.min.time())
        else:
            since = datetime.fromisoformat(text)
        utc = since.astimezone(timezone.utc).replace(tzinfo=None)
    except (ValueError, OverflowError, OSError):
        utc = None
    if utc is None or not SINCE_RANGE[0] <= utc < SINCE_RANGE[1]:
        shown = values[0].decode("utf-8", "replace")[:40]
        raise ValueError(f"since must be a date (YYYY-MM-DD) or date-time (ISO 8601) between "
                         f"{SINCE_RANGE[0].year} and {SINCE_RANGE[1].year - 1}, not {shown!r}")
    return since.astimezone().replace(tzinfo=None) if since.tzinfo else since


class AttendanceHandler(_Handler):
    def get(self, class_name: str) -> None:
        try:
            since = parse_since(self.request.query_arguments.get("since", []))
        except ValueError as err:
            self._fail(400, str(err))
        with _Errors(self):
            sessions = self._reader().attendance_since(class_name, since)
            self.send({"class": class_name, "since": self.get_query_argument("since", "") or None,
                       "sessions": sessions})


class _Errors:
    """Records and access errors as JSON answers: 403 for another teacher's class, 404 for no such class."""

    def __init__(self, handler: _Handler):
        self.handler = handler

    def __enter__(self):
        return self

    def __exit__(self, kind, error, tb) -> bool:
        if isinstance(error, PermissionDenied):
            self.handler._fail(403, str(error))
        if isinstance(error, UnknownClassError):  # the store's message lists the school's classes: not passed on
            self.handler._fail(404, f"no class {error.class_name!r}")
        if isinstance(error, (RecordsError, AccessError)):
            self.handler._fail(404, str(error))
        if isinstance(error, AttendanceError):
            self.handler._fail(400, str(error))
        return False


def make_app(store: Store, hub_auth, prefix: str = "/services/attendance-api/") -> tornado.web.Application:
    """The API's application: ``{prefix}v1/classes`` and ``{prefix}v1/classes/CLASS/attendance?since=DATE``.

    store: the records; hub_auth: answers ``user_for_token(token, sync=False)`` with the hub's model of the
    token's owner and scopes (a :class:`jupyterhub.services.auth.HubAuth`).
    """
    prefix = "/" + prefix.strip("/") + "/"
    return tornado.web.Application([
        (rf"{prefix}v1/classes", ClassesHandler),
        (rf"{prefix}v1/classes/([^/]+)/attendance", AttendanceHandler),
    ], store=store, hub_auth=hub_auth, log_function=lambda handler: None)
