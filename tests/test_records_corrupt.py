"""A damaged records database gives a clear message naming the file, never a traceback (issue 10, item 9)."""
from __future__ import annotations

import shutil

import pytest
import sqlalchemy as sa

from attendance_core.records import RecordsError, Store

try:
    from test_records import all_present, attendance
    from test_records_cli import records_env, run  # noqa: F401  (fixture)
except ImportError:  # tests/ imported as a package
    from tests.test_records import all_present, attendance
    from tests.test_records_cli import records_env, run  # noqa: F401


@pytest.fixture
def corrupt_db(records_env):
    """The data folder's attendance.db overwritten with 4 KiB of random bytes."""
    records_env.mkdir(parents=True, exist_ok=True)
    db = records_env / "attendance.db"
    db.write_bytes(__import__("os").urandom(4096))
    return db


@pytest.mark.parametrize("argv", [["sessions"], ["report", "--class", "demo"],
                                  ["correct", "1", "Ada_Lovelace", "present"]])
def test_commands_on_a_damaged_database_name_the_file_and_what_to_do(corrupt_db, argv):
    code, out, err = run(*argv)
    assert code == 2
    assert err.startswith("attendance: error:") and len(err.splitlines()) == 1, err
    assert str(corrupt_db) in err and "damaged" in err and "backup" in err and "move it away" in err
    assert "Traceback" not in err and "sqlite3" not in err and "SELECT" not in err


@pytest.mark.parametrize("save", [["--save"], []])
def test_mark_on_a_damaged_database_recognises_nobody_and_says_why(demo_class, demo_encoding_cache, corrupt_db,
                                                                   save):
    # The records hold the students' consent (issue 15): a student who refused must not be recognised
    # because the register cannot be read.
    shutil.copytree(demo_encoding_cache, corrupt_db.parent / "cache")
    code, out, err = run("mark", str(demo_class / "sample_images" / "two_people.jpg"), "--roster",
                         str(demo_class / "known_faces"), "--class", "demo", *save)
    assert code == 2 and out == ""
    assert str(corrupt_db) in err and "damaged" in err and "consent" in err and "Nobody is recognised" in err
    assert "Traceback" not in err and len(err.splitlines()) == 1


def test_a_database_damaged_after_opening_fails_cleanly_on_the_next_read(tmp_path):
    db = tmp_path / "records.db"
    with Store(f"sqlite:///{db}") as store:
        store.save_session(attendance(all_present()), class_name="demo")
    engine = sa.create_engine(f"sqlite:///{db}")
    with engine.begin() as conn:
        conn.exec_driver_sql("PRAGMA journal_mode = DELETE")  # everything in the main file
    engine.dispose()
    data = bytearray(db.read_bytes())
    data[4096:] = bytes(len(data) - 4096)  # every page after the first wiped: the tables point at nothing
    db.write_bytes(bytes(data))
    with pytest.raises(RecordsError) as caught:
        with Store(f"sqlite:///{db}") as store:
            store.report("demo")
    assert str(db) in str(caught.value) and "damaged" in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
