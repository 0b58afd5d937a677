"""The dashboard by keyboard alone, as a screen reader hears it, and zoomed (issue 29).

Debian's chromium, driven by Playwright, presses only Tab, Enter, Space and the arrow keys (and types the
subject) from the start page to a saved session and a downloaded CSV: choose the class, upload a photo,
correct a mark, review a face, save, download. At every stop the test reads the focused control's role
and accessible name from the browser's accessibility tree (what a screen reader is given) and asserts
the order of the stops, that every name says which student or face it acts on, that the focus ring is
visible, and that Tab leads through the whole page and back (no trap). Then: the result of a photo is
announced by a polite live region and problems by an alert, and every tab reflows at 200% zoom and at 320
CSS pixels without scrolling sideways. Screenshots go to test-artifacts/.
"""
from __future__ import annotations

import pytest

from a11y_helpers import AccessibilityTree, Control
from conftest import REPO, SAMPLE_IMAGES, voila_serving
from hub_helpers import lay_out_school
from test_dashboard_phone import CUT_TEXT_JS, TIMEOUT_MS, no_horizontal_scroll, screenshot

STUDENTS = ("Alex Lacamoire", "Barack Obama", "Joe Biden", "Kit Harington", "Rose Leslie")
#: The demo photo of two students, and a photo of a stranger (an unknown face).
PHOTOS = (SAMPLE_IMAGES / "two_people.jpg", SAMPLE_IMAGES / "lin-manuel-miranda.png")
#: Names that do not say which student or face a control acts on (the names of before issue 29).
VAGUE_NAMES = {"", "present", "absent", "excused", "late", "Right", "Not this student", "Nobody in the class",
               "It is…", "It is", "Add as a new student", "This is the student above", "Undo", "Remove", "Consent",
               "Upload photos (0)"}

#: Focus ring: drawn by the focused element (or, for the photo's visually hidden enlarge checkbox, by its
#: visible label) with an outline at least 2 px wide.
FOCUS_RING_JS = """() => {
  let e = document.activeElement;
  if (e && e.classList.contains('sa-zoom-toggle')) e = e.parentElement.querySelector('.sa-zoom-hint');
  const s = getComputedStyle(e);
  return s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2;
}"""


@pytest.fixture(scope="module")
def school_dashboard(demo_class, demo_encoding_cache, tmp_path_factory):
    """The dashboard over two classes: 7A (the demo class) and 7B (two of its students)."""
    root = lay_out_school(tmp_path_factory.mktemp("keyboard"), demo_encoding_cache)
    with voila_serving(REPO / "notebooks" / "attendance_dashboard.ipynb", root, REPO,
                       ATTENDANCE_CLASSES_DIR=str(root / "classes"), ATTENDANCE_ROSTER_DIR=str(root / "classes" / "7A"),
                       ATTENDANCE_DATA_DIR=str(root / "attendance_data")) as port:
        yield f"http://127.0.0.1:{port}/"


@pytest.fixture
def page(browser, school_dashboard):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.size_name = "keyboard"
    # File choosers intercepted from the start: expect_file_chooser() alone turns interception on as the key is
    # pressed, and a busy machine lets the Enter win that race (the system's dialog then opens and is lost).
    page.on("filechooser", lambda chooser: None)
    page.goto(school_dashboard, timeout=TIMEOUT_MS)
    page.wait_for_selector(".sa-upload-photos", timeout=TIMEOUT_MS)
    page.wait_for_timeout(1000)
    try:
        yield page
    finally:
        context.close()


class Keyboard:
    """Key presses in ``page``, each followed by what has the focus (read from the accessibility tree): every
    stop is recorded, its focus ring checked."""

    def __init__(self, page):
        self.page = page
        self.tree = AccessibilityTree(page)
        self.stops: list[Control] = []
        self.no_ring: list[str] = []

    def press(self, key: str) -> Control | None:
        self.page.keyboard.press(key)
        self.page.wait_for_timeout(100)  # the template's script and the browser settle the new focus
        focused = self.tree.focused()
        if focused is not None:
            self.stops.append(focused)
            if not self.page.evaluate(FOCUS_RING_JS):
                self.no_ring.append(str(focused))
        return focused

    def tab_until(self, wanted: str, limit: int = 80, key: str = "Tab") -> list[Control]:
        """Press Tab until a control whose ``str`` is ``wanted`` has the focus; returns the stops on the way
        (the same control twice in a row, e.g. a date's fields, counted once)."""
        passed: list[Control] = []
        for _ in range(limit):
            focused = self.press(key)
            if focused is not None and (not passed or str(passed[-1]) != str(focused)):
                passed.append(focused)
            if focused is not None and str(focused) == wanted:
                return passed
        raise AssertionError(f"{wanted} never had the focus in {limit} presses of {key}: " + ", ".join(map(str, passed)))

    def wait_for_focus(self, wanted: str) -> Control:
        """Wait until a control named ``wanted`` (``role "name"``) has the focus (after the kernel answered)."""
        for _ in range(200):
            focused = self.tree.focused()
            if focused is not None and str(focused) == wanted:
                self.stops.append(focused)
                return focused
            self.page.wait_for_timeout(250)
        raise AssertionError(f"{wanted} never had the focus; it is on {self.tree.focused()}")


