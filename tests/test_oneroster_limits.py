"""A OneRoster bundle is read as something from outside (issue 28): through the real `attendance classes import
--oneroster` command, a ZIP that lies about its sizes, repeats a file, hides one behind ``../``, is damaged or
encrypted is refused with one line naming the file (no traceback); entries the import does not use are not
read; names holding terminal escapes or bidirectional controls are refused with their file and line; and an
export that would empty the school's classes is held unless ``--allow-mass-removal`` is given."""
from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conftest import REPO
from oneroster_bundle import (bundle_entries, bzip2_bomb, school, student_ids, write_bundle, write_zip, zip_entry)

ESCAPES = "\x1b[2J\x1b]0;owned\x07"
RIGHT_TO_LEFT = "\u202e"


@pytest.fixture
def env(tmp_path):
    """The `attendance` command's environment: its own SQLite records, no settings of the machine."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ATTENDANCE_", "JUPYTER"))}
    env.update(ATTENDANCE_DATA_DIR=str(tmp_path / "data"), ATTENDANCE_ROSTER_DIR=str(tmp_path / "roster"),
               ATTENDANCE_DATABASE_URL=f"sqlite:///{tmp_path / 'records.db'}",
               PYTHONPATH=os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p))
    return env


def import_bundle(env, bundle: Path, *flags: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "attendance_core.cli", "classes", "import", "--oneroster",
                           str(bundle), *flags], env=env, capture_output=True, text=True, timeout=300, cwd=REPO)


def refused_in_one_line(done: subprocess.CompletedProcess, *expected: str) -> str:
    """The refusal's one line (no traceback), checked to hold each of ``expected``."""
    assert done.returncode == 2, (done.returncode, done.stdout[-2000:], done.stderr[-2000:])
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    for text in expected:
        assert text in lines[0], lines[0]
    assert "nothing was changed" in lines[0]
    return lines[0]


def class_lists(env) -> dict[str, int]:
    from attendance_core.records import Store

    with Store(env["ATTENDANCE_DATABASE_URL"]) as store:
        return {name: len(store.class_list(name)) for name in store.listed_classes()}


def test_a_bzip2_entry_holding_more_than_it_declares_is_refused_after_its_declared_size(env, tmp_path):
    # 64 MB of zeros in a 2 KB entry's clothing (the probe's was 1 GB; benchmarks/bench_oneroster_limits.py
    # measures that one's memory). zipfile decompressed it whole, then failed on its CRC with a traceback.
    entries = [e for e in bundle_entries(school()) if e.name != "users.csv"] + [bzip2_bomb("users.csv", 64 * 2**20)]
    bomb = write_zip(tmp_path / "bomb.zip", entries)
    line = refused_in_one_line(import_bundle(env, bomb), "bomb.zip", "users.csv",
                               "holds more than the 2,048 bytes the ZIP's directory declares")
    assert len(line) < 400
    assert class_lists(env) == {}


def test_entries_the_import_does_not_use_are_not_read(env, tmp_path):
    # Five files OneRoster defines but this import does not use, each damaged beyond reading: reading any of
    # them would fail. The probe's five unused 250 MB files were decompressed in full.
    unused = [zip_entry(f"{name}.csv", b"sourcedId,status\r\n" * 1000, crc=0)
              for name in ("courses", "demographics", "lineItems", "results", "resources")]
    entries = bundle_entries(school()) + unused
    bundle = write_zip(tmp_path / "bundle.zip", entries)
    done = import_bundle(env, bundle)
    assert done.returncode == 0, done.stderr
    assert "40 students, 2 teachers, 3 classes" in done.stdout
    assert class_lists(env) == {"7A Maths": 15, "7B Maths": 15, "8A Science": 15}


@pytest.mark.parametrize("second", ["../users.csv", "export/users.csv", "users.csv"])
def test_a_zip_holding_a_file_twice_is_refused_naming_both(env, tmp_path, second):
    files = school()
    other = dict(files)
    other["users.csv"] = [dict(u, givenName="Mallory") for u in files["users.csv"]]
    entries = bundle_entries(files) + [e for e in bundle_entries(other) if e.name == "users.csv"]
    entries[-1].name = second
    line = refused_in_one_line(import_bundle(env, write_zip(tmp_path / "twice.zip", entries)),
                               "users.csv: the ZIP holds it 2 times", repr(second))
    assert "Mallory" not in line
    assert class_lists(env) == {}


