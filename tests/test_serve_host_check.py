"""DNS rebinding: the no-login server on 127.0.0.1 answers only requests that name this machine.

A page of another site can rebind its own name to 127.0.0.1; the browser then sends that name in the
``Host`` header (and the page's origin in ``Origin``). `attendance serve` without a login answers such
requests with 403: no page, no kernel, no kernel API, no websocket. 127.0.0.1, localhost and [::1]
still work.
"""
from __future__ import annotations

import time

import pytest

from test_serve import Client, kernel_id_of, kernels_started, served_class, shows_the_dashboard, websocket_status


@pytest.fixture(scope="module")
def unguarded(demo_class, demo_encoding_cache, tmp_path_factory):
    """`attendance serve` as `make dashboard` runs it: 127.0.0.1, no login."""
    with served_class(tmp_path_factory, demo_encoding_cache, "serve-host") as server:
        yield server


def test_a_foreign_host_gets_403_and_no_kernel(unguarded):
    client = Client(unguarded.url)
    status, _, page = client.request("", headers={"Host": "localhost:%d" % unguarded.port})
    assert status == 200 and shows_the_dashboard(page)
    kernel = kernel_id_of(page)
    before = kernels_started(unguarded.log)
    foreign = {"Host": f"attacker.example:{unguarded.port}"}
    for path in ("", "?x=1", f"api/kernels/{kernel}", "voila/tree", "logout"):
        status, _, body = client.request(path, headers=foreign)
        assert status == 403 and "kernelId" not in body, (path, status)
    assert client.request(f"voila/api/shutdown/{kernel}", data={}, headers=foreign)[0] == 403
    channels = f"ws://127.0.0.1:{unguarded.port}/api/kernels/{kernel}/channels"
    assert websocket_status(channels, {**foreign, "Origin": f"http://attacker.example:{unguarded.port}"}) == 403
    time.sleep(1)
    assert kernels_started(unguarded.log) == before
    assert "Blocking request with non-local 'Host' attacker.example" in unguarded.log.read_text()
    # This machine's names are still answered.
    for host in ("127.0.0.1", "localhost", "[::1]"):
        assert client.request(f"api/kernels/{kernel}", headers={"Host": f"{host}:{unguarded.port}"})[0] == 200, host


def test_a_foreign_origin_cannot_open_the_kernel_websocket(unguarded):
    client = Client(unguarded.url)
    status, _, page = client.request("")
    assert status == 200
    channels = f"ws://127.0.0.1:{unguarded.port}/api/kernels/{kernel_id_of(page)}/channels"
    cookie = {"Cookie": client.cookie_header()}
    assert websocket_status(channels, {"Origin": "http://evil.example", **cookie}) == 403
    assert websocket_status(channels, {"Origin": f"http://attacker.example:{unguarded.port}", **cookie}) == 403
    assert websocket_status(channels, {"Origin": unguarded.url.rstrip("/"), **cookie}) == 101
