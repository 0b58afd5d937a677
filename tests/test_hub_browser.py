"""A school on `attendance hub`: two teachers and an admin sign in, in a real browser, on 127.0.0.1.

The records are on PostgreSQL (a private schema on the test server); the users are made with
`attendance users add` (password on standard input) and `attendance classes assign`. Ana teaches 7A,
Ben teaches 7B, Boss is the admin. Every teacher signs in through JupyterHub's login form
(NativeAuthenticator) and lands in the hub's shared dashboard (the service ``dashboard``), in a kernel of
their own. Without chromium the browser tests skip, unless CI=true: then they fail.
"""
from __future__ import annotations

import time

import pytest

from conftest import ARTIFACTS, SAMPLE_IMAGES
from hub_helpers import PASSWORDS, START_TIMEOUT, hub_login, running_school

TIMEOUT_MS = START_TIMEOUT * 1000
DASHBOARD = "/services/dashboard/"


@pytest.fixture(scope="module")
def school(demo_class, demo_encoding_cache, tmp_path_factory):
    with running_school(tmp_path_factory, demo_encoding_cache, "hub-school") as hub:
        yield hub


def user_store(school, name):
    from attendance_core.school.access import UserStore
    from attendance_core.records import Store

    return UserStore(Store(school.database_url), name)


def sign_in(browser, school, name):
    """A browser page signed in as ``name`` through the hub's login form, on their dashboard."""
    context = browser.new_context(viewport={"width": 1280, "height": 1400})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(school.url + "/", timeout=TIMEOUT_MS)
    page.wait_for_selector("#username_input")
    assert "/hub/login" in page.url and page.locator(".sa-app").count() == 0
    page.fill("#username_input", name)
    page.fill("#password_input", PASSWORDS[name])
    page.click("#login_submit", no_wait_after=True)
    page.wait_for_selector(".sa-upload-photos", timeout=TIMEOUT_MS)
    assert page.url.startswith(f"{school.url}{DASHBOARD}"), page.url
    return context, page


def class_choices(page) -> list[str]:
    """The classes offered in the Class list (found by its name: the camera's lists are dropdowns too)."""
    return [o.strip() for o in page.get_by_role("combobox", name="Class", exact=True).locator("option").all_inner_texts()]


def test_anonymous_requests_get_the_login_page(school):
    import requests

    for path in ("/", "/hub/", DASHBOARD, DASHBOARD + "?template=lab", "/user/ana/", "/hub/admin"):
        response = requests.get(school.url + path, timeout=60)
        assert response.status_code == 200 and "/hub/login" in response.url, (path, response.url)
        assert 'id="password_input"' in response.text and "sa-app" not in response.text
    # the dashboard's kernel API without a login: refused, not an error page
    response = requests.get(f"{school.url}{DASHBOARD}api/kernels/00000000-0000-0000-0000-000000000000", timeout=60)
    assert response.status_code == 403 and "Traceback" not in response.text


def test_teacher_signs_in_marks_saves_and_finds_the_session_in_history(browser, school):
    context, page = sign_in(browser, school, "ana")
    try:
        assert class_choices(page) == ["7A"]
        with page.expect_file_chooser(timeout=TIMEOUT_MS) as chooser:
            page.click(".sa-upload-photos")
        chooser.value.set_files([str(SAMPLE_IMAGES / "two_people.jpg")])
        for student in ("Barack_Obama", "Joe_Biden"):
            page.wait_for_function(
                "sid => { const e = document.querySelector('.sa-status-' + sid); "
                "return e && e.innerText.trim() === 'present'; }", arg=student, timeout=TIMEOUT_MS)
        page.fill(".widget-text input[placeholder='e.g. Mathematics']", "Chemistry")
        page.keyboard.press("Tab")
        page.click(".sa-save")
        page.wait_for_selector(".sa-message .sa-success:has-text('Session saved')", timeout=TIMEOUT_MS)
        page.click(".lm-TabBar-tab:has-text('History')")
        page.wait_for_selector(".sa-history table", timeout=TIMEOUT_MS)
        history = page.inner_text(".sa-history")
        assert "Chemistry" in history and "ana" in history
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "hub-teacher-history.png"), full_page=True)
    finally:
        context.close()
    with user_store(school, "boss") as store:
        saved = store.sessions()
    assert list(saved["class"]) == ["7A"] and list(saved["marked_by"]) == ["ana"]
    assert list(saved["present"]) == [2] and list(saved["absent"]) == [3]


