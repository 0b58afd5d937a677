"""Class lists from a school's information system: a CSV file of ``student_id,name,class`` rows.

One row puts one student in one class; a student in six classes has six rows (with the same id and
name). Optional columns: ``photo`` (a reference photo of the student, a path relative to the CSV
file) and ``consent`` (given, refused, or not asked; empty leaves the recorded consent as it is).
Column names are matched without regard to case, spaces or ``-``; the separator may be a comma,
a semicolon (spreadsheets in many countries) or a tab; UTF-8 with or without a byte-order mark.

Reading (:func:`read_class_list`) checks each row and reports what is wrong with its line number, then
keeps the good rows: one bad row does not stop a class list. :func:`import_class_list` puts what was
read into the records and the roster folder.
"""
from __future__ import annotations

import csv
import hashlib
import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import AttendanceError
from ..files import write_atomic
from ..images import is_image_file
from ..records.schema import unsafe_character
from ..results import CONSENT_GIVEN, CONSENT_NOT_ASKED, CONSENT_REFUSED, CONSENT_STATES
from ..roster import roster_entries

if TYPE_CHECKING:
    from ..config import Settings
    from ..records import Store

REQUIRED_COLUMNS = ("student_id", "name", "class")
OPTIONAL_COLUMNS = ("photo", "consent")
#: A student id names their folder in the roster: letters, digits, and . _ - inside.
STUDENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
#: How people write consent in a spreadsheet, and what it means.
CONSENT_WORDS = {
    "given": CONSENT_GIVEN, "yes": CONSENT_GIVEN, "y": CONSENT_GIVEN, "true": CONSENT_GIVEN, "1": CONSENT_GIVEN,
    "refused": CONSENT_REFUSED, "no": CONSENT_REFUSED, "n": CONSENT_REFUSED, "false": CONSENT_REFUSED,
    "0": CONSENT_REFUSED, "withdrawn": CONSENT_REFUSED,
    "not asked": CONSENT_NOT_ASKED, "not_asked": CONSENT_NOT_ASKED, "unknown": CONSENT_NOT_ASKED,
}
#: A cell a spreadsheet would run as a formula (=, +, @, a tab or return, or - not starting a number).
FORMULA = re.compile(r"[=+@\t\r]|-(?![\d.])")
#: Largest class-list file read, in bytes (a whole school is far smaller).
MAX_BYTES = 20 * 2**20


class ClassListError(AttendanceError, ValueError):
    """A class-list file that cannot be read at all (missing, not CSV, required columns absent)."""


@dataclass(frozen=True)
class ListedStudent:
    """A student as the class list gives them: id, name, reference photo (absolute path) and consent."""

    id: str
    name: str
    photo: Path | None = None
    consent: str | None = None  # None: the file says nothing; the recorded consent stays
    line: int = 0


@dataclass(frozen=True)
class ClassListProblem:
    """A row that was skipped or partly used: ``line`` in the file (1 = the header) and why."""

    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass
class ClassList:
    """The classes of a class-list file: students by id, and each class as a list of student ids."""

    file: str
    students: dict[str, ListedStudent] = field(default_factory=dict)
    classes: dict[str, list[str]] = field(default_factory=dict)
    problems: list[ClassListProblem] = field(default_factory=list)

    def duplicate_names(self) -> dict[str, list[str]]:
        """Names shared by several students (fine: ids tell them apart): name -> their ids."""
        return same_names((s.id, s.name) for s in self.students.values())


def same_names(people) -> dict[str, list[str]]:
    """``{name: [ids]}`` for names that several ``(id, name)`` pairs share (case and spacing ignored)."""
    by_name: dict[str, list[tuple[str, str]]] = {}
    for sid, name in people:
        by_name.setdefault(" ".join(name.casefold().split()), []).append((sid, name))
    return {pairs[0][1]: sorted(sid for sid, _ in pairs) for pairs in by_name.values() if len(pairs) > 1}


def parse_consent(text: str) -> str:
    """A consent state from what a person typed (given/yes, refused/no, not asked); raises ValueError."""
    word = " ".join(str(text).strip().lower().split())
    if word in CONSENT_WORDS:
        return CONSENT_WORDS[word]
    raise ValueError(f"consent must be one of {', '.join(CONSENT_STATES)}, not {text!r}")


def _column_key(name: str) -> str:
    return re.sub(r"[\s-]+", "_", name.strip().lower()).lstrip("\ufeff")


