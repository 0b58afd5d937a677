"""Writing a marked session: its class, students, photos, marks and audit-trail lines, in one transaction."""
from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Iterable

import sqlalchemy as sa

from ..results import AUTOMATIC, CONFIRMED, MANUAL, REASSIGNED, REJECTED, REVIEW_DECISIONS, STATUSES, Attendance
from .errors import RecordsError
from .times import to_utc
from .schema import check_text, classes, corrections, marks, session_photos, sessions, students

#: Audit-trail note of a review decision, by decision; ``{face}`` counts from 1 in the photo's order.
REVIEW_NOTES = {
    CONFIRMED: "review: face {face} in {photo} confirmed as this student",
    REJECTED: "review: face {face} in {photo} is not this student",
    REASSIGNED: "review: face {face} in {photo} reassigned to this student",
}
HAND_CORRECTION_NOTE = "corrected before saving"


def check_session(attendance: Attendance, class_name: str, subject: str, marked_by: str) -> None:
    """Raise :class:`RecordsError` for anything of a session the records cannot keep, before writing."""
    if not class_name:
        raise RecordsError("a session needs a class name")
    check_text("the class name", class_name, classes.c.name)
    check_text("the subject", subject, sessions.c.subject)
    check_text("who marked (the user name)", marked_by, sessions.c.marked_by)
    for s in attendance.students:
        if s.status not in STATUSES or s.automatic_status not in STATUSES:
            raise RecordsError(f"student {s.id!r}: status must be one of {', '.join(STATUSES)}, not {s.status!r}")
        check_text(f"the student id {s.id[:40]!r}", s.id, students.c.key)
        check_text(f"the name of student {s.id[:40]!r}", s.name, students.c.name)
        check_text(f"the photo name of student {s.id[:40]!r}", s.photo, marks.c.photo)
    if len({s.id for s in attendance.students}) != len(attendance.students):
        raise RecordsError("the attendance lists a student twice")
    for p in attendance.photos:
        check_text("a photo name", p.name, session_photos.c.name)
        check_text(f"the SHA-256 of photo {p.name[:40]!r}", p.sha256, session_photos.c.sha256)
    ids = {s.id for s in attendance.students}
    for r in attendance.reviews:
        if r.decision not in REVIEW_DECISIONS:
            raise RecordsError(f"review decision must be one of {', '.join(REVIEW_DECISIONS)}, not {r.decision!r}")
        if r.student not in ids:
            raise RecordsError(f"the review of face {r.face + 1} in {review_photo(attendance, r)} names "
                               f"{r.student!r}, who is not in this session's attendance")


def review_photo(attendance: Attendance, review) -> str:
    """The name of the photo a review is about."""
    if review.photo_name:
        return review.photo_name
    ok = 0 <= review.photo < len(attendance.photos)
    return attendance.photos[review.photo].name if ok else f"photo {review.photo + 1}"


def audit_lines(attendance: Attendance) -> list[tuple[str, str, str, str]]:
    """(student id, old status, new status, note) of every audit-trail line a saved session starts with.

    One line per review decision, for the student it names: CONFIRMED leaves the status as it is;
    REJECTED and REASSIGNED go from the automatic result to the saved status. A student whose saved
    status differs from the automatic one for no such decision was corrected by hand: one more line.
    """
    by_id = {s.id: s for s in attendance.students}
    lines, explained = [], set()
    for r in attendance.reviews:
        s = by_id[r.student]
        note = REVIEW_NOTES[r.decision].format(face=r.face + 1, photo=review_photo(attendance, r))
        if r.decision == CONFIRMED:
            lines.append((s.id, s.status, s.status, note))
        else:
            lines.append((s.id, s.automatic_status, s.status, note))
            explained.add(s.id)
    lines += [(s.id, s.automatic_status, s.status, HAND_CORRECTION_NOTE) for s in attendance.students
              if s.status != s.automatic_status and s.id not in explained]
    return lines


def fingerprint(class_name: str, subject: str, taken_utc: datetime, photo_hashes: list[str]) -> str:
    """What makes a session the same session: its class and photo contents (or, without photos, its time)."""
    if photo_hashes:
        basis = ["photos", class_name, *photo_hashes]
    else:
        basis = ["time", class_name, subject, taken_utc.isoformat()]
    return hashlib.sha256("\x1f".join(basis).encode()).hexdigest()


def session_by_fingerprint(conn: sa.Connection, fingerprint: str) -> int | None:
    """The id of the session saved with this fingerprint, if any."""
    return conn.execute(sa.select(sessions.c.id).where(sessions.c.fingerprint == fingerprint)).scalar()


def insert_ignore(conn: sa.Connection, table: sa.Table, rows: list[dict], keys: list[str],
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


def ensure_class(conn: sa.Connection, name: str, now: datetime) -> int:
    """The database id of class ``name``, recorded now if new."""
    insert_ignore(conn, classes, [{"name": name, "created_at": now}], ["name"])
    return conn.execute(sa.select(classes.c.id).where(classes.c.name == name)).scalar_one()


def ensure_students(conn: sa.Connection, people: list[tuple[str, str]], now: datetime) -> dict[str, int]:
    """Database ids of students by roster id, recording new ones and updating names."""
    if not people:
        return {}
    insert_ignore(conn, students, [{"key": k, "name": n, "created_at": now} for k, n in people], ["key"],
                  update=["name"])
    keys = [k for k, _ in people]
    return dict(conn.execute(sa.select(students.c.key, students.c.id).where(students.c.key.in_(keys))).all())


def insert_marks(conn: sa.Connection, session_id: int, student_ids: dict[str, int], results: list) -> None:
    """One mark per student result of the session."""
    if not results:
        return
    conn.execute(marks.insert(), [
        {"session_id": session_id, "student_id": student_ids[s.id], "status": s.status,
         "source": MANUAL if s.status != s.automatic_status else AUTOMATIC,
         "automatic_status": s.automatic_status,
         "distance": None if s.distance is None else float(s.distance), "photo": s.photo,
         "ambiguous": bool(s.ambiguous),
         "first_seen_at": to_utc(s.first_seen) if s.first_seen else None} for s in results])


def insert_audit_lines(conn: sa.Connection, session_id: int, student_ids: dict[str, int],
                       lines: list[tuple[str, str, str, str]], by: str, now: datetime) -> None:
    """The audit-trail lines (see :func:`audit_lines`) of a session just saved."""
    if not lines:
        return
    mark_ids = dict(conn.execute(
        sa.select(marks.c.student_id, marks.c.id).where(marks.c.session_id == session_id)).all())
    conn.execute(corrections.insert(), [
        {"mark_id": mark_ids[student_ids[sid]], "old_status": old, "new_status": new, "note": note,
         "corrected_by": by, "corrected_at": now} for sid, old, new, note in lines])
