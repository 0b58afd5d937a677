"""Shared fixtures: the demo class, the labelled development set, and a private data folder."""
from __future__ import annotations

import builtins
import contextlib
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest

REPO = Path(__file__).resolve().parents[1]
KNOWN_FACES = REPO / "known_faces"
SAMPLE_IMAGES = REPO / "sample_images"
DEVDATA = Path(os.environ.get("ATTENDANCE_DEVDATA", REPO.parent / "shared" / "devdata"))


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_listening(proc: subprocess.Popen, port: int, log: Path | None, timeout: float, what: str) -> None:
    """Wait until a server process accepts connections on 127.0.0.1:``port``; fail with its log if it
    exits first or is not listening after ``timeout`` seconds."""
    def output() -> str:
        return log.read_text(errors="replace") if log is not None and log.exists() else ""

    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            pytest.fail(f"{what} exited with code {proc.returncode}:\n{output()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                pytest.fail(f"{what} did not listen within {timeout:.0f} s:\n{output()}")
            time.sleep(0.5)


@contextlib.contextmanager
def voila_serving(notebook: Path, root: Path, cwd: Path, **settings: str):
    """Voilà serving ``notebook`` on a free port of 127.0.0.1 with the project's template (as `attendance
    serve` and the hub do); yields its port, stops it on exit.

    The machine's Jupyter configuration is kept out (an empty ``root/jupyter-config`` folder and config
    path, no ``ATTENDANCE_``/``JUPYTER_`` variables but ``settings``); the log goes to ``root/voila.log``.
    """
    from attendance_core.server import TEMPLATE, TEMPLATES

    config = root / "jupyter-config"
    config.mkdir()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ATTENDANCE_", "JUPYTER_"))}
    env.update(JUPYTER_CONFIG_DIR=str(config), JUPYTER_PATH=str(TEMPLATES), **settings)
    log = root / "voila.log"
    command = [str(Path(sys.executable).with_name("voila")), str(notebook), f"--port={port}", "--Voila.ip=127.0.0.1",
               "--no-browser", f"--Voila.config_file_paths={config}", f"--template={TEMPLATE}",
               "--Voila.tornado_settings={'websocket_max_message_size': 209715200}"]
    with open(log, "wb") as out:
        proc = subprocess.Popen(command, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_until_listening(proc, port, log, 120, "voila")
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextlib.contextmanager
def postgres_schema_at(base_url: str, prefix: str):
    """A private schema (``prefix`` and 12 hex digits) on the PostgreSQL server at ``base_url``.

    Yields a database URL that uses it (its ``search_path``); the schema and all in it are dropped on exit.
    """
    import sqlalchemy as sa

    base = sa.make_url(base_url)
    schema = f"{prefix}{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(base)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    try:
        yield base.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)
    finally:
        with engine.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        engine.dispose()


CHROMIUM = Path(os.environ.get("ATTENDANCE_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
ARTIFACTS = REPO / "test-artifacts"


def _browser_unavailable(reason: str):
    """Skip a browser test on a developer's machine without chromium; fail it in CI."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"browser test cannot run in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser():
    """Debian's chromium driven by Playwright (``playwright install`` cannot download browsers here).

    Module-scoped: Playwright's sync API keeps an asyncio loop running while it is open, which would
    break later tests that run their own loop.
    """
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _browser_unavailable("the playwright package is not installed (pip install playwright)")
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        _browser_unavailable(f"{CHROMIUM} is missing (apt-get install chromium)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


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


@pytest.fixture
def opened(monkeypatch) -> list[str]:
    """Names of the files opened from now on (by open(), Path.open or Path.read_bytes): reads are counted."""
    names: list[str] = []
    real = io.open

    def spy(file, *args, **kwargs):
        names.append(Path(str(file)).name)
        return real(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", spy)
    monkeypatch.setattr(io, "open", spy)
    return names


# --- The dashboard (issue 4): a private copy of the demo class with a warm encoding cache. -------------

@pytest.fixture(scope="session")
def demo_encoding_cache(demo_class, tmp_path_factory) -> Path:
    """An encoding cache holding the demo roster's reference photos, enrolled once per test run."""
    from attendance_core.faces import DetectorSettings
    from attendance_core.roster import load_roster

    cache = tmp_path_factory.mktemp("demo-cache") / "cache"
    load_roster(KNOWN_FACES, DetectorSettings(), cache)
    return cache


def class_list_photos(folder: Path) -> Path:
    """``folder`` made, holding the demo class's reference photos under the names the school tests' class
    lists give (obama.jpg, biden.jpg, kit.jpeg, alex.jpg, rose.jpg), as a school's export would."""
    folder.mkdir(parents=True)
    for name, source in (("obama.jpg", "Barack_Obama/obama.jpg"), ("biden.jpg", "Joe_Biden/biden.jpg"),
                         ("kit.jpeg", "Kit_Harington/john1.jpeg"), ("alex.jpg", "Alex_Lacamoire.jpg"),
                         ("rose.jpg", "Rose_Leslie/img1.jpg")):
        shutil.copy(KNOWN_FACES / source, folder / name)
    return folder


@pytest.fixture
def app_settings(tmp_path, data_dir, demo_encoding_cache):
    """Settings over a copy of the demo roster (tests may add or remove students) and a private data folder."""
    from attendance_core.config import load_settings

    roster = tmp_path / "known_faces"
    shutil.copytree(KNOWN_FACES, roster, ignore=shutil.ignore_patterns("README.md"))
    shutil.copytree(demo_encoding_cache, data_dir / "cache")
    return load_settings(roster_dir=roster, data_dir=data_dir)


@pytest.fixture(scope="session")
def dashboard_server(demo_class, demo_encoding_cache, tmp_path_factory):
    """Voilà serving notebooks/attendance_dashboard.ipynb on a free port, over a private copy of the demo class.

    The machine's Jupyter configuration is kept out (empty config folder and config paths), and the
    records go to a temporary data folder. Yields ``url``, ``root`` (the private folder) and ``log``.
    """
    root = tmp_path_factory.mktemp("dashboard")
    shutil.copytree(KNOWN_FACES, root / "known_faces", ignore=shutil.ignore_patterns("README.md"))
    shutil.copytree(demo_encoding_cache, root / "attendance_data" / "cache")
    (root / "sample_images").symlink_to(SAMPLE_IMAGES)
    with voila_serving(REPO / "notebooks" / "attendance_dashboard.ipynb", root, REPO,
                       ATTENDANCE_ROSTER_DIR=str(root / "known_faces"),
                       ATTENDANCE_DATA_DIR=str(root / "attendance_data")) as port:
        yield SimpleNamespace(url=f"http://127.0.0.1:{port}/", root=root, log=root / "voila.log", port=port)


# --- The dashboard over a crowded class (issues 13, 29). -------------------------------------------------

DASHBOARD_CELLS = [
    "from attendance_core.app import AttendanceApp",
    "app = AttendanceApp.from_settings()\napp",
]


@contextlib.contextmanager
def serving_crowd(devdata: Path, tmp_path_factory):
    """Voilà serving a notebook that shows the dashboard over the crowd's roster (``crowd_class``: about 20
    students and a 12-megapixel class photo), with a private data folder; yields (crowd, url, root)."""
    from crowd_class import shared_crowd

    crowd, cache = shared_crowd(devdata, KNOWN_FACES, SAMPLE_IMAGES, tmp_path_factory)
    root = tmp_path_factory.mktemp("crowd-server")
    shutil.copytree(cache, root / "attendance_data" / "cache")
    notebook = root / "review.ipynb"
    notebook.write_text(json.dumps({
        "cells": [{"cell_type": "code", "execution_count": None, "id": f"c{k}", "metadata": {}, "outputs": [],
                   "source": cell} for k, cell in enumerate(DASHBOARD_CELLS)],
        "metadata": {"kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
                     "language_info": {"name": "python"}},
        "nbformat": 4, "nbformat_minor": 5}))
    with voila_serving(notebook, root, root, ATTENDANCE_ROSTER_DIR=str(crowd.roster_dir),
                       ATTENDANCE_DATA_DIR=str(root / "attendance_data"), ATTENDANCE_TOLERANCE=str(crowd.tolerance),
                       ATTENDANCE_MIN_FACE_SIZE="50",
                       PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])) as port:
        yield crowd, f"http://127.0.0.1:{port}/", root


@pytest.fixture(scope="module")
def crowd_server(devdata, demo_class, tmp_path_factory):
    """:func:`serving_crowd` for a test module."""
    with serving_crowd(devdata, tmp_path_factory) as served:
        yield served
