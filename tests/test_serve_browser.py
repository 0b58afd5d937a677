"""Two instructors at once on a served dashboard, in a real browser (Debian's chromium, driven by Playwright).

`attendance serve` runs with a token; two browser contexts (two people, separate logins and kernels)
log in through the login form, each uploads a classroom photo, corrects a student by hand, and both
click Save at the same moment. The records database then holds both sessions, each with every
student marked exactly once. Without chromium or Playwright the test is skipped, unless CI=true:
then it fails.
"""
from __future__ import annotations

import secrets
import sqlite3
from pathlib import Path

import pytest

from conftest import ARTIFACTS, SAMPLE_IMAGES
from test_serve import served_class

#: Generous: two kernels detect faces at once on a slow, shared machine.
TIMEOUT_MS = 300_000
STUDENTS = {"Alex_Lacamoire", "Barack_Obama", "Joe_Biden", "Kit_Harington", "Rose_Leslie"}


@pytest.fixture(scope="module")
def served(demo_class, demo_encoding_cache, tmp_path_factory):
    # The hostile upload below is 11 files in one upload.
    with served_class(tmp_path_factory, demo_encoding_cache, "serve-browser", token=secrets.token_urlsafe(24),
                      ATTENDANCE_MAX_FILES_PER_UPLOAD="12") as server:
        yield server


def log_in(page, server) -> None:
    """Open the dashboard: the server sends the browser to its login form; type the token there."""
    page.goto(server.url, timeout=TIMEOUT_MS)
    page.wait_for_selector("#password_input", timeout=TIMEOUT_MS)
    assert "/login" in page.url and page.locator(".sa-app").count() == 0
    page.fill("#password_input", server.token)
    page.click("#login_submit", no_wait_after=True)


def choose_photo(page, path: Path) -> None:
    with page.expect_file_chooser(timeout=TIMEOUT_MS) as chooser:
        page.click(".sa-upload-photos")
    chooser.value.set_files([str(path)])


def wait_for_status(page, student_id: str, expected: str) -> None:
    page.wait_for_function(
        "([sid, want]) => { const e = document.querySelector('.sa-status-' + sid);"
        " return e && e.innerText.trim() === want; }", arg=[student_id, expected], timeout=TIMEOUT_MS)


def test_two_instructors_mark_and_save_at_once_and_every_mark_is_kept_once(browser, served):
    contexts = [browser.new_context(viewport={"width": 1280, "height": 1400}) for _ in range(2)]
    try:
        a, b = pages = [c.new_page() for c in contexts]
        for page in pages:
            page.set_default_timeout(TIMEOUT_MS)
            log_in(page, served)
        for page in pages:  # both dashboards start (a kernel each) at the same time
            page.wait_for_selector(".sa-upload-photos", timeout=TIMEOUT_MS)

        choose_photo(a, SAMPLE_IMAGES / "two_people.jpg")
        choose_photo(b, SAMPLE_IMAGES / "kit_with_rose.jpg")
        wait_for_status(a, "Barack_Obama", "present")
        wait_for_status(a, "Joe_Biden", "present")
        wait_for_status(b, "Kit_Harington", "present")
        wait_for_status(b, "Rose_Leslie", "present")

        # Each corrects a student by hand, and names the subject.
        a.click(".sa-correct-Alex_Lacamoire button:has-text('excused')")
        b.click(".sa-correct-Barack_Obama button:has-text('excused')")
        wait_for_status(a, "Alex_Lacamoire", "excused")
        wait_for_status(b, "Barack_Obama", "excused")
        for page, subject in ((a, "Chemistry"), (b, "History")):
            page.fill(".widget-text input[placeholder='e.g. Mathematics']", subject)
            page.keyboard.press("Tab")

        # Save in both at the same moment.
        a.locator(".sa-save").click(no_wait_after=True)
        b.locator(".sa-save").click(no_wait_after=True)
        for page in pages:
            page.wait_for_selector(".sa-message .sa-success:has-text('Session saved')", timeout=TIMEOUT_MS)
            assert "Traceback" not in page.inner_text("body")
        ARTIFACTS.mkdir(exist_ok=True)
        a.screenshot(path=str(ARTIFACTS / "serve-two-instructors-a.png"), full_page=True)
        b.screenshot(path=str(ARTIFACTS / "serve-two-instructors-b.png"), full_page=True)
    finally:
        for context in contexts:
            context.close()

    from attendance_core.config import load_settings
    from attendance_core.records import Store

    settings = load_settings(roster_dir=served.root / "known_faces", data_dir=served.root / "attendance_data")
    with Store.from_settings(settings) as store:
        saved = store.sessions()
        assert sorted(saved["subject"]) == ["Chemistry", "History"]
        marks = {row.subject: store.session_marks(int(row.id)) for row in saved.itertuples()}
    for subject, df in marks.items():
        assert len(df) == 5 and set(df["student_id"]) == STUDENTS, (subject, df)
    status = {s: dict(zip(df["student_id"], df["status"])) for s, df in marks.items()}
    assert status["Chemistry"] == {"Barack_Obama": "present", "Joe_Biden": "present", "Alex_Lacamoire": "excused",
                                   "Kit_Harington": "absent", "Rose_Leslie": "absent"}
    assert status["History"] == {"Kit_Harington": "present", "Rose_Leslie": "present", "Barack_Obama": "excused",
                                 "Joe_Biden": "absent", "Alex_Lacamoire": "absent"}
    # And in the database itself: ten marks, none twice.
    with sqlite3.connect(served.root / "attendance_data" / "attendance.db") as db:
        assert db.execute("SELECT COUNT(*) FROM marks").fetchone()[0] == 10
        assert db.execute("SELECT COUNT(*) FROM (SELECT session_id, student_id FROM marks "
                          "GROUP BY session_id, student_id HAVING COUNT(*) > 1)").fetchone()[0] == 0