def rows(page) -> list[str]:
    """The students listed in the attendance table."""
    return page.locator(".sa-roster-table .sa-cell-name").all_inner_texts()[1:]


def test_keyboard_only_from_the_start_page_to_a_saved_session_and_a_downloaded_csv(page, tmp_path):
    keys = Keyboard(page)
    # The page starts with the tabs, then the skip link, then the class.
    assert str(keys.press("Tab")) == 'tab "Take attendance"' and keys.stops[-1].states.get("selected")
    assert str(keys.press("Tab")) == 'link "Skip to the attendance table"'
    assert str(keys.press("Tab")) == 'combobox "Class"'
    keys.press("ArrowDown")  # class 7B: two students
    page.wait_for_function("() => document.querySelectorAll('.sa-roster-table .sa-cell-name').length === 3")
    assert [n.strip() for n in rows(page)] == ["Kit Harington", "Rose Leslie"]
    keys.press("ArrowUp")  # back to 7A
    page.wait_for_function("() => document.querySelectorAll('.sa-roster-table .sa-cell-name').length === 6")
    assert str(keys.press("Tab")) == 'textbox "Subject"'
    page.keyboard.type("Civics")
    assert [str(c) for c in keys.tab_until('button "Upload photos"')] == [
        'DateTime "Date & time"', 'checkbox "Class starts at this time: late after 10 min"', 'button "Upload photos"']

    with page.expect_file_chooser(timeout=TIMEOUT_MS) as chooser:
        page.keyboard.press("Enter")
    chooser.value.set_files([str(p) for p in PHOTOS])  # the system's file dialog
    page.wait_for_function("() => document.querySelectorAll('.sa-photo-view img').length === 2")
    keys.wait_for_focus('button "Upload photos"')  # given back after the upload

    # The rest of the page in order, every control named after what it acts on; then back to the top (no trap).
    order = [str(c) for c in keys.tab_until('tab "Take attendance"')]
    expected_table = [f'button "{name}: {status}"' for name, status in
                      zip(STUDENTS, ("absent", "present", "present", "absent", "absent"))]
    assert order == [
        'button "Use the camera"', 'button "Try the demo photo"', 'button "New session"', 'slider "Tolerance"', 'textbox "Tolerance, typed"',
        'checkbox "Enlarge class photo 1 of 2"', 'checkbox "Enlarge class photo 2 of 2"', *expected_table,
        'textbox "Name of Unknown 1 as a new student"', 'button "Add as a new student: Unknown 1"',
        'combobox "Unknown 1 is"', 'button "This is the student above: Unknown 1 is the one chosen in the list"',
        'button "Save session"', 'link "Download CSV"', 'tab "Take attendance"'], order
    assert all(c.states.get("pressed") == "true" for c in keys.stops if c.name.startswith(STUDENTS))

    # The skip link, then a student's status buttons: one tab stop, arrows move, Space presses.
    assert str(keys.press("Tab")) == 'link "Skip to the attendance table"'
    heading = keys.press("Enter")
    assert (heading.role, heading.name) == ("heading", "Attendance"), heading
    assert str(keys.press("Tab")) == 'button "Alex Lacamoire: absent"'
    assert str(keys.press("ArrowRight")) == 'button "Alex Lacamoire: excused"'
    assert keys.stops[-1].states.get("pressed") == "false"
    keys.press("Space")
    page.wait_for_function("() => document.querySelector('.sa-status-Alex_Lacamoire').innerText.trim() === 'excused'")
    keys.wait_for_focus('button "Alex Lacamoire: excused"')
    page.wait_for_function("() => document.activeElement.getAttribute('aria-pressed') === 'true'")
    assert page.evaluate("() => getComputedStyle(document.activeElement, '::before').content").startswith('"✓')
    assert str(keys.press("Tab")) == 'button "Barack Obama: present"'  # the next student, not the next button
    screenshot(page, "keyboard-corrected")

    # Review faces: the tab bar by arrows, the stranger's face settled with Enter.
    keys.tab_until('tab "Take attendance"')
    assert str(keys.press("ArrowRight")).startswith('tab "Review faces')
    keys.press("Enter")
    page.wait_for_selector(".sa-review-asked .sa-review-item")
    nobody = keys.tab_until('button "Nobody in the class: face 3 is a visitor"')[-1]
    keys.press("Enter")
    page.wait_for_selector(".sa-message .sa-info:has-text('Face 3: nobody in the class')")
    status = keys.wait_for_focus('generic "Nothing left to check."') if nobody else None
    screenshot(page, "keyboard-reviewed")

    # Back to the first tab, to Save session and to the CSV.
    keys.press("Shift+Tab")
    assert str(keys.stops[-1]).startswith('tab "Review faces')
    assert str(keys.press("ArrowLeft")) == 'tab "Take attendance"'
    keys.press("Space")
    keys.tab_until('button "Save session"')
    keys.press("Enter")
    page.wait_for_selector(".sa-message .sa-success:has-text('Session saved')", timeout=TIMEOUT_MS)
    assert str(keys.press("Tab")) == 'link "Download CSV"'
    with page.expect_download(timeout=TIMEOUT_MS) as download:
        page.keyboard.press("Enter")
    csv = (tmp_path / "attendance.csv")
    download.value.save_as(csv)
    text = csv.read_text(encoding="utf-8")
    assert "Civics" in text and "Alex Lacamoire,excused,manual" in text and "Barack Obama,present" in text

    assert status is not None
    vague = sorted({str(c) for c in keys.stops if c.name.strip() in VAGUE_NAMES or c.name != c.name.strip()})
    assert vague == [], vague
    assert keys.no_ring == [], keys.no_ring


