"""The school register in the records, on SQLite and PostgreSQL: class lists, consent, late marks, purge,
a student's records, and the upgrade in place of a database made by release 0.1.0."""
from __future__ import annotations

import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa

from attendance_core.records import (SCHEMA_VERSION, RecordsError, Store, UnknownStudentError, create_engine,
                                     migrate)
from attendance_core.results import (ABSENT, CONSENT_GIVEN, CONSENT_NOT_ASKED, CONSENT_REFUSED, LATE, PRESENT,
                                     TIME_FROM_EXIF, Attendance, DetectedFaces, Photo, StudentResult)

try:
    from test_records import store, store_url  # noqa: F401  (fixture: SQLite, and PostgreSQL when a test server is named)
except ImportError:  # tests/ imported as a package
    from tests.test_records import store, store_url  # noqa: F401

RELEASE_DB = Path(__file__).parent / "data" / "records-0.1.0.sqlite"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
PEOPLE = [("S1", "Sam Lee", CONSENT_GIVEN), ("S2", "Sam Lee", None), ("S3", "Ana Ruiz", CONSENT_REFUSED),
          ("S4", "Bo Chen", CONSENT_GIVEN)]
LISTS = {"7A": ["S1", "S2", "S3"], "7B": ["S4", "S1"], "Art": ["S2"]}


def marked(statuses: dict[str, str], sha="p1", start=None, first_seen=None, automatic=None) -> Attendance:
    """A synthetic session: statuses by student id; one photo taken 20 minutes after ``T0``."""
    automatic = automatic or {}
    first_seen = first_seen or {}
    students = [StudentResult(sid, f"name {sid}", st, "automatic", 0.3 if st in (PRESENT, LATE) else None,
                              "p.jpg" if st in (PRESENT, LATE) else None, False, automatic.get(sid, st),
                              first_seen=first_seen.get(sid)) for sid, st in statuses.items()]
    photo = Photo("p.jpg", DetectedFaces.empty(), sha256=sha * 32, taken_at=T0 + timedelta(minutes=20),
                  time_source=TIME_FROM_EXIF)
    return Attendance(students, [], [photo], 0.6, start=start, late_after_minutes=10 if start else None)


def test_import_records_students_classes_and_consent_and_twice_changes_nothing(store):
    first = store.import_register(PEOPLE, LISTS, by="office")
    assert sorted(first.added) == ["S1", "S2", "S3", "S4"]
    assert sorted(first.joined) == [("7A", "S1"), ("7A", "S2"), ("7A", "S3"), ("7B", "S1"), ("7B", "S4"),
                                    ("Art", "S2")]
    assert store.class_list("7A") == [("S3", "Ana Ruiz", CONSENT_REFUSED), ("S1", "Sam Lee", CONSENT_GIVEN),
                                      ("S2", "Sam Lee", CONSENT_NOT_ASKED)]
    assert store.listed_classes() == ["7A", "7B", "Art"]
    again = store.import_register(PEOPLE, LISTS, by="office")
    assert (again.added, again.renamed, again.joined, again.left, again.consent_changed) == ([], [], [], [], [])
    register = store.consent_register()
    assert list(register["student_id"]) == ["S3", "S4", "S1", "S2"]
    assert set(register["recorded_by"]) == {"office"}


def test_a_new_class_list_moves_students_and_renames(store):
    store.import_register(PEOPLE, LISTS, by="office")
    changes = store.import_register([("S1", "Sam Lee-Park", None), ("S4", "Bo Chen", None)], {"7A": ["S1", "S4"]},
                                    by="office")
    assert changes.renamed == [("S1", "Sam Lee", "Sam Lee-Park")]
    assert changes.joined == [("7A", "S4")] and changes.left == [("7A", "S2"), ("7A", "S3")]
    assert changes.consent_changed == []  # an empty consent cell leaves the recorded consent
    assert [sid for sid, _, _ in store.class_list("7A")] == ["S4", "S1"]
    assert [sid for sid, _, _ in store.class_list("7B")] == ["S4", "S1"]  # classes not in the file stay
    assert store.students_in_classes() == {"S1", "S2", "S4"}


