"""The records commands: mark --save, sessions, correct, report (table, CSV, XLSX) and forget."""
from __future__ import annotations

import io
import json
from datetime import datetime

import numpy as np
import pandas as pd
import pytest

from attendance_core.cli import main
from attendance_core.encoding_cache import CachedFaces, EncodingCache, file_digest, forget_everywhere
from attendance_core.records import FORGOTTEN_NAME, Store

try:
    from test_records import CLASS, all_present, attendance
except ImportError:  # tests/ imported as a package
    from tests.test_records import CLASS, all_present, attendance


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out, err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def records_env(data_dir, tmp_path, monkeypatch):
    """The CLI's settings point at a private data folder (and its SQLite database); returns that folder."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ATTENDANCE_DATABASE_URL", raising=False)
    monkeypatch.delenv("ATTENDANCE_CONFIG", raising=False)
    return data_dir


def open_store(data_dir) -> Store:
    return Store(f"sqlite:///{data_dir / 'attendance.db'}")


def test_marking_two_demo_photos_with_save_gives_the_right_report(demo_class, records_env, tmp_path):
    roster = str(demo_class / "known_faces")
    photos = demo_class / "sample_images"
    # Who is in each photo (the demo class's labels): one session per photo.
    in_photo = {"two_people.jpg": {"Barack_Obama", "Joe_Biden"}, "kit_with_rose.jpg": {"Kit_Harington", "Rose_Leslie"}}
    for name in in_photo:
        code, out, err = run("mark", str(photos / name), "--roster", roster, "--class", "demo", "--subject", "Maths",
                             "--save")
        assert code == 0, err
        assert "Recorded as session" in out
    # Marking the same photo again is noticed, not recorded twice.
    code, _, err = run("mark", str(photos / "two_people.jpg"), "--roster", roster, "--class", "demo", "--save")
    assert code == 2 and "already saved as session 1" in err

    code, out, _ = run("sessions", "--class", "demo")
    assert code == 0 and out.count("demo") == 2

    students = ["Alex_Lacamoire", "Barack_Obama", "Joe_Biden", "Kit_Harington", "Rose_Leslie"]
    present = {s: sum(s in found for found in in_photo.values()) for s in students}
    code, out, _ = run("report", "--class", "demo")
    assert code == 0
    assert "2 sessions" in out
    for s in students:
        line = next(line for line in out.splitlines() if line.strip().startswith(s))
        assert f"{present[s] / 2:.0%}" in line.split()[-1]

    code, csv_text, _ = run("report", "--class", "demo", "--format", "csv", "--output", str(tmp_path / "demo.csv"))
    code_x, out_x, _ = run("report", "--class", "demo", "--format", "xlsx", "--output", str(tmp_path / "demo.xlsx"))
    assert code == 0 and code_x == 0 and "demo.xlsx" in out_x
    from_csv = pd.read_csv(tmp_path / "demo.csv")
    from_xlsx = pd.read_excel(tmp_path / "demo.xlsx", sheet_name="attendance")
    pd.testing.assert_frame_equal(from_csv, from_xlsx, check_dtype=False)
    table = from_csv.set_index("student_id")
    assert sorted(table.index) == students
    for s in students:
        assert table.loc[s, "present"] == present[s]
        assert table.loc[s, "absent"] == 2 - present[s]
        assert table.loc[s, "rate"] == pytest.approx(present[s] / 2)
    with open_store(records_env) as store:
        pd.testing.assert_frame_equal(from_csv, store.report("demo").table(), check_dtype=False)


@pytest.fixture
def two_sessions(records_env):
    with open_store(records_env) as store:
        ids = [store.save_session(attendance(all_present(Alan_Turing="absent"), photos=("p1",)), class_name="demo",
                                  subject="Maths", taken_at=datetime(2026, 3, 2, 9, 0)),
               store.save_session(attendance(all_present(Grace_Hopper="absent"), photos=("p2",)), class_name="demo",
                                  subject="Art", taken_at=datetime(2026, 3, 3, 9, 0))]
    return ids


def test_sessions_lists_recorded_sessions_in_local_time(two_sessions):
    code, out, _ = run("sessions")
    assert code == 0
    assert "2026-03-02 09:00" in out and "2026-03-03 09:00" in out and "Maths" in out and "Art" in out
    code, out, _ = run("sessions", "--format", "csv")
    df = pd.read_csv(io.StringIO(out))
    assert df["id"].tolist() == two_sessions and df["absent"].tolist() == [1, 1]


def test_correct_changes_a_mark_and_keeps_the_automatic_result(two_sessions, records_env):
    first, _ = two_sessions
    code, out, _ = run("correct", str(first), "Alan_Turing", "excused", "--note", "sick", "--by", "ms.k")
    assert code == 0 and "absent -> excused" in out
    with open_store(records_env) as store:
        trail = store.corrections()
        mark = store.session_marks(first).set_index("student_id").loc["Alan_Turing"]
    assert trail[["old_status", "new_status", "note", "corrected_by"]].values.tolist() == [
        ["absent", "excused", "sick", "ms.k"]]
    assert (mark["status"], mark["automatic_status"]) == ("excused", "absent")
    code, _, err = run("correct", "99", "Alan_Turing", "present")
    assert code == 2 and "no session 99" in err
    code, _, err = run("correct", str(first), "Nobody", "present")
    assert code == 2 and "no mark" in err


def test_report_filters_and_reports_unknown_classes(two_sessions):
    code, out, _ = run("report", "--class", "demo", "--subject", "Art", "--format", "csv")
    df = pd.read_csv(io.StringIO(out)).set_index("student_id")
    assert list(df.columns[-1:]) == ["2026-03-03"] and df.loc["Grace_Hopper", "absent"] == 1
    code, out, _ = run("report", "--class", "demo", "--from", "2026-03-03", "--to", "2026-03-03", "--format", "csv")
    assert list(pd.read_csv(io.StringIO(out)).columns[8:]) == ["2026-03-03"]
    code, _, err = run("report", "--class", "biology")
    assert code == 2 and "no class 'biology'" in err and "demo" in err


def test_save_without_a_class_is_a_usage_error(records_env, tmp_path):
    code, _, err = run("mark", str(tmp_path / "missing.jpg"), "--save")
    assert code == 2 and "--class" in err
    assert not (records_env / "attendance.db").exists()


# --- forget ---------------------------------------------------------------------------------------

@pytest.fixture
def roster_with_cache(records_env, tmp_path):
    """A roster folder of (fake) reference photos, their encodings cached under two model settings."""
    roster = tmp_path / "roster"
    (roster / "Alan_Turing").mkdir(parents=True)
    photos = {"Alan_Turing": [roster / "Alan_Turing" / "a.jpg", roster / "Alan_Turing" / "b.jpg"],
              "Ada_Lovelace": [roster / "Ada_Lovelace.jpg"]}
    for sid, paths in photos.items():
        for k, p in enumerate(paths):
            p.write_bytes(f"{sid}-{k}".encode())
    faces = CachedFaces(np.zeros((1, 4), dtype=np.int64), np.ones((1, 128)))
    for key in ("hog-small", "cnn-large"):
        cache = EncodingCache(records_env / "cache", key)
        for paths in photos.values():
            for p in paths:
                cache.put(cache.digest(p), faces)
        cache.save()
    return roster, photos


def cached_digests(cache_dir) -> set[str]:
    found = set()
    for f in cache_dir.glob("encodings-*.json"):
        found |= set(json.loads(f.read_text())["faces"])
    return found


def test_forget_removes_encodings_from_every_cache_and_anonymises_marks(roster_with_cache, records_env):
    roster, photos = roster_with_cache
    with open_store(records_env) as store:
        sid = store.save_session(attendance(all_present(Alan_Turing="absent")), class_name="demo")
    turing = {file_digest(p) for p in photos["Alan_Turing"]}
    assert turing <= cached_digests(records_env / "cache")

    code, out, err = run("forget", "Alan_Turing", "--roster", str(roster))
    assert code == 0, err
    left = cached_digests(records_env / "cache")
    assert not (turing & left) and file_digest(photos["Ada_Lovelace"][0]) in left
    assert len(list((records_env / "cache").glob("encodings-*.json"))) == 2
    assert all(p.exists() for p in photos["Alan_Turing"])  # photos kept unless asked
    assert "anonymised" in out
    with open_store(records_env) as store:
        marks = store.session_marks(sid)
    assert "Alan_Turing" not in set(marks["student_id"]) and len(marks) == len(CLASS)
    assert marks.loc[marks["name"] == FORGOTTEN_NAME, "status"].tolist() == ["absent"]


def test_forget_with_delete_flags_deletes_photos_and_marks(roster_with_cache, records_env):
    roster, photos = roster_with_cache
    with open_store(records_env) as store:
        sid = store.save_session(attendance(all_present()), class_name="demo")
    code, out, err = run("forget", "Ada_Lovelace", "--roster", str(roster), "--delete-photos", "--delete-marks")
    assert code == 0, err
    assert not photos["Ada_Lovelace"][0].exists() and all(p.exists() for p in photos["Alan_Turing"])
    with open_store(records_env) as store:
        marks = store.session_marks(sid)
    assert len(marks) == len(CLASS) - 1 and FORGOTTEN_NAME not in set(marks["name"])
    code, _, err = run("forget", "Nobody", "--roster", str(roster))
    assert code == 2 and "no student 'Nobody'" in err


def test_forget_everywhere_deletes_cache_files_it_cannot_read(tmp_path):
    photo = tmp_path / "x.jpg"
    photo.write_bytes(b"x")
    cache = EncodingCache(tmp_path / "cache", "k")
    cache.put(cache.digest(photo), CachedFaces(np.zeros((0, 4), dtype=np.int64), np.zeros((0, 128))))
    cache.save()
    damaged = tmp_path / "cache" / "encodings-damaged.json"
    damaged.write_text("{not json")
    assert forget_everywhere(tmp_path / "cache", [photo]) == 1
    assert not damaged.exists()
    assert EncodingCache(tmp_path / "cache", "k").get(file_digest(photo)) is None


def test_an_unreachable_database_is_reported_without_its_password(records_env, monkeypatch):
    monkeypatch.setenv("ATTENDANCE_DATABASE_URL", "postgresql+psycopg://nobody:secret@127.0.0.1:9/x?connect_timeout=5")
    code, _, err = run("report", "--class", "demo")
    assert code == 2 and "cannot open the records database" in err and "secret" not in err
