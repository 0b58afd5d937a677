"""The school register: students by id with their consent, classes as lists of student ids, retention.

:class:`SchoolRegister` is part of :class:`~attendance_core.records.Store` (a mixin over its engine).
The class lists come from a school's information system (:mod:`attendance_core.school.classlist` reads the
CSV; :mod:`attendance_core.school` puts the rules together with the roster folder). A class whose
list was imported has ``classes.listed_at`` set: its roster is its list. Consent is kept per student
(given, refused, not asked; NULL where it was never recorded, for a roster folder used without class
lists) with who recorded it and when, and every change in ``consent_changes``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa

from ..results import CONSENT_NOT_ASKED, CONSENT_REFUSED, CONSENT_STATES
from .engine import writing
from .errors import RecordsError, UnknownStudentError, clean_errors
from .queries import frame
from .saving import insert_ignore
from .schema import (check_text, class_students, classes, consent_changes, corrections, marks, session_photos,
                     sessions, students)
from .times import current_user, to_utc, utcnow

if TYPE_CHECKING:  # pandas loads when a table is made, not with the records (a dashboard's first page needs none)
    import pandas as pd


IMPORT_NOTE = "class list import"


@dataclass
class RegisterChanges:
    """What an import changed: ids added; (id, old, new) renamed; (class, id) joined and left; (id, old, new) consent."""

    added: list[str] = field(default_factory=list)
    renamed: list[tuple[str, str, str]] = field(default_factory=list)
    joined: list[tuple[str, str]] = field(default_factory=list)
    left: list[tuple[str, str]] = field(default_factory=list)
    consent_changed: list[tuple[str, str | None, str]] = field(default_factory=list)


@dataclass(frozen=True)
class PurgeResult:
    """Rows deleted by :meth:`SchoolRegister.purge`, and the ids of the students removed."""

    sessions: int
    marks: int
    corrections: int
    students: list[str]


def _consent_row(student_pk: int, old: str | None, new: str, by: str, now: datetime, note: str) -> dict:
    return {"student_id": student_pk, "old_state": old, "new_state": new, "note": note, "changed_by": by,
            "changed_at": now}


#: Keys per ``IN (...)`` list: SQLite allows 32766 bound values in one statement, older builds 999.
CHUNK = 900


def chunks(items: list, size: int = CHUNK):
    """``items`` in lists of at most ``size``."""
    for i in range(0, len(items), size):
        yield items[i:i + size]


def insert_rows(conn: sa.Connection, table: sa.Table, rows: list[dict]) -> None:
    """INSERT ``rows`` (dicts with the same keys) as one executemany: the driver's fast path on both databases."""
    if rows:
        conn.execute(table.insert(), rows)


def check_register(people: list[tuple[str, str, str | None]], class_lists: dict[str, list[str]], by: str) -> None:
    """Raise :class:`RecordsError` for a student, class or name the records cannot keep, before writing."""
    check_text("who imports", by, consent_changes.c.changed_by)
    for sid, name, consent in people:
        check_text(f"the student id {sid[:40]!r}", sid, students.c.key)
        check_text(f"the name of student {sid[:40]!r}", name, students.c.name)
        if consent is not None and consent not in CONSENT_STATES:
            raise RecordsError(f"consent must be one of {', '.join(CONSENT_STATES)}, not {consent!r}")
    for name in class_lists:
        check_text("the class name", name, classes.c.name)


def student_keys(conn: sa.Connection, keys: list[str]) -> dict[str, sa.Row]:
    """The recorded students among ``keys``: key -> row (id, key, name, consent)."""
    query = sa.select(students.c.id, students.c.key, students.c.name, students.c.consent)
    wanted = set(keys)
    if len(wanted) > 10 * CHUNK:  # a district: one pass over the table beats many long IN lists
        return {r.key: r for r in conn.execute(query) if r.key in wanted}
    found = {}
    for part in chunks(sorted(wanted)):
        found.update((r.key, r) for r in conn.execute(query.where(students.c.key.in_(part))))
    return found


