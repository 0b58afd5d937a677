"""A school's students: class lists, consent, retention and a student's access to their data.

The rules every front end shares (command line, dashboard, hub), over the two places school data
lives: the records database (students by id with their names and consent, classes as lists of
student ids, sessions and marks) and the roster folder (reference photos, a folder per student id).

- :func:`class_roster`: the students to recognise in a class: its class list when one was imported,
  else every student of the roster folder (a one-class school, ``Name_Surname.jpg``); students
  without consent are in the roster but never encoded.
- :func:`import_class_list`: a ``student_id,name,class[,photo][,consent]`` CSV into the records and
  the roster folder; importing the same file again changes nothing.
- :func:`set_consent`: record a student's consent; refusing it deletes their cached encodings.
- :func:`purge`: delete what is older than the retention period, and the encodings of students who
  are in no class any more.
- :func:`export_student`: one student's records and reference photos as a ZIP file (a subject
  access request).
"""
from __future__ import annotations

import csv
import hashlib
import io
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from .classlist import ClassListProblem, read_class_list, same_names
from .encoding_cache import forget_everywhere
from .files import write_atomic
from .images import is_image_file
from .results import CONSENT_GIVEN, CONSENT_NOT_ASKED, CONSENT_REFUSED, CONSENT_STATES
from .roster import Enrolment, Roster, display_name, load_roster, roster_entries

if TYPE_CHECKING:
    from .config import Settings
    from .encoding_cache import CachedFaces
    from .faces import DetectorSettings
    from .records import Store


def _store(settings: "Settings", store: "Store | None") -> "Store | None":
    from .records import Store

    if store is not None:
        return store
    return Store.from_settings(settings) if Store.exists(settings) else None


def listed_classes(settings: "Settings") -> list[str]:
    """The classes whose list was imported (none without a records database), sorted."""
    from .records import Store

    if not Store.exists(settings):
        return []
    with Store.from_settings(settings) as store:
        return store.listed_classes()


def school_classes(settings: "Settings", listed: list[str] | None = None) -> dict[str, Path]:
    """The school's classes, class name -> the roster folder its reference photos are in; one source per class.

    - A class with an imported class list: its students by id, in the roster folder (``roster_dir``).
    - Each folder of ``classes_dir`` (a roster folder per class) whose name no class list uses: a
      class list and a folder naming the same class make the class list the source (it holds ids
      and consent), and the folder is not offered.
    - Without ``classes_dir``: the roster folder itself too, named after itself (a one-class school).

    listed: the classes with a list (default: from the records, none without a records database).
    The names are the ones ``attendance classes assign`` gives teachers on a hub.
    """
    listed = listed_classes(settings) if listed is None else listed
    roster_dir = Path(settings.roster_dir)
    classes = {name: roster_dir for name in listed}
    folders = Path(settings.classes_dir) if settings.classes_dir else None
    if folders is not None and folders.is_dir():
        for folder in sorted(p for p in folders.iterdir() if p.is_dir() and not p.name.startswith(".")):
            classes.setdefault(display_name(folder.name), folder)
    else:
        classes.setdefault(display_name(roster_dir.name) or "class", roster_dir)
    return classes


def class_roster(settings: "Settings", class_name: str | None = None, detector: "DetectorSettings | None" = None,
                 progress: Callable[[int, int, str], None] | None = None, store: "Store | None" = None,
                 encode: "Callable[[Path], CachedFaces] | None" = None) -> Roster:
    """The roster of ``class_name``: its imported class list, else its folder in ``classes_dir``, else
    the whole roster folder (one-class school); see :func:`school_classes`.

    Names and consent come from the records when they hold them; without a records database this
    is :func:`roster.load_roster` of the folder. Raises FileNotFoundError without a roster folder.
    encode: how a reference photo missing from the cache is encoded (see :func:`roster.load_roster`).
    """
    from .faces import DetectorSettings

    detector = detector or DetectorSettings(settings.detector, settings.min_face_size, settings.workers,
                                            settings.jitters)
    from .records import RecordsError

    folder = Path(settings.roster_dir)
    try:
        opened = _store(settings, store)
    except RecordsError as err:
        # The records hold who refused consent: without them, recognising anyone could recognise them.
        raise RecordsError(f"{err}. Nobody is recognised until then: the records hold the students' consent "
                           "to face recognition") from None
    if opened is None:
        if class_name and settings.classes_dir:
            folder = school_classes(settings, listed=[]).get(class_name, folder)
        return load_roster(folder, detector, settings.cache_dir, progress, encode=encode)
    try:
        listed = opened.class_list(class_name) if class_name else None
        if listed is not None:
            students = [Enrolment(sid, name, consent or CONSENT_NOT_ASKED) for sid, name, consent in listed]
        else:
            if class_name and settings.classes_dir:
                folder = school_classes(settings, listed=[]).get(class_name, folder)
            known = {sid: (name, consent) for sid, name, consent in opened.register()}
            students = [Enrolment(sid, known.get(sid, (display_name(sid), None))[0], known.get(sid, ("", None))[1])
                        for sid, _ in roster_entries(folder)] if folder.is_dir() else None
    finally:
        if store is None:
            opened.close()
    return load_roster(folder, detector, settings.cache_dir, progress, students=students, encode=encode)