def test_second_teacher_cannot_see_the_first_teachers_class(browser, school):
    from attendance_core.school.access import PermissionDenied

    context, page = sign_in(browser, school, "ben")
    try:
        assert class_choices(page) == ["7B"]
        page.click(".lm-TabBar-tab:has-text('History')")
        page.wait_for_selector(".sa-history :text('No session of 7B saved yet')", timeout=TIMEOUT_MS)
        body = page.inner_text("body")
        assert "7A" not in body and "Chemistry" not in body and "Barack" not in body
    finally:
        context.close()
    with user_store(school, "ben") as store:  # and not through the store either
        assert store.classes() == [] and store.sessions().empty and store.corrections().empty
        with pytest.raises(PermissionDenied, match="7A"):
            store.report("7A")
        with pytest.raises(PermissionDenied, match="7A"):
            store.sessions("7A")
        ana_session = int(user_store(school, "boss").sessions()["id"].iloc[0])
        with pytest.raises(PermissionDenied):
            store.session_marks(ana_session)
        with pytest.raises(PermissionDenied):
            store.correct(ana_session, "Barack_Obama", "absent")


def test_admin_sees_every_class_and_report(browser, school):
    context, page = sign_in(browser, school, "boss")
    try:
        assert class_choices(page) == ["7A", "7B"]
        page.click(".lm-TabBar-tab:has-text('History')")
        page.wait_for_selector(".sa-history table", timeout=TIMEOUT_MS)
        assert "Chemistry" in page.inner_text(".sa-history")
    finally:
        context.close()
    with user_store(school, "boss") as store:
        assert store.classes() == ["7A"]  # the one class with a saved session
        assert list(store.report("7A").summary["present"]) == [0, 1, 1, 0, 0]


def _dashboard_session(school, name):
    """A requests session signed in as ``name`` on the shared dashboard, and the kernel of the page it got."""
    import json
    import re

    session, page = hub_login(school, name, PASSWORDS[name], follow=True)
    assert page.status_code == 200 and page.url.startswith(school.url + DASHBOARD), page.url
    config = re.search(r'<script id="jupyter-config-data" type="application/json">(.*?)</script>', page.text, re.S)
    return session, json.loads(config.group(1))["kernelId"]


def _open_kernel_websocket(school, session, kernel_id: str) -> int:
    """The HTTP status of opening ``kernel_id``'s websocket with ``session``'s cookies (101: opened)."""
    import asyncio
    import concurrent.futures

    from tornado.httpclient import HTTPClientError, HTTPRequest
    from tornado.websocket import websocket_connect

    cookies = "; ".join(f"{c.name}={c.value}" for c in session.cookies if c.path.startswith(DASHBOARD))
    url = f"{school.url.replace('http', 'ws', 1)}{DASHBOARD}api/kernels/{kernel_id}/channels"

    async def status() -> int:
        try:
            connection = await websocket_connect(HTTPRequest(url, headers={"Cookie": cookies}, connect_timeout=60))
        except HTTPClientError as refused:
            return refused.code
        connection.close()
        return 101

    with concurrent.futures.ThreadPoolExecutor(1) as thread:  # Playwright's loop runs in this one
        return thread.submit(asyncio.run, status()).result()


def test_teacher_requests_outside_their_own_page_are_refused(school):
    ana, ana_kernel = _dashboard_session(school, "ana")
    ben, ben_kernel = _dashboard_session(school, "ben")
    assert ana_kernel != ben_kernel
    xsrf = next((c.value for c in ana.cookies if c.name == "_xsrf" and c.path.startswith(DASHBOARD)), "")
    base = school.url + DASHBOARD
    refused = {
        ("GET", f"{school.url}/hub/admin"): (403,),
        ("GET", f"{base}api/kernels/{ben_kernel}"): (403,),
        ("POST", f"{base}voila/api/shutdown/{ben_kernel}"): (403,),
        ("DELETE", f"{base}api/kernels/{ana_kernel}"): (405,),
        ("POST", f"{base}api/kernels"): (403, 404, 405),
        ("GET", f"{base}api/contents"): (403, 404),
        ("GET", f"{base}voila/files/attendance_dashboard.ipynb"): (403, 404),
        ("GET", f"{base}voila/tree"): (403, 404),
        ("GET", f"{base}voila/query/{ben_kernel}"): (403,),  # a kernel's own channel, not through the proxy
    }
    for (method, url), expected in refused.items():
        response = ana.request(method, url, headers={"X-XSRFToken": xsrf}, timeout=60)
        assert response.status_code in expected, (method, url, response.status_code, response.url)
        assert "sa-app" not in response.text and "Traceback" not in response.text
    assert _open_kernel_websocket(school, ana, ben_kernel) == 403  # not ben's widgets, nor his photos
    assert _open_kernel_websocket(school, ana, ana_kernel) == 101
    assert ben.get(f"{base}api/kernels/{ben_kernel}", timeout=60).status_code == 200  # ben's page untouched
    assert "Refused ana access to kernel" in school.log.read_text(errors="replace")
    # no server of one's own on this hub
    ana.get(f"{school.url}/hub/spawn", timeout=60)
    assert "sa-app" not in ana.get(f"{school.url}/user/ana/", timeout=60).text


