"""Who may do what in the records: users, their roles, and which teacher teaches which class.

On a shared server (``attendance hub``) every teacher signs in through JupyterHub; the hub tells each
teacher's dashboard who they are (``JUPYTERHUB_USER``). This module turns that name into what they may
see and change, below every front end:

- an **admin** manages classes, rosters and assignments, and sees every class and report;
- a **teacher** sees and marks only the classes assigned to them (``attendance classes assign``);
  a signed-in user the records do not know is a teacher with no class yet.

Users and assignments live in the records database, in two tables of their own (``access_users``,
``access_class_teachers``), next to the records they govern, so that one PostgreSQL database holds a
school's whole state. :class:`UserStore` is the records :class:`~attendance_core.records.Store` seen by
one acting user: every read is filtered to their classes and every write is checked, and raises
:class:`PermissionDenied` otherwise. The acting user is always an argument, never a global.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Iterable

import sqlalchemy as sa

from ..errors import AttendanceError

if TYPE_CHECKING:
    import pandas as pd

    from ..records import Store

ADMIN = "admin"
TEACHER = "teacher"
ROLES = (TEACHER, ADMIN)
#: Where the hub puts the signed-in user's name, in the environment of their server and its kernels.
HUB_USER_ENV = "JUPYTERHUB_USER"
#: Set in the kernels of the hub's shared dashboard (``hub/dashboard_service.py``): the page's teacher comes
#: from the server, after the page is requested, and a kernel without one may not open the records.
SHARED_DASHBOARD_ENV = "ATTENDANCE_SHARED_DASHBOARD"
#: A preheated kernel's own secret, given to it at start, that it sends (as REQUEST_INFO_HEADER) to Voilà's
#: request-info channel to learn its page's teacher: the channel answers no one without it (another account
#: of the machine can read kernel ids in `ps`, not a process's environment).
REQUEST_INFO_SECRET_ENV = "ATTENDANCE_REQUEST_INFO_SECRET"
REQUEST_INFO_HEADER = "X-Attendance-Kernel-Secret"
# JupyterHub user names as its authenticators normalise them (lower case; LDAP and e-mail style names).
_NAME = re.compile(r"[a-z0-9][a-z0-9._@+-]{0,127}")


class AccessError(AttendanceError):
    """A user or role that cannot be recorded (bad name, unknown role, unknown user)."""


class PermissionDenied(AttendanceError):
    """The acting user may not see or change this class, session or setting; the message says which."""


metadata = sa.MetaData()
users = sa.Table(
    "access_users", metadata,
    sa.Column("name", sa.String(128), primary_key=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("added_at", sa.DateTime, nullable=False),
)
class_teachers = sa.Table(
    "access_class_teachers", metadata,
    # The class by name, as the records and the dashboard name it: a class is assigned before its
    # first session is saved (the records create the class row then).
    sa.Column("class_name", sa.String(200), primary_key=True),
    sa.Column("user_name", sa.String(128), sa.ForeignKey("access_users.name", ondelete="CASCADE"), primary_key=True),
    sa.Column("assigned_at", sa.DateTime, nullable=False),
)


def normalize_user(name: str) -> str:
    """A user name as the hub gives it (stripped, lower case); raises :class:`AccessError` if unusable."""
    cleaned = (name or "").strip().lower()
    if not _NAME.fullmatch(cleaned):
        raise AccessError(f"{name!r} cannot be a user name: use letters, digits and . _ @ + - (at most 128)")
    return cleaned


def hub_user(environ: "os._Environ[str] | dict[str, str] | None" = None) -> str | None:
    """The signed-in user the hub started this server for (``$JUPYTERHUB_USER``), or None outside a hub.

    In a kernel of the hub's shared dashboard, the signed-in teacher of the page: a preheated kernel waits
    here until a teacher's page takes it (Voilà's ``wait_for_request``). Raises :class:`PermissionDenied`
    if no name came.
    """
    env = os.environ if environ is None else environ
    shared = env.get(SHARED_DASHBOARD_ENV) == "1"
    if shared and environ is None and env.get("VOILA_PREHEAT") == "True":
        _wait_for_page(env)
    name = env.get(HUB_USER_ENV, "").strip()
    if shared and not name:
        raise PermissionDenied("This page does not know who signed in: reload it (the hub's login is needed).")
    return normalize_user(name) if name else None


def _wait_for_page(env) -> None:
    """In a preheated kernel: wait until a page takes this kernel, and put its request's info (the teacher's
    name) into ``env``. Voilà's ``wait_for_request``, with this kernel's secret sent to the channel."""
    import asyncio
    import json
    import threading

    import websockets
    from voila.utils import ENV_VARIABLE

    secret = env.pop(REQUEST_INFO_SECRET_ENV, "")  # needed once; no later code of the kernel finds it there
    base = env.get(ENV_VARIABLE.VOILA_WS_BASE_URL, env.get(ENV_VARIABLE.VOILA_SERVER_URL, "/"))
    url = (f"ws://{env.get(ENV_VARIABLE.VOILA_APP_IP, '127.0.0.1')}:{env.get(ENV_VARIABLE.VOILA_APP_PORT, '8866')}"
           f"{base}voila/query/{env.get(ENV_VARIABLE.VOILA_KERNEL_ID, '')}")
    received: list[str] = []

    async def receive() -> None:
        headers = {REQUEST_INFO_HEADER: secret}
        async with websockets.connect(url, additional_headers=headers, open_timeout=30) as channel:
            received.append(await channel.recv())

    def run() -> None:  # the kernel's own event loop is running: a thread of its own, as Voilà does
        try:
            asyncio.run(receive())
        except (OSError, asyncio.TimeoutError, websockets.WebSocketException):
            pass  # no teacher's name: hub_user refuses to open the records

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join()
    if received:
        env.update({k: str(v) for k, v in json.loads(received[0]).items()})


@dataclass(frozen=True)
class User:
    """A user of the records: ``name`` (as the hub spells it), ``role`` (teacher or admin), ``classes``."""

    name: str
    role: str
    classes: tuple[str, ...] = ()

    @property
    def is_admin(self) -> bool:
        return self.role == ADMIN


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


class Directory:
    """Users, roles and class assignments in the records database of ``engine`` (tables made on first use)."""

    def __init__(self, engine: sa.Engine):
        self.engine = engine
        metadata.create_all(engine, checkfirst=True)

    @classmethod
    def of(cls, store: "Store") -> "Directory":
        """The directory kept in ``store``'s database."""
        return cls(store.engine)

    def add_user(self, name: str, role: str = TEACHER) -> User:
        """Record ``name`` with ``role`` (or change the role of a known user); returns the user."""
        name = normalize_user(name)
        if role not in ROLES:
            raise AccessError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
        with self.engine.begin() as conn:
            known = conn.execute(sa.select(users.c.name).where(users.c.name == name)).first()
            if known is None:
                conn.execute(users.insert().values(name=name, role=role, added_at=_now()))
            else:
                conn.execute(users.update().where(users.c.name == name).values(role=role))
        return self.user(name)

    def ensure_user(self, name: str) -> User:
        """The recorded user ``name``, recorded as a teacher with no class if new (a first sign-in)."""
        found = self.find(name)
        if found is not None:
            return found
        try:
            return self.add_user(name, TEACHER)
        except sa.exc.IntegrityError:  # two first sign-ins at once: the other one recorded it
            return self.user(name)

    def find(self, name: str) -> User | None:
        """The user ``name`` with their classes, or None if not recorded."""
        name = normalize_user(name)
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(users.c.role).where(users.c.name == name)).first()
            if row is None:
                return None
            assigned = conn.execute(sa.select(class_teachers.c.class_name).where(class_teachers.c.user_name == name)
                                    .order_by(class_teachers.c.class_name)).scalars()
            return User(name, row.role, tuple(assigned))

    def user(self, name: str) -> User:
        """The user ``name``; raises :class:`AccessError` if not recorded."""
        found = self.find(name)
        if found is None:
            raise AccessError(f"no user {normalize_user(name)!r}: add one with `attendance users add NAME --role teacher`")
        return found

    def users(self) -> list[User]:
        """Every recorded user, by name."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(users.c.name, users.c.role).order_by(users.c.name)).all()
            pairs = conn.execute(sa.select(class_teachers.c.user_name, class_teachers.c.class_name)
                                 .order_by(class_teachers.c.class_name)).all()
        classes: dict[str, list[str]] = {}
        for user_name, class_name in pairs:
            classes.setdefault(user_name, []).append(class_name)
        return [User(r.name, r.role, tuple(classes.get(r.name, ()))) for r in rows]

    def admins(self) -> list[str]:
        """Names of the admins."""
        return [u.name for u in self.users() if u.is_admin]

    def assign(self, class_name: str, teacher: str) -> User:
        """Make ``teacher`` (a recorded user) a teacher of ``class_name``; assigning twice changes nothing."""
        class_name = (class_name or "").strip()
        if not class_name:
            raise AccessError("give the class name to assign")
        teacher = self.user(teacher).name
        with self.engine.begin() as conn:
            known = conn.execute(sa.select(class_teachers.c.user_name).where(
                class_teachers.c.class_name == class_name, class_teachers.c.user_name == teacher)).first()
            if known is None:
                conn.execute(class_teachers.insert().values(class_name=class_name, user_name=teacher,
                                                            assigned_at=_now()))
        return self.user(teacher)

    def unassign(self, class_name: str, teacher: str) -> None:
        """Take ``class_name`` away from ``teacher`` (nothing happens if it was not theirs)."""
        with self.engine.begin() as conn:
            conn.execute(class_teachers.delete().where(class_teachers.c.class_name == class_name.strip(),
                                                       class_teachers.c.user_name == normalize_user(teacher)))

    def teachers(self, class_name: str) -> list[str]:
        """Names of the teachers assigned to ``class_name``."""
        with self.engine.connect() as conn:
            return list(conn.execute(sa.select(class_teachers.c.user_name)
                                     .where(class_teachers.c.class_name == class_name)
                                     .order_by(class_teachers.c.user_name)).scalars())


def may_see(user: User, class_name: str) -> bool:
    """Whether ``user`` may see and mark ``class_name``: an admin every class, a teacher their own."""
    return user.is_admin or class_name in user.classes


def visible_classes(user: User, class_names: Iterable[str]) -> list[str]:
    """The classes of ``class_names`` that ``user`` may see, in the given order."""
    return [name for name in class_names if may_see(user, name)]


def require_class(user: User, class_name: str) -> None:
    """Raise :class:`PermissionDenied` unless ``user`` may see and mark ``class_name``."""
    if not may_see(user, class_name):
        raise PermissionDenied(f"{user.name} does not teach the class {class_name!r}: "
                               "an admin assigns classes (`attendance classes assign CLASS --teacher NAME`)")


def require_admin(user: User, what: str) -> None:
    """Raise :class:`PermissionDenied` unless ``user`` is an admin; ``what`` names the action refused."""
    if not user.is_admin:
        raise PermissionDenied(f"only an admin may {what}; {user.name} is a {user.role}")


class UserStore:
    """The records :class:`Store` as one acting user may use it: their classes only, writes signed by them.

    store: the records store; user: the acting user's name (from the hub, never typed). A user the
    records do not know yet is recorded as a teacher with no class. Reads are filtered (``classes``,
    ``sessions``, ``corrections``) or refused (``report``, ``session_marks``, ``students`` of another
    class) with :class:`PermissionDenied`; writes are checked and recorded as done by the user.
    """

    def __init__(self, store: "Store", user: str):
        self.store = store
        self.directory = Directory.of(store)
        self.user_name = self.directory.ensure_user(user).name

    @property
    def user(self) -> User:
        """The acting user, read afresh (an admin may assign a class while the dashboard is open)."""
        return self.directory.user(self.user_name)

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> "UserStore":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def _class_of_session(self, session_id: int) -> str:
        from ..records import RecordsError

        found = self.store.sessions()
        row = found[found["id"] == int(session_id)]
        if row.empty:
            raise RecordsError(f"no session {session_id} in the records")
        return str(row["class"].iloc[0])

    # -- writing --

    def save_session(self, attendance, *, class_name: str, **kwargs) -> int:
        """:meth:`Store.save_session` for one of the user's classes; ``marked_by`` is always the user."""
        require_class(self.user, (class_name or "").strip())
        kwargs["marked_by"] = self.user_name
        return self.store.save_session(attendance, class_name=class_name, **kwargs)

    def correct(self, session_id: int, student_id: str, status: str, note: str = "", by: str | None = None) -> int:
        """:meth:`Store.correct` in a session of one of the user's classes, signed by the user (``by`` is ignored)."""
        require_class(self.user, self._class_of_session(session_id))
        return self.store.correct(session_id, student_id, status, note=note, by=self.user_name)

    def forget_student(self, student_id: str, **kwargs):
        """:meth:`Store.forget_student`, for admins only (it changes every class's records)."""
        require_admin(self.user, "forget a student")
        return self.store.forget_student(student_id, **kwargs)

    # -- reading --

    def classes(self) -> list[str]:
        """The recorded classes the user may see."""
        return visible_classes(self.user, self.store.classes())

    def students(self, class_name: str | None = None) -> pd.DataFrame:
        """:meth:`Store.students` of one of the user's classes (all students: admins only)."""
        if class_name is None:
            require_admin(self.user, "list every student")
        else:
            require_class(self.user, class_name)
        return self.store.students(class_name)

    def sessions(self, class_name: str | None = None) -> pd.DataFrame:
        """:meth:`Store.sessions` of one of the user's classes, or of all of them."""
        user = self.user
        if class_name is not None:
            require_class(user, class_name)
            return self.store.sessions(class_name)
        found = self.store.sessions()
        return found[found["class"].map(lambda c: may_see(user, c))].reset_index(drop=True)

    def session_marks(self, session_id: int) -> pd.DataFrame:
        """:meth:`Store.session_marks` of a session of one of the user's classes."""
        require_class(self.user, self._class_of_session(session_id))
        return self.store.session_marks(session_id)

    def corrections(self, session_id: int | None = None) -> pd.DataFrame:
        """:meth:`Store.corrections` of the user's classes (of one session, or all)."""
        user = self.user
        if session_id is not None:
            require_class(user, self._class_of_session(session_id))
        found = self.store.corrections(session_id)
        return found[found["class"].map(lambda c: may_see(user, c))].reset_index(drop=True)

    def attendance_since(self, class_name: str, since=None) -> list[dict]:
        """:meth:`Store.attendance_since` of one of the user's classes (the SIS API's read); a class assigned to
        a teacher but with nothing recorded yet has no sessions. Raises :class:`UnknownClassError` (naming no
        other class) for a class no one has."""
        from ..records import UnknownClassError

        user = self.user
        require_class(user, class_name)
        try:
            return self.store.attendance_since(class_name, since)
        except UnknownClassError:
            if class_name in user.classes or any(class_name in u.classes for u in self.directory.users()):
                return []
            raise UnknownClassError(class_name, f"no class {class_name!r} in the records") from None

    def report(self, class_name: str, *args, **kwargs):
        """:meth:`Store.report` of one of the user's classes."""
        require_class(self.user, class_name)
        return self.store.report(class_name, *args, **kwargs)


def open_store(store: "Store", user: str | None):
    """``store`` as ``user`` may use it (a :class:`UserStore`), or unchanged when there is no acting user."""
    return store if user is None else UserStore(store, user)
