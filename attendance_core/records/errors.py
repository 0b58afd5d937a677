"""Errors of the records, and what a database failure is called in front of a person.

No message from the database itself (its SQL, server address, port, user or database name) is shown:
:func:`database_error` turns a SQLAlchemy error into a :class:`RecordsError` that says what happened in
the user's words, with the file name for SQLite, and logs the driver's text for an administrator.
"""
from __future__ import annotations

import functools
import logging
import os
from pathlib import Path
from typing import Callable, TypeVar

import sqlalchemy as sa
from sqlalchemy import exc

from ..errors import AttendanceError

log = logging.getLogger("attendance_core.records")
#: Seconds a writer waits for another process's transaction on SQLite before giving up.
BUSY_TIMEOUT = 60


class RecordsError(AttendanceError):
    """A records operation that cannot be done (unknown class, session or student, newer schema...)."""


class DuplicateSessionError(RecordsError):
    """The session was saved before (same class and photos); ``session_id`` is the saved one."""

    def __init__(self, session_id: int):
        self.session_id = session_id
        super().__init__(f"this session was already saved as session {session_id} (same class and photos); "
                         f"use `attendance correct {session_id} STUDENT STATUS` to change a mark")


class UnknownStudentError(RecordsError):
    """No student with this id in the records."""


class UnknownClassError(RecordsError):
    """No class of this name in the records (no session saved for it, no imported list); ``class_name``."""

    def __init__(self, class_name: str, message: str):
        self.class_name = class_name
        super().__init__(message)


def sqlite_path(url: str) -> Path | None:
    """The database file of an SQLite ``url`` (None for another database or an in-memory one)."""
    u = sa.make_url(url)
    if u.get_backend_name() != "sqlite" or not u.database or u.database == ":memory:":
        return None
    return Path(u.database).expanduser()


def _unopenable(path: Path) -> str | None:
    """Why SQLite could not open ``path`` ("unable to open database file" says nothing more), when the
    file system tells: no folder, or a folder or file that cannot be written (SQLite writes its journal
    beside the file, and makes the file at the first save)."""
    folder = path.parent
    if not folder.is_dir():
        return (f"cannot open the records database {path}: its folder {folder} does not exist (create it, or set "
                f"data_dir or database_url to another place)")
    if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        return (f"the records database {path} cannot be written: its folder {folder} is read-only for you "
                f"(saving needs write access to the folder and the file; give it, or set data_dir to a "
                f"folder you may write)")
    return None


# (words in the driver's message, what to tell the user); the first match wins.
_SQLITE_PROBLEMS = [
    (("not a database", "malformed", "corrupt"),
     "the records database {path} is damaged (not a readable SQLite database). Restore it from a backup, "
     "or move it away to start new records (a new one is made at the next save)"),
    (("readonly", "read-only"),
     "the records database {path} is read-only for you: saving needs write access to the file and its folder"),
    (("unable to open",),
     "cannot open the records database {path}: check that the file and its folder exist and that you may read them"),
    (("locked", "busy"),
     "the records database {path} is busy: another program held it for over {timeout} s; try again"),
    (("disk i/o", "full"),
     "the records database {path} could not be written: the disk is full or failing"),
]
_POSTGRES_PROBLEMS = [
    (("password authentication", "no pg_hba.conf", "role "),
     "the server refused the login: check the user and password in database_url"),
    (("does not exist",), "the database named in database_url does not exist on the server"),
    (("translate host name", "name or service not known", "nodename nor servname"),
     "the server's host name in database_url is unknown"),
]


def database_error(err: exc.SQLAlchemyError, url: str, opening: bool = False) -> RecordsError:
    """The :class:`RecordsError` to show for a database failure ``err`` on ``url`` (logged in full)."""
    orig = getattr(err, "orig", None) or err
    kind = type(orig).__name__
    log.info("records database error (%s): %s", kind, str(orig).splitlines()[0] if str(orig) else "")
    text = str(orig).lower()
    path = sqlite_path(url)
    if path is not None:
        if "unable to open" in text and (why := _unopenable(path)):
            return RecordsError(why)
        for words, message in _SQLITE_PROBLEMS:
            if any(w in text for w in words):
                return RecordsError(message.format(path=path, timeout=BUSY_TIMEOUT))
        return RecordsError(f"the records database {path} reported an error ({kind}); nothing was changed")
    if isinstance(err, (exc.OperationalError, exc.InterfaceError)) and (opening or "connect" in text):
        reason = next((m for words, m in _POSTGRES_PROBLEMS if any(w in text for w in words)),
                      "the server does not answer: check that it runs and that database_url names it")
        return RecordsError(f"cannot open the records database ({reason})")
    if opening:
        return RecordsError(f"cannot open the records database: the server refused to read or set up its tables "
                            f"({kind}); check the rights of the user in database_url")
    return RecordsError(f"the records database reported an error ({kind}); nothing was changed")


F = TypeVar("F", bound=Callable)


def clean_errors(method: F) -> F:
    """Decorate a :class:`Store` method so that a database failure leaves it as a clean :class:`RecordsError`."""
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except exc.SQLAlchemyError as err:
            raise database_error(err, self.url) from None
    return wrapper  # type: ignore[return-value]
