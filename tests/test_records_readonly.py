"""Records in a read-only data folder can still be listed and reported: reading opens them read-only
(issue 10, item 14)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from attendance_core.records import RecordsError, Store

try:
    from test_records import CLASS, all_present, attendance, store_url  # noqa: F401  (fixture)
except ImportError:  # tests/ imported as a package
    from tests.test_records import CLASS, all_present, attendance, store_url  # noqa: F401

REPO = Path(__file__).resolve().parents[1]


def unprivileged() -> list[str]:
    """A command prefix under which file permissions apply (root ignores them unless it drops the capability)."""
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv: a read-only folder cannot be simulated")
    return ["setpriv", "--bounding-set=-dac_override,-dac_read_search"]


@pytest.fixture
def read_only_records(tmp_path):
    """A data folder holding a saved session, then made read-only (folder and database file)."""
    data = tmp_path / "attendance_data"
    with Store(f"sqlite:///{data / 'attendance.db'}") as store:
        store.save_session(attendance(all_present(Alan_Turing="absent")), class_name="demo", subject="Maths",
                           taken_at=datetime(2026, 3, 2, 9, 0))
    assert sorted(p.name for p in data.iterdir()) == ["attendance.db"]  # no WAL index left behind
    (data / "attendance.db").chmod(0o400)
    data.chmod(0o500)
    yield data
    data.chmod(0o700)


def attendance_cli(data: Path, *argv: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "ATTENDANCE_DATA_DIR": str(data), "PYTHONPATH": str(REPO)}
    env.pop("ATTENDANCE_DATABASE_URL", None)
    return subprocess.run([*unprivileged(), sys.executable, "-m", "attendance_core.cli", *argv],
                          capture_output=True, text=True, env=env, cwd=data.parent, timeout=120)


def test_sessions_and_report_read_a_read_only_data_folder(read_only_records):
    listed = attendance_cli(read_only_records, "sessions")
    assert listed.returncode == 0, listed.stderr
    assert "2026-03-02 09:00" in listed.stdout and "Maths" in listed.stdout
    report = attendance_cli(read_only_records, "report", "--class", "demo", "--format", "csv")
    assert report.returncode == 0, report.stderr
    assert "Alan_Turing,Alan Turing,0,1,0,0,1,0.0" in report.stdout
    assert sorted(p.name for p in read_only_records.iterdir()) == ["attendance.db"]


def test_a_correction_in_a_read_only_data_folder_says_it_is_read_only(read_only_records):
    done = attendance_cli(read_only_records, "correct", "1", "Alan_Turing", "excused")
    assert done.returncode == 2
    assert "read-only" in done.stderr and str(read_only_records / "attendance.db") in done.stderr
    assert "Traceback" not in done.stderr


def test_a_read_only_store_reads_and_refuses_to_write(store_url):
    with Store(store_url) as store:
        sid = store.save_session(attendance(all_present()), class_name="demo")
    with Store(store_url, read_only=True) as reader:
        assert reader.sessions()["id"].tolist() == [sid]
        assert reader.report("demo").summary["present"].tolist() == [1] * len(CLASS)
        with pytest.raises(RecordsError, match="read-only"):
            reader.correct(sid, CLASS[0], "absent")
    with Store(store_url) as store:
        assert store.corrections().empty


def test_reading_a_missing_sqlite_file_read_only_says_how_to_make_one(tmp_path):
    with pytest.raises(RecordsError, match="no records database at .*missing.db"):
        Store(f"sqlite:///{tmp_path / 'missing.db'}", read_only=True)
    assert not (tmp_path / "missing.db").exists()


@pytest.mark.parametrize("existing", [False, True], ids=["no-records-yet", "writable-file"])
def test_saving_into_a_read_only_data_folder_says_the_folder_cannot_be_written(tmp_path, read_only_records, demo_class,
                                                                              existing):
    """A read-only folder: SQLite cannot make the file, or its journal beside a writable file ("unable to
    open database file"); the message names the folder as read-only instead of asking whether the file
    exists and may be read (issue 21 G)."""
    data = read_only_records
    if existing:
        (data / "attendance.db").chmod(0o600)  # the file may be written, its folder may not
    else:
        data = tmp_path / "empty_data"
        data.mkdir(mode=0o500)
    env = {**os.environ, "ATTENDANCE_DATA_DIR": str(data), "PYTHONPATH": str(REPO),
           "ATTENDANCE_ROSTER_DIR": str(demo_class / "known_faces")}
    env.pop("ATTENDANCE_DATABASE_URL", None)
    photo = demo_class / "sample_images" / "two_people.jpg"
    done = subprocess.run([*unprivileged(), sys.executable, "-m", "attendance_core.cli", "mark", str(photo), "--save",
                           "--class", "demo"], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert done.returncode != 0, done.stdout
    assert str(data) in done.stderr and ("read-only" in done.stderr or "must be writable" in done.stderr), done.stderr
    assert "may read" not in done.stderr and "Traceback" not in done.stderr
    assert sorted(p.name for p in data.iterdir()) == (["attendance.db"] if existing else [])
