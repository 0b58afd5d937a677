"""Attendance records: classes, students, sessions and marks in a database; reports as DataFrames.

One SQLAlchemy store serves a single instructor (an SQLite file in the data folder, created on first
use) and a school sharing one PostgreSQL database (``database_url`` in the settings). The schema is
versioned: opening a database made by an older release upgrades it in place, in one transaction.

Times are stored in UTC (naive ``DateTime`` columns holding UTC) and shown in local time: DataFrame
columns ``taken_at`` / ``saved_at`` / ``corrected_at`` are local wall-clock times, ``taken_at_utc``
is the same instant in UTC.

Every write is one transaction. On SQLite the file is in WAL mode with a busy timeout and writers
take the write lock when they begin (``BEGIN IMMEDIATE``), so two processes saving at the same time
wait for each other instead of failing. A session is identified by its class and the contents of its
photos (SHA-256); saving it again raises :class:`DuplicateSessionError`.

Forgetting a student (:meth:`Store.forget_student`) keeps their past marks, anonymised, so that a
class's history still adds up; ``delete_marks=True`` deletes the marks and their corrections instead.
"""
from __future__ import annotations

import contextlib
import getpass
import hashlib
import json
import math
import os
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator

import pandas as pd
import sqlalchemy as sa
from sqlalchemy import event, exc

from .errors import AttendanceError
from .results import ABSENT, AUTOMATIC, EXCUSED, MANUAL, PRESENT, SOURCES, STATUSES, Attendance

if TYPE_CHECKING:
    from .config import Settings
#: Shown instead of the name of a forgotten student whose marks were kept.
FORGOTTEN_NAME = "(forgotten student)"
#: Seconds a writer waits for another process's transaction on SQLite before giving up.
BUSY_TIMEOUT = 60
_MIGRATION_LOCK = 0x5A7E_A77E  # PostgreSQL advisory lock id held while the schema is upgraded


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


# --- The current schema (what queries use). Migrations below build it step by step. ---------------

metadata = sa.MetaData()

