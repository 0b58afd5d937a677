"""School rules over the records and the roster folder: importing class lists with photos, class rosters,
consent, purge of encodings, and a student's export (on SQLite and PostgreSQL)."""
from __future__ import annotations

import io
import zipfile
from datetime import datetime, timezone

import pandas as pd
import pytest

from attendance_core.config import load_settings
from attendance_core.encoding_cache import EncodingCache
from attendance_core.faces import DetectorSettings
from attendance_core.records import Store
from attendance_core.results import CONSENT_GIVEN, CONSENT_REFUSED
from attendance_core.school import (class_roster, export_student, import_class_list, listed_classes, purge,
                                   set_consent)

try:
    from test_records import store_url  # noqa: F401  (fixture: SQLite, and PostgreSQL when a test server is named)
except ImportError:  # tests/ imported as a package
    from tests.test_records import store_url  # noqa: F401

from conftest import class_list_photos

CSV = """student_id,name,class,photo,consent
1001,Barack Obama,7A,photos/obama.jpg,given
1002,Joe Biden,7A,photos/biden.jpg,refused
1003,Kit Harington,7A,photos/kit.jpeg,given
1004,Kit Harington,7A,photos/alex.jpg,given
1004,Kit Harington,7B,,
1005,Rose Leslie,7B,photos/rose.jpg,
1006,Lin Manuel,Drama,,given
1003,Kit Harington,Drama,,
9/9,Bad Id,Drama,,
"""


@pytest.fixture
def school(tmp_path, data_dir, store_url, demo_class, demo_encoding_cache, monkeypatch):
    """Settings for an empty school (roster folder with one stray photo) and a class-list CSV with photos."""
    import shutil

    monkeypatch.setenv("ATTENDANCE_DATABASE_URL", store_url)
    roster = tmp_path / "roster"
    roster.mkdir()
    shutil.copy(demo_class / "known_faces" / "Alex_Lacamoire.jpg", roster / "Stray_Person.jpg")
    shutil.copytree(demo_encoding_cache, data_dir / "cache")
    class_list_photos(tmp_path / "export" / "photos")
    csv_file = tmp_path / "export" / "classes.csv"
    csv_file.write_text(CSV, encoding="utf-8")
    return load_settings(roster_dir=roster, data_dir=data_dir), csv_file


def test_import_report_lists_unknown_ids_missing_photos_duplicate_names_and_problems(school):
    settings, csv_file = school
    report = import_class_list(csv_file, settings, by="office")
    assert report.classes == {"7A": 4, "7B": 2, "Drama": 2}
    assert sorted(report.added) == ["1001", "1002", "1003", "1004", "1005", "1006"]
    assert report.unknown_ids == ["Stray_Person"]
    assert report.without_photos == ["1005", "1006"]  # 1005 not asked: photo not copied; 1002 refused needs none
    assert sorted(report.photos_not_copied) == ["1002", "1005"]
    assert sorted(report.photos_copied) == ["1001/obama.jpg", "1003/kit.jpeg", "1004/alex.jpg"]
    assert report.duplicate_names == {"Kit Harington": ["1003", "1004"]}
    assert report.without_consent == ["1002", "1005"]
    assert [p.line for p in report.problems] == [10]
    text = "\n".join(report.lines())
    assert "Kit Harington: 1003, 1004" in text and "Stray_Person" in text
    assert (settings.roster_dir / "1001" / "obama.jpg").stat().st_mode & 0o077 == 0  # owner-only


def test_importing_the_same_file_twice_changes_nothing(school):
    settings, csv_file = school
    import_class_list(csv_file, settings, by="office")
    files = sorted(p.relative_to(settings.roster_dir) for p in settings.roster_dir.rglob("*"))
    again = import_class_list(csv_file, settings, by="office")
    assert not again.changed
    assert again.lines()[1] == "Nothing changed: the records already hold these class lists."
    assert sorted(p.relative_to(settings.roster_dir) for p in settings.roster_dir.rglob("*")) == files


def test_class_roster_is_the_class_list_with_names_and_consent(school):
    settings, csv_file = school
    import_class_list(csv_file, settings, by="office")
    assert listed_classes(settings) == ["7A", "7B", "Drama"]
    roster = class_roster(settings, "7A")
    assert roster.ids == ["1001", "1002", "1003", "1004"]
    assert [s.name for s in roster.students] == ["Barack Obama", "Joe Biden", "Kit Harington", "Kit Harington"]
    assert roster.without_consent == ["1002"]
    assert [len(s.photos) for s in roster.students] == [1, 0, 1, 1]
    assert class_roster(settings, "7B").without_consent == ["1005"]  # not asked: not recognised


def test_roster_folder_without_class_lists_is_a_one_class_school(demo_class, demo_encoding_cache, data_dir):
    settings = load_settings(roster_dir=demo_class / "known_faces", data_dir=data_dir)
    roster = class_roster(settings, "demo", DetectorSettings())
    assert roster.ids == ["Alex_Lacamoire", "Barack_Obama", "Joe_Biden", "Kit_Harington", "Rose_Leslie"]
    assert roster.without_consent == [] and not Store.exists(settings)


