"""Kernels of the served dashboard are given back: a closed page frees its kernel, and there is a cap.

Every dashboard page has its own kernel (200-600 MB). A page sends Voilà's shutdown call when it is
closed (``beforeunload``: a POST with its ``_xsrf`` cookie), and that call must work in every login
mode: none, a ``?token=`` link, the password form. A page whose websocket closed without the call is
shut down within seconds too. ``max_kernels_per_user`` and ``max_kernels`` cap the kernels, with a
page saying which limit was reached, and no kernel started for it.
"""
from __future__ import annotations

import time

import pytest

from test_serve import PASSWORD, Client, kernel_id_of, kernels_started, served_class, websocket_status


@pytest.fixture(scope="module")
def unguarded(demo_class, demo_encoding_cache, tmp_path_factory):
    """No login (127.0.0.1), as `make dashboard` runs it."""
    with served_class(tmp_path_factory, demo_encoding_cache, "serve-kernels-none") as server:
        yield server


@pytest.fixture(scope="module")
def capped(demo_class, demo_encoding_cache, tmp_path_factory):
    """A password and a token; at most 2 dashboards open, 1 per login."""
    with served_class(tmp_path_factory, demo_encoding_cache, "serve-kernels-capped", password=PASSWORD,
                      token="t" * 8 + "0123456789abcdef", ATTENDANCE_MAX_KERNELS="2",
                      ATTENDANCE_MAX_KERNELS_PER_USER="1") as server:
        yield server


def open_page(client: Client, server, mode: str) -> str:
    """Open the dashboard as a browser would in ``mode``; returns its kernel id."""
    if mode == "token link":
        status, _, page = client.request(f"?token={server.token}")
    else:
        if mode == "password":
            assert client.log_in(PASSWORD)[0] == 302
        status, _, page = client.request("")
    assert status == 200, (mode, status)
    return kernel_id_of(page)


def close_page(client: Client, server, kernel: str) -> int:
    """What Voilà's page does on unload: POST the shutdown call with its _xsrf cookie (sendBeacon)."""
    xsrf = client.cookie("_xsrf")
    assert xsrf, "the dashboard page set no _xsrf cookie for its shutdown call"
    return client.request(f"voila/api/shutdown/{kernel}", data={"_xsrf": xsrf},
                          headers={"Origin": server.url.rstrip("/")})[0]


@pytest.mark.parametrize("mode", ["none", "token link", "password"])
def test_a_closed_page_frees_its_kernel_in_every_login_mode(mode, unguarded, capped):
    server = unguarded if mode == "none" else capped
    client = Client(server.url)
    kernel = open_page(client, server, mode)
    assert client.request(f"api/kernels/{kernel}")[0] == 200
    assert close_page(client, server, kernel) == 204
    assert client.request(f"api/kernels/{kernel}")[0] == 404
    assert f"Kernel {kernel} shut down: its page was closed" in server.log.read_text()


def test_a_page_whose_websocket_closed_is_shut_down_within_seconds(unguarded):
    client = Client(unguarded.url)
    kernel = open_page(client, unguarded, "none")
    channels = f"ws://127.0.0.1:{unguarded.port}/api/kernels/{kernel}/channels"
    assert websocket_status(channels, {"Origin": unguarded.url.rstrip("/"), "Cookie": client.cookie_header()}) == 101
    closed = time.monotonic()
    while client.request(f"api/kernels/{kernel}")[0] == 200:
        assert time.monotonic() - closed < 30, "the kernel of a closed page is still there after 30 s"
        time.sleep(1)
    assert time.monotonic() - closed >= 5, "shut down before the grace period for a reconnecting page"
    assert f"Kernel {kernel} shut down: its page was closed" in unguarded.log.read_text()


def test_kernel_caps_answer_with_a_page_and_start_no_kernel(capped):
    before = kernels_started(capped.log)
    a, b, c = Client(capped.url), Client(capped.url), Client(capped.url)
    kernel_a = open_page(a, capped, "token link")
    status, headers, body = a.request("")  # a second tab of the same login
    assert status == 503 and "max_kernels_per_user" in body and headers["Retry-After"]
    kernel_b = open_page(b, capped, "password")
    status, _, body = c.request(f"?token={capped.token}")  # a third person: the server is full
    assert status == 503 and "The server is busy" in body and "max_kernels" in body
    time.sleep(1)
    assert kernels_started(capped.log) == before + 2
    log = capped.log.read_text()
    assert "Dashboard page refused" in log and "(max_kernels_per_user)" in log and "(max_kernels)" in log
    # One login cannot shut down another's page; closing one's own page frees a place.
    assert close_page(b, capped, kernel_a) == 403
    assert close_page(a, capped, kernel_a) == 204
    kernel_c = open_page(c, capped, "token link")
    for client, kernel in ((b, kernel_b), (c, kernel_c)):
        assert close_page(client, capped, kernel) == 204