# --- Importing class lists ------------------------------------------------------------------------

@dataclass
class ImportReport:
    """What importing a class list did and found. Ids are student ids; ``changed`` is False on a re-import."""

    file: str
    classes: dict[str, int] = field(default_factory=dict)  # class -> students listed
    added: list[str] = field(default_factory=list)
    renamed: list[tuple[str, str, str]] = field(default_factory=list)  # (id, old name, new name)
    joined: list[tuple[str, str]] = field(default_factory=list)  # (class, id)
    left: list[tuple[str, str]] = field(default_factory=list)  # (class, id): no longer on the class's list
    consent_changed: list[tuple[str, str | None, str]] = field(default_factory=list)  # (id, old, new)
    photos_copied: list[str] = field(default_factory=list)  # roster-folder paths written
    photos_not_copied: list[str] = field(default_factory=list)  # ids whose photo was skipped: no consent
    without_photos: list[str] = field(default_factory=list)  # listed, no reference photo in the roster folder
    unknown_ids: list[str] = field(default_factory=list)  # roster-folder entries on no class list
    duplicate_names: dict[str, list[str]] = field(default_factory=dict)  # name -> ids (fine: shown apart)
    without_consent: list[str] = field(default_factory=list)  # listed, consent not given: never recognised
    problems: list[ClassListProblem] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return bool(self.added or self.renamed or self.joined or self.left or self.consent_changed
                    or self.photos_copied)

    def shown(self, sid: str) -> str:
        """``Name (id)``."""
        return f"{self.names.get(sid, sid)} ({sid})"

    def lines(self) -> list[str]:
        """The report in sentences, for a person."""
        out = [f"{self.file}: {sum(self.classes.values())} places in {len(self.classes)} classes "
               f"({', '.join(f'{c}: {n}' for c, n in self.classes.items())})"]
        if not self.changed:
            out.append("Nothing changed: the records already hold these class lists.")
        for what, items in (("New students", [self.shown(s) for s in self.added]),
                            ("Renamed", [f"{sid}: {old} -> {new}" for sid, old, new in self.renamed]),
                            ("Joined a class", [f"{c}: {self.shown(s)}" for c, s in self.joined]),
                            ("Left a class (not on its list any more)",
                             [f"{c}: {self.shown(s)}" for c, s in self.left]),
                            ("Consent recorded", [f"{self.shown(s)}: {old or 'not recorded'} -> {new}"
                                                  for s, old, new in self.consent_changed]),
                            ("Reference photos copied", self.photos_copied),
                            ("Photos not copied (consent not given)", [self.shown(s) for s in self.photos_not_copied]),
                            ("Students without a reference photo (add one to the roster folder under their id)",
                             [self.shown(s) for s in self.without_photos]),
                            ("Unknown ids: roster-folder entries on no class list (attendance purge removes "
                             "their encodings)", self.unknown_ids),
                            ("Same name, different students (told apart by id)",
                             [f"{name}: {', '.join(ids)}" for name, ids in self.duplicate_names.items()]),
                            ("Without consent (never recognised; marked by hand)",
                             [self.shown(s) for s in self.without_consent]),
                            ("Rows skipped or partly used", [str(p) for p in self.problems])):
            if items:
                out.append(f"{what}: {len(items)}")
                out.extend(f"  {item}" for item in items)
        return out


