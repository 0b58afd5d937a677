"""The store: one SQLAlchemy database of classes, students, sessions and marks, read and written."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy import exc

from ..results import AUTOMATIC, MANUAL, STATUSES, Attendance
from . import saving
from .engine import create_engine, writing
from .errors import DuplicateSessionError, RecordsError, UnknownStudentError, clean_errors, database_error
from .migrations import SCHEMA_VERSION, current_version, migrate
from .register import SchoolRegister
from .queries import (STUDENT_COLUMNS, corrections_query, frame, marks_query, memberships_query, require_class,
                      require_session, sessions_query)
from .reports import Report, build_report
from .schema import check_text, class_students, classes, corrections, marks, session_photos, sessions, students
from .times import current_user, to_utc, utcnow

if TYPE_CHECKING:  # pandas loads when a table is made, not with the records (a dashboard's first page needs none)
    import pandas as pd

    from ..config import Settings

#: Shown instead of the name of a forgotten student whose marks were kept.
FORGOTTEN_NAME = "(forgotten student)"


@dataclass(frozen=True)
class ForgetResult:
    """What :meth:`Store.forget_student` did: marks anonymised or deleted, corrections touched."""

    student_id: str
    marks: int
    corrections: int
    deleted: bool
    anonymised_as: str | None = None  # the id their kept marks now carry


class Store(SchoolRegister):
    """Attendance records in the database at ``url`` (``sqlite:///file.db``, ``postgresql+psycopg://...``).

    The schema is created or upgraded on opening (``upgrade=False`` refuses an outdated database instead).
    ``read_only=True`` writes nothing, so that a read-only SQLite file or folder can still be read; a
    database at an older schema version is then upgraded only if it can be written. Every failure of
    the database is raised as a :class:`RecordsError` whose message holds no database text.
    """

    def __init__(self, url: str, *, upgrade: bool = True, read_only: bool = False):
        self.url = url
        self.read_only = read_only
        try:
            self.engine = create_engine(url, read_only=read_only)
        except (exc.ArgumentError, exc.NoSuchModuleError, ValueError):
            raise RecordsError("not a usable database URL (database_url or ATTENDANCE_DATABASE_URL; expected "
                               "sqlite:///FILE or postgresql+psycopg://USER:PASSWORD@HOST/DATABASE)") from None
        try:
            with self.engine.connect() as conn:
                found = current_version(conn)
            if found > SCHEMA_VERSION:
                raise RecordsError(f"the records database has schema version {found}, newer than this release "
                                   f"knows ({SCHEMA_VERSION}): upgrade Smart Attendance")
            if found < SCHEMA_VERSION:
                if not upgrade:
                    raise RecordsError(f"the records database has schema version {found}, expected {SCHEMA_VERSION}")
                if read_only:  # an older database is upgraded by a writer first
                    self.engine.dispose()
                    self.engine = create_engine(url)
                migrate(self.engine)
                if read_only:
                    self.engine.dispose()
                    self.engine = create_engine(url, read_only=True)
        except exc.SQLAlchemyError as err:
            self.engine.dispose()
            raise database_error(err, url, opening=True) from None
        except RecordsError:
            self.engine.dispose()
            raise

    @classmethod
    def from_settings(cls, settings: "Settings", *, read_only: bool = False) -> "Store":
        """The store of ``settings.resolved_database_url()``; the data folder is made if needed (unless read_only)."""
        if not read_only:
            try:
                Path(settings.data_dir).mkdir(parents=True, exist_ok=True)
            except OSError as err:
                raise RecordsError(f"cannot make the data folder {settings.data_dir}: {err.strerror}") from None
        return cls(settings.resolved_database_url(), read_only=read_only)

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
    @clean_errors
    def schema_version(self) -> int:
        with self.engine.connect() as conn:
            return current_version(conn)

    def _writable(self) -> None:
        if self.read_only:
            raise RecordsError("these records were opened read-only: nothing can be saved through them")

    # -- writing --

    @clean_errors
    def save_session(self, attendance: Attendance, *, class_name: str, subject: str = "",
                     taken_at: datetime | None = None, marked_by: str | None = None,
                     settings: "Settings | None" = None) -> int:
        """Record a marked session (every student's mark, the photos' hashes) in one transaction; returns its id.

        taken_at: when the class took place (default its start, else now; a naive datetime is local time). Students
        and their class membership are recorded from the attendance. The audit trail gets a line per
        review decision (``attendance.reviews``) and per mark corrected by hand before saving. Raises
        :class:`DuplicateSessionError` if the class and photos were saved before, and
        :class:`RecordsError`, before writing anything, for an empty class name, a bad status or
        review, or text the records cannot keep (over its column's length, or with a NUL character).
        """
        self._writable()
        class_name = (class_name or "").strip()
        subject = (subject or "").strip()
        moment = taken_at if taken_at is not None else attendance.start
        taken = to_utc(moment) if moment is not None else utcnow()
        by = marked_by or current_user()
        saving.check_session(attendance, class_name, subject, by)
        hashes = sorted(p.sha256 for p in attendance.photos if p.sha256)
        fingerprint = saving.fingerprint(class_name, subject, taken, hashes)
        used = {"tolerance": attendance.tolerance}
        if settings is not None:
            for name in ("ambiguity_margin", "detector", "min_face_size", "jitters"):
                used[name] = getattr(settings, name, None)
        from .. import __version__
        used["version"] = __version__
        audit = saving.audit_lines(attendance)
        saved_at = utcnow()
        try:
            with writing(self.engine) as conn:
                existing = saving.session_by_fingerprint(conn, fingerprint)
                if existing is not None:
                    raise DuplicateSessionError(existing)
                class_id = saving.ensure_class(conn, class_name, saved_at)
                student_ids = saving.ensure_students(conn, [(s.id, s.name) for s in attendance.students], saved_at)
                saving.insert_ignore(conn, class_students,
                                     [{"class_id": class_id, "student_id": sid, "added_at": saved_at}
                                      for sid in student_ids.values()], ["class_id", "student_id"])
                session_id = conn.execute(sessions.insert().values(
                    class_id=class_id, subject=subject, taken_at=taken, saved_at=saved_at,
                    tolerance=float(attendance.tolerance), settings=json.dumps(used, sort_keys=True),
                    marked_by=by, unknown_faces=len(attendance.unknown_faces), fingerprint=fingerprint,
                    starts_at=to_utc(attendance.start) if attendance.start else None,
                    late_after_minutes=attendance.late_after_minutes if attendance.start else None,
                )).inserted_primary_key[0]
                if attendance.photos:
                    conn.execute(session_photos.insert(), [
                        {"session_id": session_id, "position": i, "name": p.name, "sha256": p.sha256 or "",
                         "faces": len(p.faces), "error": p.error,
                         "taken_at": to_utc(p.taken_at) if p.taken_at else None, "time_source": p.time_source or None}
                        for i, p in enumerate(attendance.photos)])
                saving.insert_marks(conn, session_id, student_ids, attendance.students)
                saving.insert_audit_lines(conn, session_id, student_ids, audit, by, saved_at)
        except exc.IntegrityError:
            # Another process saved the same session between our check and our insert.
            with self.engine.connect() as conn:
                existing = saving.session_by_fingerprint(conn, fingerprint)
            if existing is not None:
                raise DuplicateSessionError(existing) from None
            raise
        return int(session_id)

    @clean_errors
    def correct(self, session_id: int, student_id: str, status: str, note: str = "", by: str | None = None) -> int:
        """Set a student's mark in a saved session by hand; the change is added to the audit trail (returns its id).

        The automatic result stays recorded (``automatic_status``); correcting back to it makes the
        mark automatic again. Raises :class:`RecordsError` for an unknown session, student or status,
        or a ``by`` or ``note`` the records cannot keep.
        """
        self._writable()
        if status not in STATUSES:
            raise RecordsError(f"status must be one of {', '.join(STATUSES)}, not {status!r}")
        by = by or current_user()
        check_text("who corrects (--by)", by, corrections.c.corrected_by)
        check_text("the note", note, corrections.c.note)
        with writing(self.engine) as conn:
            require_session(conn, session_id)
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
                corrected_by=by, corrected_at=utcnow())).inserted_primary_key[0])

    @clean_errors
    def forget_student(self, student_id: str, *, delete_marks: bool = False) -> ForgetResult:
        """Forget a student in the records.

        Default: their past marks are kept so class statistics stay true, but anonymised: the
        student's id and name are replaced (``forgotten-N``, ``(forgotten student)``), the distance
        and photo name of each mark and the notes of their corrections are cleared, and they leave
        their classes. ``delete_marks=True`` deletes their marks, corrections and the student instead.
        Raises :class:`UnknownStudentError` when no such student is recorded.
        """
        self._writable()
        with writing(self.engine) as conn:
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
                    key=f"forgotten-{sid}", name=FORGOTTEN_NAME, forgotten_at=utcnow()))
        return ForgetResult(student_id, int(n_marks), int(n_corr), delete_marks,
                            None if delete_marks else f"forgotten-{sid}")

    # -- reading --

    @clean_errors
    def classes(self) -> list[str]:
        """Names of the classes with records, sorted."""
        with self.engine.connect() as conn:
            return list(conn.execute(sa.select(classes.c.name).order_by(classes.c.name)).scalars())

    @clean_errors
    def students(self, class_name: str | None = None) -> pd.DataFrame:
        """Recorded students (``student_id``, ``name``, ``classes``: their classes, comma-separated), of one class or all."""
        q = memberships_query()
        with self.engine.connect() as conn:
            if class_name is not None:
                q = q.where(classes.c.id == require_class(conn, class_name))
            rows = frame(conn.execute(q))
        joined = rows.groupby(["student_id", "name"], sort=False)["class"].agg(
            lambda names: ", ".join(sorted(n for n in names if isinstance(n, str))))
        return joined.rename("classes").reset_index()[STUDENT_COLUMNS]

    @clean_errors
    def sessions(self, class_name: str | None = None) -> pd.DataFrame:
        """Saved sessions, oldest first (columns: :data:`SESSION_COLUMNS`): local ``taken_at``, counts, who marked."""
        q = sessions_query()
        with self.engine.connect() as conn:
            if class_name is not None:
                q = q.where(sessions.c.class_id == require_class(conn, class_name))
            return frame(conn.execute(q), local=["taken_at", "saved_at"], utc=["taken_at_utc"])

    @clean_errors
    def session_marks(self, session_id: int) -> pd.DataFrame:
        """Every student's mark in a session: status, source (automatic/manual), automatic_status, distance, photo."""
        with self.engine.connect() as conn:
            require_session(conn, session_id)
            df = frame(conn.execute(marks_query(session_id)))
        df["distance"] = df["distance"].astype(float)
        df["ambiguous"] = df["ambiguous"].astype(bool)
        return df

    @clean_errors
    def corrections(self, session_id: int | None = None) -> pd.DataFrame:
        """The audit trail: every correction and review decision (what changed, note, by whom, local ``corrected_at``)."""
        q = corrections_query()
        with self.engine.connect() as conn:
            if session_id is not None:
                require_session(conn, session_id)
                q = q.where(sessions.c.id == session_id)
            return frame(conn.execute(q), local=["taken_at", "corrected_at"])

    @clean_errors
    def attendance_since(self, class_name: str, since: datetime | None = None) -> list[dict]:
        """A class's sessions taken at or after ``since`` (naive: local time; None: all), oldest first, each with
        every mark: JSON-ready dicts, times in UTC ISO 8601 (``Z``).

        A session: ``id``, ``class``, ``subject``, ``taken_at``, ``starts_at``, ``marked_by``, ``marks``; a
        mark: ``student_id``, ``status``, ``source``, ``automatic_status``, ``first_seen_at``, and the last
        correction's ``corrected_by`` and ``corrected_at`` (None if never corrected).
        """
        def iso(moment):
            return None if moment is None else moment.replace(microsecond=0).isoformat() + "Z"

        with self.engine.connect() as conn:
            class_id = require_class(conn, class_name)
            q = sa.select(sessions).where(sessions.c.class_id == class_id).order_by(sessions.c.taken_at, sessions.c.id)
            if since is not None:
                q = q.where(sessions.c.taken_at >= to_utc(since))
            found = conn.execute(q).all()
            last = (sa.select(corrections.c.mark_id, sa.func.max(corrections.c.id).label("id"))
                    .group_by(corrections.c.mark_id).subquery())
            out = []
            for s in found:
                rows = conn.execute(
                    sa.select(students.c.key, marks.c.status, marks.c.source, marks.c.automatic_status,
                              marks.c.first_seen_at, corrections.c.corrected_by, corrections.c.corrected_at)
                    .select_from(marks.join(students, students.c.id == marks.c.student_id)
                                 .outerjoin(last, last.c.mark_id == marks.c.id)
                                 .outerjoin(corrections, corrections.c.id == last.c.id))
                    .where(marks.c.session_id == s.id).order_by(students.c.key)).all()
                out.append({"id": s.id, "class": class_name, "subject": s.subject, "taken_at": iso(s.taken_at),
                            "starts_at": iso(s.starts_at), "marked_by": s.marked_by,
                            "marks": [{"student_id": r.key, "status": r.status, "source": r.source,
                                       "automatic_status": r.automatic_status, "first_seen_at": iso(r.first_seen_at),
                                       "corrected_by": r.corrected_by, "corrected_at": iso(r.corrected_at)}
                                      for r in rows]})
        return out

    @clean_errors
    def report(self, class_name: str, subject: str | None = None, start: date | str | None = None,
               end: date | str | None = None) -> Report:
        """Attendance of a class: per-student counts and rates, and the students-by-dates matrix.

        subject: only sessions of this subject (default all); start, end: first and last local day
        included (dates or ``YYYY-MM-DD``; default unbounded).
        """
        start_d = date.fromisoformat(start) if isinstance(start, str) else start
        end_d = date.fromisoformat(end) if isinstance(end, str) else end
        with self.engine.connect() as conn:
            return build_report(conn, class_name, subject, start_d, end_d)
