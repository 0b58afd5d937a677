"""The current schema (what queries use) and the limits on the text it keeps.

Migrations (:mod:`.migrations`) build these tables step by step; this module says what they are now.
"""
from __future__ import annotations

import re

import sqlalchemy as sa

from .errors import RecordsError

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
    sa.Column("listed_at", sa.DateTime, nullable=True),  # v3: when its class list was first imported
)
students = sa.Table(
    "students", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("key", sa.String(200), nullable=False, unique=True),  # the roster id, e.g. Name_Surname
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("forgotten_at", sa.DateTime, nullable=True),  # v2
    # v3: given / refused / not asked (results.CONSENT_STATES); NULL: never recorded (a roster folder
    # without class lists), when (UTC) and by whom it was recorded.
    sa.Column("consent", sa.String(20), nullable=True),
    sa.Column("consent_at", sa.DateTime, nullable=True),
    sa.Column("consent_by", sa.String(200), nullable=True),
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
    sa.Column("starts_at", sa.DateTime, nullable=True),  # v3, UTC: when the class began (None: not given)
    sa.Column("late_after_minutes", sa.Float, nullable=True),  # v3
)
session_photos = sa.Table(
    "session_photos", metadata,
    sa.Column("session_id", sa.Integer, sa.ForeignKey("sessions.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("position", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("name", sa.String(500), nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("faces", sa.Integer, nullable=False),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("taken_at", sa.DateTime, nullable=True),  # v3, UTC: EXIF DateTimeOriginal or upload time
    sa.Column("time_source", sa.String(10), nullable=True),  # v3: results.TIME_FROM_EXIF / TIME_FROM_UPLOAD
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
    sa.Column("first_seen_at", sa.DateTime, nullable=True),  # v3, UTC: the earliest photo the student is in
    sa.UniqueConstraint("session_id", "student_id", name="uq_marks_session_student"),
    sa.CheckConstraint("status IN ('present', 'absent', 'excused', 'late')", name="ck_marks_status"),
)
corrections = sa.Table(  # v2: the audit trail of manual corrections and review decisions
    "corrections", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("mark_id", sa.Integer, sa.ForeignKey("marks.id", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("old_status", sa.String(10), nullable=False),
    sa.Column("new_status", sa.String(10), nullable=False),
    sa.Column("note", sa.Text, nullable=False),
    sa.Column("corrected_by", sa.String(200), nullable=False),
    sa.Column("corrected_at", sa.DateTime, nullable=False),  # UTC
)

consent_changes = sa.Table(  # v3: every consent recorded, for the data-protection officer
    "consent_changes", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("student_id", sa.Integer, sa.ForeignKey("students.id", ondelete="CASCADE"), nullable=False,
              index=True),
    sa.Column("old_state", sa.String(20), nullable=True),
    sa.Column("new_state", sa.String(20), nullable=False),
    sa.Column("note", sa.Text, nullable=False),
    sa.Column("changed_by", sa.String(200), nullable=False),
    sa.Column("changed_at", sa.DateTime, nullable=False),  # UTC
)


# --- Text limits: the same on every database -------------------------------------------------------
# PostgreSQL refuses text longer than a VARCHAR's length (and any NUL character); SQLite keeps both.
# Checking before writing gives one rule, and one clear message, on both.

def text_limit(column: sa.Column) -> int | None:
    """The most characters ``column`` keeps (None: no limit)."""
    return getattr(column.type, "length", None)


#: Characters an imported name, class or id may not hold (``school.classlist``, ``school.oneroster_read``):
#: controls (C0, DEL, C1: a terminal obeys them, ESC clears the screen or retitles the window) and the
#: bidirectional controls that reorder what is shown (U+202E turns "gpj.exe" into "exe.jpg"); line and
#: paragraph separators. Zero-width joiners stay: names in many scripts need them.
UNSAFE_CHARACTERS = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def unsafe_character(text: str) -> str | None:
    """The first character of :data:`UNSAFE_CHARACTERS` in ``text``, named (``the control character U+001B``); or None."""
    found = UNSAFE_CHARACTERS.search(text)
    return f"the control character U+{ord(found.group()):04X}" if found else None


def check_text(what: str, value: str | None, column: sa.Column) -> None:
    """Raise :class:`RecordsError` naming ``what`` (e.g. "the subject") if ``value`` cannot be stored in ``column``."""
    if value is None:
        return
    shown = value if len(value) <= 40 else value[:40] + "…"
    limit = text_limit(column)
    if limit is not None and len(value) > limit:
        raise RecordsError(f"{what} is {len(value)} characters long ({shown!r}); the records keep at most "
                           f"{limit}: shorten it")
    if "\x00" in value:
        raise RecordsError(f"{what} contains a NUL character ({shown!r}), which the records cannot keep")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise RecordsError(f"{what} is not valid text ({shown!r}; a file name in another encoding?): "
                           "rename it") from None
