"""What the hub tests share: a school of two classes, a PostgreSQL schema, and `attendance hub` on free ports.

The school: class ``7A`` is the demo class (5 students), class ``7B`` holds two of them (Kit Harington,
Rose Leslie). Users: ``ana`` teaches 7A, ``ben`` teaches 7B, ``boss`` is the admin.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from conftest import KNOWN_FACES, REPO, free_port, postgres_schema_at, wait_until_listening

PG_ENV = "ATTENDANCE_TEST_POSTGRES_URL"
PASSWORDS = {"boss": "admin-Pass-4821", "ana": "teacher-A-pass-7733", "ben": "teacher-B-pass-9102"}
ROLES = {"boss": "admin", "ana": "teacher", "ben": "teacher"}
CLASSES = {"7A": "ana", "7B": "ben"}
#: A first start loads the roster and starts a kernel; the shared 2-core machine is slow.
START_TIMEOUT = 240


def postgres_base_url() -> str:
    """The PostgreSQL test server (skip without it, fail when CI or ATTENDANCE_REQUIRE_POSTGRES says it must run)."""
    url = os.environ.get(PG_ENV, "")
    if not url:
        message = f"{PG_ENV} is not set (export {PG_ENV}=$(bash scripts/start-postgres.sh))"
        if os.environ.get("ATTENDANCE_REQUIRE_POSTGRES") == "1" or os.environ.get("CI") == "true":
            pytest.fail(message + ": the hub's records must be on PostgreSQL")
        pytest.skip(message)
    return url


def postgres_schema():
    """A private schema on the PostgreSQL test server; a context manager yielding a database URL that uses it."""
    return postgres_schema_at(postgres_base_url(), "hub_")


def lay_out_school(root: Path, encoding_cache: Path) -> Path:
    """Classes 7A (the demo class) and 7B (two of its students) under ``root/classes``, a warm cache; returns root."""
    classes = root / "classes"
    shutil.copytree(KNOWN_FACES, classes / "7A", ignore=shutil.ignore_patterns("README.md"))
    (classes / "7B").mkdir()
    for entry in KNOWN_FACES.iterdir():
        if entry.name.startswith(("Kit_Harington", "Rose_Leslie")):
            (shutil.copytree if entry.is_dir() else shutil.copy2)(entry, classes / "7B" / entry.name)
    shutil.copytree(encoding_cache, root / "attendance_data" / "cache")
    return root


def school_env(root: Path, database_url: str, **extra: str) -> dict[str, str]:
    """The environment of `attendance` commands for the school at ``root``: no settings from the machine."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ATTENDANCE_", "JUPYTER"))}
    env.update(ATTENDANCE_DATA_DIR=str(root / "attendance_data"), ATTENDANCE_CLASSES_DIR=str(root / "classes"),
               ATTENDANCE_ROSTER_DIR=str(root / "classes" / "7A"), ATTENDANCE_DATABASE_URL=database_url,
               PYTHONPATH=os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p))
    env.update(extra)
    return env