def read_class_list(path: Path | str) -> ClassList:
    """Read a class-list CSV file; bad rows are skipped and listed in ``problems`` with their line number.

    Raises :class:`ClassListError` when the file cannot be read or lacks a required column.
    """
    path = Path(path)
    try:
        if path.stat().st_size > MAX_BYTES:
            raise ClassListError(f"{path}: file too large for a class list (over {MAX_BYTES // 2**20} MB)")
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ClassListError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise ClassListError(f"{path}: is a folder, not a CSV file") from None
    except OSError as err:
        raise ClassListError(f"{path}: cannot be read ({err.strerror or err})") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ClassListError(f"{path}: not UTF-8 text (save the class list as CSV UTF-8)") from None
    if not text.strip():
        raise ClassListError(f"{path}: empty file (expected a header: {','.join(REQUIRED_COLUMNS)})")
    header_line = text.splitlines()[0]
    delimiter = max(",;\t", key=header_line.count)
    rows = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = [_column_key(c) for c in next(rows)]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise ClassListError(f"{path}: missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
                             f"(the header must name {', '.join(REQUIRED_COLUMNS)}; found {', '.join(header)})")
    where = {name: header.index(name) for name in (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS) if name in header}
    result = ClassList(str(path))
    for row in rows:
        line = rows.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) > len(header):
            result.problems.append(ClassListProblem(line, (
                f"{len(row)} cells but the header names {len(header)} columns, so the columns cannot be told "
                f"apart: a cell that holds {delimiter!r} must be in double quotes; row skipped")))
            continue
        values = {name: (row[i].strip() if i < len(row) else "") for name, i in where.items()}
        _add_row(result, values, line, path.parent)
    return result


def _add_row(result: ClassList, values: dict[str, str], line: int, base: Path) -> None:
    sid, name, class_name = values["student_id"], " ".join(values["name"].split()), values["class"]
    problem = (("no student id" if not sid else None)
               or (None if STUDENT_ID.fullmatch(sid) else
                   f"student id {sid!r} must be letters and digits (and . _ - inside), at most 100")
               or ("no name" if not name else None)
               or ("no class" if not class_name else None)
               or next((f"{column} {values[column][:40]!r} starts like a spreadsheet formula; row skipped"
                        for column in ("name", "class") if FORMULA.match(values[column])), None)
               or next((f"{column} holds {bad}, which is refused in names (it could rewrite a terminal or "
                        "reorder the text shown); row skipped"
                        for column, text in (("name", name), ("class", class_name))
                        for bad in [unsafe_character(text)] if bad), None))
    if problem:
        result.problems.append(ClassListProblem(line, problem))
        return
    consent = None
    if values.get("consent"):
        try:
            consent = parse_consent(values["consent"])
        except ValueError as err:
            result.problems.append(ClassListProblem(line, f"{sid}: {err}; consent left as recorded"))
    photo = None
    if values.get("photo"):
        photo = _listed_photo(values["photo"], base, sid, line, result.problems)
    known = result.students.get(sid)
    if known is None:
        result.students[sid] = ListedStudent(sid, name, photo, consent, line)
    else:
        if known.name != name:
            result.problems.append(ClassListProblem(
                line, f"{sid}: named {name!r} here but {known.name!r} on line {known.line}; kept {known.name!r}"))
        if consent is not None and known.consent is not None and consent != known.consent:
            result.problems.append(ClassListProblem(
                line, f"{sid}: consent {consent!r} here but {known.consent!r} on line {known.line}; kept "
                      f"{known.consent!r}"))
        if (photo and not known.photo) or (consent and not known.consent):
            result.students[sid] = ListedStudent(sid, known.name, known.photo or photo, known.consent or consent,
                                                 known.line)
    members = result.classes.setdefault(class_name, [])
    if sid not in members:
        members.append(sid)


def _listed_photo(given: str, base: Path, sid: str, line: int, problems: list[ClassListProblem]) -> Path | None:
    """The photo a row names, when it is a photo file in the class list's folder (or below it); nothing
    outside that folder is opened, whatever the cell says (``/etc/passwd``, ``../../``, a link out)."""
    folder = base.resolve()
    photo = (folder / given).resolve()
    if not photo.is_relative_to(folder):
        problem = (f"photo {given!r} is outside the class list's folder; put reference photos in {folder} "
                   f"or a folder inside it")
    elif not is_image_file(photo):
        problem = f"photo {given!r} is not a photo file (JPEG, PNG, WebP or HEIC)"
    elif not photo.is_file():
        problem = f"photo {given!r} not found"
    else:
        return photo
    problems.append(ClassListProblem(line, f"{sid}: {problem}; no photo copied"))
    return None


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
    """Import a class-list CSV (see :func:`read_class_list`): students, their classes and consent into the
    records, reference photos (``photo`` column) into ``roster_dir/STUDENT_ID/`` when consent is given.

    Each class named in the file gets exactly the students the file lists for it; classes not in
    the file are left alone. Raises :class:`classlist.ClassListError` for an unreadable file.
    """
    from ..records import Store

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
