"""A teacher's own server on the hub (``hub_dashboards = "per-teacher"``) holds as `attendance serve` does
(issue 21, A-C; the shared dashboard, the default, in test_hub_shared.py).

- A: the dashboard loads nothing from another site (Font Awesome and the rest come from the hub);
- B: `?template=` and `?theme=` are refused (400) before any kernel starts, `../../` included;
- C: 20 plain GETs of the dashboard leave at most `max_kernels_per_user` kernels, the rest get a page
  saying so (503), and kernels whose page never connected are shut down after two idle minutes.
"""
from __future__ import annotations

import time

import pytest

from hub_helpers import PASSWORDS, START_TIMEOUT, hub_login, running_school, sign_in_recorded

DASHBOARD = "/voila/render/attendance_dashboard.ipynb"
MAX_KERNELS_PER_USER = 2


@pytest.fixture(scope="module")
def school(demo_class, demo_encoding_cache, tmp_path_factory):
    with running_school(tmp_path_factory, demo_encoding_cache, "hub-limits",
                        ATTENDANCE_MAX_KERNELS_PER_USER=str(MAX_KERNELS_PER_USER), ATTENDANCE_HUB_DASHBOARDS="per-teacher") as hub:
        yield hub


def hub_xsrf(session) -> str:
    """The hub's _xsrf cookie (a teacher's server sets one of its own under /user/NAME/)."""
    return next((c.value for c in session.cookies if c.name == "_xsrf" and c.path.startswith("/hub")), "")


def signed_in(school, name, hooks: dict | None = None):
    """A requests session signed in as ``name`` and a hub API token of theirs, once their server answers (it
    may still be starting). The token reads their kernels (the one REST API a teacher's server answers);
    the session's first dashboard request goes through the hub's OAuth, as a browser's does."""
    session, _ = hub_login(school, name, PASSWORDS[name], follow=True, hooks=hooks)
    made = session.post(f"{school.url}/hub/api/users/{name}/tokens", json={"note": "test", "expires_in": 3600},
                        headers={"X-XSRFToken": hub_xsrf(session)}, timeout=60)
    assert made.status_code in (200, 201), made.text[:300]
    session.token = made.json()["token"]
    deadline = time.monotonic() + START_TIMEOUT
    while (code := session.get(f"{school.url}/user/{name}/api/kernels", timeout=60,
                               headers={"Authorization": f"token {session.token}"}).status_code) != 200:
        assert time.monotonic() < deadline, f"{name}'s server did not start ({code})"
        time.sleep(1)
    return session


def kernels(session, school, name) -> list[dict]:
    response = session.get(f"{school.url}/user/{name}/api/kernels", timeout=60,
                           headers={"Authorization": f"token {session.token}"})
    assert response.status_code == 200, response.text[:300]
    return response.json()


def test_template_and_theme_overrides_are_refused_before_a_kernel_starts(school):
    session = signed_in(school, "ben")
    before = len(kernels(session, school, "ben"))
    for query in ("template=../../", "template=lab", "template=classic", "theme=dark"):
        response = session.get(f"{school.url}/user/ben{DASHBOARD}?{query}", timeout=START_TIMEOUT)
        assert response.status_code == 400, (query, response.status_code)
        assert "own template" in response.text and "Traceback" not in response.text
    assert len(kernels(session, school, "ben")) == before


