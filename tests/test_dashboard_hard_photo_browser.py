"""A blurred class photo in a real browser (issue 27): the dashboard asks for another photo, offers each
face's likely student as one tap in Review faces, and the tap marks the student present, recorded as a
review when the session is saved.

The blurred photo is made at test time from the demo class's two_people.jpg (never stored).
"""
from __future__ import annotations

import io

import cv2
from PIL import Image

from attendance_core.config import load_settings
from attendance_core.faces import detect_faces
from attendance_core.images import load_image
from attendance_core.records import Store

from conftest import SAMPLE_IMAGES
from test_dashboard_browser import TIMEOUT_MS, choose_photos, page, screenshot, wait_for_status  # noqa: F401


def test_a_blurred_photo_asks_for_another_and_one_tap_marks_the_student_present(page, dashboard_server, tmp_path):
    image = load_image(SAMPLE_IMAGES / "two_people.jpg")
    width = max(r - l for _, r, _, l in detect_faces(image))
    photo = tmp_path / "blurred_class.jpg"
    out = io.BytesIO()
    Image.fromarray(cv2.GaussianBlur(image, (0, 0), 0.04 * width)).save(out, format="JPEG", quality=92)
    photo.write_bytes(out.getvalue())

    choose_photos(page, photo)
    page.wait_for_selector(".sa-retake", timeout=TIMEOUT_MS)
    summary = page.inner_text(".sa-roster-table")
    assert "2 faces too blurred to recognise: take another photo (closer, steadier, more light)" in summary
    assert "2 face(s) too unsure to name" in summary
    wait_for_status(page, "Barack_Obama", "absent")

    page.click(".lm-TabBar-tab:has-text('Review faces')")
    button = "button.sa-review-suggestion:has-text('It is Barack Obama?')"
    tap = page.locator(f".sa-review-asked {button}")
    tap.wait_for(timeout=TIMEOUT_MS)
    card = page.locator(".sa-review-asked .sa-review-item").filter(has=page.locator(button))
    assert "sa-review-unsure" in card.get_attribute("class")
    assert "too blurred" in card.inner_text()
    screenshot(page, "hard-photo-review.png")
    tap.click()
    page.wait_for_selector(".sa-message :text('Face')", timeout=TIMEOUT_MS)

    page.click(".lm-TabBar-tab:has-text('Take attendance')")
    wait_for_status(page, "Barack_Obama", "present")
    page.fill(".widget-text input[placeholder='e.g. Mathematics']", "Blurred Civics")
    page.keyboard.press("Tab")
    page.click(".sa-save")
    page.wait_for_selector(".sa-message .sa-success:has-text('Session saved')", timeout=TIMEOUT_MS)

    store = Store(load_settings(data_dir=dashboard_server.root / "attendance_data").resolved_database_url())
    sessions = store.sessions()
    session_id = int(sessions[sessions["subject"] == "Blurred Civics"]["id"].iloc[0])
    marks = store.session_marks(session_id).set_index("student_id")
    assert marks.loc["Barack_Obama", "status"] == "present" and marks.loc["Joe_Biden", "status"] == "absent"
    trail = store.corrections(session_id)
    note = trail[trail["student_id"] == "Barack_Obama"]["note"].iloc[-1]
    assert note.startswith("review: face") and note.endswith("in blurred_class.jpg reassigned to this student")
