"""The dashboard at a desktop size and on two phones (issue 13), measured in a real browser.

Debian's chromium, driven by Playwright, opens the served dashboard at 1280x900 and in iPhone 13 and
Pixel 7 emulation (touch, mobile viewport). The checks are measurements of the page: no button or
label cuts its text, the tolerance slider is at least 200 px wide, buttons are at least 40 px tall,
the page never scrolls sideways, the upload offers the camera and photo library, and the numbered
markers of a 30-face photo never overlap. Screenshots of each size go to test-artifacts/ every run.
"""
from __future__ import annotations

from itertools import combinations

import pytest

from conftest import ARTIFACTS, SAMPLE_IMAGES
from crowd_class import build_thirty

TIMEOUT_MS = 300_000
#: Viewports: a desktop window, and Playwright's descriptors of two phones (Chromium emulation).
SIZES = {
    "desktop": {"viewport": {"width": 1280, "height": 900}},
    "iphone13": {"viewport": {"width": 390, "height": 664}, "screen": {"width": 390, "height": 844},
                 "device_scale_factor": 3, "is_mobile": True, "has_touch": True,
                 "user_agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 15_0 like Mac OS X) AppleWebKit/605.1.15 "
                               "(KHTML, like Gecko) Version/15.0 Mobile/15E148 Safari/604.1"},
    "pixel7": {"viewport": {"width": 412, "height": 839}, "screen": {"width": 412, "height": 915},
               "device_scale_factor": 2.625, "is_mobile": True, "has_touch": True,
               "user_agent": "Mozilla/5.0 (Linux; Android 14; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) "
                             "Chrome/120.0.0.0 Mobile Safari/537.36"},
}

#: Every visible text-bearing control whose text does not fit its box, as "tag.class: text".
CUT_TEXT_JS = """() => {
  const out = [];
  const sel = '.sa-app button, .sa-app label, .sa-app .widget-label, .sa-app .lm-TabBar-tabLabel, .sa-app .sa-badge,'
            + ' .sa-app .widget-upload, .sa-app select';
  for (const e of document.querySelectorAll(sel)) {
    const r = e.getBoundingClientRect();
    if (r.width === 0 || r.height === 0 || getComputedStyle(e).visibility === 'hidden') continue;
    if (e.closest('.sa-photo-frame')) continue;  // the photo's own labels are checked as markers
    if (e.scrollWidth > e.clientWidth + 1) out.push(e.tagName + '.' + e.className + ': ' + e.innerText.trim());
  }
  return out;
}"""
#: Visible buttons less than 40 px tall.
SHORT_BUTTONS_JS = """() => [...document.querySelectorAll('.sa-app button')]
  .filter(b => { const r = b.getBoundingClientRect(); return r.width > 0 && r.height > 0 && r.height < 39.5; })
  .map(b => b.innerText.trim() + ' ' + b.getBoundingClientRect().height)"""
MARKER_RECTS_JS = """() => [...document.querySelectorAll('.sa-photo-view .sa-marker')].map(m => {
  const r = m.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom, m.innerText.split('\\n')[0]]; })"""


@pytest.fixture(params=list(SIZES))
def page(request, browser, dashboard_server):
    """A fresh dashboard page at one of the sizes; a screenshot of it is kept whatever the outcome."""
    context = browser.new_context(**SIZES[request.param])
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(dashboard_server.url, timeout=TIMEOUT_MS)
    page.wait_for_selector(".sa-upload-photos", timeout=TIMEOUT_MS)
    page.size_name = request.param
    try:
        yield page
    finally:
        context.close()


def screenshot(page, name: str) -> None:
    """The whole page at this width (Voila scrolls inside the page: the window is made as tall as the app)."""
    ARTIFACTS.mkdir(exist_ok=True)
    size = page.viewport_size
    height = page.evaluate("() => Math.ceil(document.querySelector('.sa-app').getBoundingClientRect().bottom + 40)")
    page.set_viewport_size({"width": size["width"], "height": max(size["height"], height)})
    try:
        page.screenshot(path=str(ARTIFACTS / f"{name}-{page.size_name}.png"), full_page=True)
    finally:
        page.set_viewport_size(size)


def choose_photos(page, *paths) -> dict:
    """Pick photos in the upload button's file chooser; returns the chooser input's attributes."""
    with page.expect_file_chooser(timeout=TIMEOUT_MS) as chooser:
        page.click(".sa-upload-photos")
    element = chooser.value.element
    attributes = {"accept": element.get_attribute("accept"), "capture": element.get_attribute("capture"),
                  "multiple": chooser.value.is_multiple()}
    chooser.value.set_files([str(p) for p in paths])
    return attributes


