"""`attendance serve`'s cookies and kernel websocket as a browser other than Chromium meets them (issue 28).

Every cookie the server sets carries ``SameSite`` in its raw ``Set-Cookie`` header: Chromium treats a cookie
without it as Lax, so a check in Chromium cannot see it missing; Firefox and Safari send such a cookie with
another site's requests. The page's kernel websocket passes no traceback from the kernel (a crafted
``comm_open`` used to get one back, with the server's paths).
"""
from __future__ import annotations

import re
import time
import urllib.parse
import urllib.request

import pytest

from test_serve import PASSWORD, kernel_id_of, served_class


@pytest.fixture(scope="module")
def server(demo_class, demo_encoding_cache, tmp_path_factory):
    with served_class(tmp_path_factory, demo_encoding_cache, "serve-cookies", password=PASSWORD) as served:
        yield served


class RawClient:
    """Requests without following redirects, every Set-Cookie header kept as sent."""

    def __init__(self, base: str):
        import http.cookiejar

        self.base, self.jar, self.set_cookies = base, http.cookiejar.CookieJar(), []

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args, **kwargs):
                return None

        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), NoRedirect)

    def request(self, path: str, data: dict | None = None) -> tuple[int, str]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        try:
            response = self.opener.open(urllib.request.Request(self.base + path, data=body), timeout=240)
        except urllib.error.HTTPError as err:
            response = err
        self.set_cookies += [(path, h) for h in response.headers.get_all("Set-Cookie") or []]
        return response.status if hasattr(response, "status") else response.code, response.read().decode()

    def cookie(self, name: str) -> str:
        return next((c.value for c in self.jar if c.name == name), "")


def test_every_cookie_of_a_login_and_the_dashboard_carries_samesite(server):
    client = RawClient(server.url)
    assert client.request("login")[0] == 200
    assert client.request("login?next=%2F", {"password": PASSWORD, "_xsrf": client.cookie("_xsrf")})[0] == 302
    status, page = client.request("")
    assert status == 200 and kernel_id_of(page)
    names = {header.split("=", 1)[0] for _, header in client.set_cookies}
    assert "_xsrf" in names and any(n.startswith("username-") for n in names), client.set_cookies
    for path, header in client.set_cookies:
        if header.split(";", 1)[0].split("=", 1)[1] in ("", '""'):
            continue  # a cookie cleared
        assert re.search(r";\s*samesite=(lax|strict)", header, re.I), (path, header)


def test_a_crafted_comm_open_gets_no_traceback_back(server):
    from kernel_channel import CRAFTED_COMM_OPENS, talk, types_of

    client = RawClient(server.url)
    client.request("login")
    client.request("login?next=%2F", {"password": PASSWORD, "_xsrf": client.cookie("_xsrf")})
    status, page = client.request("")
    assert status == 200
    kernel = kernel_id_of(page)
    cookies = "; ".join(f"{c.name}={c.value}" for c in client.jar)
    heard = talk(f"ws://127.0.0.1:{server.port}/api/kernels/{kernel}/channels", cookies, CRAFTED_COMM_OPENS)
    types = types_of(heard)
    assert types.count("comm_close") == 3 and "kernel_info_reply" in types, types
    assert "stream" not in types and "Traceback" not in "\n".join(heard), heard
    time.sleep(1)
    assert f"Kernel {kernel}: its stream output kept from the page: Exception opening comm" in server.log.read_text()
