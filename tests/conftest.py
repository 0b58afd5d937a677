"""Shared fixtures: the demo class, the labelled development set, and a private data folder."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
KNOWN_FACES = REPO / "known_faces"
SAMPLE_IMAGES = REPO / "sample_images"
DEVDATA = Path(os.environ.get("ATTENDANCE_DEVDATA", REPO.parent / "shared" / "devdata"))


def _missing(what: str, how: str):
    """Skip a test whose data is absent, or fail when CI says the data must be there."""
    if os.environ.get("ATTENDANCE_REQUIRE_DEVDATA") == "1" or os.environ.get("CI") == "true":
        pytest.fail(f"{what} is missing: {how}")
    pytest.skip(f"{what} is missing: {how}")


@pytest.fixture(scope="session")
def demo_class() -> Path:
    """The repo folder holding known_faces/ and sample_images/ (laid out by `attendance samples`)."""
    if not (KNOWN_FACES / "Alex_Lacamoire.jpg").is_file() or not (SAMPLE_IMAGES / "two_people.jpg").is_file():
        _missing("the demo class", "run `make samples` (or `attendance samples --mirror DIR`)")
    return REPO


@pytest.fixture(scope="session")
def devdata() -> Path:
    """The labelled development set (labels.csv = path,identity)."""
    if not (DEVDATA / "labels.csv").is_file():
        _missing(f"the labelled development set ({DEVDATA})", "set ATTENDANCE_DEVDATA to its folder")
    return DEVDATA


@pytest.fixture
def data_dir(tmp_path, monkeypatch) -> Path:
    """A private data folder (cache, database) so that tests never touch the repo's attendance_data/."""
    folder = tmp_path / "attendance_data"
    monkeypatch.setenv("ATTENDANCE_DATA_DIR", str(folder))
    return folder


# --- The dashboard (issue 4): a private copy of the demo class with a warm encoding cache. -------------

@pytest.fixture(scope="session")
def demo_encoding_cache(demo_class, tmp_path_factory) -> Path:
    """An encoding cache holding the demo roster's reference photos, enrolled once per test run."""
    from attendance_core.faces import DetectorSettings
    from attendance_core.roster import load_roster

    cache = tmp_path_factory.mktemp("demo-cache") / "cache"
    load_roster(KNOWN_FACES, DetectorSettings(), cache)
    return cache


@pytest.fixture
def app_settings(tmp_path, data_dir, demo_encoding_cache):
    """Settings over a copy of the demo roster (tests may add or remove students) and a private data folder."""
    import shutil

    from attendance_core.config import load_settings

    roster = tmp_path / "known_faces"
    shutil.copytree(KNOWN_FACES, roster, ignore=shutil.ignore_patterns("README.md"))
    shutil.copytree(demo_encoding_cache, data_dir / "cache")
    return load_settings(roster_dir=roster, data_dir=data_dir)
