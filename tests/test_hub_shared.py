"""The hub's shared dashboard (``hub_dashboards = "shared"``, the default) holds as `attendance serve` does.

One Voilà server serves every teacher (``attendance_core/hub/dashboard_service.py``), so its limits are
per teacher within it: overrides of the template refused before a kernel starts, at most
``max_kernels_per_user`` pages per teacher (the rest answered 503), a token in the address signing no one
in, every request of the page going to the hub itself, every cookie SameSite=Lax. The kernels' side: a
kernel knows its teacher only from the server, and one that does not know refuses to open the records.
And the recognition pool's fault: a worker killed while it marks a teacher's photo (the hub runs the CNN
detector here, so that a 12 MP photo keeps a worker busy long enough to be killed in the act).
"""
from __future__ import annotations

import pytest

from hub_helpers import PASSWORDS, START_TIMEOUT, api_token, hub_login, running_school, sign_in_recorded

TIMEOUT_MS = START_TIMEOUT * 1000
DASHBOARD = "/services/dashboard/"
MAX_KERNELS_PER_USER = 2


@pytest.fixture(scope="module")
def school(demo_class, demo_encoding_cache, tmp_path_factory):
    with running_school(tmp_path_factory, demo_encoding_cache, "hub-shared",
                        ATTENDANCE_MAX_KERNELS_PER_USER=str(MAX_KERNELS_PER_USER), ATTENDANCE_DETECTOR="cnn",
                        # one kept ready: a teacher's first page takes it, the next one gets a kernel started for it
                        ATTENDANCE_DASHBOARD_WARM_KERNELS="1") as hub:
        yield hub


def pages_of(school, name: str) -> int:
    """How many dashboard pages ``name`` got, by the shared dashboard's log."""
    return school.log.read_text(errors="replace").count(f"Dashboard page of {name}: kernel ")


def test_overrides_are_refused_and_a_teacher_gets_at_most_the_cap_of_pages(school):
    session, landed = hub_login(school, "ben", PASSWORDS["ben"], follow=True)
    assert landed.status_code == 200 and "jupyter-config-data" in landed.text  # page 1 of ben's cap
    before = pages_of(school, "ben")
    for query in ("template=../../", "template=lab", "theme=dark"):
        response = session.get(f"{school.url}{DASHBOARD}?{query}", timeout=START_TIMEOUT)
        assert response.status_code == 400, (query, response.status_code)
        assert "own template" in response.text and "Traceback" not in response.text
    assert pages_of(school, "ben") == before  # refused before any kernel was taken

    codes = [session.get(f"{school.url}{DASHBOARD}", timeout=START_TIMEOUT).status_code for _ in range(6)]
    assert codes.count(200) == MAX_KERNELS_PER_USER - 1 and codes.count(503) == 6 - codes.count(200), codes
    refused = session.get(f"{school.url}{DASHBOARD}", timeout=START_TIMEOUT)
    assert refused.status_code == 503 and "already open" in refused.text
    assert pages_of(school, "ben") == MAX_KERNELS_PER_USER
    # one of ben's pages took the preheated kernel, the other got one started for it: ben's name in its
    # environment, none of the service's hub credentials
    import re

    from procs import children, cmdline, environ

    log = school.log.read_text(errors="replace")
    assert "Dashboard page of ben: kernel " in log and "(preheated)" in log
    started = re.findall(r"Dashboard page of ben: kernel ([0-9a-f-]{36}) \(started for it\)", log)
    assert len(started) == 1, [line for line in log.splitlines() if "Dashboard page of" in line]
    kernel = next(p for p in children(school.proc.pid) if f"kernel-{started[0]}.json" in cmdline(p))
    environ = environ(kernel)
    assert environ["JUPYTERHUB_USER"] == "ben" and environ["ATTENDANCE_SHARED_DASHBOARD"] == "1"
    hub_keys = [k for k in environ if "TOKEN" in k or (k.startswith("JUPYTERHUB_") and k != "JUPYTERHUB_USER")]
    assert hub_keys == [], hub_keys  # (jupyter_client adds JPY_PARENT_PID: the server's pid)
    # another teacher is not held back by ben's pages
    ana, page = hub_login(school, "ana", PASSWORDS["ana"], follow=True)
    assert page.status_code == 200 and "jupyter-config-data" in page.text


def test_a_token_in_the_address_signs_no_one_in(school):
    import requests

    for token in (api_token(school, "ana"), "0" * 32):
        response = requests.get(f"{school.url}{DASHBOARD}?token={token}", timeout=START_TIMEOUT)
        assert response.url.startswith(f"{school.url}/hub/login"), response.url
        assert "jupyter-config-data" not in response.text


def test_every_request_goes_to_the_hub_and_every_cookie_is_same_site(browser, school):
    signed_in = sign_in_recorded(browser, school, "boss")
    requested, cookies = signed_in.requested, signed_in.cookies
    foreign = sorted({url for url in requested if not url.startswith((school.url + "/", "data:", "blob:"))})
    assert foreign == [], f"requests to other hosts: {foreign}"
    assert any(url.startswith(school.url + DASHBOARD + "voila/") for url in requested), requested
    names = {c["name"] for c in cookies}
    assert {"jupyterhub-session-id", "jupyterhub-hub-login"} <= names and "service-dashboard" in names, names
    assert all(c["sameSite"] == "Lax" for c in cookies), cookies


