"""The review of faces end to end in a real browser, on a phone (issue 13).

Voilà serves the dashboard over a roster of about 20 students (the development set and the demo
class). A 12-megapixel composite of their faces holds a stranger matched to one of them just inside
the tolerance. On an emulated iPhone 13 the instructor uploads it, finds that face first in Review
faces and marked check, taps "Not this student", sees the student absent and saves: the records
hold the session with the student absent, and the audit trail the decision.
"""
from __future__ import annotations

from attendance_core.config import load_settings
from attendance_core.records import Store

from test_dashboard_phone import SIZES, TIMEOUT_MS, choose_photos, screenshot, wait_for_status


def test_not_this_student_on_the_stranger_makes_the_student_absent_and_is_audited(browser, crowd_server):
    crowd, url, root = crowd_server
    context = browser.new_context(**SIZES["iphone13"])
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.size_name = "iphone13"
    try:
        page.goto(url, timeout=TIMEOUT_MS)
        page.wait_for_selector(".sa-upload-photos", timeout=TIMEOUT_MS)
        choose_photos(page, crowd.photo)
        page.wait_for_selector(".sa-photo-view img", timeout=TIMEOUT_MS)
        status = f".sa-status-{crowd.nearest}"
        wait_for_status(page, status, "present")
        assert "1 face(s) to check" in page.inner_text(".sa-roster-table")

        page.click(".lm-TabBar-tab:has-text('Review faces')")
        first = page.locator(".sa-review-asked .sa-review-item").first
        first.wait_for(timeout=TIMEOUT_MS)
        assert page.locator(".sa-review-asked .sa-review-item").count() == 1
        assert "sa-review-check" in first.get_attribute("class")
        text = first.inner_text()
        name = crowd.nearest.replace("_", " ")
        assert "check" in text and name in text
        # The face and the reference photo side by side, each at least 100 px: recognisable by eye.
        sizes = first.locator("img").evaluate_all("imgs => imgs.map(i => i.getBoundingClientRect().width)")
        assert len(sizes) == 2 and min(sizes) >= 100
        screenshot(page, "review-stranger-first")

        first.locator(".sa-review-reject button, button.sa-review-reject").first.tap()
        page.wait_for_selector(f".sa-message .sa-info:has-text('is not {name}')", timeout=TIMEOUT_MS)
        page.wait_for_function("() => document.querySelectorAll('.sa-review-asked .sa-review-item').length === 0")
        assert "Nothing left to check" in page.inner_text(".sa-review")
        screenshot(page, "review-decided")

        page.click(".lm-TabBar-tab:has-text('Take attendance')")
        wait_for_status(page, status, "absent")
        page.fill(".widget-text input[placeholder='e.g. Mathematics']", "History of Science")
        page.keyboard.press("Tab")
        page.click(".sa-save")
        page.wait_for_selector(".sa-message .sa-success:has-text('Session saved')", timeout=TIMEOUT_MS)
        screenshot(page, "review-saved")
    finally:
        context.close()

    settings = load_settings(roster_dir=crowd.roster_dir, data_dir=root / "attendance_data")
    with Store.from_settings(settings) as store:
        (session_id,) = store.sessions()["id"]
        marks = store.session_marks(session_id).set_index("student_id")
        assert marks.loc[crowd.nearest, "status"] == "absent"
        trail = store.corrections(session_id)
        row = trail[trail["student_id"] == crowd.nearest]
        assert list(zip(row["old_status"], row["new_status"])) == [("present", "absent")]
        report = store.report("known faces").summary.set_index("student_id")
        assert report.loc[crowd.nearest, "absent"] == 1
