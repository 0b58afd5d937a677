"""Make ``records-0.1.0.sqlite``: a records database written by release 0.1.0 (schema version 2).

Run with release 0.1.0's code first on the path (``PYTHONPATH=/path/to/0.1.0 python make_release_database.py``);
``tests/test_school_records.py`` opens a copy with the current code and checks that it upgrades in place.
"""
from datetime import datetime, timezone
from pathlib import Path

from attendance_core import __version__
from attendance_core.records import Store
from attendance_core.results import Attendance, DetectedFaces, Photo, StudentResult

OUT = Path(__file__).with_name(f"records-{__version__}.sqlite")


def student(sid, status, automatic=None, distance=None):
    automatic = automatic or status
    return StudentResult(sid, sid.replace("_", " "), status, "manual" if automatic != status else "automatic",
                         distance, "class.jpg" if distance else None, False, automatic)


OUT.unlink(missing_ok=True)
with Store(f"sqlite:///{OUT}") as store:
    first = store.save_session(
        Attendance([student("Ada_Lovelace", "present", distance=0.31), student("Alan_Turing", "absent"),
                    student("Grace_Hopper", "excused", automatic="absent")],
                   [], [Photo("class.jpg", DetectedFaces.empty(), sha256="a" * 64)], 0.6, ),
        class_name="7A", subject="Maths", taken_at=datetime(2025, 9, 1, 8, 0, tzinfo=timezone.utc), marked_by="teacher")
    store.save_session(
        Attendance([student("Ada_Lovelace", "present", distance=0.29), student("Alan_Turing", "present", distance=0.4),
                    student("Grace_Hopper", "present", distance=0.35)],
                   [], [Photo("class2.jpg", DetectedFaces.empty(), sha256="b" * 64)], 0.6),
        class_name="7A", subject="Maths", taken_at=datetime(2026, 3, 2, 8, 0, tzinfo=timezone.utc), marked_by="teacher")
    store.correct(first, "Alan_Turing", "excused", note="doctor's note", by="office")
    print(f"{OUT}: schema version {store.schema_version}")
