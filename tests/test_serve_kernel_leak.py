"""No kernel leak: a real browser opens and closes the served dashboard 20 times in every login mode.

Modes: no login (127.0.0.1), a ``?token=`` link, the password form. The tab is closed as a person
closes it (``beforeunload`` runs, and Voilà's page sends its shutdown call). Afterwards the server
holds at most one kernel more than before, and the memory of the whole server (``attendance serve``,
Voilà and its kernels) is within 150 MB of what it was before. ATTENDANCE_LEAK_REPEATS changes the
count (20 by default).
"""
from __future__ import annotations

import os
import time

import psutil
import pytest

from test_serve import PASSWORD, served_class

REPEATS = int(os.environ.get("ATTENDANCE_LEAK_REPEATS", "20"))
TIMEOUT_MS = 240_000
MEMORY_SLACK = 150 * 2**20
TOKEN = "leak-test-token-" + "0123456789abcdef"


@pytest.fixture(scope="module")
def servers(demo_class, demo_encoding_cache, tmp_path_factory):
    """Two servers: one without a login; one with a password and a token."""
    with (served_class(tmp_path_factory, demo_encoding_cache, "serve-leak-none") as none,
          served_class(tmp_path_factory, demo_encoding_cache, "serve-leak-login", password=PASSWORD,
                       token=TOKEN) as login):
        yield {"none": none, "token link": login, "password": login}


def server_state(server) -> tuple[int, int]:
    """(kernels, resident memory in bytes) of `attendance serve` and every process under it."""
    top = psutil.Process(server.proc.pid)
    family = [top, *top.children(recursive=True)]
    kernels = memory = 0
    for process in family:
        try:
            memory += process.memory_info().rss
            kernels += any("ipykernel" in part for part in process.cmdline())
        except psutil.NoSuchProcess:
            continue
    return kernels, memory


def settled_state(server, most_kernels: int, timeout: float = 60) -> tuple[int, int]:
    """The server's state once it holds at most ``most_kernels`` kernels (or after ``timeout`` seconds)."""
    deadline = time.monotonic() + timeout
    while True:
        kernels, memory = server_state(server)
        if kernels <= most_kernels or time.monotonic() > deadline:
            return kernels, memory
        time.sleep(1)


@pytest.mark.parametrize("mode", ["none", "token link", "password"])
def test_opening_and_closing_the_dashboard_leaks_no_kernel(browser, servers, mode):
    server = servers[mode]
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        if mode == "password":
            page = context.new_page()
            page.goto(server.url, timeout=TIMEOUT_MS)
            page.fill("#password_input", PASSWORD)
            page.click("#login_submit")
            page.wait_for_selector(".sa-upload-photos", timeout=TIMEOUT_MS)
            page.close(run_before_unload=True)
        kernels_before, memory_before = settled_state(server, 0, timeout=30)
        address = server.url + (f"?token={TOKEN}" if mode == "token link" else "")
        for n in range(REPEATS):
            page = context.new_page()
            page.goto(address, timeout=TIMEOUT_MS)
            page.wait_for_selector(".sa-upload-photos", timeout=TIMEOUT_MS)  # rendered, websocket open
            assert "/login" not in page.url, n
            page.close(run_before_unload=True)  # as a person closes the tab: beforeunload runs
    finally:
        context.close()
    # A closed page's kernel is shut down within seconds: wait for that, then compare.
    kernels_after, memory_after = settled_state(server, kernels_before)
    print(f"{mode}: {REPEATS} pages; kernels {kernels_before} -> {kernels_after}; "
          f"memory {memory_before / 2**20:.0f} MB -> {memory_after / 2**20:.0f} MB")
    assert kernels_after <= kernels_before + 1
    assert memory_after - memory_before <= MEMORY_SLACK, (memory_before, memory_after)