def wait_for_status(page, css: str, expected: str) -> None:
    page.wait_for_function(
        "([c, want]) => { const e = document.querySelector(c); return e && e.innerText.trim() === want; }",
        arg=[css, expected], timeout=TIMEOUT_MS)


def no_horizontal_scroll(page) -> bool:
    return page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1")


def test_two_photo_session_reads_on_every_size(page):
    chooser = choose_photos(page, SAMPLE_IMAGES / "two_people.jpg", SAMPLE_IMAGES / "kit_with_rose.jpg")
    # The phone offers its camera and its photo library: any image, JPEG and HEIC, no forced capture.
    assert {"image/*", "image/jpeg", "image/heic"} <= set(chooser["accept"].split(","))
    assert chooser["capture"] is None and chooser["multiple"]
    wait_for_status(page, ".sa-status-Rose_Leslie", "present")
    wait_for_status(page, ".sa-status-Barack_Obama", "present")
    page.wait_for_function("() => document.querySelectorAll('.sa-photo-view img').length === 2")
    screenshot(page, "two-photo-session")
    assert page.evaluate(CUT_TEXT_JS) == []
    assert page.evaluate(SHORT_BUTTONS_JS) == []
    assert no_horizontal_scroll(page)
    slider = page.evaluate("() => document.querySelector('.sa-tolerance .slider-container').getBoundingClientRect().width")
    assert slider >= 200
    # The attendance table reads as a list on a phone: each student's row is no wider than the screen.
    widths = page.evaluate("() => [...document.querySelectorAll('.sa-row')].map(r => r.getBoundingClientRect().right)")
    assert max(widths) <= page.viewport_size["width"] + 1
    # Every marker's number can be read, and tapping it shows the name.
    marker = page.locator(".sa-photo-view .sa-marker").first
    assert page.evaluate("() => parseFloat(getComputedStyle(document.querySelector('.sa-marker')).fontSize)") >= 11
    if page.size_name == "desktop":
        marker.click()
    else:
        marker.tap()
    name = page.locator(".sa-photo-view .sa-marker:focus .sa-marker-name")
    assert name.is_visible()
    shown = name.inner_text().split(": ", 1)[1].rsplit(" ", 1)[0]
    assert shown in {"Barack Obama", "Joe Biden", "Kit Harington", "Rose Leslie"}
    screenshot(page, "two-photo-session-name")
    for tab in ("Review faces", "History", "Roster"):
        page.click(f".lm-TabBar-tab:has-text('{tab}')")
        page.wait_for_timeout(1500)
        assert page.evaluate(CUT_TEXT_JS) == [], tab
        assert no_horizontal_scroll(page), tab
        screenshot(page, "tab-" + tab.split()[0].lower())


@pytest.fixture(scope="module")
def thirty_faces(devdata, tmp_path_factory):
    return build_thirty(devdata, tmp_path_factory.mktemp("thirty"))


def test_thirty_face_photo_markers_never_overlap_and_enlarge(page, thirty_faces):
    choose_photos(page, thirty_faces)
    page.wait_for_function("() => document.querySelectorAll('.sa-photo-view .sa-marker').length >= 28",
                           timeout=TIMEOUT_MS)
    rects = page.evaluate(MARKER_RECTS_JS)
    overlapping = [(a[4], b[4]) for a, b in combinations(rects, 2)
                   if a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]]
    assert overlapping == []
    assert no_horizontal_scroll(page)
    screenshot(page, "thirty-faces")
    # Enlarged: the photo at full size in a pane that scrolls, every number at least 14 px.
    shown = page.evaluate("() => document.querySelector('.sa-photo-view img').getBoundingClientRect().width")
    page.click(".sa-photo-view .sa-zoom-hint")
    page.wait_for_function("(w) => document.querySelector('.sa-photo-view img').getBoundingClientRect().width > w + 1",
                           arg=shown)
    assert page.evaluate("() => document.querySelector('.sa-photo-view img').getBoundingClientRect().width") == \
        page.evaluate("() => document.querySelector('.sa-photo-view img').naturalWidth")
    assert no_horizontal_scroll(page)
    rects = page.evaluate(MARKER_RECTS_JS)
    assert min(r[3] - r[1] for r in rects) >= 24  # numbers of at least 13 px
    assert not any(a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3] for a, b in combinations(rects, 2))
    page.locator(".sa-photo-view .sa-photo-frame").screenshot(
        path=str(ARTIFACTS / f"thirty-faces-enlarged-{page.size_name}.png"))
    page.click(".sa-photo-view .sa-zoom-close")
    page.wait_for_function("(w) => document.querySelector('.sa-photo-view img').getBoundingClientRect().width <= w + 1",
                           arg=shown)