def test_kernels_never_get_the_services_hub_credentials(monkeypatch):
    """A page's kernel: no JUPYTERHUB_* of the service (its API token), only the teacher's name it was started
    for, and the mark that it is a shared dashboard's kernel."""
    import asyncio
    import concurrent.futures

    from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager

    from attendance_core.hub.dashboard_service import _PAGE_USER, DashboardKernels

    started = {}

    async def start_kernel(self, *args, **kwargs):
        started.update(kwargs["env"])
        return "k"

    monkeypatch.setattr(AsyncMappingKernelManager, "start_kernel", start_kernel)
    env = {"PATH": "/bin", "JUPYTERHUB_API_TOKEN": "secret", "JPY_API_TOKEN": "secret",
           "JUPYTERHUB_CLIENT_ID": "service-dashboard", _PAGE_USER: "ana"}
    def run(coroutine):  # in a thread of its own: the browser tests' Playwright loop runs in this one
        with concurrent.futures.ThreadPoolExecutor(1) as thread:
            return thread.submit(asyncio.run, coroutine).result()

    kernels = DashboardKernels()
    assert run(kernels.start_kernel(env=env)) == "k"
    secret = started.pop("ATTENDANCE_REQUEST_INFO_SECRET")
    assert len(secret) >= 32 and kernels.request_secret("k") == secret and kernels.request_secret("other") is None
    assert started == {"PATH": "/bin", "JUPYTERHUB_USER": "ana", "ATTENDANCE_SHARED_DASHBOARD": "1"}
    started.clear()
    run(DashboardKernels().start_kernel(env={"PATH": "/bin", "JUPYTERHUB_USER": "forged", "JUPYTER_RUNTIME_DIR": "/r"}))
    assert started.pop("ATTENDANCE_REQUEST_INFO_SECRET") != secret  # each kernel a secret of its own
    assert started == {"PATH": "/bin", "ATTENDANCE_SHARED_DASHBOARD": "1"}  # a preheated kernel: no name yet


def test_a_shared_dashboards_kernel_without_a_teacher_opens_nothing():
    from attendance_core.school.access import PermissionDenied, hub_user

    with pytest.raises(PermissionDenied, match="does not know who signed in"):
        hub_user({"ATTENDANCE_SHARED_DASHBOARD": "1"})
    assert hub_user({"ATTENDANCE_SHARED_DASHBOARD": "1", "JUPYTERHUB_USER": "Ana"}) == "ana"
    assert hub_user({}) is None  # attendance serve: no hub, no user


def _busy_pool_worker(school, timeout: float = 120.0) -> int:
    """The pid of the pool worker that is working (its CPU time rising by half a second)."""
    import time

    from procs import children, maps

    def cpu(pid: int) -> float:
        try:
            fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return int(fields[11]) + int(fields[12])

    workers = [p for p in children(school.proc.pid) if "_dlib_pybind11" in maps(p)]
    assert workers, "no pool worker"
    start = {p: cpu(p) for p in workers}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for pid in workers:
            if cpu(pid) - start[pid] >= 50:  # clock ticks: half a second
                return pid
        time.sleep(0.1)
    raise AssertionError("no pool worker got busy")


def test_a_worker_killed_while_it_marks_a_photo_the_page_says_so_and_a_retry_succeeds(browser, school, tmp_path):
    import os
    import signal

    from conftest import SAMPLE_IMAGES
    from test_hub_browser import sign_in, user_store
    from test_pool import twelve_megapixel_jpeg
    from test_serve_browser import choose_photo, wait_for_status

    big = tmp_path / "class-12mp.jpg"
    big.write_bytes(twelve_megapixel_jpeg())
    context, page = sign_in(browser, school, "ana")
    try:
        choose_photo(page, SAMPLE_IMAGES / "two_people.jpg")
        wait_for_status(page, "Barack_Obama", "present")
        page.fill(".widget-text input[placeholder='e.g. Mathematics']", "Physics")
        page.keyboard.press("Tab")
        page.click(".sa-save")
        page.wait_for_selector(".sa-message .sa-success:has-text('Session saved')", timeout=TIMEOUT_MS)
        with user_store(school, "ana") as store:
            saved = store.sessions("7A")
            marks = store.session_marks(int(saved["id"].iloc[0]))

        choose_photo(page, big)
        os.kill(_busy_pool_worker(school), signal.SIGKILL)
        page.wait_for_selector(".sa-message :text('the recognition worker stopped')", timeout=TIMEOUT_MS)
        assert "class-12mp.jpg" in page.inner_text(".sa-message") and "try this photo again" in page.inner_text(".sa-message")
        wait_for_status(page, "Barack_Obama", "present")  # what was marked stays marked

        choose_photo(page, SAMPLE_IMAGES / "kit_with_rose.jpg")  # the pool has started a new worker
        wait_for_status(page, "Kit_Harington", "present")
        wait_for_status(page, "Rose_Leslie", "present")
    finally:
        context.close()
    with user_store(school, "ana") as store:  # the saved session is as it was
        assert store.sessions("7A")[["id", "present", "absent"]].equals(saved[["id", "present", "absent"]])
        assert store.session_marks(int(saved["id"].iloc[0])).equals(marks)
