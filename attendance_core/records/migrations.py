"""Schema migrations: ordered, each one transaction step; frozen DDL, never edited once released.

A database made by an older release is upgraded in place when it is opened, in one transaction; one
made by a newer release is refused.
"""
from __future__ import annotations

from typing import Callable

import sqlalchemy as sa

from .engine import writing
from .errors import RecordsError
from .schema import schema_version
from .times import utcnow

_MIGRATION_LOCK = 0x5A7E_A77E  # PostgreSQL advisory lock id held while the schema is upgraded


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


def _corrections_v2(m: sa.MetaData) -> sa.Table:
    """The corrections table as schema version 2 made it (frozen here: later versions must not change a
    past step), in ``m``, which must hold a ``marks`` table."""
    return sa.Table("corrections", m,
                    sa.Column("id", sa.Integer, primary_key=True),
                    sa.Column("mark_id", sa.Integer, sa.ForeignKey("marks.id", ondelete="CASCADE"),
                              nullable=False, index=True),
                    sa.Column("old_status", sa.String(10), nullable=False),
                    sa.Column("new_status", sa.String(10), nullable=False),
                    sa.Column("note", sa.Text, nullable=False),
                    sa.Column("corrected_by", sa.String(200), nullable=False),
                    sa.Column("corrected_at", sa.DateTime, nullable=False))


def _migration_2(conn: sa.Connection) -> None:
    """Schema version 2: an audit trail of corrections, and forgetting students."""
    m = sa.MetaData()
    sa.Table("marks", m, sa.Column("id", sa.Integer, primary_key=True))
    _corrections_v2(m).create(conn)
    timestamp = conn.dialect.type_compiler_instance.process(sa.DateTime())
    conn.execute(sa.text(f"ALTER TABLE students ADD COLUMN forgotten_at {timestamp}"))
    # Manual marks made before the audit trail existed get one entry, so none looks automatic.
    conn.execute(sa.text(
        "INSERT INTO corrections (mark_id, old_status, new_status, note, corrected_by, corrected_at) "
        "SELECT marks.id, marks.automatic_status, marks.status, :note, sessions.marked_by, sessions.saved_at "
        "FROM marks JOIN sessions ON sessions.id = marks.session_id WHERE marks.source = 'manual'"),
        {"note": "corrected before the audit trail existed (schema version 1)"})