def import_class_list(path: Path | str, settings: "Settings", by: str | None = None,
                      store: "Store | None" = None) -> ImportReport:
    """Import a class-list CSV (see :mod:`classlist`): students, their classes and consent into the
    records, reference photos (``photo`` column) into ``roster_dir/STUDENT_ID/`` when consent is given.

    Each class named in the file gets exactly the students the file lists for it; classes not in
    the file are left alone. Raises :class:`classlist.ClassListError` for an unreadable file.
    """
    from .records import Store

    listed = read_class_list(path)
    report = ImportReport(str(path), {c: len(ids) for c, ids in listed.classes.items()},
                          problems=list(listed.problems))
    own = store is None
    store = store or Store.from_settings(settings)
    try:
        changes = store.import_register([(s.id, s.name, s.consent) for s in listed.students.values()],
                                        listed.classes, by=by)
        register = {sid: (name, consent) for sid, name, consent in store.register()}
        in_classes = store.students_in_classes()
    finally:
        if own:
            store.close()
    report.added, report.renamed = changes.added, changes.renamed
    report.joined, report.left, report.consent_changed = changes.joined, changes.left, changes.consent_changed
    report.names = {sid: name for sid, (name, _) in register.items()}
    roster_dir = Path(settings.roster_dir)
    roster_dir.mkdir(parents=True, exist_ok=True)
    for s in listed.students.values():
        if s.photo is None:
            continue
        if register.get(s.id, ("", None))[1] != CONSENT_GIVEN:
            report.photos_not_copied.append(s.id)
            continue
        try:
            copied = _copy_reference_photo(s.photo, roster_dir / s.id)
        except OSError as err:
            report.problems.append(ClassListProblem(s.line, f"{s.id}: photo not copied ({err.strerror or err})"))
            continue
        if copied:
            report.photos_copied.append(str(copied.relative_to(roster_dir)))
    in_folder = dict(roster_entries(roster_dir))
    report.without_photos = [sid for sid in listed.students if not in_folder.get(sid)
                             and register.get(sid, ("", None))[1] != CONSENT_REFUSED]
    report.unknown_ids = sorted(sid for sid in in_folder if sid not in in_classes)
    report.duplicate_names = same_names((sid, name) for sid, (name, _) in register.items() if sid in in_classes)
    report.without_consent = [sid for sid in listed.students if register.get(sid, ("", None))[1] != CONSENT_GIVEN]
    return report


def _copy_reference_photo(source: Path, folder: Path) -> Path | None:
    """Copy ``source`` into ``folder`` unless a photo with the same content is there; returns the new path."""
    if not is_image_file(source):
        raise OSError(f"{source.name} is not a photo (JPEG, PNG, WebP or HEIC)")
    data = source.read_bytes()
    digest = hashlib.sha256(data).digest()
    if folder.is_dir():
        for existing in folder.iterdir():
            if existing.is_file() and hashlib.sha256(existing.read_bytes()).digest() == digest:
                return None
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / source.name
    n = 2
    while target.exists():
        target = folder / f"{source.stem}-{n}{source.suffix}"
        n += 1
    write_atomic(target, data, private=True)
    return target


# --- Consent --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ConsentChange:
    """A consent recorded: the student, the state before (None: never recorded) and now, encodings removed."""

    student_id: str
    old: str | None
    new: str
    encodings_removed: int = 0


def set_consent(settings: "Settings", student_id: str, state: str, by: str | None = None, note: str = "",
                store: "Store | None" = None) -> ConsentChange:
    """Record a student's consent (given, refused, not asked) with today's date and ``by`` (default the login).

    A student of the roster folder who is not in the records yet is added under their folder name.
    Without consent given, their cached encodings are deleted at once. Raises KeyError for a student
    neither in the records nor in the roster folder.
    """
    from .records import Store

    if state not in CONSENT_STATES:
        raise ValueError(f"consent must be one of {', '.join(CONSENT_STATES)}, not {state!r}")
    roster_dir = Path(settings.roster_dir)
    photos = dict(roster_entries(roster_dir)).get(student_id) if roster_dir.is_dir() else None
    own = store is None
    store = store or Store.from_settings(settings)
    try:
        known = {sid for sid, _, _ in store.register()}
        if student_id not in known and photos is None:
            raise KeyError(f"no student {student_id!r} in the records or the roster folder {roster_dir}")
        old = store.set_consent(student_id, state, by=by, note=note, name=display_name(student_id))
    finally:
        if own:
            store.close()
    removed = 0
    if state != CONSENT_GIVEN and photos:
        removed = forget_everywhere(settings.cache_dir, photos)
    return ConsentChange(student_id, old, state, removed)


# --- Retention ------------------------------------------------------------------------------------

@dataclass
class PurgeReport:
    """What :func:`purge` deleted: records older than ``cutoff`` (local time), and encodings."""

    cutoff: datetime
    sessions: int = 0
    marks: int = 0
    corrections: int = 0
    students: list[str] = field(default_factory=list)  # records of students with no class and no marks left
    encodings_of: list[str] = field(default_factory=list)  # roster-folder ids on no class: encodings deleted
    photos_kept: list[str] = field(default_factory=list)  # their reference photos, which purge does not delete

    def lines(self) -> list[str]:
        out = [f"Deleted everything recorded before {self.cutoff:%Y-%m-%d %H:%M}: {self.sessions} sessions, "
               f"{self.marks} marks, {self.corrections} corrections."]
        if self.students:
            out.append(f"Students in no class and with no marks left, removed from the records: "
                       f"{', '.join(self.students)}")
        if self.encodings_of:
            out.append(f"Face encodings deleted (in no class): {', '.join(self.encodings_of)}")
        if self.photos_kept:
            out.append("Their reference photos are still in the roster folder; delete them with "
                       "`attendance forget ID --delete-photos`: " + ", ".join(self.photos_kept))
        return out