def test_a_class_made_by_saving_a_session_has_no_class_list(store):
    store.save_session(marked({"S1": PRESENT}), class_name="demo")
    assert store.class_list("demo") is None and store.class_list("nothing") is None


def test_consent_is_recorded_with_who_and_when_and_its_history(store):
    store.import_register(PEOPLE, LISTS, by="office")
    assert store.set_consent("S2", CONSENT_GIVEN, by="Ms Park", note="form 12") == CONSENT_NOT_ASKED
    assert store.set_consent("S2", CONSENT_REFUSED, by="Ms Park") == CONSENT_GIVEN
    row = store.consent_register().set_index("student_id").loc["S2"]
    assert (row["consent"], row["recorded_by"]) == (CONSENT_REFUSED, "Ms Park")
    assert abs(row["recorded_at"] - datetime.now()) < timedelta(minutes=1)
    history = store.student_records("S2")["consent"]
    assert list(history["consent"]) == [CONSENT_NOT_ASKED, CONSENT_GIVEN, CONSENT_REFUSED]
    assert list(history["note"]) == ["class list import", "form 12", ""]


def test_consent_for_an_unknown_student_needs_a_name(store):
    with pytest.raises(UnknownStudentError):
        store.set_consent("Nobody", CONSENT_GIVEN)
    assert store.set_consent("Joe_Biden", CONSENT_REFUSED, name="Joe Biden") is None
    assert store.register() == [("Joe_Biden", "Joe Biden", CONSENT_REFUSED)]
    with pytest.raises(RecordsError, match="consent must be one of"):
        store.set_consent("Joe_Biden", "maybe")


def test_late_marks_photo_times_and_start_are_saved_and_counted_apart(store):
    first_seen = {"S1": T0 + timedelta(minutes=2), "S4": T0 + timedelta(minutes=20)}
    sid = store.save_session(marked({"S1": PRESENT, "S4": LATE, "S2": ABSENT}, start=T0, first_seen=first_seen),
                             class_name="7B", taken_at=T0)
    marks = store.session_marks(sid).set_index("student_id")
    assert marks.loc["S4", "status"] == LATE
    listed = store.sessions("7B").iloc[0]
    assert (listed[PRESENT], listed[LATE], listed[ABSENT]) == (1, 1, 1)
    summary = store.report("7B").summary.set_index("student_id")
    assert summary.loc["S4", LATE] == 1 and summary.loc["S4", PRESENT] == 0
    assert summary.loc["S4", "rate"] == 1.0  # a late student attended
    records = store.student_records("S4")["marks"].iloc[0]
    assert records["first_seen_at"] == datetime(2026, 3, 2, 9, 20, tzinfo=timezone.utc).astimezone().replace(tzinfo=None)
    assert records["starts_at"] == T0.astimezone().replace(tzinfo=None)
    store.correct(sid, "S4", PRESENT, note="bus late, school's fault")
    assert store.session_marks(sid).set_index("student_id").loc["S4", "status"] == PRESENT


def test_purge_deletes_exactly_what_is_older_than_the_cutoff(store):
    store.import_register(PEOPLE, {"7A": ["S1", "S2"]}, by="office")
    old = store.save_session(marked({"S1": PRESENT, "S2": ABSENT}, sha="o"), class_name="7A", taken_at=T0)
    new = store.save_session(marked({"S1": ABSENT, "S2": PRESENT}, sha="n"), class_name="7A",
                             taken_at=T0 + timedelta(days=40))
    store.correct(old, "S2", "excused", by="office")
    store.correct(new, "S1", "excused", by="office")
    store.import_register([], {"7A": ["S1"]}, by="office")  # S2 leaves the class; S3, S4 were never in one
    result = store.purge(T0 + timedelta(days=30), keep={"S4"})
    assert (result.sessions, result.marks, result.corrections) == (1, 2, 1)
    assert list(store.sessions()["id"]) == [new]
    assert list(store.corrections()["session_id"]) == [new]
    # S2 still has a mark in the newer session; S3 refused consent (kept to honour it); S4 is kept on request.
    assert result.students == []
    assert {sid for sid, _, _ in store.register()} == {"S1", "S2", "S3", "S4"}
    store.purge(T0 + timedelta(days=50))
    assert {sid for sid, _, _ in store.register()} == {"S1", "S3"}