def apply_register(conn: sa.Connection, people: list[tuple[str, str, str | None]],
                   class_lists: dict[str, list[str]], by: str, now: datetime | None = None) -> RegisterChanges:
    """Record students and class lists inside the caller's transaction ``conn`` (checked by :func:`check_register`).

    A new student's consent is ``not asked`` unless given; a student whose consent was never
    recorded gets ``not asked`` too (from now on, consent decides). Each listed class gets exactly
    its students (those who leave keep their past marks). Applying the same lists again changes nothing.
    """
    changes = RegisterChanges()
    now = now or utcnow()
    known = student_keys(conn, [sid for sid, _, _ in people])
    log, new_rows = [], []
    for sid, name, consent in people:
        row = known.get(sid)
        if row is None:
            new_rows.append({"key": sid, "name": name, "created_at": now, "consent": consent or CONSENT_NOT_ASKED,
                             "consent_at": now, "consent_by": by})
            changes.added.append(sid)
            continue
        values = {}
        if row.name != name:
            values["name"] = name
            changes.renamed.append((sid, row.name, name))
        state = consent or row.consent or CONSENT_NOT_ASKED
        if state != row.consent:
            values.update(consent=state, consent_at=now, consent_by=by)
            log.append(_consent_row(row.id, row.consent, state, by, now, IMPORT_NOTE))
            changes.consent_changed.append((sid, row.consent, state))
        if values:
            conn.execute(students.update().where(students.c.id == row.id).values(**values))
    if new_rows:
        insert_rows(conn, students, new_rows)
        added = student_keys(conn, [r["key"] for r in new_rows])
        known.update(added)
        log += [_consent_row(added[r["key"]].id, None, r["consent"], by, now, IMPORT_NOTE) for r in new_rows]
    insert_rows(conn, consent_changes, log)
    listed = {sid for ids in class_lists.values() for sid in ids}
    missing = listed - set(known)
    if missing:
        known.update(student_keys(conn, sorted(missing)))
    if not class_lists:
        return changes
    # One statement per step for every class at once: a district's import has thousands of classes.
    names = sorted(class_lists)
    class_ids: dict[str, int] = {}
    for part in chunks(names):
        insert_ignore(conn, classes, [{"name": n, "created_at": now} for n in part], ["name"])
        class_ids.update(conn.execute(sa.select(classes.c.name, classes.c.id).where(classes.c.name.in_(part))).all())
        conn.execute(classes.update().where(classes.c.name.in_(part), classes.c.listed_at.is_(None))
                     .values(listed_at=now))
    current: dict[int, dict[str, int]] = {cid: {} for cid in class_ids.values()}
    for part in chunks(sorted(current)):
        for cid, key, pk in conn.execute(
                sa.select(class_students.c.class_id, students.c.key, students.c.id)
                .join(students, class_students.c.student_id == students.c.id)
                .where(class_students.c.class_id.in_(part))):
            current[cid][key] = pk
    joins, leaves = [], []
    for class_name in names:
        cid, ids = class_ids[class_name], class_lists[class_name]
        pks = {sid: known[sid].id for sid in ids if sid in known}
        joining = [sid for sid in dict.fromkeys(ids) if sid in pks and sid not in current[cid]]
        leaving = sorted(sid for sid in current[cid] if sid not in pks)
        joins += [{"class_id": cid, "student_id": pks[sid], "added_at": now} for sid in joining]
        leaves += [(cid, current[cid][sid]) for sid in leaving]
        changes.joined += [(class_name, sid) for sid in joining]
        changes.left += [(class_name, sid) for sid in leaving]
    insert_rows(conn, class_students, joins)
    for cid, pk in leaves:
        conn.execute(class_students.delete().where(class_students.c.class_id == cid,
                                                   class_students.c.student_id == pk))
    return changes