def attendance(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    """Run the `attendance` command (this checkout's code) and return what it did."""
    return subprocess.run([sys.executable, "-m", "attendance_core.cli", *args], env=env, input=stdin,
                          capture_output=True, text=True, timeout=300, cwd=REPO)


def add_school_users(env: dict[str, str], with_passwords: bool = True) -> None:
    """Users boss (admin), ana and ben (teachers), and their classes."""
    for name, role in ROLES.items():
        args = ["users", "add", name, "--role", role] + ([] if with_passwords else ["--no-password"])
        done = attendance(env, *args, stdin=PASSWORDS[name] + "\n" if with_passwords else "")
        assert done.returncode == 0, done.stderr
    for class_name, teacher in CLASSES.items():
        done = attendance(env, "classes", "assign", class_name, "--teacher", teacher)
        assert done.returncode == 0, done.stderr


@contextlib.contextmanager
def running_school(tmp_path_factory, encoding_cache: Path, name: str, **settings: str):
    """The school of this module on a private PostgreSQL schema, its users added, `attendance hub` running with
    ``settings`` (``ATTENDANCE_*`` variables); yields the hub (with ``root`` and ``database_url``)."""
    root = lay_out_school(tmp_path_factory.mktemp(name), encoding_cache)
    with postgres_schema() as database_url:
        env = school_env(root, database_url, **settings)
        add_school_users(env)
        hub = start_hub(root, env)
        hub.root, hub.database_url = root, database_url
        try:
            yield hub
        finally:
            stop_hub(hub)


def start_hub(root: Path, env: dict[str, str], *args: str) -> SimpleNamespace:
    """`attendance hub` on a free port of 127.0.0.1; returns url, port, proc and log."""
    port = free_port()
    log = root / f"hub-{port}.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "attendance_core.cli", "hub", "--ip", "127.0.0.1",
                                 "--port", str(port), *args], env=env, cwd=root, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    hub = SimpleNamespace(url=f"http://127.0.0.1:{port}", port=port, proc=proc, log=log)
    try:
        wait_until_listening(proc, port, log, 120, "attendance hub")
        deadline = time.monotonic() + 120
        while "JupyterHub is now running" not in log.read_text(errors="replace"):
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail("attendance hub did not start:\n" + log.read_text(errors="replace"))
            time.sleep(0.5)
    except BaseException:
        stop_hub(hub)
        raise
    return hub


def stop_hub(hub: SimpleNamespace) -> None:
    """Stop the hub (it stops the teachers' servers and the proxy) and wait for it."""
    if hub.proc.poll() is None:
        hub.proc.terminate()
        try:
            hub.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(hub.proc.pid, 9)
            hub.proc.wait()


def hub_login(hub: SimpleNamespace, name: str, password: str, follow: bool = False, hooks: dict | None = None):
    """A requests session that posted the hub's login form; returns (session, response)."""
    import requests

    session = requests.Session()
    session.get(f"{hub.url}/hub/login", timeout=60, hooks=hooks)
    response = session.post(f"{hub.url}/hub/login", data={"username": name, "password": password,
                                                             "_xsrf": session.cookies.get("_xsrf", "")},
                            allow_redirects=follow, timeout=START_TIMEOUT, hooks=hooks)
    return session, response


def api_token(hub: SimpleNamespace, name: str, **model) -> str:
    """A hub API token of ``name``'s, made through their signed-in session as the hub's token page does."""
    session, _ = hub_login(hub, name, PASSWORDS[name])
    xsrf = next((c.value for c in session.cookies if c.name == "_xsrf" and c.path.startswith("/hub")), "")
    made = session.post(f"{hub.url}/hub/api/users/{name}/tokens", json={"note": "test", "expires_in": 600, **model},
                        headers={"X-XSRFToken": xsrf}, timeout=60)
    assert made.status_code in (200, 201), made.text[:300]
    return made.json()["token"]


def sign_in_recorded(browser, hub: SimpleNamespace, name: str) -> SimpleNamespace:
    """Sign ``name`` in through the hub's login form in a new browser context, until the dashboard and its
    fonts are there; returns every URL the page requested (``requested``), the context's cookies
    (``cookies``) and the computed font family of the buttons' icons (``icon_font``)."""
    timeout_ms = START_TIMEOUT * 1000
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    requested: list[str] = []
    context.on("request", lambda request: requested.append(request.url))
    try:
        page = context.new_page()
        page.set_default_timeout(timeout_ms)
        page.goto(hub.url + "/hub/login", timeout=timeout_ms)
        page.fill("#username_input", name)
        page.fill("#password_input", PASSWORDS[name])
        page.click("#login_submit", no_wait_after=True)
        page.wait_for_selector(".sa-upload-photos", timeout=timeout_ms)
        page.wait_for_function("() => document.fonts.status === 'loaded'", timeout=timeout_ms)
        icon_font = page.evaluate("() => getComputedStyle(document.querySelector('.widget-button i.fa')).fontFamily")
        return SimpleNamespace(requested=requested, cookies=context.cookies(), icon_font=icon_font)
    finally:
        context.close()