def purge(settings: "Settings", older_than_days: float, now: datetime | None = None,
          store: "Store | None" = None) -> PurgeReport:
    """Delete sessions (with their marks and photo hashes) taken, and corrections made, more than
    ``older_than_days`` days before ``now``; and the cached encodings of students on no class.

    Students no longer in any class lose their encodings only once some class has members (a roster
    folder never recorded is left alone).
    """
    from .records import Store

    if older_than_days < 0:
        raise ValueError(f"--older-than must be 0 or more days, not {older_than_days}")
    now = now or datetime.now(timezone.utc)
    cutoff = (now if now.tzinfo else now.astimezone()) - timedelta(days=older_than_days)
    report = PurgeReport(cutoff.astimezone().replace(tzinfo=None))
    if store is None and not Store.exists(settings):
        return report
    roster_dir = Path(settings.roster_dir)
    in_folder = dict(roster_entries(roster_dir)) if roster_dir.is_dir() else {}
    own = store is None
    store = store or Store.from_settings(settings)
    try:
        result = store.purge(cutoff, keep=set(in_folder))
        in_classes = store.students_in_classes()
    finally:
        if own:
            store.close()
    report.sessions, report.marks, report.corrections = result.sessions, result.marks, result.corrections
    report.students = result.students
    if in_classes:
        for sid, paths in in_folder.items():
            if sid not in in_classes:
                if forget_everywhere(settings.cache_dir, paths):
                    report.encodings_of.append(sid)
                report.photos_kept.append(sid)
    return report


# --- A student's data -----------------------------------------------------------------------------

def export_student(settings: "Settings", student_id: str, output: Path | str,
                   store: "Store | None" = None) -> list[str]:
    """Write one student's data to a ZIP file: their records as CSV files and their reference photos.

    Holds ``student.csv`` (id, name, consent, classes), ``marks.csv`` (every session's mark),
    ``corrections.csv`` (changes to their marks), ``consent.csv`` (the consent history),
    ``photos/`` and a ``README.txt``; nothing about any other student. Returns the names in the
    archive. Raises KeyError for a student neither in the records nor in the roster folder.
    """
    from .records import Store, UnknownStudentError

    roster_dir = Path(settings.roster_dir)
    photos = (dict(roster_entries(roster_dir)).get(student_id) or []) if roster_dir.is_dir() else []
    tables = {}
    if store is not None or Store.exists(settings):
        own = store is None
        store = store or Store.from_settings(settings)
        try:
            tables = store.student_records(student_id)
        except UnknownStudentError:
            tables = {}
        finally:
            if own:
                store.close()
    if not tables and not photos:
        raise KeyError(f"no student {student_id!r} in the records or the roster folder {roster_dir}")
    output = Path(output)
    buffer = io.BytesIO()
    names = []
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("README.txt", _export_readme(student_id, tables, photos))
        names.append("README.txt")
        for table, frame in tables.items():
            text = io.StringIO()
            frame.to_csv(text, index=False, quoting=csv.QUOTE_MINIMAL)
            archive.writestr(f"{table}.csv", text.getvalue())
            names.append(f"{table}.csv")
        for path in photos:
            name = f"photos/{path.relative_to(roster_dir).as_posix()}"
            archive.write(path, name)
            names.append(name)
    output.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(output, buffer.getvalue(), private=True)
    return names


def _export_readme(student_id: str, tables: dict, photos: list[Path]) -> str:
    made = datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    lines = [f"Smart Attendance: the data held about student {student_id}, exported {made}.", "",
             "student.csv      the student's id, name, consent and classes",
             "marks.csv        one row per recorded session: class, subject, time (local), status",
             "                 (present, late, absent, excused), automatic or by hand, match distance",
             "corrections.csv  every change made by hand to these marks: old and new status, who, when",
             "consent.csv      the consent history: state, who recorded it, when",
             f"photos/          the reference photos ({len(photos)}) used to recognise the student", "",
             "Classroom photos are never stored, only the names and SHA-256 of the photos a session used.",
             "Face encodings (128 numbers computed from the reference photos) are kept in the encoding cache",
             "while the student has consent; they are recomputed from these photos and not exported."]
    if not tables:
        lines += ["", "No attendance records are held about this student."]
    return "\n".join(lines) + "\n"
