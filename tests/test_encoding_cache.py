"""The encoding cache is optional: a damaged file, a bad entry or a full disk never stops enrolment."""
from __future__ import annotations

import errno
import io
import json
import logging
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from attendance_core import encoding_cache
from attendance_core import roster as roster_mod
from attendance_core.cli import main
from attendance_core.encoding_cache import EncodingCache
from attendance_core.faces import DetectorSettings
from attendance_core.roster import load_roster

STUDENT = "Alex_Lacamoire"


@pytest.fixture
def one_student(demo_class, tmp_path):
    """A roster folder of one student with one reference photo, and its cache folder (warm)."""
    folder = tmp_path / "known_faces"
    folder.mkdir()
    shutil.copy(demo_class / "known_faces" / f"{STUDENT}.jpg", folder)
    cache = tmp_path / "attendance_data" / "cache"
    load_roster(folder, cache_dir=cache)
    return folder, cache


def cache_file(cache) -> Path:
    return EncodingCache(cache, DetectorSettings().key()).path


def edit_cache_file(cache, change) -> Path:
    """Apply ``change`` to the cache file's JSON data, in place; returns the file's path."""
    path = cache_file(cache)
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))
    return path


@pytest.fixture
def encodings_made(monkeypatch) -> list[str]:
    """The reference photos encoded by dlib (not taken from the cache), by file name."""
    made: list[str] = []
    real = roster_mod._reference_faces
    monkeypatch.setattr(roster_mod, "_reference_faces", lambda p: made.append(p.name) or real(p))
    return made


def warnings_about(caplog, path) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.levelno == logging.WARNING and r.name == encoding_cache.__name__ and str(path) in r.getMessage()]


@pytest.mark.parametrize("content", ["null", "[]", '"encodings"', "42", "{}", '{"version": 1, "key": null}',
                                     '{"version": 1, "ke', "\xff\xfe not UTF-8"])
def test_cache_file_that_is_not_a_cache_is_ignored_with_a_warning(one_student, content, caplog, encodings_made):
    folder, cache = one_student
    good = load_roster(folder, cache_dir=cache).reference_encodings
    path = cache_file(cache)
    path.write_bytes(content.encode("latin-1"))
    caplog.set_level(logging.WARNING)
    r = load_roster(folder, cache_dir=cache)
    assert r.student(STUDENT).usable and np.allclose(r.reference_encodings, good, atol=1e-6)
    assert encodings_made == [f"{STUDENT}.jpg"]
    (message,) = warnings_about(caplog, path)
    assert "ignored" in message
    assert len(json.loads(path.read_text())["faces"]) == 1  # rebuilt


def _bad_entries(entry: dict) -> dict[str, dict]:
    return {
        "encodings of 127 numbers": {**entry, "encodings": [entry["encodings"][0][:127]]},
        "a box of 3 numbers": {**entry, "boxes": [entry["boxes"][0][:3]]},
        "a box of text": {**entry, "boxes": [[str(v) for v in entry["boxes"][0]]]},
        "an encoding of text": {**entry, "encodings": [["0.1"] * 128]},
        "a NaN in an encoding": {**entry, "encodings": [[float("nan")] * 128]},
        "boxes without encodings": {**entry, "encodings": []},
        "a number for the error": {**entry, "error": 3},
        "no boxes": {k: v for k, v in entry.items() if k != "boxes"},
        "a list instead of an entry": [entry["boxes"], entry["encodings"]],
        "null": None,
    }


@pytest.mark.parametrize("kind", list(_bad_entries({"boxes": [[0] * 4], "encodings": [[0.0] * 128], "error": None})))
def test_cache_entry_of_the_wrong_shape_is_encoded_again(one_student, kind, caplog, encodings_made):
    folder, cache = one_student
    ((digest, entry),) = json.loads(cache_file(cache).read_text())["faces"].items()
    path = edit_cache_file(cache, lambda data: data["faces"].update({digest: _bad_entries(entry)[kind]}))
    caplog.set_level(logging.WARNING)
    r = load_roster(folder, cache_dir=cache)
    assert r.student(STUDENT).usable and r.problems == []
    assert encodings_made == [f"{STUDENT}.jpg"]
    (message,) = warnings_about(caplog, path)
    assert "1 damaged entry" in message
    assert json.loads(path.read_text())["faces"][digest] == entry  # repaired


