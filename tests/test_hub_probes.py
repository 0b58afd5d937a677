"""The hub probed as another account of the machine, and as a curious teacher would (issue 28), on a real hub.

- item 1: another OS user (``nobody``) reads the kernels' ids in ``ps`` and opens the shared dashboard's
  request-info channel for each, straight to the service's port: refused, it hears nothing, and ten sign-ins
  after it all land in under 10 s (it used to take each kernel's teacher and hang the pages for 90 s); a page's
  kernel that hangs (stopped while its page waits) is shut down after two minutes;
- item 2: a working API token in an address never reaches the hub's log, not even URL-encoded in a redirect;
- item 3: every cookie set while a teacher signs in and opens the dashboard carries SameSite (raw headers);
- item 4: the login form brakes an address, says when a name is locked (the same for an unknown name), and
  refuses an unknown name as slowly as a wrong password;
- and: a crafted ``comm_open`` gets no traceback back over the page's websocket; a page's kernel starts with
  the environment it needs, not the service's.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hub_helpers import PASSWORDS, START_TIMEOUT, api_token, attendance, hub_login, running_school

DASHBOARD = "/services/dashboard/"
WARM_KERNELS = 10
SIGN_INS = ["ana", "ben", "boss", "ana", "ben", "boss", "ana", "ben", "boss", "ana"]
CARA = ("cara", "teacher-C-pass-5120")  # a teacher of this module's own, for the name lock


@pytest.fixture(scope="module")
def school(demo_class, demo_encoding_cache, tmp_path_factory):
    with running_school(tmp_path_factory, demo_encoding_cache, "hub-probes",
                        ATTENDANCE_DASHBOARD_WARM_KERNELS=str(WARM_KERNELS), ATTENDANCE_MAX_KERNELS_PER_USER="10") as hub:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ATTENDANCE_", "JUPYTER"))}
        env.update(ATTENDANCE_DATA_DIR=str(hub.root / "attendance_data"), ATTENDANCE_DATABASE_URL=hub.database_url,
                   ATTENDANCE_CLASSES_DIR=str(hub.root / "classes"), ATTENDANCE_ROSTER_DIR=str(hub.root / "classes" / "7A"))
        done = attendance(env, "users", "add", CARA[0], "--role", "teacher", stdin=CARA[1] + "\n")
        assert done.returncode == 0, done.stderr
        yield hub


def log_of(school) -> str:
    return school.log.read_text(errors="replace")


def dashboard_service(school) -> int:
    from procs import children, cmdline

    return next(p for p in children(school.proc.pid) if "attendance_core.hub.dashboard_service" in cmdline(p))


def page_kernels(school) -> dict[str, int]:
    """Kernel id -> pid of every kernel of the shared dashboard."""
    from procs import children, cmdline

    found = {}
    for pid in children(dashboard_service(school)):
        match = re.search(r"kernel-([0-9a-f-]{36})\.json", cmdline(pid))
        if match:
            found[match.group(1)] = pid
    return found


def _cpu_ticks(pid: int) -> int:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return -1
    return int(fields[11]) + int(fields[12])


def waiting_pool(school) -> dict[str, int]:
    """The dashboard's kernels no page has taken (id -> pid), once none of them works any more: preheated and
    waiting for a page (Voilà says its pool is filled when they have started, before they are ready)."""
    taken = set(re.findall(r"Dashboard page of \S+: kernel ([0-9a-f-]{36})", log_of(school)))
    pool = {k: p for k, p in page_kernels(school).items() if k not in taken}
    before = {p: _cpu_ticks(p) for p in pool.values()}
    time.sleep(3)
    return pool if pool and all(_cpu_ticks(p) == before[p] for p in pool.values()) else {}


def wait_for(condition, timeout: float, what: str, step: float = 1.0):
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        assert time.monotonic() < deadline, f"{what}: not within {timeout:.0f} s"
        time.sleep(step)
    return result


def session_from(address: str):
    """A requests session whose connections come from ``address`` (127.0.0.x: another machine, to the hub)."""
    import requests
    from requests.adapters import HTTPAdapter

    class FromAddress(HTTPAdapter):
        def init_poolmanager(self, *args, **kwargs):
            kwargs["source_address"] = (address, 0)
            super().init_poolmanager(*args, **kwargs)

    session = requests.Session()
    session.mount("http://", FromAddress())
    return session


def try_login(school, address: str, name: str, password: str):
    """POST the hub's login form from ``address``: (status, page text, seconds the POST took)."""
    session = session_from(address)
    session.get(f"{school.url}/hub/login", timeout=60)
    xsrf = next((c.value for c in session.cookies if c.name == "_xsrf"), "")
    started = time.monotonic()
    answer = session.post(f"{school.url}/hub/login", data={"username": name, "password": password, "_xsrf": xsrf},
                          allow_redirects=False, timeout=START_TIMEOUT)
    return answer.status_code, answer.text, time.monotonic() - started