def test_a_reservation_counts_until_its_kernel_starts_or_the_page_fails():
    from attendance_core.server.limits import KernelQuota

    quota = KernelQuota(per_user=2, total=3)
    first, _ = quota.reserve("ada")
    second, _ = quota.reserve("ada")
    assert quota.reserve("ada") == (None, "user")  # two pages of ada's are on their way
    quota.bind(first, "k1")
    quota.release(second)  # that page failed before its kernel started
    third, _ = quota.reserve("ada")
    assert third is not None and quota.owner("k1") == "ada"
    quota.bind(third, "k2")
    bob, _ = quota.reserve("bob")
    assert quota.reserve("eve") == (None, "total")
    quota.keep_only(["k2"])  # k1 was shut down
    assert quota.reserve("eve")[0] is not None and quota.owner("k1") is None
    assert bob is not None


def _swept_twice(kernels: dict, prepare) -> list[str]:
    """Run :meth:`Guard.sweep` twice over fake ``kernels`` (id -> last_activity, execution_state) with the serve's
    default page limits, after ``prepare(guard)``; returns the kernels it shut down."""
    import asyncio
    import logging
    from types import SimpleNamespace

    from attendance_core.server.hooks import AttendanceVoila, Guard

    stopped = []

    async def shutdown_kernel(kernel_id):
        stopped.append(kernel_id)
        del kernels[kernel_id]

    manager = SimpleNamespace(list_kernel_ids=lambda: list(kernels), get_kernel=kernels.__getitem__,
                              shutdown_kernel=shutdown_kernel)
    app = SimpleNamespace(kernel_manager=manager, max_kernels_per_user=5, max_kernels=10,
                          closed_page_seconds=AttendanceVoila.closed_page_seconds.default_value,
                          unopened_page_seconds=AttendanceVoila.unopened_page_seconds.default_value,
                          log=logging.getLogger("test-sweep"))
    assert (app.closed_page_seconds, app.unopened_page_seconds) == (10, 120)

    async def sweep_twice():
        guard = Guard(app, 0)
        prepare(guard)
        guard.sweep()
        await asyncio.sleep(0.05)  # the shutdown runs as a callback of the loop
        guard.sweep()
        await asyncio.sleep(0.05)

    asyncio.run(sweep_twice())
    return stopped


def test_a_kernel_whose_page_never_connected_is_shut_down_after_two_idle_minutes():
    # A page that got its kernel but never opened the websocket (the browser died, a script fetched the
    # page) would hold 200-600 MB for ever: the sweep shuts such a kernel down after unopened_page_seconds.
    from datetime import datetime, timedelta, timezone
    from types import SimpleNamespace

    now = datetime.now(timezone.utc)
    kernels = {"old": SimpleNamespace(last_activity=now - timedelta(seconds=130), execution_state="idle"),
               "young": SimpleNamespace(last_activity=now - timedelta(seconds=60), execution_state="idle"),
               "open": SimpleNamespace(last_activity=now - timedelta(seconds=900), execution_state="idle"),
               "busy": SimpleNamespace(last_activity=now - timedelta(seconds=900), execution_state="busy")}
    assert _swept_twice(kernels, lambda guard: guard.opened("open")) == ["old"]
    assert sorted(kernels) == ["busy", "open", "young"]


def test_a_pages_kernel_busy_with_no_page_is_shut_down_after_two_minutes_but_a_preheated_one_is_not():
    # A page's kernel that hangs (its page gone, or waiting for what never comes) stays busy: the sweep used to
    # leave every busy kernel alone, so it lived for ever. A preheated kernel waiting for its page is busy too.
    import time
    from datetime import datetime, timezone
    from types import SimpleNamespace

    now = datetime.now(timezone.utc)
    kernels = {name: SimpleNamespace(last_activity=now, execution_state="busy")
               for name in ("hung", "rendering", "closed-hung", "preheated")}

    def pages(guard):
        for name in ("hung", "rendering", "closed-hung"):
            guard.quota.bind(guard.quota.reserve("ada")[0], name)
        guard.quota.bound_at.update({"hung": time.time() - 130, "rendering": time.time() - 30,
                                     "closed-hung": time.time() - 600})
        guard.last_closed["closed-hung"] = time.time() - 125

    assert sorted(_swept_twice(kernels, pages)) == ["closed-hung", "hung"]
    assert sorted(kernels) == ["preheated", "rendering"]