def test_code_sent_through_the_kernel_websocket_is_not_run(browser, school):
    """The page's kernel connection carries widget messages only: an execute_request is dropped."""
    marker = school.root / "code-ran"
    context, page = sign_in(browser, school, "ana")
    try:
        replies = page.evaluate("""async ([code]) => {
            const id = JSON.parse(document.getElementById('jupyter-config-data').textContent).kernelId;
            const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
            const ws = new WebSocket(`${proto}//${location.host}/services/dashboard/api/kernels/${id}/channels`);
            const seen = [];
            ws.onmessage = (event) => { try { seen.push(JSON.parse(event.data).header.msg_type); } catch (e) {} };
            await new Promise((ok) => { ws.onopen = ok; });
            const send = (type, content) => ws.send(JSON.stringify({channel: 'shell', content, metadata: {},
                parent_header: {}, buffers: [], header: {msg_id: crypto.randomUUID(), msg_type: type,
                username: 'ana', session: crypto.randomUUID(), date: new Date().toISOString(), version: '5.3'}}));
            send('execute_request', {code, silent: false, store_history: false, user_expressions: {},
                                     allow_stdin: false, stop_on_error: true});
            send('kernel_info_request', {});
            await new Promise((ok) => setTimeout(ok, 8000));
            ws.close();
            return seen;
        }""", [f"open({str(marker)!r}, 'w').write('x')"])
    finally:
        context.close()
    assert "kernel_info_reply" in replies, replies  # the channel works...
    assert "execute_reply" not in replies and "execute_input" not in replies, replies  # ...but runs no code
    time.sleep(1)
    assert not marker.exists()
    assert 'Received message of type "execute_request", which is not allowed' in school.log.read_text(errors="replace")


def test_saved_session_names_the_teacher_in_the_records(school):
    with user_store(school, "ana") as store:
        saved = store.sessions("7A")
        marks = store.session_marks(int(saved["id"].iloc[0]))
    assert list(saved["marked_by"]) == ["ana"]
    assert sorted(marks["student_id"]) == ["Alex_Lacamoire", "Barack_Obama", "Joe_Biden", "Kit_Harington",
                                           "Rose_Leslie"]


@pytest.mark.parametrize("size", ["desktop", "iphone13"])
def test_hub_sign_in_and_dashboard_pages_have_no_axe_violation(browser, school, size):
    """The hub's sign-in page and a teacher's dashboard behind it meet WCAG 2.1 AA as far as axe-core tells
    (issue 29), a wrong password included. (The hub's own home, token and admin pages are JupyterHub's: the
    project does not template them, and a teacher is sent straight to the dashboard.)"""
    from a11y_helpers import axe_violations, write_report
    from test_dashboard_phone import SIZES

    context = browser.new_context(**SIZES[size])
    found = {}
    try:
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(school.url + "/hub/login", timeout=TIMEOUT_MS)
        page.wait_for_selector("#username_input")
        found["sign in"] = axe_violations(page)
        page.fill("#username_input", "ana")
        page.fill("#password_input", "not-her-password")
        page.click("#login_submit")
        page.wait_for_selector("#username_input")
        found["sign in, wrong password"] = axe_violations(page)
        page.fill("#username_input", "ana")
        page.fill("#password_input", PASSWORDS["ana"])
        page.click("#login_submit", no_wait_after=True)
        page.wait_for_selector(".sa-upload-photos", timeout=TIMEOUT_MS)
        page.wait_for_timeout(1000)
        found["dashboard"] = axe_violations(page)
    finally:
        context.close()
    report = write_report(f"axe-hub-pages-{size}", found)
    assert not any(found.values()), report
