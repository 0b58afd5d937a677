"""`make test` (scripts/run-tests.sh) runs the PostgreSQL tests on its own throw-away server, and fails
when no test runs."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from conftest import REPO, free_port

RUN_TESTS = REPO / "scripts" / "run-tests.sh"
START_POSTGRES = REPO / "scripts" / "start-postgres.sh"

# What the inner run sees: the server's URL, the requirement, and that the server answers.
INNER_TEST = """
import os, socket

def test_postgres_is_given_and_required():
    url = os.environ["ATTENDANCE_TEST_POSTGRES_URL"]
    assert url.endswith(":{port}/attendance_test"), url
    assert os.environ["ATTENDANCE_REQUIRE_POSTGRES"] == "1"
    socket.create_connection(("127.0.0.1", {port}), timeout=5).close()
"""


def _env(**changes: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("ATTENDANCE_TEST_POSTGRES_URL", "ATTENDANCE_REQUIRE_POSTGRES")}
    env.update(changes)
    return env


def _run_tests(env: dict[str, str], *pytest_args) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(RUN_TESTS), sys.executable, "-p", "no:cacheprovider", *map(str, pytest_args)],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=300)


def test_a_run_that_collects_no_test_fails():
    done = _run_tests(_env(ATTENDANCE_POSTGRES="0"), REPO / "tests" / "test_docs.py", "-k", "no_such_test")
    assert done.returncode == 5, done.stdout + done.stderr
    assert "no tests were collected" in done.stderr


@pytest.fixture
def private_postgres(tmp_path):
    """A cluster folder and port of its own, so that the shared test server is left alone."""
    if not list(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl")):
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql)")
    folder = Path(tempfile.mkdtemp(prefix="attendance-pg-test-", dir="/tmp"))  # the server's user must reach it
    env = _env(ATTENDANCE_PG_DIR=str(folder), ATTENDANCE_PG_PORT=str(free_port()))
    try:
        yield env
    finally:
        subprocess.run(["bash", str(START_POSTGRES), "--stop"], env=env, capture_output=True, timeout=120)
        shutil.rmtree(folder, ignore_errors=True)


def _running(env) -> bool:
    pid_file = Path(env["ATTENDANCE_PG_DIR"]) / "data" / "postmaster.pid"
    return pid_file.is_file()


def test_make_test_starts_requires_and_stops_its_own_postgres_server(private_postgres, tmp_path):
    port = private_postgres["ATTENDANCE_PG_PORT"]
    (tmp_path / "test_inner.py").write_text(INNER_TEST.format(port=port))
    done = _run_tests(private_postgres, tmp_path / "test_inner.py")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout
    assert not _running(private_postgres), "the server this run started is stopped afterwards"

    # A server that was already running is used, and left running.
    subprocess.run(["bash", str(START_POSTGRES)], env=private_postgres, check=True, capture_output=True, timeout=120)
    done = _run_tests(private_postgres, tmp_path / "test_inner.py")
    assert done.returncode == 0, done.stdout + done.stderr
    assert _running(private_postgres)