def test_plain_gets_leave_at_most_the_cap_of_kernels_and_unopened_ones_are_shut_down(school):
    session = signed_in(school, "ana")
    codes = [session.get(f"{school.url}/user/ana{DASHBOARD}", timeout=START_TIMEOUT).status_code for _ in range(20)]
    assert codes.count(200) <= MAX_KERNELS_PER_USER and codes.count(503) >= 20 - MAX_KERNELS_PER_USER, codes
    assert 1 <= len(kernels(session, school, "ana")) <= MAX_KERNELS_PER_USER
    refused = session.get(f"{school.url}/user/ana{DASHBOARD}", timeout=START_TIMEOUT)
    assert refused.status_code == 503 and "already open" in refused.text
    # No page ever connected to these kernels: they go after two idle minutes (plus the sweep's second).
    deadline = time.monotonic() + 200
    while kernels(session, school, "ana") and time.monotonic() < deadline:
        time.sleep(5)
    assert kernels(session, school, "ana") == []
    assert "its page was never opened" in school.log.read_text(errors="replace")
    assert session.get(f"{school.url}/user/ana{DASHBOARD}", timeout=START_TIMEOUT).status_code == 200


def test_every_request_of_a_teachers_dashboard_goes_to_the_hub_itself(browser, school):
    """No CDN under the hub either: the page, its scripts, styles and the icon font come from the hub."""
    signed_in = sign_in_recorded(browser, school, "ben")
    requested, icon_font = signed_in.requested, signed_in.icon_font
    foreign = sorted({url for url in requested if not url.startswith((school.url + "/", "data:", "blob:"))})
    assert foreign == [], f"requests to other hosts: {foreign}"
    assert any("/user/ben/voila/" in url for url in requested), requested
    assert "Font Awesome" in icon_font and any(url.endswith((".woff", ".woff2", ".ttf")) for url in requested)


def test_a_foreign_host_is_refused_and_every_cookie_stays_on_its_site(school):
    """DNS rebinding: a page of another site whose name resolves to 127.0.0.1 gets 403 from a hub on
    127.0.0.1, as from `attendance serve`; the hub's and the teacher's server's cookies are SameSite=Lax."""
    import requests

    for host in ("evil.example", f"evil.example:{school.port}", "127.0.0.1.evil.example"):
        response = requests.get(f"{school.url}/hub/login", headers={"Host": host}, timeout=60)
        assert response.status_code == 403, (host, response.status_code)
        assert "this computer only" in response.text and "Traceback" not in response.text
    assert "Refused a request for another host (Host: 'evil.example')" in school.log.read_text(errors="replace")
    for host in (f"localhost:{school.port}", f"127.0.0.1:{school.port}"):
        assert requests.get(f"{school.url}/hub/login", headers={"Host": host}, timeout=60).status_code == 200

    set_cookies: list[tuple[str, str]] = []

    def record(response, *args, **kwargs):
        for past in (*response.history, response):
            set_cookies.extend((past.url, header) for header in past.raw.headers.getlist("Set-Cookie"))

    session = signed_in(school, "ben", hooks={"response": record})
    session.hooks["response"].append(record)
    session.get(f"{school.url}/user/ben{DASHBOARD}?theme=dark", timeout=START_TIMEOUT)  # OAuth: the server's cookie
    names = {header.split("=", 1)[0] for _, header in set_cookies}
    assert {"_xsrf", "jupyterhub-session-id"} <= names and any(n.startswith("jupyterhub-user-ben") for n in names), names
    for url, header in set_cookies:
        if header.split(";", 1)[0].split("=", 1)[1] in ("", '""'):
            continue  # a cookie cleared (expired at once)
        assert "samesite=lax" in header.lower().replace(" ", ""), (url, header)


def test_a_token_in_the_address_signs_no_one_in(school):
    """D on the hub: `?token=` (right or wrong) opens no dashboard and starts no kernel; only the hub's
    login does, and it locks an account after 5 failed passwords (NativeAuthenticator)."""
    import requests

    session = signed_in(school, "ben")
    before = kernels(session, school, "ben")
    for token in (session.token, "0" * 32):
        response = requests.get(f"{school.url}/user/ben{DASHBOARD}?token={token}", allow_redirects=True,
                                timeout=START_TIMEOUT)
        assert response.url.startswith(f"{school.url}/hub/login"), response.url  # the login form, no page
        assert "sa-upload-photos" not in response.text
    assert kernels(session, school, "ben") == before
