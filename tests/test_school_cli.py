"""The school commands end to end on real photos: classes import, mark a class with a start time, consent,
report, purge and export-student (on SQLite and PostgreSQL)."""
from __future__ import annotations

import io
import shutil
import zipfile
from datetime import datetime, timedelta, timezone

import pytest
from PIL import Image

from attendance_core.cli import main

try:
    from test_records import store_url  # noqa: F401  (fixture: SQLite, and PostgreSQL when a test server is named)
except ImportError:  # tests/ imported as a package
    from tests.test_records import store_url  # noqa: F401

from conftest import class_list_photos

START = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
CSV = """student_id,name,class,photo,consent
1001,Barack Obama,7A,photos/obama.jpg,given
1002,Joe Biden,7A,photos/biden.jpg,refused
1003,Kit Harington,7A,photos/kit.jpeg,given
1004,Kit Harington,7A,photos/alex.jpg,given
1005,Rose Leslie,7B,photos/rose.jpg,given
1003,Kit Harington,Drama,,
1005,Rose Leslie,Drama,,
"""


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out, err)
    return code, out.getvalue(), err.getvalue()


def photo_at(source, moment: datetime, dest):
    """Copy a photo with its EXIF DateTimeOriginal set to ``moment``."""
    exif = Image.Exif()
    exif.get_ifd(0x8769)[36867] = moment.strftime("%Y:%m:%d %H:%M:%S")
    exif.get_ifd(0x8769)[36881] = "+00:00"
    Image.open(source).convert("RGB").save(dest, "JPEG", quality=95, exif=exif)
    return str(dest)


@pytest.fixture
def school(tmp_path, data_dir, store_url, demo_class, demo_encoding_cache, monkeypatch):
    """An empty roster folder, the demo encodings cached, the records at ``store_url``, a 3-class CSV."""
    roster = tmp_path / "roster"
    roster.mkdir()
    monkeypatch.setenv("ATTENDANCE_ROSTER_DIR", str(roster))
    monkeypatch.setenv("ATTENDANCE_DATABASE_URL", store_url)
    shutil.copytree(demo_encoding_cache, data_dir / "cache")
    class_list_photos(tmp_path / "sis" / "photos")
    (tmp_path / "sis" / "classes.csv").write_text(CSV, encoding="utf-8")
    images = demo_class / "sample_images"
    first = photo_at(images / "kit_with_rose.jpg", START + timedelta(minutes=2), tmp_path / "first.jpg")
    second = photo_at(images / "two_people.jpg", START + timedelta(minutes=20), tmp_path / "second.jpg")
    return tmp_path, first, second


def test_a_class_of_a_three_class_list_is_marked_by_id_with_consent_and_late_arrivals(school):
    tmp_path, first, second = school
    code, out, _ = run("classes", "import", str(tmp_path / "sis" / "classes.csv"), "--by", "office")
    assert code == 0, out
    assert "3 classes" in out and "Kit Harington: 1003, 1004" in out

    code, out, err = run("mark", first, second, "--class", "7A", "--start", START.isoformat(), "--save")
    assert code == 0, err
    assert "1 present, 1 late, 2 absent, 2 unknown faces" in out  # Rose (7B) and Joe Biden (no consent)
    assert "Kit Harington (1003)" in out and "Kit Harington (1004)" in out

    code, out, _ = run("report", "--class", "7A")
    assert code == 0
    summary = out.split("\n\n")[1]  # the per-student table, before the students-by-dates one
    rows = {line.split()[0]: line.split() for line in summary.splitlines()[1:]}
    # summary rows: student_id, name (2 words), present, absent, excused, late, sessions, rate
    assert rows["1003"][1:9] == ["Kit", "Harington", "1", "0", "0", "0", "1", "100%"]
    assert rows["1004"][1:9] == ["Kit", "Harington", "0", "1", "0", "0", "1", "0%"]
    assert rows["1001"][1:9] == ["Barack", "Obama", "0", "0", "0", "1", "1", "100%"]
    assert rows["1002"][1:9] == ["Joe", "Biden", "0", "1", "0", "0", "1", "0%"]  # never present


def test_consent_export_and_purge_commands(school):
    tmp_path, first, _ = school
    run("classes", "import", str(tmp_path / "sis" / "classes.csv"), "--by", "office")
    code, out, _ = run("consent", "1004", "refused", "--by", "Ms Park", "--note", "letter of 2 March")
    assert code == 0 and "1004: consent given -> refused" in out
    code, out, _ = run("consent")
    assert code == 0 and "Ms Park" in out
    code, out, err = run("mark", first, "--class", "Drama", "--save")
    assert code == 0, err
    code, out, _ = run("export-student", "1003", "--output", str(tmp_path / "1003.zip"))
    assert code == 0
    with zipfile.ZipFile(tmp_path / "1003.zip") as archive:
        assert "photos/1003/kit.jpeg" in archive.namelist()
        assert b"1005" not in archive.read("marks.csv")
    code, out, _ = run("purge", "--older-than", "0")
    assert code == 0 and "1 sessions, 2 marks, 0 corrections" in out
    code, _, err = run("export-student", "nobody", "--output", str(tmp_path / "x.zip"))
    assert code == 2 and "no student 'nobody'" in err


def test_assigning_a_class_no_class_list_names_warns(school):
    from attendance_core.school.access import TEACHER, Directory
    from attendance_core.config import load_settings
    from attendance_core.records import Store

    code, _, _ = run("classes", "import", str(school[0] / "sis" / "classes.csv"), "--by", "office")
    assert code == 0
    with Store.from_settings(load_settings()) as store:
        Directory.of(store).add_user("ana", TEACHER)
    code, out, err = run("classes", "assign", "7B", "--teacher", "ana")
    assert code == 0 and "ana teaches 7B" in out and err == ""
    code, out, err = run("classes", "assign", "7 B", "--teacher", "ana")
    assert code == 0 and "warning: no class list or classes_dir folder names the class '7 B'" in err
    assert "7A, 7B, Drama" in err


def test_a_class_list_with_skipped_rows_imports_the_rest_and_exits_1_saying_so(school):
    tmp_path = school[0]
    bad = tmp_path / "sis" / "shifted.csv"
    bad.write_text(CSV + '1006,=HYPERLINK("http://x","y"),7B,,given\n1007,Ann Lee,7B,/etc/passwd,given\n',
                   encoding="utf-8")
    code, out, err = run("classes", "import", str(bad), "--by", "office")
    assert code == 1, (out, err)
    assert "2 row(s) of" in err and "shifted.csv" in err and "import the file again" in err
    assert "line 9: 6 cells but the header names 5 columns" in out
    assert "line 10: 1007: photo '/etc/passwd' is outside the class list's folder" in out
    from attendance_core.config import load_settings
    from attendance_core.school import listed_classes
    assert listed_classes(load_settings()) == ["7A", "7B", "Drama"]  # no class made of the formula's tail
