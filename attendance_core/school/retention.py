"""Retention and a student's data: :func:`purge` old records, :func:`export_student` for a subject access request."""
from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from ..encoding_cache import forget_everywhere
from ..files import write_atomic
from ..roster import roster_entries

if TYPE_CHECKING:
    from ..config import Settings
    from ..records import Store

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
    from ..records import Store

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
    from ..records import Store, UnknownStudentError

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
