"""End to end in a real browser: Debian's chromium, driven by Playwright, uses the Voilà dashboard.

An instructor's visit: open the page, upload two_people.jpg through the upload button's file
chooser, see Barack Obama and Joe Biden present and the others absent, correct a student by hand,
save, and find the session in History. Screenshots go to test-artifacts/ (git-ignored).
Without chromium or Playwright the tests are skipped, unless CI=true: then they fail.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import ARTIFACTS, SAMPLE_IMAGES

#: Generous: the machine is slow and shared (a page load starts a kernel; a photo is detected on CPU).
TIMEOUT_MS = 240_000
OTHERS = ("Alex_Lacamoire", "Kit_Harington", "Rose_Leslie")


@pytest.fixture
def page(browser, dashboard_server, request):
    """A fresh dashboard page (Voilà starts a kernel for it), on a tall window so photo and table both show.

    When the test fails, the page as it was is kept in test-artifacts/failed-<test>.png, with what the
    browser logged.
    """
    context = browser.new_context(viewport={"width": 1280, "height": 1500})
    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(dashboard_server.url, timeout=TIMEOUT_MS)
    page.wait_for_selector(".sa-upload-photos", timeout=TIMEOUT_MS)
    failed_before = request.session.testsfailed
    try:
        yield page
    finally:
        if request.session.testsfailed > failed_before:
            screenshot(page, f"failed-{request.node.name}.png")
            (ARTIFACTS / f"failed-{request.node.name}.log").write_text("\n".join(console))
        context.close()


def choose_photos(page, *paths: Path) -> None:
    """Click the upload button and pick files in the browser's file chooser, as an instructor does."""
    with page.expect_file_chooser(timeout=TIMEOUT_MS) as chooser:
        page.click(".sa-upload-photos")
    chooser.value.set_files([str(p) for p in paths])


def status(page, student_id: str) -> str:
    return page.inner_text(f".sa-status-{student_id}").strip()


def wait_for_status(page, student_id: str, expected: str) -> None:
    page.wait_for_function(
        "([sid, want]) => { const e = document.querySelector('.sa-status-' + sid);"
        " return e && e.innerText.trim() === want; }", arg=[student_id, expected], timeout=TIMEOUT_MS)


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=True)
    return path


def test_instructor_uploads_corrects_saves_and_sees_history(page):
    choose_photos(page, SAMPLE_IMAGES / "two_people.jpg")
    page.wait_for_selector("img.sa-annotated-photo", timeout=TIMEOUT_MS)
    wait_for_status(page, "Barack_Obama", "present")
    assert status(page, "Joe_Biden") == "present"
    assert [status(page, sid) for sid in OTHERS] == ["absent"] * 3
    assert "2 present, 3 absent" in page.inner_text(".sa-roster-table")
    assert "two_people.jpg" in page.inner_text(".sa-photos")

    # Rose Leslie was there but hidden: mark her present by hand.
    page.click(".sa-correct-Rose_Leslie button:has-text('present')")
    wait_for_status(page, "Rose_Leslie", "present")
    assert "corrected by hand" in page.inner_text(".sa-roster-table")

    page.fill(".widget-text input[placeholder='e.g. Mathematics']", "Browser Civics")
    page.keyboard.press("Tab")
    page.click(".sa-save")
    page.wait_for_selector(".sa-message .sa-success:has-text('Session saved')", timeout=TIMEOUT_MS)
    shot = screenshot(page, "dashboard.png")
    assert shot.stat().st_size > 50_000

    page.click(".lm-TabBar-tab:has-text('History')")
    page.wait_for_selector(".sa-history table", timeout=TIMEOUT_MS)
    history = page.inner_text(".sa-history")
    assert "Browser Civics" in history
    assert page.locator(".sa-history table tbody tr").count() == 1
    # The chart of attendance rates is drawn (an image the browser could decode).
    page.wait_for_function("() => { const i = document.querySelector('img.sa-history-chart');"
                           " return i && i.complete && i.naturalWidth > 0; }", timeout=TIMEOUT_MS)
    screenshot(page, "dashboard-history.png")
    assert "Traceback" not in page.inner_text("body")


def test_non_image_upload_shows_a_message_and_the_app_keeps_working(page, tmp_path):
    not_a_photo = tmp_path / "lesson-plan.jpg"
    not_a_photo.write_text("Week 3: fractions. This is a text file with a photo's name.")
    choose_photos(page, not_a_photo)
    error = page.wait_for_selector(".sa-message .sa-error", timeout=TIMEOUT_MS)
    assert "lesson-plan.jpg: not an image" in error.inner_text()
    assert "Traceback" not in page.inner_text("body")
    screenshot(page, "dashboard-error.png")
    # The page still works: the demo photo is marked.
    page.click(".sa-demo")
    wait_for_status(page, "Joe_Biden", "present")
    assert status(page, "Barack_Obama") == "present"


def test_phone_photo_over_ten_megabytes_uploads(page, tmp_path):
    """A photo bigger than Tornado's default 10 MiB websocket message gets through (the limit is raised)."""
    base = Image.open(SAMPLE_IMAGES / "two_people.jpg").convert("RGB").resize((2400, 1800), Image.BICUBIC)
    pixels = np.asarray(base, dtype=np.int16)
    noise = np.random.default_rng(1).normal(0, 30, pixels.shape).astype(np.int16)
    big = tmp_path / "IMG_2041.jpg"
    Image.fromarray(np.clip(pixels + noise, 0, 255).astype(np.uint8)).save(big, "JPEG", quality=100, subsampling=0)
    assert big.stat().st_size > 10 * 2**20
    choose_photos(page, big)
    # The kernel got the photo when the progress line names it (a dropped websocket never gets there).
    page.wait_for_selector(".sa-progress-text:has-text('IMG_2041.jpg')", timeout=TIMEOUT_MS)
    page.wait_for_selector("img.sa-annotated-photo", timeout=TIMEOUT_MS)
    wait_for_status(page, "Barack_Obama", "present")
    assert status(page, "Joe_Biden") == "present"
    assert "IMG_2041.jpg" in page.inner_text(".sa-photos")
