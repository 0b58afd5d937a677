"""OneRoster CSV bundles (IMS Global OneRoster 1.1 and 1.2) from a school's information system.

A bundle is a folder or ZIP file of CSV files: ``manifest.csv`` (``propertyName,value``: the version
and, per file, ``file.users=bulk|delta|absent``), ``orgs.csv``, ``academicSessions.csv``, ``classes.csv``,
``users.csv``, ``enrollments.csv`` (and in 1.2 ``roles.csv``). What is used:

- users with the role ``student``: students of the records, their OneRoster ``sourcedId`` their student
  id, ``givenName familyName`` their name; consent is not OneRoster's: a new student is *not asked*;
- users with the role ``teacher``: hub users (role teacher, by ``username``) assigned to the classes
  they are enrolled in as teachers (:mod:`.access`); an admin stays an admin;
- classes: by ``title`` (``title (classCode)`` when two share a title); a class keeps the name it got first;
- enrollments: a class's students are its active student enrollments; ``status=tobedeleted`` (or an
  ``endDate`` passed) ends one, and the student leaves the class from then on: their past marks stay.

A *bulk* file is the whole picture (what it no longer holds has ended); a *delta* file holds only
changes. The import is all or nothing: the bundle is read and checked whole first (:mod:`.oneroster_read`:
the ZIP's limits, missing columns, duplicate sourcedIds, formula-like cells, control characters, bytes that
are not UTF-8, rows with more or fewer fields than the header, too many rows; here: unknown references),
every problem reported with its file and line, then written in one transaction. Importing the same bundle
again changes nothing. An import that would take more than :data:`MASS_REMOVAL_SHARE` of the school's
enrolments away (a truncated export: every enrollment ``tobedeleted``, a bulk ``enrollments.csv`` with its
header only) is refused, naming the count, unless the caller allows it (``--allow-mass-removal``).

What OneRoster said is kept in three tables of the records database (``oneroster_classes``,
``oneroster_users``, ``oneroster_enrollments``), made on first use like :mod:`.access`'s, so that a
delta bundle can refer to what an earlier bundle brought.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa

from ..records.register import insert_rows
from . import access
from .classlist import STUDENT_ID, same_names
from .oneroster_read import (ABSENT, ACTIVE, BULK, DELTA, TO_BE_DELETED, VERSIONS, Bundle, OneRosterError, Row,
                             read_bundle)

if TYPE_CHECKING:
    from ..config import Settings
    from ..records import Store

__all__ = ["ABSENT", "ACTIVE", "BULK", "DELTA", "TO_BE_DELETED", "VERSIONS", "Bundle", "OneRosterError",
           "OneRosterReport", "Row", "enrollment_history", "import_oneroster", "read_bundle"]
STUDENT, TEACHER = "student", "teacher"
#: An import removing more than this share of the school's enrolments (students from classes and teachers
#: from classes, together) is refused unless allowed; fewer than MASS_REMOVAL_MIN removals always pass.
MASS_REMOVAL_SHARE = 0.2
MASS_REMOVAL_MIN = 10

metadata = sa.MetaData()
or_classes = sa.Table(
    "oneroster_classes", metadata,
    sa.Column("sourced_id", sa.String(255), primary_key=True),
    sa.Column("class_name", sa.String(200), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("updated_at", sa.DateTime, nullable=False),
)
or_users = sa.Table(
    "oneroster_users", metadata,
    sa.Column("sourced_id", sa.String(255), primary_key=True),
    sa.Column("role", sa.String(32), nullable=False),
    sa.Column("user_name", sa.String(128), nullable=True),  # a teacher's hub login; students: None
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("updated_at", sa.DateTime, nullable=False),
)
or_enrollments = sa.Table(
    "oneroster_enrollments", metadata,
    sa.Column("sourced_id", sa.String(255), primary_key=True),
    sa.Column("class_sourced_id", sa.String(255), nullable=False, index=True),
    sa.Column("user_sourced_id", sa.String(255), nullable=False, index=True),
    sa.Column("role", sa.String(32), nullable=False),
    sa.Column("begin_date", sa.Date, nullable=True),
    sa.Column("end_date", sa.Date, nullable=True),  # the day it ended (tobedeleted: the bundle's date)
    sa.Column("status", sa.String(16), nullable=False),  # active, or tobedeleted once ended
    sa.Column("updated_at", sa.DateTime, nullable=False),
)


# --- What a bundle means ----------------------------------------------------------------------------

@dataclass
class OneRosterReport:
    """What importing a bundle did and found; ``changed`` is False when the records already held it all."""

    source: str
    version: str = ""
    modes: dict[str, str] = field(default_factory=dict)
    students: int = 0
    teachers: int = 0
    classes: dict[str, int] = field(default_factory=dict)  # class -> students on its list now
    added: list[str] = field(default_factory=list)
    renamed: list[tuple[str, str, str]] = field(default_factory=list)
    joined: list[tuple[str, str]] = field(default_factory=list)
    left: list[tuple[str, str]] = field(default_factory=list)
    teachers_added: list[str] = field(default_factory=list)
    assigned: list[tuple[str, str]] = field(default_factory=list)  # (class, teacher)
    unassigned: list[tuple[str, str]] = field(default_factory=list)
    classes_added: list[str] = field(default_factory=list)
    duplicate_names: dict[str, list[str]] = field(default_factory=dict)  # name -> ids, told apart by id
    notes: list[str] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return bool(self.added or self.renamed or self.joined or self.left or self.teachers_added
                    or self.assigned or self.unassigned or self.classes_added)

    def shown(self, sid: str) -> str:
        """``Name (id)``."""
        return f"{self.names.get(sid, sid)} ({sid})"

    def lines(self) -> list[str]:
        """The report in sentences, for a person."""
        files = ", ".join(f"{n[:-4]}: {m}" for n, m in self.modes.items())
        out = [f"{self.source}: OneRoster {self.version} ({files}): {self.students} students, {self.teachers} "
               f"teachers, {len(self.classes)} classes"]
        if not self.changed:
            out.append("Nothing changed: the records already hold this bundle.")
        for what, items in (("New classes", self.classes_added),
                            ("New students", [self.shown(s) for s in self.added]),
                            ("Renamed", [f"{sid}: {old} -> {new}" for sid, old, new in self.renamed]),
                            ("Joined a class", [f"{c}: {self.shown(s)}" for c, s in self.joined]),
                            ("Left a class (past marks kept)", [f"{c}: {self.shown(s)}" for c, s in self.left]),
                            ("New teachers (hub users)", self.teachers_added),
                            ("Teachers assigned", [f"{c}: {t}" for c, t in self.assigned]),
                            ("Teachers no longer assigned", [f"{c}: {t}" for c, t in self.unassigned]),
                            ("Same name, different students (told apart by id)",
                             [f"{name}: {', '.join(ids)}" for name, ids in self.duplicate_names.items()]),
                            ("Notes", self.notes)):
            if items:
                out.append(f"{what}: {len(items)}")
                out.extend(f"  {item}" for item in items)
        return out


def _day(text: str) -> date | None:
    return date.fromisoformat(text[:10]) if text else None


def _mirror(conn: sa.Connection, table: sa.Table) -> dict[str, sa.Row]:
    return {r.sourced_id: r for r in conn.execute(sa.select(table))}


def _upsert(conn: sa.Connection, table: sa.Table, known: dict[str, sa.Row], rows: dict[str, dict], now: datetime) -> None:
    """Write ``rows`` (sourcedId -> values) into a mirror table: insert the new, update those that differ."""
    new = [{"sourced_id": sid, **values, "updated_at": now} for sid, values in rows.items() if sid not in known]
    changed = [{"key": sid, **values, "updated_at": now} for sid, values in rows.items()
               if sid in known and any(getattr(known[sid], k) != v for k, v in values.items())]
    insert_rows(conn, table, new)
    if changed:
        columns = [c for c in changed[0] if c != "key"]
        conn.execute(table.update().where(table.c.sourced_id == sa.bindparam("key"))
                     .values({c: sa.bindparam(c) for c in columns}), changed)


def _roles(bundle: Bundle, known_users: dict[str, sa.Row]) -> dict[str, str]:
    """Each user's role: users.csv's ``role`` (1.1), else roles.csv's primary role (1.2), else their enrollments'."""
    roles = {sid: r.role for sid, r in known_users.items()}
    for row in bundle.rows.get("enrollments.csv", []):
        roles.setdefault(row["userSourcedId"], row["role"].lower())
    for row in bundle.rows.get("roles.csv", []):
        if row["roleType"].lower() == "primary" or row["userSourcedId"] not in roles:
            roles[row["userSourcedId"]] = row["role"].lower()
    for row in bundle.rows.get("users.csv", []):
        if row["role"]:
            roles[row["sourcedId"]] = row["role"].lower()
    return roles


def import_oneroster(source: Path | str, settings: "Settings", by: str | None = None,
                     store: "Store | None" = None, today: date | None = None,
                     allow_mass_removal: bool = False) -> OneRosterReport:
    """Import a OneRoster CSV bundle (folder or ZIP) into the records, all or nothing.

    by: who imports (recorded with each new student's consent); today: the day tobedeleted
    enrollments end when the bundle gives no date (default: today); allow_mass_removal: write even an
    import that removes more than :data:`MASS_REMOVAL_SHARE` of the school's enrolments. Raises
    :class:`OneRosterError` naming each file, line and problem; the records are then as they were.
    """
    from ..records import RecordsError, Store
    from ..records.engine import writing
    from ..records.errors import database_error
    from ..records.register import apply_register, check_register
    from ..records.times import current_user, utcnow

    bundle = read_bundle(source)
    by = by or current_user()
    today = today or date.today()
    own = store is None
    store = store or Store.from_settings(settings)
    try:
        store._writable()
        metadata.create_all(store.engine, checkfirst=True)
        access.metadata.create_all(store.engine, checkfirst=True)
        with writing(store.engine) as conn:
            before = _enrolments(conn)
            report = _apply(conn, bundle, by, today, utcnow(), apply_register, check_register)
            if not allow_mass_removal:
                _hold_mass_removal(bundle, report, before)  # raising here rolls the transaction back
    except sa.exc.SQLAlchemyError as err:
        raise database_error(err, store.url) from None
    except RecordsError as err:
        raise OneRosterError(bundle.source, [str(err)]) from None
    finally:
        if own:
            store.close()
    return report


def _enrolments(conn: sa.Connection) -> int:
    """Students in classes and teachers assigned to classes, in the records now."""
    from ..records.schema import class_students

    return (conn.execute(sa.select(sa.func.count()).select_from(class_students)).scalar_one()
            + conn.execute(sa.select(sa.func.count()).select_from(access.class_teachers)).scalar_one())


def _hold_mass_removal(bundle: Bundle, report: "OneRosterReport", before: int) -> None:
    """Raise :class:`OneRosterError` if the import removed more than :data:`MASS_REMOVAL_SHARE` of ``before``
    enrolments (and at least :data:`MASS_REMOVAL_MIN`)."""
    removed = len(report.left) + len(report.unassigned)
    if removed < MASS_REMOVAL_MIN or removed <= MASS_REMOVAL_SHARE * before:
        return
    modes = ", ".join(f"{n[:-4]}: {m}" for n, m in bundle.modes.items())
    raise OneRosterError(bundle.source, [
        f"it would remove {removed} of the school's {before} enrolments ({removed / before:.0%}; at most "
        f"{MASS_REMOVAL_SHARE:.0%} are removed without asking): {len(report.left)} students from their classes "
        f"and {len(report.unassigned)} teachers from theirs ({modes}). A truncated or partial export? If these "
        "removals are meant, import it again with --allow-mass-removal"])


def _apply(conn: sa.Connection, bundle: Bundle, by: str, today: date, now: datetime,
           apply_register, check_register) -> OneRosterReport:
    """Everything the bundle says, written in the transaction ``conn``; raises :class:`OneRosterError`."""
    report = OneRosterReport(bundle.source, bundle.version, dict(bundle.modes))
    problems: list[str] = []
    known_classes, known_users = _mirror(conn, or_classes), _mirror(conn, or_users)
    known_enrol = _mirror(conn, or_enrollments)
    roles = _roles(bundle, known_users)

    # Orgs and terms: only references to check (the records keep no schools or terms).
    orgs = {r["sourcedId"] for r in bundle.rows.get("orgs.csv", [])}
    terms = {r["sourcedId"] for r in bundle.rows.get("academicSessions.csv", [])}

    # Classes: names, kept once given.
    class_rows = {r["sourcedId"]: r for r in bundle.rows.get("classes.csv", [])}
    titles: dict[str, int] = {}
    for row in class_rows.values():
        titles[row["title"]] = titles.get(row["title"], 0) + 1
    class_values: dict[str, dict] = {}
    for sid, row in class_rows.items():
        if not row["title"]:
            problems.append(f"{row.where()}: no title")
            continue
        if bundle.mode("orgs.csv") == BULK and row["schoolSourcedId"] not in orgs:
            problems.append(f"{row.where()}: schoolSourcedId {row['schoolSourcedId']!r} is not in orgs.csv")
        if bundle.mode("academicSessions.csv") == BULK:
            for term in filter(None, (t.strip() for t in row["termSourcedIds"].split(","))):
                if term not in terms:
                    problems.append(f"{row.where()}: termSourcedIds {term!r} is not in academicSessions.csv")
        name = row["title"] if titles[row["title"]] == 1 else f"{row['title']} ({row['classCode'] or sid})"
        if sid in known_classes:
            name = known_classes[sid].class_name
        elif row["status"] == ACTIVE:
            report.classes_added.append(name)
        class_values[sid] = {"class_name": name, "status": row["status"]}
    class_names = {sid: r.class_name for sid, r in known_classes.items()}
    class_names.update({sid: v["class_name"] for sid, v in class_values.items()})
    taken: dict[str, str] = {}
    for sid, name in class_names.items():
        if name in taken and sid in class_values:
            problems.append(f"{class_rows[sid].where()}: class {name!r} is also class {taken[name]!r}; "
                            "give it another title or classCode")
        taken.setdefault(name, sid)

    # Users: students (by sourcedId) and teachers (by username).
    user_values: dict[str, dict] = {}
    people: list[tuple[str, str, str | None]] = []
    teachers: dict[str, str] = {sid: r.user_name for sid, r in known_users.items() if r.role == TEACHER and r.user_name}
    for row in bundle.rows.get("users.csv", []):
        sid, role = row["sourcedId"], roles.get(row["sourcedId"], "")
        if bundle.mode("orgs.csv") == BULK:
            for org in filter(None, (o.strip() for o in row["orgSourcedIds"].split(","))):
                if org not in orgs:
                    problems.append(f"{row.where()}: orgSourcedIds {org!r} is not in orgs.csv")
        if role not in (STUDENT, TEACHER):
            continue
        name = " ".join(f"{row['givenName']} {row['familyName']}".split())
        if not name:
            problems.append(f"{row.where()}: {role} {sid!r} has no givenName or familyName")
        user_name = None
        if role == STUDENT:
            if not STUDENT_ID.fullmatch(sid):
                problems.append(f"{row.where()}: sourcedId {sid[:60]!r} cannot be a student id (letters, digits "
                                "and . _ - inside, at most 100)")
            elif row["status"] == ACTIVE:
                people.append((sid, name, None))
                report.names[sid] = name
        else:
            try:
                user_name = access.normalize_user(row["username"] or row["email"])
            except access.AccessError as err:
                problems.append(f"{row.where()}: teacher {sid!r}: {err}")
                continue
            teachers[sid] = user_name
        user_values[sid] = {"role": role, "user_name": user_name, "status": row["status"]}
    report.students = sum(1 for v in user_values.values() if v["role"] == STUDENT and v["status"] == ACTIVE)
    report.teachers = sum(1 for v in user_values.values() if v["role"] == TEACHER and v["status"] == ACTIVE)
    user_roles = {sid: r.role for sid, r in known_users.items()}
    user_roles.update({sid: v["role"] for sid, v in user_values.items()})
    gone_users = {sid for sid, v in user_values.items() if v["status"] == TO_BE_DELETED}
    gone_classes = {sid for sid, v in class_values.items() if v["status"] == TO_BE_DELETED}

    # Enrollments: the mirror after this bundle.
    enrol_values: dict[str, dict] = {}
    for row in bundle.rows.get("enrollments.csv", []):
        role = row["role"].lower()
        if role not in (STUDENT, TEACHER):
            continue
        cls, user = row["classSourcedId"], row["userSourcedId"]
        if cls not in class_names:
            problems.append(f"{row.where()}: classSourcedId {cls!r} is in no classes.csv (nor an earlier bundle)")
        if user not in user_roles:
            problems.append(f"{row.where()}: userSourcedId {user!r} is in no users.csv (nor an earlier bundle)")
        elif user_roles[user] != role:
            problems.append(f"{row.where()}: user {user!r} is a {user_roles[user]} in users.csv, enrolled as a {role}")
        if bundle.mode("orgs.csv") == BULK and row["schoolSourcedId"] and row["schoolSourcedId"] not in orgs:
            problems.append(f"{row.where()}: schoolSourcedId {row['schoolSourcedId']!r} is not in orgs.csv")
        begin, end = _day(row["beginDate"]), _day(row["endDate"])
        status = row["status"]
        if status == ACTIVE and end is not None and end < today:
            status = TO_BE_DELETED
        if status == TO_BE_DELETED and end is None:
            end = _day(row["dateLastModified"]) or today
        enrol_values[row["sourcedId"]] = {"class_sourced_id": cls, "user_sourced_id": user, "role": role,
                                         "begin_date": begin, "end_date": end, "status": status}
    if problems:
        raise OneRosterError(bundle.source, problems)
    if bundle.mode("enrollments.csv") == BULK:  # the whole picture: what it no longer holds has ended
        for sid, r in known_enrol.items():
            if sid not in enrol_values and r.status == ACTIVE:
                enrol_values[sid] = {"class_sourced_id": r.class_sourced_id, "user_sourced_id": r.user_sourced_id,
                                     "role": r.role, "begin_date": r.begin_date, "end_date": today,
                                     "status": TO_BE_DELETED}
    for sid, r in known_enrol.items():  # a user or class deleted ends their enrollments
        if sid not in enrol_values and r.status == ACTIVE and (r.user_sourced_id in gone_users
                                                               or r.class_sourced_id in gone_classes):
            enrol_values[sid] = {"class_sourced_id": r.class_sourced_id, "user_sourced_id": r.user_sourced_id,
                                 "role": r.role, "begin_date": r.begin_date, "end_date": today,
                                 "status": TO_BE_DELETED}
    for values in enrol_values.values():
        if values["status"] == ACTIVE and (values["user_sourced_id"] in gone_users
                                           or values["class_sourced_id"] in gone_classes):
            values.update(status=TO_BE_DELETED, end_date=values["end_date"] or today)
    # An ended enrollment keeps the day it ended: a bulk bundle imported again does not move it.
    for sid, values in enrol_values.items():
        old = known_enrol.get(sid)
        if old is not None and old.status == TO_BE_DELETED and values["status"] == TO_BE_DELETED:
            values["end_date"] = old.end_date

    # The class lists and teachers of every class this bundle touches, from the mirror after it.
    state = {sid: (r.class_sourced_id, r.user_sourced_id, r.role, r.status) for sid, r in known_enrol.items()}
    state.update({sid: (v["class_sourced_id"], v["user_sourced_id"], v["role"], v["status"])
                  for sid, v in enrol_values.items()})
    touched = {v["class_sourced_id"] for v in enrol_values.values()} | {
        sid for sid, v in class_values.items() if v["status"] == ACTIVE}
    lists: dict[str, list[str]] = {class_names[c]: [] for c in touched if c not in gone_classes}
    gone_lists = {class_names[c] for c in touched if c in gone_classes}
    want_teachers: dict[tuple[str, str], bool] = {}
    for cls, user, role, status in state.values():
        if cls not in touched:
            continue
        name = class_names[cls]
        if role == STUDENT and status == ACTIVE and name in lists:
            lists[name].append(user)
        elif role == TEACHER and user in teachers:
            key = (name, teachers[user])
            want_teachers[key] = want_teachers.get(key, False) or (status == ACTIVE and name in lists)
    for name in gone_lists:
        lists[name] = []
    for ids in lists.values():
        ids.sort()

    check_register(people, lists, by)
    _upsert(conn, or_classes, known_classes, class_values, now)
    _upsert(conn, or_users, known_users, user_values, now)
    _upsert(conn, or_enrollments, known_enrol, enrol_values, now)
    changes = apply_register(conn, people, lists, by, now)
    report.added, report.renamed, report.joined, report.left = (changes.added, changes.renamed, changes.joined,
                                                                changes.left)
    _apply_teachers(conn, report, teachers, user_values, want_teachers, now)
    report.classes = {name: len(ids) for name, ids in sorted(lists.items())}
    listed = {sid for ids in lists.values() for sid in ids}
    report.duplicate_names = same_names((sid, name) for sid, name, _ in people if sid in listed)
    from ..records.register import student_keys

    missing = [sid for _, sid in report.left if sid not in report.names]
    report.names.update({sid: r.name for sid, r in student_keys(conn, missing).items()})
    return report


def _apply_teachers(conn: sa.Connection, report: OneRosterReport, teachers: dict[str, str],
                    user_values: dict[str, dict], want: dict[tuple[str, str], bool], now: datetime) -> None:
    """Teachers of the bundle as hub users (teacher unless already recorded), assigned to their classes."""
    users, assigned = access.users, access.class_teachers
    recorded = set(conn.execute(sa.select(users.c.name)).scalars())
    new = sorted({teachers[sid] for sid, v in user_values.items() if v["role"] == TEACHER and v["status"] == ACTIVE}
                 - recorded)
    if new:
        conn.execute(users.insert(), [{"name": n, "role": access.TEACHER, "added_at": now} for n in new])
        report.teachers_added = new
    current = {tuple(r) for r in conn.execute(sa.select(assigned.c.class_name, assigned.c.user_name))}
    add = sorted(k for k, on in want.items() if on and k not in current)
    remove = sorted(k for k, on in want.items() if not on and k in current)
    insert_rows(conn, assigned, [{"class_name": c, "user_name": u, "assigned_at": now} for c, u in add])
    for class_name, user_name in remove:
        conn.execute(assigned.delete().where(assigned.c.class_name == class_name, assigned.c.user_name == user_name))
    report.assigned, report.unassigned = add, remove


def enrollment_history(store: "Store", class_name: str) -> list[dict]:
    """The OneRoster enrollments of a class: student or teacher, sourcedId, status, begin and end dates."""
    metadata.create_all(store.engine, checkfirst=True)
    with store.engine.connect() as conn:
        rows = conn.execute(
            sa.select(or_enrollments.c.user_sourced_id, or_enrollments.c.role, or_enrollments.c.status,
                      or_enrollments.c.begin_date, or_enrollments.c.end_date)
            .join(or_classes, or_classes.c.sourced_id == or_enrollments.c.class_sourced_id)
            .where(or_classes.c.class_name == class_name).order_by(or_enrollments.c.user_sourced_id)).all()
    return [dict(r._mapping) for r in rows]