@pytest.mark.parametrize("damage, expected", [
    ("crc", "users.csv: damaged ZIP entry (its size or CRC-32 check does not match"),
    ("encrypted", "users.csv: encrypted (a password-protected ZIP)"),
    ("truncated", "users.csv: damaged ZIP entry"),
    ("method", "users.csv: compressed with ZIP method 14"),
])
def test_a_damaged_or_encrypted_entry_is_refused_in_one_line(env, tmp_path, damage, expected):
    entries = bundle_entries(school())
    users = next(e for e in entries if e.name == "users.csv")
    if damage == "crc":
        users.crc ^= 0xFFFF
    elif damage == "encrypted":
        users.flags |= 0x1
    elif damage == "truncated":
        users.compressed = users.compressed[: len(users.compressed) // 2]
    else:
        users.method = zipfile.ZIP_LZMA
    refused_in_one_line(import_bundle(env, write_zip(tmp_path / f"{damage}.zip", entries)), expected)
    assert class_lists(env) == {}


@pytest.mark.parametrize("text, shown", [(ESCAPES, "U+001B"), (f"Ada{RIGHT_TO_LEFT}gpj.exe", "U+202E")])
def test_control_and_bidi_characters_in_a_oneroster_name_are_refused_with_file_and_line(env, tmp_path, text, shown):
    files = school()
    files["users.csv"][4]["familyName"] = text  # users.csv line 6
    done = import_bundle(env, write_bundle(tmp_path / "bundle", files))
    line = refused_in_one_line(done, f"users.csv line 6: familyName holds the control character {shown}")
    assert "\x1b" not in done.stderr + done.stdout and RIGHT_TO_LEFT not in done.stderr + done.stdout
    assert class_lists(env) == {}
    assert line


def test_control_characters_in_a_class_list_csv_name_skip_the_row_with_its_line(env, tmp_path):
    from attendance_core.records import Store

    listing = tmp_path / "classes.csv"
    listing.write_text(f"student_id,name,class\n1001,Ada Lovelace,7A\n1002,Bob{ESCAPES},7A\n"
                       f"1003,Eve {RIGHT_TO_LEFT}evE,7A\n", encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "attendance_core.cli", "classes", "import", str(listing)], env=env,
                          capture_output=True, text=True, timeout=300, cwd=REPO)
    assert done.returncode == 1, done.stderr
    assert "line 3: name holds the control character U+001B" in done.stdout
    assert "line 4: name holds the control character U+202E" in done.stdout
    assert "\x1b" not in done.stdout + done.stderr and RIGHT_TO_LEFT not in done.stdout + done.stderr
    with Store(env["ATTENDANCE_DATABASE_URL"]) as store:
        assert [(sid, name) for sid, name, _ in store.register()] == [("1001", "Ada Lovelace")]


@pytest.mark.parametrize("truncation", ["bulk enrollments.csv with its header only", "delta: every enrollment "
                                        "tobedeleted"])
def test_an_export_that_would_empty_the_classes_is_held_unless_allowed(env, tmp_path, truncation):
    assert import_bundle(env, write_bundle(tmp_path / "first", school())).returncode == 0
    before = class_lists(env)
    assert before == {"7A Maths": 15, "7B Maths": 15, "8A Science": 15}
    if truncation.startswith("bulk"):
        files = school()
        files["enrollments.csv"] = []
        bundle = write_bundle(tmp_path / "truncated", files)
        expected = "remove 48 of the school's 48 enrolments (100%"
    else:
        ended = [dict(e, status="tobedeleted", dateLastModified="2026-03-02") for e in school()["enrollments.csv"]]
        bundle = write_bundle(tmp_path / "truncated", {"enrollments.csv": ended}, mode="delta")
        expected = "remove 48 of the school's 48 enrolments (100%"
    line = refused_in_one_line(import_bundle(env, bundle), expected, "45 students from their classes",
                               "3 teachers from theirs", "--allow-mass-removal")
    assert line
    assert class_lists(env) == before  # nothing was written
    done = import_bundle(env, bundle, "--allow-mass-removal")
    assert done.returncode == 0, done.stderr
    assert class_lists(env) == {"7A Maths": 0, "7B Maths": 0, "8A Science": 0}


def test_a_few_removals_are_imported_without_asking(env, tmp_path):
    assert import_bundle(env, write_bundle(tmp_path / "first", school())).returncode == 0
    files = school()
    gone = set(student_ids()[15:24])  # 9 students of 7B: 9 of 48 enrolments, under the guard's floor of 10
    files["enrollments.csv"] = [e for e in files["enrollments.csv"] if e["userSourcedId"] not in gone]
    done = import_bundle(env, write_bundle(tmp_path / "second", files))
    assert done.returncode == 0, done.stderr
    assert class_lists(env) == {"7A Maths": 15, "7B Maths": 15 - 9, "8A Science": 15}