def test_student_records_hold_their_rows_and_no_one_elses(store):
    store.import_register(PEOPLE, LISTS, by="office")
    sid = store.save_session(marked({"S1": PRESENT, "S2": ABSENT}), class_name="7A", taken_at=T0)
    store.correct(sid, "S2", "excused", note="S1 said so", by="office")
    tables = store.student_records("S1")
    assert list(tables["student"]["student_id"]) == ["S1"]
    assert tables["student"].iloc[0]["classes"] == "7A, 7B"
    assert list(tables["marks"]["status"]) == [PRESENT]
    assert tables["corrections"].empty
    text = "".join(t.to_csv() for t in tables.values())
    assert "S2" not in text and "Ana Ruiz" not in text and "Bo Chen" not in text
    with pytest.raises(UnknownStudentError):
        store.student_records("S9")


def test_a_database_made_by_release_0_1_0_upgrades_in_place(tmp_path):
    path = tmp_path / "attendance.db"
    shutil.copy(RELEASE_DB, path)
    with Store(f"sqlite:///{path}") as store:
        assert store.schema_version == SCHEMA_VERSION == 3
        summary = store.report("7A").summary.set_index("student_id")
        assert summary.loc["Alan_Turing", ["present", "absent", "excused", "late"]].tolist() == [1, 0, 1, 0]
        assert list(store.corrections()["note"]) == ["corrected before saving", "doctor's note"]
        assert store.class_list("7A") is None  # made by saving sessions: the whole roster folder, as before
        assert [consent for _, _, consent in store.register()] == [None, None, None]
        sid = store.save_session(marked({"Ada_Lovelace": LATE}, start=T0), class_name="7A", taken_at=T0)
        assert store.session_marks(sid).iloc[0]["status"] == LATE


def test_a_version_2_database_upgrades_in_place_keeping_marks_and_corrections(store_url):
    engine = create_engine(store_url)
    try:
        assert migrate(engine, target=2) == 2
        with engine.begin() as conn:
            now = datetime(2026, 1, 5, 8, 0)
            conn.execute(sa.text("INSERT INTO classes (id, name, created_at) VALUES (1, '7A', :t)"), {"t": now})
            conn.execute(sa.text("INSERT INTO students (id, key, name, created_at) VALUES (1, 'S1', 'Sam', :t)"),
                         {"t": now})
            conn.execute(sa.text("INSERT INTO sessions (id, class_id, subject, taken_at, saved_at, tolerance, settings, "
                                 "marked_by, unknown_faces, fingerprint) VALUES (1, 1, 'Maths', :t, :t, 0.6, '{}', "
                                 "'teacher', 0, 'f1')"), {"t": now})
            conn.execute(sa.text("INSERT INTO marks (id, session_id, student_id, status, source, automatic_status, "
                                 "ambiguous) VALUES (1, 1, 1, 'excused', 'manual', 'absent', false)"))
            conn.execute(sa.text("INSERT INTO corrections (mark_id, old_status, new_status, note, corrected_by, "
                                 "corrected_at) VALUES (1, 'absent', 'excused', 'ill', 'office', :t)"), {"t": now})
    finally:
        engine.dispose()
    with Store(store_url) as store:
        assert store.schema_version == 3
        assert store.session_marks(1).iloc[0]["status"] == "excused"
        assert list(store.corrections()["note"]) == ["ill"]
        store.correct(1, "S1", LATE)
        assert store.session_marks(1).iloc[0]["status"] == LATE