@pytest.mark.parametrize("stat", [None, [1, 2], ["size", 0, "x"], {"size": 1}])
def test_stat_index_entry_of_the_wrong_shape_is_ignored(one_student, stat, caplog, encodings_made):
    folder, cache = one_student
    path = edit_cache_file(cache, lambda data: data["stats"].update({key: stat for key in data["stats"]}))
    caplog.set_level(logging.WARNING)
    r = load_roster(folder, cache_dir=cache)
    assert r.student(STUDENT).usable
    assert encodings_made == []  # the photo is hashed again, and its encodings are still in the cache
    assert len(warnings_about(caplog, path)) == 1


def test_attendance_roster_lists_the_students_over_a_null_cache(one_student, monkeypatch, caplog):
    folder, cache = one_student
    monkeypatch.setenv("ATTENDANCE_DATA_DIR", str(cache.parent))
    cache_file(cache).write_text("null")
    caplog.set_level(logging.WARNING)
    out, err = io.StringIO(), io.StringIO()
    assert main(["roster", str(folder)], out=out, err=err) == 0, err.getvalue()
    assert "1 students, 1 recognisable" in out.getvalue()
    assert len(warnings_about(caplog, cache_file(cache))) == 1


def _full_disk(*args, **kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_full_disk_during_a_cache_write_is_a_warning_not_a_crash(demo_class, tmp_path, monkeypatch, caplog):
    folder = tmp_path / "known_faces"
    folder.mkdir()
    shutil.copy(demo_class / "known_faces" / f"{STUDENT}.jpg", folder)
    cache = tmp_path / "cache"
    monkeypatch.setattr(encoding_cache, "write_atomic", _full_disk)
    caplog.set_level(logging.WARNING)
    r = load_roster(folder, cache_dir=cache)
    assert r.student(STUDENT).usable
    path = cache_file(cache)
    assert not path.exists()
    (message,) = warnings_about(caplog, path)
    assert "could not be saved (No space left on device)" in message


def test_full_disk_during_forget_deletes_the_cache_file_rather_than_keep_the_encodings(one_student, monkeypatch):
    folder, cache = one_student
    monkeypatch.setattr(encoding_cache, "write_atomic", _full_disk)
    roster_mod.forget_student(folder, STUDENT, cache_dir=cache)
    assert not cache_file(cache).exists()


def test_interrupted_cache_write_leaves_the_old_cache(one_student, monkeypatch, caplog):
    _, cache = one_student
    path = cache_file(cache)
    before = path.read_bytes()
    c = EncodingCache(cache, DetectorSettings().key())
    c.put("f" * 64, c.get(next(iter(c._faces))))
    monkeypatch.setattr("attendance_core.files.os.replace", _full_disk)
    caplog.set_level(logging.WARNING)
    assert c.save() is False
    assert path.read_bytes() == before
    assert not list(cache.glob(".encodings-*.tmp")), "no temporary file left behind"
    assert c.get("f" * 64) is not None  # still in memory
    monkeypatch.undo()
    assert c.save() is True and EncodingCache(cache, DetectorSettings().key()).get("f" * 64) is not None


def test_dashboard_builds_over_an_empty_list_cache(app_settings, caplog):
    from attendance_core.app.state import DashboardState

    path = cache_file(app_settings.cache_dir)
    path.write_text("[]")
    caplog.set_level(logging.WARNING)
    state = DashboardState(app_settings)
    assert state.roster_error is None and len(state.roster) == 5
    assert all(s.usable for s in state.roster.students)
    assert len(warnings_about(caplog, path)) == 1