def test_hostile_upload_in_the_browser_gets_a_message_per_file_and_the_rest_is_marked(browser, served, tmp_path):
    """The hostile corpus, chosen in the browser's file chooser in one upload, through the served dashboard.

    (A name with ``../`` cannot be a file on disk: that one is sent straight to the state model, in
    test_hostile_input.py.) The table of what each file got is written to test-artifacts/.
    """
    from PIL import Image

    from test_hostile_input import hostile_corpus, phone_photo

    portrait = Image.open(SAMPLE_IMAGES / "obama-480p.jpg").convert("RGB")
    corpus = [(n, d, e) for n, d, e in hostile_corpus(portrait) if "/" not in n]
    corpus.append(("IMG_4032.JPG", phone_photo(SAMPLE_IMAGES / "two_people.jpg"), None))
    corpus.append(("huge.jpg", b"\xff\xd8\xff\xe0" + bytes(51 * 2**20), "file too large"))
    files = []
    for name, data, _ in corpus:
        (tmp_path / name).write_bytes(data)
        files.append(tmp_path / name)
    before = files_in(served.root)
    context = browser.new_context(viewport={"width": 1280, "height": 1400})
    try:
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        log_in(page, served)
        page.wait_for_selector(".sa-upload-photos", timeout=TIMEOUT_MS)
        with page.expect_file_chooser(timeout=TIMEOUT_MS) as chooser:
            page.click(".sa-upload-photos")
        chooser.value.set_files([str(p) for p in files])
        page.wait_for_selector(".sa-message .sa-error", timeout=TIMEOUT_MS)
        wait_for_status(page, "Joe_Biden", "present")
        errors = [e.inner_text().strip() for e in page.query_selector_all(".sa-message .sa-error")]
        photos_text = page.inner_text(".sa-photos")
        body = page.inner_text("body")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "serve-hostile-upload.png"), full_page=True)
    finally:
        context.close()
    rows = []
    for name, data, expected in corpus:
        shown = [m for m in errors if m.startswith(name + ":")]
        outcome = "marked" if name in photos_text else "left out"
        rows.append((name, len(data), shown[0] if shown else "(none)", outcome))
        if expected:
            assert len(shown) == 1 and expected in shown[0], (name, errors)
            assert outcome == "left out", name
        else:
            assert not shown, (name, shown)
            assert outcome == "marked", (name, photos_text)
    assert len(errors) == sum(1 for *_, e in corpus if e), errors
    assert "Traceback" not in body
    table = ["| input | size | message shown | outcome |", "|---|---|---|---|"]
    table += [f"| `{n}` | {s:,} B | {m} | {o} |" for n, s, m, o in rows]
    (ARTIFACTS / "hostile-upload-table.md").write_text("\n".join(table) + "\n", encoding="utf-8")
    # No uploaded photo was written anywhere: the served folder holds what it held (the server's log aside).
    assert files_in(served.root) == before