def test_consent_refused_in_a_one_class_school_deletes_encodings_and_stops_recognition(
        tmp_path, data_dir, demo_class, demo_encoding_cache, store_url, monkeypatch):
    import shutil

    monkeypatch.setenv("ATTENDANCE_DATABASE_URL", store_url)
    shutil.copytree(demo_class / "known_faces", tmp_path / "known_faces", ignore=shutil.ignore_patterns("*.md"))
    shutil.copytree(demo_encoding_cache, data_dir / "cache")
    settings = load_settings(roster_dir=tmp_path / "known_faces", data_dir=data_dir)
    change = set_consent(settings, "Joe_Biden", CONSENT_REFUSED, by="Ms Park")
    assert (change.old, change.new, change.encodings_removed) == (None, CONSENT_REFUSED, 2)
    cache = EncodingCache(settings.cache_dir, DetectorSettings().key())
    assert all(cache.get(cache.digest(p)) is None for p in (tmp_path / "known_faces" / "Joe_Biden").iterdir())
    roster = class_roster(settings, "demo", DetectorSettings())
    assert roster.without_consent == ["Joe_Biden"] and len(roster) == 5
    with pytest.raises(KeyError, match="Nobody"):
        set_consent(settings, "Nobody", CONSENT_GIVEN)


def test_purge_deletes_encodings_of_students_in_no_class_and_keeps_their_photos(school):
    settings, csv_file = school
    import_class_list(csv_file, settings, by="office")
    cache = EncodingCache(settings.cache_dir, DetectorSettings().key())
    stray = settings.roster_dir / "Stray_Person.jpg"
    assert cache.get(cache.digest(stray)) is not None  # the demo cache knows this photo
    report = purge(settings, 365)
    assert report.encodings_of == ["Stray_Person"] and report.photos_kept == ["Stray_Person"]
    assert stray.is_file()
    cache = EncodingCache(settings.cache_dir, DetectorSettings().key())
    assert cache.get(cache.digest(stray)) is None
    assert cache.get(cache.digest(settings.roster_dir / "1001" / "obama.jpg")) is not None


def test_export_holds_the_students_rows_and_photos_and_no_one_elses(school, tmp_path):
    from attendance_core.results import Attendance, StudentResult

    settings, csv_file = school
    import_class_list(csv_file, settings, by="office")
    with Store.from_settings(settings) as store:
        store.save_session(Attendance([StudentResult("1003", "Kit Harington", "present", "automatic", 0.3, "a.jpg"),
                                       StudentResult("1004", "Kit Harington", "absent", "automatic")], [], [], 0.6),
                           class_name="7A", taken_at=datetime(2026, 3, 2, 9, tzinfo=timezone.utc))
    out = tmp_path / "out" / "1003.zip"
    names = export_student(settings, "1003", out)
    assert out.stat().st_mode & 0o077 == 0
    with zipfile.ZipFile(out) as archive:
        assert sorted(archive.namelist()) == sorted(names) == [
            "README.txt", "consent.csv", "corrections.csv", "marks.csv", "photos/1003/kit.jpeg", "student.csv"]
        marks = pd.read_csv(io.BytesIO(archive.read("marks.csv")))
        student = pd.read_csv(io.BytesIO(archive.read("student.csv")))
        everything = b"".join(archive.read(n) for n in archive.namelist() if n.endswith(".csv"))
    assert list(marks["status"]) == ["present"] and list(student["student_id"]) == [1003]
    assert student.iloc[0]["classes"] == "7A, Drama"
    assert b"1004" not in everything and b"1001" not in everything
    with pytest.raises(KeyError, match="9999"):
        export_student(settings, "9999", tmp_path / "none.zip")


def test_a_class_list_and_a_classes_dir_folder_of_the_same_name_make_the_class_list_the_source(school, tmp_path):
    settings, csv_file = school
    folders = tmp_path / "classes"
    (folders / "7A").mkdir(parents=True)
    (folders / "Music").mkdir()
    settings = settings.replace(classes_dir=str(folders))
    import_class_list(csv_file, settings, by="office")
    from attendance_core.school import school_classes

    classes = school_classes(settings)
    # 7A, 7B and Drama from the class lists (students by id in roster_dir); Music from classes_dir only.
    assert classes == {"7A": settings.roster_dir, "7B": settings.roster_dir, "Drama": settings.roster_dir,
                       "Music": folders / "Music"}
    assert class_roster(settings, "7A").ids == ["1001", "1002", "1003", "1004"]


def test_hub_assignments_name_the_classes_of_the_class_lists(school):
    from attendance_core.school.access import TEACHER, Directory
    from attendance_core.app.state import AppError, DashboardState

    settings, csv_file = school
    import_class_list(csv_file, settings, by="office")
    records = Store.from_settings(settings)
    try:
        Directory.of(records).add_user("ana", TEACHER)
        Directory.of(records).assign("7B", "ana")
    finally:
        records.close()
    state = DashboardState(settings, user="ana")
    assert list(state.classes) == ["7B"]
    assert state.roster.ids == ["1004", "1005"]
    with pytest.raises(AppError, match="Only an admin may change a class's roster"):  # consent is the office's
        state.set_consent("1005", CONSENT_REFUSED)
