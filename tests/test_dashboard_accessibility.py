"""The dashboard meets WCAG 2.1 AA as far as axe-core can tell, in every state a teacher sees (issue 29).

As GOV.UK Frontend runs axe on each example of each component, this runs axe-core (WCAG 2.0 and 2.1,
A and AA; no rule disabled: see ``a11y_helpers.DISABLED_RULES``) on each tab of the served dashboard:
before any photo, after a bad upload (an error shown), after marking a 12-megapixel class photo of about
20 faces (unknown, doubtful and sure faces, the review's sure faces opened), and after the session is
saved (History's table and chart); at a desktop size and on an iPhone 13. Each run's table of
violations goes to test-artifacts/axe-dashboard-SIZE.md.
"""
from __future__ import annotations

import pytest

from a11y_helpers import axe_violations, write_report
from conftest import serving_crowd
from test_dashboard_phone import SIZES, TIMEOUT_MS, choose_photos, screenshot

TABS = ("Take attendance", "Review faces", "History", "Roster")


def show_tab(page, tab: str) -> None:
    """Bring ``tab`` to the front and wait until its content is drawn."""
    page.click(f".lm-TabBar-tab:has-text('{tab}')")
    ready = {"Take attendance": ".sa-upload-photos", "Review faces": ".sa-review-status",
             "History": ".sa-history :is(table, p)", "Roster": ".sa-card"}[tab]
    page.locator(f"{ready} >> visible=true").first.wait_for()
    page.wait_for_timeout(500)  # the tab's widgets settle (late styles, the template's script)


def every_tab(page, state: str, found: dict) -> None:
    for tab in TABS:
        show_tab(page, tab)
        found[f"{state}: {tab}"] = axe_violations(page)
    show_tab(page, "Take attendance")


@pytest.mark.parametrize("size", ["desktop", "iphone13"])
def test_every_tab_before_and_after_marking_a_class_photo_has_no_axe_violation(browser, devdata, demo_class, size,
                                                                               tmp_path, tmp_path_factory):
    with serving_crowd(devdata, tmp_path_factory) as (crowd, url, _):  # records of its own: a session is saved
        found = check_every_state(browser, crowd, url, size, tmp_path)
    report = write_report(f"axe-dashboard-{size}", found)
    assert len(found) == 14, sorted(found)
    assert not any(found.values()), report


def check_every_state(browser, crowd, url: str, size: str, tmp_path) -> dict[str, dict[str, list[str]]]:
    """axe's violations in every state of the dashboard, each state's name -> its violations."""
    context = browser.new_context(**SIZES[size])
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.size_name = size
    found: dict[str, dict[str, list[str]]] = {}
    try:
        page.goto(url, timeout=TIMEOUT_MS)
        page.wait_for_selector(".sa-upload-photos", timeout=TIMEOUT_MS)
        every_tab(page, "start", found)

        not_a_photo = tmp_path / "timetable.jpg"
        not_a_photo.write_bytes(b"%PDF-1.4 not a photo")
        choose_photos(page, not_a_photo)
        page.wait_for_selector(".sa-message .sa-error", timeout=TIMEOUT_MS)
        found["an upload that is not a photo: Take attendance"] = axe_violations(page)

        choose_photos(page, crowd.photo)
        page.wait_for_selector(".sa-photo-view img", timeout=TIMEOUT_MS)
        page.wait_for_selector(".sa-to-check", timeout=TIMEOUT_MS)
        every_tab(page, "class photo marked", found)
        show_tab(page, "Review faces")
        page.click(".sa-review-rest .jupyter-widget-Collapse-header")
        page.locator(".sa-review-rest .sa-review-item").first.wait_for(timeout=TIMEOUT_MS)
        found["class photo marked: Review faces, sure faces opened"] = axe_violations(page)
        screenshot(page, "axe-review-opened")

        # A stricter tolerance (the slider's arrow keys): faces become unknown, each with its card.
        show_tab(page, "Take attendance")
        page.focus(".sa-tolerance .noUi-handle")
        for _ in range(30):
            page.keyboard.press("ArrowLeft")
            if page.locator(".sa-unknown-faces .sa-card").count():
                break
            page.wait_for_timeout(1500)
        page.wait_for_selector(".sa-unknown-faces .sa-card", timeout=TIMEOUT_MS)
        page.wait_for_timeout(1000)
        found["stricter tolerance, unknown faces: Take attendance"] = axe_violations(page)
        show_tab(page, "Review faces")
        found["stricter tolerance, unknown faces: Review faces"] = axe_violations(page)

        show_tab(page, "Take attendance")
        page.fill(".widget-text input[placeholder='e.g. Mathematics']", "Civics")
        page.keyboard.press("Tab")
        page.click(".sa-save")
        page.wait_for_selector(".sa-message .sa-success:has-text('Session saved')", timeout=TIMEOUT_MS)
        found["session saved: Take attendance"] = axe_violations(page)
        show_tab(page, "History")
        page.wait_for_function("() => { const i = document.querySelector('img.sa-history-chart');"
                               " return i && i.complete && i.naturalWidth > 0; }", timeout=TIMEOUT_MS)
        found["session saved: History"] = axe_violations(page)
        screenshot(page, "axe-history")
    finally:
        context.close()
        write_report(f"axe-dashboard-{size}", found)
    return found