def probe_as_another_account(port: int, seconds: float) -> subprocess.Popen:
    """tests/request_info_probe.py as ``nobody`` (as this user when not root: a process without the secret)."""
    script = Path(__file__).with_name("request_info_probe.py")
    command = ["/usr/bin/python3" if Path("/usr/bin/python3").exists() else sys.executable, str(script), str(port),
               DASHBOARD, str(seconds)]
    if os.geteuid() == 0 and shutil.which("setpriv"):
        command = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", *command]
    return subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd="/")


def test_another_account_is_refused_the_request_info_channel_and_ten_sign_ins_land_in_under_10_s(school):
    from procs import environ

    kernels = wait_for(lambda: len(pool := waiting_pool(school)) >= WARM_KERNELS and pool, START_TIMEOUT * 2,
                       "the preheated kernels, ready")
    port = int(environ(dashboard_service(school))["JUPYTERHUB_SERVICE_URL"].rsplit(":", 1)[1])
    probe = probe_as_another_account(port, seconds=120)
    try:
        opened = json.loads(probe.stdout.readline() or "{}")
        assert set(kernels) <= set(opened.get("kernels", [])), (opened, probe.stderr.read() if probe.poll() else "")
        assert {opened["answers"][k] for k in kernels} == {403}, opened["answers"]  # 101 each, before
        took = {}
        for n, name in enumerate(SIGN_INS):
            started = time.monotonic()
            session, page = hub_login(school, name, PASSWORDS[name], follow=True)
            took[f"{n + 1}: {name}"] = round(time.monotonic() - started, 1)
            assert page.status_code == 200 and "jupyter-config-data" in page.text, (name, page.status_code, page.url)
        print(f"ten sign-ins after the probe: {took}")
        assert max(took.values()) < 10, took  # each one: the pages hung 90 s, before
    finally:
        out, _ = probe.communicate(timeout=60)  # its standard input ends: it reports what it heard
    heard = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert all(not h.get("received") for h in heard), heard  # no teacher's name reached it
    log = log_of(school)
    assert log.count("(preheated)") >= WARM_KERNELS, "the sign-ins did not take the preheated kernels"
    assert re.search(r"Refused the request-info channel of kernel [0-9a-f-]{36} to 127\.0\.0\.1: not its kernel's "
                     r"secret", log)


def test_no_api_token_reaches_the_hubs_log_not_even_url_encoded_in_a_redirect(school):
    import requests

    token = api_token(school, "ana")
    assert requests.get(f"{school.url}/hub/api/user", headers={"Authorization": f"token {token}"},
                        timeout=60).status_code == 200  # a working token
    for path in (f"/hub/home?token={token}", f"/hub/?token={token}", f"{DASHBOARD}?token={token}",
                 f"/hub/login?next=%2Fhub%2Fhome%3Ftoken%3D{token}", f"/hub/spawn?a=1&token={token}&b=2"):
        answer = requests.get(school.url + path, allow_redirects=False, timeout=60)
        assert answer.status_code in (200, 302, 403, 404), (path, answer.status_code)
    wait_for(lambda: "GET /hub/spawn?a=1" in log_of(school), 30, "the requests in the log")
    log = log_of(school)
    assert "/hub/home?token=[secret]" in log  # logged, scrubbed
    assert token not in log and token[:12] not in log