def test_every_request_of_the_login_and_dashboard_pages_goes_to_the_server_itself(browser, served):
    """No CDN: Font Awesome and every other asset come from the dashboard server (a school network
    without internet gets the same page, and no third party learns that the dashboard is open)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    requested: list[str] = []
    context.on("request", lambda request: requested.append(request.url))
    try:
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        log_in(page, served)
        page.wait_for_selector(".sa-upload-photos", timeout=TIMEOUT_MS)
        page.click(".p-TabBar-tab:has-text('Roster'), .lm-TabBar-tab:has-text('Roster')")
        page.wait_for_selector("text=Add student", timeout=TIMEOUT_MS)
        page.wait_for_function("() => document.fonts.status === 'loaded'", timeout=TIMEOUT_MS)
        icon_font = page.evaluate("() => getComputedStyle(document.querySelector('.widget-button i.fa')).fontFamily")
        loaded = page.evaluate("() => [...document.fonts].filter(f => f.status === 'loaded').map(f => f.family)")
        page.goto(served.url + "logout", timeout=TIMEOUT_MS)
    finally:
        context.close()
    local = served.url.rstrip("/")
    foreign = sorted({url for url in requested if not url.startswith((local + "/", "data:", "blob:"))})
    assert foreign == [], f"requests to other hosts: {foreign}"
    assert any("/voila/" in url for url in requested) and len(requested) > 10, requested
    # The buttons' icons are drawn with Font Awesome, served by the dashboard server.
    assert "Font Awesome" in icon_font and any("Font Awesome" in family for family in loaded), (icon_font, loaded)
    assert any(url.endswith((".woff", ".woff2", ".ttf")) for url in requested), "no icon font was loaded"


def files_in(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file() and not p.name.endswith(".log")}


@pytest.mark.parametrize("size", ["desktop", "iphone13"])
def test_sign_in_sign_out_and_error_pages_have_no_axe_violation(browser, served, size):
    """The pages of `attendance serve` around the dashboard meet WCAG 2.1 AA as far as axe-core tells (issue
    29); a wrong password is reported in an error summary that has the focus and links to the field."""
    from a11y_helpers import AccessibilityTree, axe_violations, write_report
    from test_dashboard_phone import SIZES

    context = browser.new_context(**SIZES[size])
    found = {}
    try:
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(served.url, timeout=TIMEOUT_MS)
        page.wait_for_selector("#password_input")
        found["sign in"] = axe_violations(page)
        tree = AccessibilityTree(page)
        page.fill("#password_input", "not-the-token")
        page.keyboard.press("Enter")
        page.wait_for_selector(".sa-error-summary")
        found["sign in, wrong password"] = axe_violations(page)
        summary = tree.focused()
        assert (summary.role, summary.name) == ("alert", "There is a problem"), summary
        field = tree.node("document.getElementById('password_input')")
        assert field.name == "Password or token" and field.states.get("invalid") == "true", field
        assert page.get_attribute(".sa-error-summary a", "href") == "#password_input"
        page.fill("#password_input", served.token)
        page.keyboard.press("Enter")
        page.wait_for_selector(".sa-upload-photos", timeout=TIMEOUT_MS)
        page.goto(served.url + "?template=lab", timeout=TIMEOUT_MS)
        page.wait_for_selector("h1:has-text('Not available')")
        found["a refused request"] = axe_violations(page)
        page.goto(served.url + "logout", timeout=TIMEOUT_MS)
        page.wait_for_selector("main")
        found["signed out"] = axe_violations(page)
    finally:
        context.close()
    report = write_report(f"axe-serve-pages-{size}", found)
    assert not any(found.values()), report