def _migration_3(conn: sa.Connection) -> None:
    """Schema version 3: school records (consent, class lists, photo times, the late status)."""
    timestamp = conn.dialect.type_compiler_instance.process(sa.DateTime())
    real = conn.dialect.type_compiler_instance.process(sa.Float())
    for table, column, kind in (("students", "consent", "VARCHAR(20)"), ("students", "consent_at", timestamp),
                                ("students", "consent_by", "VARCHAR(200)"), ("classes", "listed_at", timestamp),
                                ("sessions", "starts_at", timestamp), ("sessions", "late_after_minutes", real),
                                ("session_photos", "taken_at", timestamp),
                                ("session_photos", "time_source", "VARCHAR(10)")):
        conn.execute(sa.text(f"ALTER TABLE {table} ADD COLUMN {column} {kind}"))
    m = sa.MetaData()
    sa.Table("students", m, sa.Column("id", sa.Integer, primary_key=True))
    sa.Table("consent_changes", m,
             sa.Column("id", sa.Integer, primary_key=True),
             sa.Column("student_id", sa.Integer, sa.ForeignKey("students.id", ondelete="CASCADE"),
                       nullable=False, index=True),
             sa.Column("old_state", sa.String(20), nullable=True),
             sa.Column("new_state", sa.String(20), nullable=False),
             sa.Column("note", sa.Text, nullable=False),
             sa.Column("changed_by", sa.String(200), nullable=False),
             sa.Column("changed_at", sa.DateTime, nullable=False)).create(conn)
    late_check = "status IN ('present', 'absent', 'excused', 'late')"
    if conn.dialect.name != "sqlite":
        conn.execute(sa.text("ALTER TABLE marks DROP CONSTRAINT ck_marks_status"))
        conn.execute(sa.text(f"ALTER TABLE marks ADD CONSTRAINT ck_marks_status CHECK ({late_check})"))
        conn.execute(sa.text(f"ALTER TABLE marks ADD COLUMN first_seen_at {timestamp}"))
        return
    # SQLite cannot change a CHECK constraint: the marks table is rebuilt. Dropping a table that others
    # reference deletes their rows (ON DELETE CASCADE) while foreign keys are on, and they cannot be
    # turned off inside a transaction: so the corrections, which reference marks, are set aside first.
    conn.execute(sa.text("CREATE TABLE corrections_v2 AS SELECT * FROM corrections"))
    conn.execute(sa.text("DROP TABLE corrections"))
    m = sa.MetaData()
    sa.Table("sessions", m, sa.Column("id", sa.Integer, primary_key=True))
    sa.Table("students", m, sa.Column("id", sa.Integer, primary_key=True))
    new_marks = sa.Table(
        "marks_v3", m,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("session_id", sa.Integer, sa.ForeignKey("sessions.id", ondelete="CASCADE"), nullable=False),
        sa.Column("student_id", sa.Integer, sa.ForeignKey("students.id"), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("source", sa.String(10), nullable=False),
        sa.Column("automatic_status", sa.String(10), nullable=False),
        sa.Column("distance", sa.Float, nullable=True),
        sa.Column("photo", sa.String(500), nullable=True),
        sa.Column("ambiguous", sa.Boolean, nullable=False),
        sa.Column("first_seen_at", sa.DateTime, nullable=True),
        sa.UniqueConstraint("session_id", "student_id", name="uq_marks_session_student"),
        sa.CheckConstraint(late_check, name="ck_marks_status"))
    new_marks.create(conn)
    columns = "id, session_id, student_id, status, source, automatic_status, distance, photo, ambiguous"
    conn.execute(sa.text(f"INSERT INTO marks_v3 ({columns}) SELECT {columns} FROM marks"))
    conn.execute(sa.text("DROP TABLE marks"))
    conn.execute(sa.text("ALTER TABLE marks_v3 RENAME TO marks"))
    conn.execute(sa.text("CREATE INDEX ix_marks_student_id ON marks (student_id)"))
    m = sa.MetaData()
    sa.Table("marks", m, sa.Column("id", sa.Integer, primary_key=True))
    _corrections_v2(m).create(conn)
    columns = "id, mark_id, old_status, new_status, note, corrected_by, corrected_at"
    conn.execute(sa.text(f"INSERT INTO corrections ({columns}) SELECT {columns} FROM corrections_v2"))
    conn.execute(sa.text("DROP TABLE corrections_v2"))


#: (version, description, step). Append only; a released step is never changed.
MIGRATIONS: list[tuple[int, str, Callable[[sa.Connection], None]]] = [
    (1, "classes, students, sessions, photos, marks", _migration_1),
    (2, "corrections audit trail; forgotten students", _migration_2),
    (3, "consent, class lists, photo times, late status", _migration_3),
]
SCHEMA_VERSION = MIGRATIONS[-1][0]


def current_version(conn: sa.Connection) -> int:
    """The schema version of a database (0 when empty)."""
    if not sa.inspect(conn).has_table("schema_version"):
        return 0
    return conn.execute(sa.select(sa.func.max(schema_version.c.version))).scalar() or 0


def migrate(engine: sa.Engine, target: int | None = None) -> int:
    """Upgrade the database's schema to ``target`` (default: the latest) in one transaction; returns the version."""
    target = SCHEMA_VERSION if target is None else target
    with writing(engine) as conn:
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
                        version=number, description=description, applied_at=utcnow()))
                    version = number
    return version