def test_every_cookie_of_a_sign_in_and_the_dashboard_carries_samesite(school):
    set_cookies: list[tuple[str, str]] = []

    def record(response, *args, **kwargs):
        for past in (*response.history, response):
            set_cookies.extend((past.url, header) for header in past.raw.headers.getlist("Set-Cookie"))

    session, page = hub_login(school, "boss", PASSWORDS["boss"], follow=True, hooks={"response": record})
    assert page.status_code == 200 and page.url.startswith(school.url + DASHBOARD), page.url
    names = {header.split("=", 1)[0] for _, header in set_cookies}
    assert {"jupyterhub-session-id", "jupyterhub-hub-login", "service-dashboard", "service-dashboard-oauth-state",
            "_xsrf"} <= names, names
    for url, header in set_cookies:
        if header.split(";", 1)[0].split("=", 1)[1] in ("", '""'):
            continue  # a cookie cleared (expired at once): nothing to send anywhere
        assert re.search(r";\s*samesite=(lax|strict)", header, re.I), (url, header)  # Chromium assumes Lax; Firefox not


def test_the_login_form_brakes_an_address_says_a_name_is_locked_and_is_as_slow_for_unknown_names(school):
    from attendance_core.hub.login import ADDRESS_FAILURES, NAME_FAILURES

    # Equal time: wrong passwords of known names against unknown names (3 ms against 450 ms, before).
    known, unknown = [], []
    for n, name in enumerate(("ana", "ben", "boss", "ana")):
        known.append(try_login(school, "127.0.0.8", name, f"wrong-password-{n}")[2])
        unknown.append(try_login(school, "127.0.0.8", f"nobody-{n}", f"wrong-password-{n}")[2])
    ratio = statistics.median(unknown) / statistics.median(known)
    print(f"login refused: known names {statistics.median(known):.3f} s, unknown {statistics.median(unknown):.3f} s")
    assert 0.5 < ratio < 2, (known, unknown)
    # An address: after ADDRESS_FAILURES failures, refused and told so, even the right password.
    for n in range(ADDRESS_FAILURES):
        status, text, _ = try_login(school, "127.0.0.2", f"stranger-{n}", "guess")
        expected = "Invalid username or password" if n < ADDRESS_FAILURES - 1 else "Too many failed logins from your"
        assert status == 403 and expected in text, (n, status)  # the failure that brakes says so
    status, text, _ = try_login(school, "127.0.0.2", "ana", PASSWORDS["ana"])
    assert status == 429 and "Too many failed logins from your address" in text, (status, text[-2000:])
    _, page = hub_login(school, "ana", PASSWORDS["ana"], follow=True)  # another address is not held back
    assert page.status_code == 200 and page.url.startswith(school.url + DASHBOARD)
    # A name: locked after NAME_FAILURES failures from anywhere, and the form says so, to the right password too.
    name, password = CARA
    for n in range(NAME_FAILURES):
        status, text, _ = try_login(school, f"127.0.0.{10 + n}", name, f"guess-{n}")
    assert "for this name: it is locked" in text  # the failure that locked it says so
    status, text, _ = try_login(school, "127.0.0.30", name, password)
    assert status == 429 and "Too many failed logins for this name: it is locked" in text
    # An unknown name locks the same way, with the same words: the lock tells no one which names exist.
    for n in range(NAME_FAILURES):
        try_login(school, f"127.0.0.{40 + n}", "no-such-teacher", f"guess-{n}")
    status, other, _ = try_login(school, "127.0.0.31", "no-such-teacher", "guess")
    assert status == 429 and "Too many failed logins for this name: it is locked" in other
    log = log_of(school)
    assert "Failed login of 'stranger-0' from 127.0.0.2" in log
    assert "Login of 'ana' from 127.0.0.2 refused: too many failed logins from it" in log