class SchoolRegister:
    """Students, class lists, consent and retention: the part of the :class:`Store` a school adds."""

    engine: sa.Engine  # the Store's; its _writable() refuses writes to records opened read-only

    @clean_errors
    def import_register(self, people: list[tuple[str, str, str | None]], class_lists: dict[str, list[str]],
                        by: str | None = None) -> RegisterChanges:
        """Record students ``(id, name, consent or None)`` and class lists ``{class: [ids]}`` in one transaction.

        See :func:`apply_register`; re-importing the same lists changes nothing.
        """
        self._writable()
        by = by or current_user()
        check_register(people, class_lists, by)
        with writing(self.engine) as conn:
            return apply_register(conn, people, class_lists, by)

    @clean_errors
    def register(self) -> list[tuple[str, str, str | None]]:
        """Every recorded student (not forgotten): ``(id, name, consent or None)``, by name then id."""
        with self.engine.connect() as conn:
            return [tuple(r) for r in conn.execute(
                sa.select(students.c.key, students.c.name, students.c.consent)
                .where(students.c.forgotten_at.is_(None)).order_by(students.c.name, students.c.key))]

    @clean_errors
    def class_list(self, class_name: str) -> list[tuple[str, str, str | None]] | None:
        """The imported list of ``class_name``: ``(id, name, consent)`` by name then id; None when it has none."""
        with self.engine.connect() as conn:
            listed = conn.execute(sa.select(classes.c.id, classes.c.listed_at)
                                  .where(classes.c.name == class_name)).first()
            if listed is None or listed.listed_at is None:
                return None
            return [tuple(r) for r in conn.execute(
                sa.select(students.c.key, students.c.name, students.c.consent)
                .join(class_students, class_students.c.student_id == students.c.id)
                .where(class_students.c.class_id == listed.id).order_by(students.c.name, students.c.key))]

    @clean_errors
    def listed_classes(self) -> list[str]:
        """Names of the classes whose list was imported, sorted."""
        with self.engine.connect() as conn:
            return list(conn.execute(sa.select(classes.c.name).where(classes.c.listed_at.is_not(None))
                                     .order_by(classes.c.name)).scalars())

    @clean_errors
    def students_in_classes(self) -> set[str]:
        """Ids of the students who are in at least one class."""
        with self.engine.connect() as conn:
            return set(conn.execute(sa.select(students.c.key).join(
                class_students, class_students.c.student_id == students.c.id).distinct()).scalars())

    @clean_errors
    def set_consent(self, student_id: str, state: str, by: str | None = None, note: str = "",
                    name: str | None = None) -> str | None:
        """Record ``state`` (given, refused, not asked) for a student, now, by ``by``; returns the state before.

        name: record the student under this name if they are not in the records yet (else
        :class:`UnknownStudentError`).
        """
        self._writable()
        if state not in CONSENT_STATES:
            raise RecordsError(f"consent must be one of {', '.join(CONSENT_STATES)}, not {state!r}")
        by = by or current_user()
        check_text("who records consent (--by)", by, consent_changes.c.changed_by)
        check_text("the note", note, consent_changes.c.note)
        now = utcnow()
        with writing(self.engine) as conn:
            row = conn.execute(sa.select(students.c.id, students.c.consent)
                               .where(students.c.key == student_id, students.c.forgotten_at.is_(None))).first()
            if row is None:
                if name is None:
                    raise UnknownStudentError(f"no student {student_id!r} in the records")
                check_text("the student id", student_id, students.c.key)
                pk = conn.execute(students.insert().values(key=student_id, name=name, created_at=now)
                                  ).inserted_primary_key[0]
                old = None
            else:
                pk, old = row.id, row.consent
            conn.execute(students.update().where(students.c.id == pk).values(
                consent=state, consent_at=now, consent_by=by))
            conn.execute(consent_changes.insert().values(**_consent_row(pk, old, state, by, now, note or "")))
        return old

    @clean_errors
    def consent_register(self) -> pd.DataFrame:
        """Each recorded student's consent: ``student_id``, ``name``, ``consent``, ``recorded_at`` (local), ``recorded_by``."""
        with self.engine.connect() as conn:
            return frame(conn.execute(
                sa.select(students.c.key.label("student_id"), students.c.name, students.c.consent,
                          students.c.consent_at.label("recorded_at"), students.c.consent_by.label("recorded_by"))
                .where(students.c.forgotten_at.is_(None)).order_by(students.c.name, students.c.key)),
                local=["recorded_at"])

    @clean_errors
    def purge(self, cutoff: datetime, keep: set[str] = frozenset()) -> PurgeResult:
        """Delete sessions taken before ``cutoff`` (with their photos' hashes, marks and corrections) and
        corrections made before it, in one transaction; then students left with no class and no mark,
        except those in ``keep`` and those who refused consent (their refusal must be remembered).

        A naive ``cutoff`` is local time.
        """
        self._writable()
        before = to_utc(cutoff)
        with writing(self.engine) as conn:
            old = sa.select(sessions.c.id).where(sessions.c.taken_at < before).scalar_subquery()
            old_marks = sa.select(marks.c.id).where(marks.c.session_id.in_(old)).scalar_subquery()
            n_corr = conn.execute(corrections.delete().where(
                sa.or_(corrections.c.mark_id.in_(old_marks), corrections.c.corrected_at < before))).rowcount
            n_marks = conn.execute(marks.delete().where(marks.c.session_id.in_(old))).rowcount
            conn.execute(session_photos.delete().where(session_photos.c.session_id.in_(old)))
            n_sessions = conn.execute(sessions.delete().where(sessions.c.id.in_(old))).rowcount
            member = sa.select(class_students.c.student_id).scalar_subquery()
            marked = sa.select(marks.c.student_id).scalar_subquery()
            gone = conn.execute(sa.select(students.c.id, students.c.key).where(
                students.c.id.not_in(member), students.c.id.not_in(marked),
                sa.or_(students.c.consent.is_(None), students.c.consent != CONSENT_REFUSED))).all()
            gone = [(pk, key) for pk, key in gone if key not in keep]
            if gone:
                pks = [pk for pk, _ in gone]
                conn.execute(consent_changes.delete().where(consent_changes.c.student_id.in_(pks)))
                conn.execute(students.delete().where(students.c.id.in_(pks)))
        return PurgeResult(int(n_sessions), int(n_marks), int(n_corr), sorted(key for _, key in gone))

    @clean_errors
    def student_records(self, student_id: str) -> dict[str, pd.DataFrame]:
        """Everything recorded about one student, as tables: ``student``, ``marks``, ``corrections``, ``consent``.

        Raises :class:`UnknownStudentError` when the student is not recorded.
        """
        with self.engine.connect() as conn:
            pk = conn.execute(sa.select(students.c.id).where(students.c.key == student_id)).scalar()
            if pk is None:
                raise UnknownStudentError(f"no student {student_id!r} in the records")
            in_classes = sorted(conn.execute(
                sa.select(classes.c.name).join(class_students, class_students.c.class_id == classes.c.id)
                .where(class_students.c.student_id == pk)).scalars())
            student = frame(conn.execute(
                sa.select(students.c.key.label("student_id"), students.c.name, students.c.consent,
                          students.c.consent_at.label("consent_recorded_at"),
                          students.c.consent_by.label("consent_recorded_by"),
                          students.c.created_at.label("first_recorded_at"))
                .where(students.c.id == pk)), local=["consent_recorded_at", "first_recorded_at"])
            student.insert(2, "classes", ", ".join(in_classes))
            marks_table = frame(conn.execute(
                sa.select(sessions.c.id.label("session_id"), classes.c.name.label("class"), sessions.c.subject,
                          sessions.c.taken_at, sessions.c.starts_at, marks.c.status, marks.c.source,
                          marks.c.automatic_status, marks.c.first_seen_at, marks.c.distance,
                          marks.c.photo.label("found_in_photo"))
                .select_from(marks.join(sessions, sessions.c.id == marks.c.session_id)
                             .join(classes, classes.c.id == sessions.c.class_id))
                .where(marks.c.student_id == pk).order_by(sessions.c.taken_at, sessions.c.id)),
                local=["taken_at", "starts_at", "first_seen_at"])
            corrections_table = frame(conn.execute(
                sa.select(marks.c.session_id, corrections.c.old_status, corrections.c.new_status, corrections.c.note,
                          corrections.c.corrected_by, corrections.c.corrected_at)
                .join(marks, marks.c.id == corrections.c.mark_id)
                .where(marks.c.student_id == pk).order_by(corrections.c.corrected_at, corrections.c.id)),
                local=["corrected_at"])
            consent_table = frame(conn.execute(
                sa.select(consent_changes.c.old_state.label("before"), consent_changes.c.new_state.label("consent"),
                          consent_changes.c.note, consent_changes.c.changed_by.label("recorded_by"),
                          consent_changes.c.changed_at.label("recorded_at"))
                .where(consent_changes.c.student_id == pk).order_by(consent_changes.c.changed_at,
                                                                    consent_changes.c.id)),
                local=["recorded_at"])
        return {"student": student, "marks": marks_table, "corrections": corrections_table, "consent": consent_table}