schema_version = sa.Table(
    "schema_version", metadata,
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("description", sa.String(200), nullable=False),
    sa.Column("applied_at", sa.DateTime, nullable=False),
)
classes = sa.Table(
    "classes", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(200), nullable=False, unique=True),
    sa.Column("created_at", sa.DateTime, nullable=False),
)
students = sa.Table(
    "students", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("key", sa.String(200), nullable=False, unique=True),  # the roster id, e.g. Name_Surname
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("forgotten_at", sa.DateTime, nullable=True),  # v2
)
class_students = sa.Table(
    "class_students", metadata,
    sa.Column("class_id", sa.Integer, sa.ForeignKey("classes.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("student_id", sa.Integer, sa.ForeignKey("students.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("added_at", sa.DateTime, nullable=False),
)
sessions = sa.Table(
    "sessions", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("class_id", sa.Integer, sa.ForeignKey("classes.id"), nullable=False, index=True),
    sa.Column("subject", sa.String(200), nullable=False),
    sa.Column("taken_at", sa.DateTime, nullable=False),  # UTC
    sa.Column("saved_at", sa.DateTime, nullable=False),  # UTC
    sa.Column("tolerance", sa.Float, nullable=False),
    sa.Column("settings", sa.Text, nullable=False),  # JSON: the settings the photos were marked with
    sa.Column("marked_by", sa.String(200), nullable=False),
    sa.Column("unknown_faces", sa.Integer, nullable=False),
    sa.Column("fingerprint", sa.String(64), nullable=False, unique=True),  # class + photo contents
)
session_photos = sa.Table(
    "session_photos", metadata,
    sa.Column("session_id", sa.Integer, sa.ForeignKey("sessions.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("position", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("name", sa.String(500), nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("faces", sa.Integer, nullable=False),
    sa.Column("error", sa.Text, nullable=True),
)
marks = sa.Table(
    "marks", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("session_id", sa.Integer, sa.ForeignKey("sessions.id", ondelete="CASCADE"), nullable=False),
    sa.Column("student_id", sa.Integer, sa.ForeignKey("students.id"), nullable=False, index=True),
    sa.Column("status", sa.String(10), nullable=False),
    sa.Column("source", sa.String(10), nullable=False),
    sa.Column("automatic_status", sa.String(10), nullable=False),  # what the photos said; never overwritten
    sa.Column("distance", sa.Float, nullable=True),
    sa.Column("photo", sa.String(500), nullable=True),
    sa.Column("ambiguous", sa.Boolean, nullable=False),
    sa.UniqueConstraint("session_id", "student_id", name="uq_marks_session_student"),
    sa.CheckConstraint("status IN ('present', 'absent', 'excused')", name="ck_marks_status"),
)
corrections = sa.Table(  # v2: the audit trail of manual corrections
    "corrections", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("mark_id", sa.Integer, sa.ForeignKey("marks.id", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("old_status", sa.String(10), nullable=False),
    sa.Column("new_status", sa.String(10), nullable=False),
    sa.Column("note", sa.Text, nullable=False),
    sa.Column("corrected_by", sa.String(200), nullable=False),
    sa.Column("corrected_at", sa.DateTime, nullable=False),  # UTC
)


# --- Migrations: ordered, each one transaction step; frozen DDL, never edited once released. -------

def _migration_1(conn: sa.Connection) -> None:
    """Schema version 1: classes, students, class membership, sessions, their photos, marks."""
    m = sa.MetaData()
    sa.Table("classes", m,
             sa.Column("id", sa.Integer, primary_key=True),
             sa.Column("name", sa.String(200), nullable=False, unique=True),
             sa.Column("created_at", sa.DateTime, nullable=False))
    sa.Table("students", m,
             sa.Column("id", sa.Integer, primary_key=True),
             sa.Column("key", sa.String(200), nullable=False, unique=True),
             sa.Column("name", sa.String(200), nullable=False),
             sa.Column("created_at", sa.DateTime, nullable=False))
    sa.Table("class_students", m,
             sa.Column("class_id", sa.Integer, sa.ForeignKey("classes.id", ondelete="CASCADE"), primary_key=True),
             sa.Column("student_id", sa.Integer, sa.ForeignKey("students.id", ondelete="CASCADE"), primary_key=True),
             sa.Column("added_at", sa.DateTime, nullable=False))
    sa.Table("sessions", m,
             sa.Column("id", sa.Integer, primary_key=True),
             sa.Column("class_id", sa.Integer, sa.ForeignKey("classes.id"), nullable=False, index=True),
             sa.Column("subject", sa.String(200), nullable=False),
             sa.Column("taken_at", sa.DateTime, nullable=False),
             sa.Column("saved_at", sa.DateTime, nullable=False),
             sa.Column("tolerance", sa.Float, nullable=False),
             sa.Column("settings", sa.Text, nullable=False),
             sa.Column("marked_by", sa.String(200), nullable=False),
             sa.Column("unknown_faces", sa.Integer, nullable=False),
             sa.Column("fingerprint", sa.String(64), nullable=False, unique=True))
    sa.Table("session_photos", m,
             sa.Column("session_id", sa.Integer, sa.ForeignKey("sessions.id", ondelete="CASCADE"), primary_key=True),
             sa.Column("position", sa.Integer, primary_key=True, autoincrement=False),
             sa.Column("name", sa.String(500), nullable=False),
             sa.Column("sha256", sa.String(64), nullable=False),
             sa.Column("faces", sa.Integer, nullable=False),
             sa.Column("error", sa.Text, nullable=True))
    sa.Table("marks", m,
             sa.Column("id", sa.Integer, primary_key=True),
             sa.Column("session_id", sa.Integer, sa.ForeignKey("sessions.id", ondelete="CASCADE"), nullable=False),
             sa.Column("student_id", sa.Integer, sa.ForeignKey("students.id"), nullable=False, index=True),
             sa.Column("status", sa.String(10), nullable=False),
             sa.Column("source", sa.String(10), nullable=False),
             sa.Column("automatic_status", sa.String(10), nullable=False),
             sa.Column("distance", sa.Float, nullable=True),
             sa.Column("photo", sa.String(500), nullable=True),
             sa.Column("ambiguous", sa.Boolean, nullable=False),
             sa.UniqueConstraint("session_id", "student_id", name="uq_marks_session_student"),
             sa.CheckConstraint("status IN ('present', 'absent', 'excused')", name="ck_marks_status"))
    m.create_all(conn)


def _migration_2(conn: sa.Connection) -> None:
    """Schema version 2: an audit trail of corrections, and forgetting students."""
    m = sa.MetaData()
    sa.Table("marks", m, sa.Column("id", sa.Integer, primary_key=True))
    audit = sa.Table("corrections", m,
                     sa.Column("id", sa.Integer, primary_key=True),
                     sa.Column("mark_id", sa.Integer, sa.ForeignKey("marks.id", ondelete="CASCADE"),
                               nullable=False, index=True),
                     sa.Column("old_status", sa.String(10), nullable=False),
                     sa.Column("new_status", sa.String(10), nullable=False),
                     sa.Column("note", sa.Text, nullable=False),
                     sa.Column("corrected_by", sa.String(200), nullable=False),
                     sa.Column("corrected_at", sa.DateTime, nullable=False))
    audit.create(conn)
    timestamp = conn.dialect.type_compiler_instance.process(sa.DateTime())
    conn.execute(sa.text(f"ALTER TABLE students ADD COLUMN forgotten_at {timestamp}"))
    # Manual marks made before the audit trail existed get one entry, so none looks automatic.
    conn.execute(sa.text(
        "INSERT INTO corrections (mark_id, old_status, new_status, note, corrected_by, corrected_at) "
        "SELECT marks.id, marks.automatic_status, marks.status, :note, sessions.marked_by, sessions.saved_at "
        "FROM marks JOIN sessions ON sessions.id = marks.session_id WHERE marks.source = 'manual'"),
        {"note": "corrected before the audit trail existed (schema version 1)"})


#: (version, description, step). Append only; a released step is never changed.
MIGRATIONS: list[tuple[int, str, Callable[[sa.Connection], None]]] = [
    (1, "classes, students, sessions, photos, marks", _migration_1),
    (2, "corrections audit trail; forgotten students", _migration_2),
]
SCHEMA_VERSION = MIGRATIONS[-1][0]


# --- Engine --------------------------------------------------------------------------------------

def create_engine(url: str) -> sa.Engine:
    """An engine for ``url``; SQLite gets WAL mode, a busy timeout, foreign keys and write-locking BEGINs."""
    u = sa.make_url(url)
    if u.get_backend_name() != "sqlite":
        return sa.create_engine(u, pool_pre_ping=True)
    if u.database and u.database != ":memory:":
        path = Path(u.database).expanduser()
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            # Names and attendance are personal data: owner only (SQLite gives its -wal file the same mode).
            with contextlib.suppress(FileExistsError):
                os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    engine = sa.create_engine(u, connect_args={"timeout": BUSY_TIMEOUT})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Let SQLAlchemy's "begin" event issue BEGIN itself (the driver's own is deferred and too late).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT * 1000}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        # A writer takes the lock up front: a deferred transaction that reads, then writes, fails with
        # SQLITE_BUSY at once when another process wrote meanwhile (the busy timeout cannot help it).
        immediate = conn.get_execution_options().get("attendance_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


@contextlib.contextmanager
def _writing(engine: sa.Engine) -> Iterator[sa.Connection]:
    """One write transaction: committed when the block ends, rolled back entirely if it raises."""
    with engine.connect() as conn:
        conn.execution_options(attendance_write=True)
        with conn.begin():
            yield conn


def current_version(conn: sa.Connection) -> int:
    """The schema version of a database (0 when empty)."""
    if not sa.inspect(conn).has_table("schema_version"):
        return 0
    return conn.execute(sa.select(sa.func.max(schema_version.c.version))).scalar() or 0


def migrate(engine: sa.Engine, target: int | None = None) -> int:
    """Upgrade the database's schema to ``target`` (default: the latest) in one transaction; returns the version."""
    target = SCHEMA_VERSION if target is None else target
    with _writing(engine) as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
        version = current_version(conn)
        if version > SCHEMA_VERSION:
            raise RecordsError(f"the records database has schema version {version}, newer than this release "
                               f"knows ({SCHEMA_VERSION}): upgrade Smart Attendance")
        if version < target:
            schema_version.create(conn, checkfirst=True)
            for number, description, step in MIGRATIONS:
                if version < number <= target:
                    step(conn)
                    conn.execute(schema_version.insert().values(
                        version=number, description=description, applied_at=_utcnow()))
                    version = number
    return version


# --- Time -----------------------------------------------------------------------------------------

def _utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def to_utc(moment: datetime) -> datetime:
    """A naive UTC datetime for storage; a naive ``moment`` is taken as local time."""
    return moment.astimezone(timezone.utc).replace(tzinfo=None)


def to_local(moment_utc: datetime | None) -> datetime | None:
    """A stored (naive UTC) datetime as naive local wall-clock time."""
    if moment_utc is None:
        return None
    return moment_utc.replace(tzinfo=timezone.utc).astimezone().replace(tzinfo=None)


def _day_start_utc(day: date | datetime | str) -> datetime:
    """Local midnight at the start of ``day`` (a date, or ISO text), in naive UTC."""
    if isinstance(day, str):
        day = date.fromisoformat(day)
    if isinstance(day, datetime):
        return to_utc(day)
    return to_utc(datetime.combine(day, time()))


def _current_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name (some containers): still record something
        return "unknown"


# --- The store ------------------------------------------------------------------------------------

@dataclass
class Report:
    """Attendance of one class over a period.

    summary: one row per student (``student_id``, ``name``, ``present``, ``absent``, ``excused``,
    ``sessions``, ``rate``); rate = present / (present + absent), excused sessions not counted, NaN
    when there is none. matrix: ``student_id``, ``name`` and one column per session, labelled by its
    local date (with the time when a day has several sessions), holding the status (NaN: not marked).
    sessions: the sessions included, with their column label.
    """

    class_name: str
    subject: str | None
    start: date | None
    end: date | None
    summary: pd.DataFrame
    matrix: pd.DataFrame
    sessions: pd.DataFrame = field(default_factory=pd.DataFrame)

    def table(self) -> pd.DataFrame:
        """Summary and matrix side by side: the table written by ``to_csv`` and the first sheet of ``to_excel``."""
        return self.summary.merge(self.matrix, on=["student_id", "name"], how="left")

    def to_csv(self, path_or_buffer) -> None:
        self.table().to_csv(path_or_buffer, index=False)

    def to_excel(self, path) -> None:
        """An .xlsx workbook: sheets ``attendance`` (the table), ``summary``, ``matrix``, ``sessions``."""
        with pd.ExcelWriter(path, engine="openpyxl") as writer:
            self.table().to_excel(writer, sheet_name="attendance", index=False)
            self.summary.to_excel(writer, sheet_name="summary", index=False)
            self.matrix.to_excel(writer, sheet_name="matrix", index=False)
            self.sessions.to_excel(writer, sheet_name="sessions", index=False)


@dataclass(frozen=True)
class ForgetResult:
    """What :meth:`Store.forget_student` did: marks anonymised or deleted, corrections touched."""

    student_id: str
    marks: int
    corrections: int
    deleted: bool
    anonymised_as: str | None = None  # the id their kept marks now carry


SESSION_COLUMNS = ["id", "class", "subject", "taken_at", "present", "absent", "excused", "unknown_faces",
                   "photos", "tolerance", "marked_by", "saved_at", "taken_at_utc"]
MARK_COLUMNS = ["student_id", "name", "status", "source", "automatic_status", "distance", "photo", "ambiguous"]
CORRECTION_COLUMNS = ["id", "session_id", "class", "subject", "taken_at", "student_id", "name", "old_status",
                      "new_status", "note", "corrected_by", "corrected_at"]
SUMMARY_COLUMNS = ["student_id", "name", "present", "absent", "excused", "sessions", "rate"]


class Store:
    """Attendance records in the database at ``url`` (``sqlite:///file.db``, ``postgresql+psycopg://...``).

    The schema is created or upgraded on opening (``upgrade=False`` refuses an outdated database instead).
    """

    def __init__(self, url: str, *, upgrade: bool = True):
        self.url = url
        try:
            self.engine = create_engine(url)
        except (exc.ArgumentError, exc.NoSuchModuleError) as err:
            raise RecordsError(f"not a usable database URL: {url!r} ({err})") from None
        try:
            if upgrade:
                migrate(self.engine)
            else:
                with self.engine.connect() as conn:
                    found = current_version(conn)
                if found != SCHEMA_VERSION:
                    raise RecordsError(f"the records database has schema version {found}, expected {SCHEMA_VERSION}")
        except exc.OperationalError as err:
            self.engine.dispose()
            shown = sa.make_url(url).render_as_string(hide_password=True)
            raise RecordsError(f"cannot open the records database {shown}: {err.orig}") from None

    @classmethod
    def from_settings(cls, settings: "Settings") -> "Store":
        """The store of ``settings.resolved_database_url()``; the data folder is created if needed."""
        Path(settings.data_dir).mkdir(parents=True, exist_ok=True)
        return cls(settings.resolved_database_url())

    @staticmethod
    def exists(settings: "Settings") -> bool:
        """Whether ``settings`` name a records database: a database URL, or an SQLite file already made."""
        url = sa.make_url(settings.resolved_database_url())
        if url.get_backend_name() != "sqlite":
            return True
        return bool(url.database) and url.database != ":memory:" and Path(url.database).is_file()

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    @property
    def schema_version(self) -> int:
        with self.engine.connect() as conn:
            return current_version(conn)

    # -- writing --

    def save_session(self, attendance: "Attendance", *, class_name: str, subject: str = "",
                     taken_at: datetime | None = None, marked_by: str | None = None,
                     settings: "Settings | None" = None) -> int:
        """Record a marked session (every student's mark, the photos' hashes) in one transaction; returns its id.

        taken_at: when the class took place (default now; a naive datetime is local time). Students
        and their class membership are recorded from the attendance. Marks corrected by hand before
        saving get an audit-trail entry. Raises :class:`DuplicateSessionError` if the class and photos
        were saved before, and :class:`RecordsError` for an empty class name or a bad status.
        """
        class_name = (class_name or "").strip()
        if not class_name:
            raise RecordsError("a session needs a class name")
        subject = (subject or "").strip()
        taken = to_utc(taken_at) if taken_at is not None else _utcnow()
        by = marked_by or _current_user()
        for s in attendance.students:
            if s.status not in STATUSES or s.automatic_status not in STATUSES:
                raise RecordsError(f"student {s.id!r}: status must be one of {', '.join(STATUSES)}, not {s.status!r}")
        if len({s.id for s in attendance.students}) != len(attendance.students):
            raise RecordsError("the attendance lists a student twice")
        hashes = sorted(p.sha256 for p in attendance.photos if p.sha256)
        fingerprint = _fingerprint(class_name, subject, taken, hashes)
        used = {"tolerance": attendance.tolerance}
        if settings is not None:
            for name in ("ambiguity_margin", "detector", "min_face_size", "jitters"):
                used[name] = getattr(settings, name, None)
        from . import __version__
        used["version"] = __version__
        saved_at = _utcnow()
        try:
            with _writing(self.engine) as conn:
                existing = _session_by_fingerprint(conn, fingerprint)
                if existing is not None:
                    raise DuplicateSessionError(existing)
                class_id = _ensure_class(conn, class_name, saved_at)
                student_ids = _ensure_students(conn, [(s.id, s.name) for s in attendance.students], saved_at)
                _insert_ignore(conn, class_students,
                               [{"class_id": class_id, "student_id": sid, "added_at": saved_at}
                                for sid in student_ids.values()], ["class_id", "student_id"])
                session_id = conn.execute(sessions.insert().values(
                    class_id=class_id, subject=subject, taken_at=taken, saved_at=saved_at,
                    tolerance=float(attendance.tolerance), settings=json.dumps(used, sort_keys=True),
                    marked_by=by, unknown_faces=len(attendance.unknown_faces), fingerprint=fingerprint,
                )).inserted_primary_key[0]
                if attendance.photos:
                    conn.execute(session_photos.insert(), [
                        {"session_id": session_id, "position": i, "name": p.name, "sha256": p.sha256 or "",
                         "faces": len(p.faces), "error": p.error}
                        for i, p in enumerate(attendance.photos)])
                _insert_marks(conn, session_id, student_ids, attendance.students)
                manual = [s for s in attendance.students if s.status != s.automatic_status]
                if manual:
                    mark_ids = dict(conn.execute(
                        sa.select(marks.c.student_id, marks.c.id).where(marks.c.session_id == session_id)).all())
                    conn.execute(corrections.insert(), [
                        {"mark_id": mark_ids[student_ids[s.id]], "old_status": s.automatic_status,
                         "new_status": s.status, "note": "corrected before saving", "corrected_by": by,
                         "corrected_at": saved_at} for s in manual])
        except exc.IntegrityError:
            # Another process saved the same session between our check and our insert.
            with self.engine.connect() as conn:
                existing = _session_by_fingerprint(conn, fingerprint)
            if existing is not None:
                raise DuplicateSessionError(existing) from None
            raise
        return int(session_id)

    def correct(self, session_id: int, student_id: str, status: str, note: str = "", by: str | None = None) -> int:
        """Set a student's mark in a saved session by hand; the change is added to the audit trail (returns its id).

        The automatic result stays recorded (``automatic_status``); correcting back to it makes the
        mark automatic again. Raises :class:`RecordsError` for an unknown session, student or status.
        """
        if status not in STATUSES:
            raise RecordsError(f"status must be one of {', '.join(STATUSES)}, not {status!r}")
        by = by or _current_user()
        with _writing(self.engine) as conn:
            _require_session(conn, session_id)
            row = conn.execute(
                sa.select(marks.c.id, marks.c.status, marks.c.automatic_status)
                .join(students, students.c.id == marks.c.student_id)
                .where(marks.c.session_id == session_id, students.c.key == student_id)).first()
            if row is None:
                raise RecordsError(f"student {student_id!r} has no mark in session {session_id}")
            conn.execute(marks.update().where(marks.c.id == row.id).values(
                status=status, source=AUTOMATIC if status == row.automatic_status else MANUAL))
            return int(conn.execute(corrections.insert().values(
                mark_id=row.id, old_status=row.status, new_status=status, note=note or "",
                corrected_by=by, corrected_at=_utcnow())).inserted_primary_key[0])

    def forget_student(self, student_id: str, *, delete_marks: bool = False) -> ForgetResult:
        """Forget a student in the records.

        Default: their past marks are kept so class statistics stay true, but anonymised: the
        student's id and name are replaced (``forgotten-N``, ``(forgotten student)``), the distance
        and photo name of each mark and the notes of their corrections are cleared, and they leave
        their classes. ``delete_marks=True`` deletes their marks, corrections and the student instead.
        Raises :class:`UnknownStudentError` when no such student is recorded.
        """
        with _writing(self.engine) as conn:
            sid = conn.execute(sa.select(students.c.id).where(students.c.key == student_id)).scalar()
            if sid is None:
                raise UnknownStudentError(f"no student {student_id!r} in the records")
            mark_ids = sa.select(marks.c.id).where(marks.c.student_id == sid).scalar_subquery()
            if delete_marks:
                n_corr = conn.execute(corrections.delete().where(corrections.c.mark_id.in_(mark_ids))).rowcount
                n_marks = conn.execute(marks.delete().where(marks.c.student_id == sid)).rowcount
                conn.execute(class_students.delete().where(class_students.c.student_id == sid))
                conn.execute(students.delete().where(students.c.id == sid))
            else:
                n_corr = conn.execute(corrections.update().where(corrections.c.mark_id.in_(mark_ids))
                                      .values(note="")).rowcount
                n_marks = conn.execute(marks.update().where(marks.c.student_id == sid)
                                       .values(distance=None, photo=None)).rowcount
                conn.execute(class_students.delete().where(class_students.c.student_id == sid))
                conn.execute(students.update().where(students.c.id == sid).values(
                    key=f"forgotten-{sid}", name=FORGOTTEN_NAME, forgotten_at=_utcnow()))
        return ForgetResult(student_id, int(n_marks), int(n_corr), delete_marks,
                            None if delete_marks else f"forgotten-{sid}")

    # -- reading --

    def classes(self) -> list[str]:
        """Names of the classes with records, sorted."""
        with self.engine.connect() as conn:
            return list(conn.execute(sa.select(classes.c.name).order_by(classes.c.name)).scalars())

    def students(self, class_name: str | None = None) -> pd.DataFrame:
        """Recorded students (``student_id``, ``name``, ``classes``), of one class or all."""
        with self.engine.connect() as conn:
            q = (sa.select(students.c.key, students.c.name, classes.c.name.label("class"))
                 .select_from(students.outerjoin(class_students, class_students.c.student_id == students.c.id)
                              .outerjoin(classes, classes.c.id == class_students.c.class_id))
                 .order_by(students.c.name, students.c.key))
            if class_name is not None:
                q = q.where(classes.c.id == _require_class(conn, class_name))
            rows = conn.execute(q).all()
        grouped: dict[tuple[str, str], list[str]] = {}
        for key, name, cls in rows:
            grouped.setdefault((key, name), [])
            if cls:
                grouped[(key, name)].append(cls)
        return pd.DataFrame([(k, n, ", ".join(sorted(c))) for (k, n), c in grouped.items()],
                            columns=["student_id", "name", "classes"])

    def sessions(self, class_name: str | None = None) -> pd.DataFrame:
        """Saved sessions, oldest first: id, class, subject, local ``taken_at``, counts, who marked, ...."""
        counts = (sa.select(marks.c.session_id,
                            *[sa.func.sum(sa.case((marks.c.status == s, 1), else_=0)).label(s) for s in STATUSES])
                  .group_by(marks.c.session_id).subquery())
        photos = (sa.select(session_photos.c.session_id, sa.func.count().label("photos"))
                  .group_by(session_photos.c.session_id).subquery())
        q = (sa.select(sessions.c.id, classes.c.name, sessions.c.subject, sessions.c.taken_at,
                       *[counts.c[s] for s in STATUSES], sessions.c.unknown_faces, photos.c.photos,
                       sessions.c.tolerance, sessions.c.marked_by, sessions.c.saved_at)
             .select_from(sessions.join(classes, classes.c.id == sessions.c.class_id)
                          .outerjoin(counts, counts.c.session_id == sessions.c.id)
                          .outerjoin(photos, photos.c.session_id == sessions.c.id))
             .order_by(sessions.c.taken_at, sessions.c.id))
        with self.engine.connect() as conn:
            if class_name is not None:
                q = q.where(sessions.c.class_id == _require_class(conn, class_name))
            rows = conn.execute(q).all()
        data = [(r.id, r.name, r.subject, to_local(r.taken_at), int(r.present or 0), int(r.absent or 0),
                 int(r.excused or 0), r.unknown_faces, int(r.photos or 0), r.tolerance, r.marked_by,
                 to_local(r.saved_at), pd.Timestamp(r.taken_at, tz="UTC")) for r in rows]
        df = pd.DataFrame(data, columns=SESSION_COLUMNS)
        return _datetimes(df, ["taken_at", "saved_at"], utc=["taken_at_utc"])

    def session_marks(self, session_id: int) -> pd.DataFrame:
        """Every student's mark in a session: status, source (automatic/manual), automatic_status, distance, photo."""
        with self.engine.connect() as conn:
            _require_session(conn, session_id)
            rows = conn.execute(
                sa.select(students.c.key, students.c.name, marks.c.status, marks.c.source,
                          marks.c.automatic_status, marks.c.distance, marks.c.photo, marks.c.ambiguous)
                .join(students, students.c.id == marks.c.student_id)
                .where(marks.c.session_id == session_id).order_by(students.c.name, students.c.key)).all()
        df = pd.DataFrame([tuple(r) for r in rows], columns=MARK_COLUMNS)
        df["distance"] = df["distance"].astype(float)
        df["ambiguous"] = df["ambiguous"].astype(bool)
        return df

    def corrections(self, session_id: int | None = None) -> pd.DataFrame:
        """The audit trail: every manual correction (what changed, note, by whom, local ``corrected_at``)."""
        q = (sa.select(corrections.c.id, sessions.c.id.label("session_id"), classes.c.name.label("class"),
                       sessions.c.subject, sessions.c.taken_at, students.c.key, students.c.name,
                       corrections.c.old_status, corrections.c.new_status, corrections.c.note,
                       corrections.c.corrected_by, corrections.c.corrected_at)
             .select_from(corrections.join(marks, marks.c.id == corrections.c.mark_id)
                          .join(sessions, sessions.c.id == marks.c.session_id)
                          .join(classes, classes.c.id == sessions.c.class_id)
                          .join(students, students.c.id == marks.c.student_id))
             .order_by(corrections.c.corrected_at, corrections.c.id))
        with self.engine.connect() as conn:
            if session_id is not None:
                _require_session(conn, session_id)
                q = q.where(sessions.c.id == session_id)
            rows = conn.execute(q).all()
        data = [(r[0], r[1], r[2], r[3], to_local(r[4]), r[5], r[6], r[7], r[8], r[9], r[10], to_local(r[11]))
                for r in rows]
        return _datetimes(pd.DataFrame(data, columns=CORRECTION_COLUMNS), ["taken_at", "corrected_at"])

    def report(self, class_name: str, subject: str | None = None, start: date | str | None = None,
               end: date | str | None = None) -> Report:
        """Attendance of a class: per-student counts and rates, and the students-by-dates matrix.

        subject: only sessions of this subject (default all); start, end: first and last local day
        included (dates or ``YYYY-MM-DD``; default unbounded).
        """
        start_d = date.fromisoformat(start) if isinstance(start, str) else start
        end_d = date.fromisoformat(end) if isinstance(end, str) else end
        with self.engine.connect() as conn:
            class_id = _require_class(conn, class_name)
            q = sa.select(sessions.c.id, sessions.c.subject, sessions.c.taken_at).where(sessions.c.class_id == class_id)
            if subject is not None:
                q = q.where(sessions.c.subject == subject)
            if start_d is not None:
                q = q.where(sessions.c.taken_at >= _day_start_utc(start_d))
            if end_d is not None:
                q = q.where(sessions.c.taken_at < _day_start_utc(end_d + timedelta(days=1)))
            chosen = conn.execute(q.order_by(sessions.c.taken_at, sessions.c.id)).all()
            ids = [r.id for r in chosen]
            mark_rows = conn.execute(
                sa.select(marks.c.session_id, students.c.key, students.c.name, marks.c.status)
                .join(students, students.c.id == marks.c.student_id)
                .where(marks.c.session_id.in_(ids))).all() if ids else []
            members = conn.execute(
                sa.select(students.c.key, students.c.name)
                .join(class_students, class_students.c.student_id == students.c.id)
                .where(class_students.c.class_id == class_id)).all()
        labels = _session_labels([(r.id, to_local(r.taken_at)) for r in chosen])
        session_table = _datetimes(pd.DataFrame(
            [(r.id, labels[r.id], r.subject, to_local(r.taken_at)) for r in chosen],
            columns=["id", "column", "subject", "taken_at"]), ["taken_at"])
        people = {key: name for key, name in members}
        people.update({r.key: r.name for r in mark_rows})
        order = sorted(people, key=lambda k: (people[k].lower(), k))
        status = {(r.key, r.session_id): r.status for r in mark_rows}
        summary_rows, matrix_rows = [], []
        for key in order:
            row = [status.get((key, sid)) for sid in ids]
            n = {s: sum(v == s for v in row) for s in STATUSES}
            counted = n[PRESENT] + n[ABSENT]
            summary_rows.append((key, people[key], n[PRESENT], n[ABSENT], n[EXCUSED], sum(v is not None for v in row),
                                 n[PRESENT] / counted if counted else math.nan))
            matrix_rows.append([key, people[key], *[math.nan if v is None else v for v in row]])
        summary = pd.DataFrame(summary_rows, columns=SUMMARY_COLUMNS)
        summary["rate"] = summary["rate"].astype(float)
        matrix = pd.DataFrame(matrix_rows, columns=["student_id", "name", *[labels[i] for i in ids]])
        return Report(class_name, subject, start_d, end_d, summary, matrix, session_table)


# --- Helpers (module functions so that tests can inject failures) -----------------------------------

def _fingerprint(class_name: str, subject: str, taken_utc: datetime, photo_hashes: list[str]) -> str:
    """What makes a session the same session: its class and photo contents (or, without photos, its time)."""
    if photo_hashes:
        basis = ["photos", class_name, *photo_hashes]
    else:
        basis = ["time", class_name, subject, taken_utc.isoformat()]
    return hashlib.sha256("\x1f".join(basis).encode()).hexdigest()


def _session_by_fingerprint(conn: sa.Connection, fingerprint: str) -> int | None:
    return conn.execute(sa.select(sessions.c.id).where(sessions.c.fingerprint == fingerprint)).scalar()


def _require_session(conn: sa.Connection, session_id: int) -> None:
    if conn.execute(sa.select(sessions.c.id).where(sessions.c.id == session_id)).scalar() is None:
        raise RecordsError(f"no session {session_id} (see `attendance sessions`)")


def _require_class(conn: sa.Connection, class_name: str) -> int:
    cid = conn.execute(sa.select(classes.c.id).where(classes.c.name == class_name)).scalar()
    if cid is None:
        known = list(conn.execute(sa.select(classes.c.name).order_by(classes.c.name)).scalars())
        raise RecordsError(f"no class {class_name!r} in the records"
                           + (f" (classes: {', '.join(known)})" if known else " (no session saved yet)"))
    return cid


def _insert_ignore(conn: sa.Connection, table: sa.Table, rows: list[dict], keys: list[str],
                   update: Iterable[str] = ()) -> None:
    """INSERT rows, skipping (or updating ``update`` columns of) those whose ``keys`` already exist."""
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif conn.dialect.name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:
        raise RecordsError(f"unsupported database: {conn.dialect.name} (use SQLite or PostgreSQL)")
    stmt = insert(table)
    update = list(update)
    if update:
        stmt = stmt.on_conflict_do_update(index_elements=keys, set_={c: stmt.excluded[c] for c in update})
    else:
        stmt = stmt.on_conflict_do_nothing(index_elements=keys)
    conn.execute(stmt, rows)


def _ensure_class(conn: sa.Connection, name: str, now: datetime) -> int:
    _insert_ignore(conn, classes, [{"name": name, "created_at": now}], ["name"])
    return conn.execute(sa.select(classes.c.id).where(classes.c.name == name)).scalar_one()


def _ensure_students(conn: sa.Connection, people: list[tuple[str, str]], now: datetime) -> dict[str, int]:
    """Database ids of students by roster id, recording new ones and updating names."""
    if not people:
        return {}
    _insert_ignore(conn, students, [{"key": k, "name": n, "created_at": now} for k, n in people], ["key"],
                   update=["name"])
    keys = [k for k, _ in people]
    return dict(conn.execute(sa.select(students.c.key, students.c.id).where(students.c.key.in_(keys))).all())


def _insert_marks(conn: sa.Connection, session_id: int, student_ids: dict[str, int], results: list) -> None:
    if not results:
        return
    conn.execute(marks.insert(), [
        {"session_id": session_id, "student_id": student_ids[s.id], "status": s.status,
         "source": MANUAL if s.status != s.automatic_status else AUTOMATIC,
         "automatic_status": s.automatic_status,
         "distance": None if s.distance is None else float(s.distance), "photo": s.photo,
         "ambiguous": bool(s.ambiguous)} for s in results])


def _session_labels(items: list[tuple[int, datetime]]) -> dict[int, str]:
    """Matrix column per session: the local date, with the time when a day has several, and the id if still equal."""
    by_day: dict[str, list[int]] = {}
    for sid, moment in items:
        by_day.setdefault(moment.date().isoformat(), []).append(sid)
    labels = {}
    for sid, moment in items:
        day = moment.date().isoformat()
        labels[sid] = day if len(by_day[day]) == 1 else moment.strftime("%Y-%m-%d %H:%M")
    counts: dict[str, int] = {}
    for label in labels.values():
        counts[label] = counts.get(label, 0) + 1
    return {sid: (f"{label} #{sid}" if counts[label] > 1 else label) for sid, label in labels.items()}


def _datetimes(df: pd.DataFrame, local: list[str], utc: Iterable[str] = ()) -> pd.DataFrame:
    for col in local:
        df[col] = pd.to_datetime(df[col])
    for col in utc:
        df[col] = pd.to_datetime(df[col], utc=True)
    return df