def test_a_crafted_comm_open_sends_no_traceback_back_over_the_page(school):
    from kernel_channel import CRAFTED_COMM_OPENS, talk, types_of
    from test_hub_browser import _dashboard_session

    session, kernel = _dashboard_session(school, "ben")
    cookies = "; ".join(f"{c.name}={c.value}" for c in session.cookies if c.path.startswith(DASHBOARD))
    heard = talk(f"{school.url.replace('http', 'ws', 1)}{DASHBOARD}api/kernels/{kernel}/channels", cookies,
                 CRAFTED_COMM_OPENS, seconds=15)
    types = types_of(heard)
    assert "kernel_info_reply" in types and types.count("comm_close") == 3, types  # the channel works
    text = "\n".join(heard)
    assert "Traceback" not in text and "site-packages" not in text and str(Path.cwd()) not in text, text[:3000]
    assert "stream" not in types and "error" not in types, types
    assert f"Kernel {kernel}: its stream output kept from the page: Exception opening comm" in log_of(school)


def test_a_pages_kernel_starts_with_what_it_needs_not_the_services_environment(school):
    from attendance_core.hub.dashboard_service import KERNEL_ENV, KERNEL_ENV_PREFIXES
    from procs import environ

    service = environ(dashboard_service(school))
    assert "JUPYTERHUB_API_TOKEN" in service and "JUPYTER_RUNTIME_DIR" in service  # what the service holds
    kernels = page_kernels(school)
    assert kernels
    allowed = set(KERNEL_ENV) | {"JPY_PARENT_PID", "JUPYTERHUB_USER"}  # (jupyter_client adds its parent's pid)
    for kernel, pid in kernels.items():
        kernel_env = environ(pid)
        extra = sorted(k for k in kernel_env if k not in allowed and not k.startswith(KERNEL_ENV_PREFIXES))
        assert extra == [], (kernel, extra)  # JUPYTER_RUNTIME_DIR (every kernel's connection file), JUPYTER_PATH before
        assert kernel_env.get("ATTENDANCE_SHARED_DASHBOARD") == "1" and kernel_env["ATTENDANCE_DATABASE_URL"]
        assert not any("TOKEN" in k or "PASSWORD" in k for k in kernel_env), sorted(kernel_env)


def test_a_pages_kernel_that_hangs_is_shut_down(school):
    """A kernel stopped (SIGSTOP) in the pool is taken by the next page, which then waits for ever: the
    sweep used to leave busy kernels alone; now a page's kernel busy with no page connected for
    unopened_page_seconds (2 minutes) is shut down."""
    import requests


    pool = wait_for(lambda: waiting_pool(school), 300, "a quiet pool of preheated kernels", step=2)
    for pid in pool.values():
        os.kill(pid, signal.SIGSTOP)
    hung = None
    try:
        session, _ = hub_login(school, "ben", PASSWORDS["ben"])
        try:
            session.get(f"{school.url}{DASHBOARD}", timeout=20)  # the page waits on its stopped kernel
        except requests.exceptions.RequestException:
            pass
        taken = re.findall(r"Dashboard page of ben: kernel ([0-9a-f-]{36}) \(preheated\)", log_of(school))
        hung = next(k for k in reversed(taken) if k in pool)
    finally:
        for kernel, pid in pool.items():
            if kernel != hung:
                os.kill(pid, signal.SIGCONT)
    try:
        wait_for(lambda: re.search(rf"Kernel {hung} shut down: its page was never opened and it has been busy for "
                                   rf"\d+ s \(hung\)", log_of(school)), 240, "the hung kernel's shutdown", step=5)
        wait_for(lambda: hung not in page_kernels(school), 60, "the hung kernel's process to end")
    finally:
        if hung in page_kernels(school):
            os.kill(pool[hung], signal.SIGCONT)
    _, page = hub_login(school, "ben", PASSWORDS["ben"], follow=True)  # and the next page is served
    assert page.status_code == 200 and "jupyter-config-data" in page.text