def test_the_result_is_announced_in_a_polite_live_region_and_problems_in_an_alert(page, tmp_path):
    tree = AccessibilityTree(page)
    status = tree.node("document.querySelector('.sa-message .sa-live')")
    alert = tree.node("document.querySelector('.sa-message .sa-alert')")
    assert status.role == "status" and status.states.get("live") == "polite", status.states
    assert alert.role == "alert" and alert.states.get("live") == "assertive", alert.states
    # A region must be in the page before its text changes (one added with its text is not announced):
    # the same elements, still in the page, hold the messages below.
    regions = page.query_selector(".sa-message .sa-live"), page.query_selector(".sa-message .sa-alert")

    with page.expect_file_chooser(timeout=TIMEOUT_MS) as chooser:
        page.click(".sa-upload-photos")
    chooser.value.set_files([str(p) for p in PHOTOS])
    page.wait_for_selector(".sa-message .sa-live .sa-success", timeout=TIMEOUT_MS)
    assert regions[0].evaluate("e => e.isConnected") and regions[1].evaluate("e => e.isConnected")
    assert regions[0].inner_text().strip() == "2 photos: 2 present, 3 absent, 1 unknown face."
    assert regions[1].inner_text().strip() == ""

    timetable = tmp_path / "timetable.jpg"
    timetable.write_bytes(b"%PDF-1.4 this is not a photo")
    with page.expect_file_chooser(timeout=TIMEOUT_MS) as chooser:
        page.click(".sa-upload-photos")
    chooser.value.set_files([str(timetable), str(SAMPLE_IMAGES / "kit_with_rose.jpg")])
    page.wait_for_selector(".sa-message .sa-alert .sa-error", timeout=TIMEOUT_MS)
    assert regions[1].evaluate("e => e.isConnected") and "timetable.jpg: " in regions[1].inner_text()
    # The problem is said at once, and what could be marked politely after it.
    assert regions[0].inner_text().strip() == "3 photos: 4 present, 1 absent, 1 unknown face."
    assert tree.node("document.querySelector('.sa-message .sa-alert')").role == "alert"


#: A window of 1280 x 900 zoomed to 200% lays the page out in 640 x 450 CSS pixels; WCAG's reflow asks for
#: 320 CSS pixels (1280 at 400%).
ZOOMED = {"zoom-200": {"viewport": {"width": 640, "height": 450}, "device_scale_factor": 2},
          "width-320": {"viewport": {"width": 320, "height": 640}, "device_scale_factor": 1}}


@pytest.mark.parametrize("zoom", list(ZOOMED))
def test_every_tab_reflows_at_200_percent_zoom_and_320_css_pixels(browser, school_dashboard, zoom):
    context = browser.new_context(**ZOOMED[zoom])
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.size_name = zoom
    try:
        page.goto(school_dashboard, timeout=TIMEOUT_MS)
        page.wait_for_selector(".sa-upload-photos", timeout=TIMEOUT_MS)
        with page.expect_file_chooser(timeout=TIMEOUT_MS) as chooser:
            page.click(".sa-upload-photos")
        chooser.value.set_files([str(p) for p in PHOTOS])
        page.wait_for_function("() => document.querySelectorAll('.sa-photo-view img').length === 2")
        problems = {}
        for tab in ("Take attendance", "Review faces", "History", "Roster"):
            page.click(f".lm-TabBar-tab:has-text('{tab}')")
            page.wait_for_timeout(1500)
            screenshot(page, f"reflow-{tab.split()[0].lower()}")
            sideways = not no_horizontal_scroll(page)
            cut = page.evaluate(CUT_TEXT_JS)
            if sideways or cut:
                problems[tab] = {"scrolls sideways": sideways, "text cut": cut}
    finally:
        context.close()
    assert problems == {}
