"""The camera in the page (issue 31), in Chromium with a fake camera that plays a video made at test time from the
demo class's photos (``--use-fake-device-for-media-stream --use-file-for-fake-video-capture=FILE``).

- **Take photo**: the live view shows; the still is marked as an upload of the same picture is.
- **Check-in at the door**: a video of the students coming in one after another: each is marked once, in
  the order they came, those after the late limit late, announced once in the polite live region; nothing is
  written to disk.
- Faults (permission refused, no camera, the camera unplugged): a plain message, nothing marked lost.
- Accessibility: axe-core on the new controls (none of WCAG 2.0/2.1 A and AA violated), keyboard only, names.
"""
from __future__ import annotations

import contextlib
import re
import shutil
from datetime import datetime
from pathlib import Path

import pytest
from PIL import Image

from a11y_helpers import AccessibilityTree, axe_violations, write_report
from camera_video import Shot, door_video, still_video
from conftest import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, KNOWN_FACES, REPO, SAMPLE_IMAGES, _browser_unavailable, voila_serving

TIMEOUT_MS = 240_000
FAKE_CAMERA = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]
STUDENTS = ("Alex_Lacamoire", "Barack_Obama", "Joe_Biden", "Kit_Harington", "Rose_Leslie")
LIVE_LOG = """() => { window.saSaid = []; const seen = new WeakSet();
  const watch = () => document.querySelectorAll('.sa-live').forEach(region => { if (seen.has(region)) return;
    seen.add(region); new MutationObserver(() => { const text = region.innerText.trim(); if (text) window.saSaid.push(text); })
      .observe(region, {subtree: true, childList: true, characterData: true}); });
  watch(); new MutationObserver(watch).observe(document.body, {subtree: true, childList: true}); }"""


@contextlib.contextmanager
def chromium(*args: str):
    """Debian's chromium with these extra flags (a fake camera is a flag of the browser, not of a page)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _browser_unavailable("the playwright package is not installed")
    if not CHROMIUM.is_file():
        _browser_unavailable(f"{CHROMIUM} is missing (apt-get install chromium)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS + list(args))
        try:
            yield browser
        finally:
            browser.close()


@contextlib.contextmanager
def dashboard_page(browser, url: str, name: str, **context):
    context = browser.new_context(**({"viewport": {"width": 1280, "height": 1500}} | context))
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    console: list[str] = []
    page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
    page.goto(url, timeout=TIMEOUT_MS)
    page.wait_for_selector(".sa-use-camera", timeout=TIMEOUT_MS)
    try:
        yield page
    except BaseException:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"failed-{name}.png"), full_page=True)
        (ARTIFACTS / f"failed-{name}.log").write_text("\n".join(console))
        raise
    finally:
        context.close()


def statuses(page) -> dict[str, str]:
    return {sid: page.inner_text(f".sa-status-{sid}").strip() for sid in STUDENTS}


def wait_for_statuses(page, expected: dict[str, str]) -> None:
    page.wait_for_function(
        "expected => Object.entries(expected).every(([sid, want]) => {"
        " const e = document.querySelector('.sa-status-' + sid); return e && e.innerText.trim() === want; })",
        arg=expected, timeout=TIMEOUT_MS)


def wait_for_live_view(page) -> None:
    page.wait_for_function("() => { const v = document.querySelector('.sa-camera-on video');"
                           " return v && v.videoWidth > 0 && v.readyState >= 2; }", timeout=TIMEOUT_MS)


def snapshot(*folders: Path) -> dict[str, tuple[int, float]]:
    return {str(p): (p.stat().st_size, p.stat().st_mtime) for folder in folders for p in folder.rglob("*")
            if p.is_file() and p.name != "voila.log"}


@pytest.fixture(scope="module")
def camera_class(demo_class, demo_encoding_cache, tmp_path_factory):
    """Voilà serving the dashboard over a private copy of the demo class, late after 0.5 minutes (30 s), its
    temporary folder private too: yields (url, root, tmp)."""
    root = tmp_path_factory.mktemp("camera-dashboard")
    shutil.copytree(KNOWN_FACES, root / "known_faces", ignore=shutil.ignore_patterns("README.md"))
    shutil.copytree(demo_encoding_cache, root / "attendance_data" / "cache")
    (root / "sample_images").symlink_to(SAMPLE_IMAGES)
    scratch = root / "tmp"
    scratch.mkdir()
    with voila_serving(REPO / "notebooks" / "attendance_dashboard.ipynb", root, REPO,
                       ATTENDANCE_ROSTER_DIR=str(root / "known_faces"), ATTENDANCE_DATA_DIR=str(root / "attendance_data"),
                       ATTENDANCE_LATE_AFTER_MINUTES="0.5", TMPDIR=str(scratch)) as port:
        yield f"http://127.0.0.1:{port}/", root, scratch


def test_take_photo_marks_the_class_as_an_upload_of_the_same_picture(camera_class, tmp_path):
    url, _, _ = camera_class
    video, picture = still_video(tmp_path / "class.y4m", SAMPLE_IMAGES / "two_people.jpg")
    same = tmp_path / "class-photo.png"
    Image.fromarray(picture).save(same)
    found = {}
    with chromium(*FAKE_CAMERA, f"--use-file-for-fake-video-capture={video}") as browser, \
            dashboard_page(browser, url, "camera-take-photo") as page:
        page.click(".sa-use-camera")
        wait_for_live_view(page)
        found["camera on: Take attendance"] = axe_violations(page)
        page.screenshot(path=str(ARTIFACTS / "camera-live-view.png"))
        page.click(".sa-take-photo")
        wait_for_statuses(page, {"Barack_Obama": "present", "Joe_Biden": "present"})
        page.wait_for_selector(".sa-photos img.sa-annotated-photo")
        by_camera = statuses(page)
        caption = page.inner_text(".sa-photos")
        faces_by_camera = re.search(r"(\d+) face\(s\), (\d+) student\(s\) recognised", caption).groups()
        found["photo taken: Take attendance"] = axe_violations(page)
        page.screenshot(path=str(ARTIFACTS / "camera-photo-taken.png"), full_page=True)
        # The same picture, uploaded, in a new session of the same page.
        page.click("button:has-text('New session')")
        page.wait_for_selector(".sa-photos img", state="detached")
        with page.expect_file_chooser() as chooser:
            page.click(".sa-upload-photos")
        chooser.value.set_files([str(same)])
        page.wait_for_selector(".sa-photos img.sa-annotated-photo")
        wait_for_statuses(page, by_camera)
        faces_by_upload = re.search(r"(\d+) face\(s\), (\d+) student\(s\) recognised",
                                    page.inner_text(".sa-photos")).groups()
    write_report("axe-camera-photo", found)
    assert re.search(r"camera-\d{6}\.jpg", caption)  # the still went the upload's way, under its own name
    assert by_camera == {"Alex_Lacamoire": "absent", "Barack_Obama": "present", "Joe_Biden": "present",
                         "Kit_Harington": "absent", "Rose_Leslie": "absent"}
    assert faces_by_camera == faces_by_upload == ("2", "2")
    assert not any(found.values()), found


DOOR = [Shot(None, 1), Shot("Barack_Obama", 5), Shot("Joe_Biden", 5), Shot(None, 30), Shot("Kit_Harington", 5),
        Shot("Rose_Leslie", 5), Shot(None, 15)]


def test_check_in_at_the_door_marks_each_student_once_in_order_late_after_the_limit_and_writes_nothing(
        camera_class, tmp_path):
    url, root, scratch = camera_class
    video = door_video(tmp_path / "door.y4m", DOOR, size=(320, 240), fps=2)
    found = {}
    with chromium(*FAKE_CAMERA, f"--use-file-for-fake-video-capture={video}") as browser, \
            dashboard_page(browser, url, "camera-check-in") as page:
        page.evaluate(LIVE_LOG)
        before = snapshot(root, scratch)
        # The class starts now (to the second); late after 30 s. The camera comes on with the check-in.
        start = datetime.now().replace(microsecond=0)
        page.fill(".widget-datetimepicker input", start.strftime("%Y-%m-%dT%H:%M:%S"))
        page.keyboard.press("Tab")
        page.check(".sa-late-start input")
        page.click(".sa-use-camera")
        wait_for_live_view(page)
        page.click(".sa-checkin")
        page.wait_for_selector(".sa-arrivals li >> nth=3", timeout=TIMEOUT_MS)
        found["check-in, 4 arrived: Take attendance"] = axe_violations(page)
        page.screenshot(path=str(ARTIFACTS / "camera-check-in.png"), full_page=True)
        wait_for_statuses(page, {"Barack_Obama": "present", "Joe_Biden": "present", "Kit_Harington": "late",
                                 "Rose_Leslie": "late", "Alex_Lacamoire": "absent"})
        arrivals = page.locator(".sa-arrivals li").all_inner_texts()
        heading = page.inner_text(".sa-arrivals b")
        page.click(".sa-checkin")  # End check-in
        page.wait_for_selector(".sa-live:has-text('Check-in at the door ended')")
        said = page.evaluate("window.saSaid")
        after = snapshot(root, scratch)
        page.wait_for_timeout(3000)  # no frame after the end
        still = page.locator(".sa-arrivals li").all_inner_texts()
    write_report("axe-camera-check-in", found)
    names = [re.match(r"(.+): (present|late), \d\d:\d\d$", a).groups() for a in arrivals]
    assert names == [("Barack Obama", "present"), ("Joe Biden", "present"), ("Kit Harington", "late"),
                     ("Rose Leslie", "late")]
    assert heading.startswith("At the door: 4 arrived (2 late)")
    # Each announced once in the polite live region, in the order they came.
    announced = [line for text in said for line in text.splitlines() if re.match(r".+: (present|late), \d\d:\d\d$", line)]
    assert [a.split(":")[0] for a in announced] == ["Barack Obama", "Joe Biden", "Kit Harington", "Rose Leslie"]
    assert still == arrivals
    assert after == before, sorted(set(after) ^ set(before))
    assert not any(found.values()), found


def test_camera_faults_give_a_plain_message_and_keep_what_was_marked(camera_class):
    url, _, _ = camera_class
    with chromium() as browser:  # no camera at all on this machine
        with dashboard_page(browser, url, "camera-denied") as page:  # and no permission given
            page.click(".sa-use-camera")
            error = page.wait_for_selector(".sa-message .sa-error", timeout=TIMEOUT_MS).inner_text()
            assert error.startswith("The camera was not allowed") or error.startswith("No camera was found"), error
            assert page.locator(".sa-use-camera").inner_text().strip() == "Use the camera"
        with dashboard_page(browser, url, "camera-none", permissions=["camera"]) as page:
            page.click(".sa-use-camera")
            error = page.wait_for_selector(".sa-message .sa-error", timeout=TIMEOUT_MS).inner_text()
            assert error.startswith("No camera was found: connect one"), error


def test_a_camera_unplugged_during_check_in_keeps_the_students_marked(camera_class, tmp_path):
    url, _, _ = camera_class
    video = door_video(tmp_path / "door.y4m", [Shot("Joe_Biden", 20)], size=(320, 240), fps=2)
    with chromium(*FAKE_CAMERA, f"--use-file-for-fake-video-capture={video}") as browser, \
            dashboard_page(browser, url, "camera-unplugged") as page:
        page.click(".sa-use-camera")
        wait_for_live_view(page)
        page.click(".sa-checkin")
        wait_for_statuses(page, {"Joe_Biden": "present"})
        # What the browser says when a camera is unplugged: its track ends.
        page.evaluate("document.querySelector('.sa-camera-video').srcObject.getVideoTracks()[0]"
                      ".dispatchEvent(new Event('ended'))")
        error = page.wait_for_selector(".sa-message .sa-error", timeout=TIMEOUT_MS).inner_text()
        assert error.startswith("The camera stopped (unplugged, or turned off)"), error
        assert error.endswith("Nothing already marked is lost (1 student checked in)."), error
        assert statuses(page)["Joe_Biden"] == "present"
        assert page.locator(".sa-checkin").inner_text().strip() == "Start check-in at the door"


def test_the_camera_works_by_keyboard_and_says_what_each_control_is(camera_class, tmp_path):
    url, _, _ = camera_class
    video, _ = still_video(tmp_path / "class.y4m", SAMPLE_IMAGES / "two_people.jpg")
    with chromium(*FAKE_CAMERA, f"--use-file-for-fake-video-capture={video}") as browser, \
            dashboard_page(browser, url, "camera-keyboard", viewport={"width": 390, "height": 844},
                           is_mobile=True, has_touch=True, device_scale_factor=3) as page:
        tree = AccessibilityTree(page)
        page.focus(".sa-upload-photos")
        page.keyboard.press("Tab")
        assert str(tree.focused()) == 'button "Use the camera"'
        page.keyboard.press("Enter")
        wait_for_live_view(page)
        assert str(tree.focused()) == 'button "Turn the camera off"'
        view = tree.node("document.querySelector('.sa-camera-frame')")
        assert view.role == "image" and view.name == "camera view"
        page.focus(".sa-take-photo button, button.sa-take-photo")
        assert str(tree.focused()) == 'button "Take photo"'
        page.keyboard.press("Tab")
        control = tree.focused()
        assert control.name.startswith("Check-in stops after"), control
        page.keyboard.press("Tab")
        assert str(tree.focused()) == 'button "Start check-in at the door"'
        page.focus("button.sa-take-photo")
        page.keyboard.press("Enter")
        wait_for_statuses(page, {"Barack_Obama": "present", "Joe_Biden": "present"})
        # No sideways scroll on the phone, the live view within the page.
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        found = {"phone, photo taken: Take attendance": axe_violations(page)}
        page.screenshot(path=str(ARTIFACTS / "camera-phone.png"), full_page=True)
    write_report("axe-camera-phone", found)
    assert not any(found.values()), found


def test_served_with_the_pool_the_door_and_take_photo_go_through_it_and_the_kernel_never_loads_dlib(
        demo_class, demo_encoding_cache, tmp_path_factory, tmp_path):
    """`attendance serve` (its pool, its login, its template): the frames and the still go to the pool."""
    import secrets

    from procs import children, cmdline, maps
    from test_serve import served_class
    from test_serve_browser import log_in

    video = door_video(tmp_path / "door.y4m", [Shot("Barack_Obama", 6), Shot("Joe_Biden", 6)], size=(320, 240), fps=2)
    with served_class(tmp_path_factory, demo_encoding_cache, "serve-camera", token=secrets.token_urlsafe(24),
                      ATTENDANCE_POOL_WORKERS="1") as served, \
            chromium(*FAKE_CAMERA, f"--use-file-for-fake-video-capture={video}") as browser:
        context = browser.new_context(viewport={"width": 1280, "height": 1500})
        try:
            page = context.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            log_in(page, served)
            page.wait_for_selector(".sa-use-camera", timeout=TIMEOUT_MS)
            page.click(".sa-use-camera")
            wait_for_live_view(page)
            page.click(".sa-checkin")
            wait_for_statuses(page, {"Barack_Obama": "present", "Joe_Biden": "present"})
            page.click(".sa-checkin")
            page.click(".sa-take-photo")
            page.wait_for_selector(".sa-photos :text-matches('camera-\\\\d{6}\\\\.jpg')", timeout=TIMEOUT_MS)
            processes = children(served.proc.pid)
            kernels = [p for p in processes if "ipykernel" in cmdline(p)]
            assert len(kernels) == 1
            assert "_dlib_pybind11" not in maps(kernels[0]) and "cv2" not in maps(kernels[0])
            assert [p for p in processes if "_dlib_pybind11" in maps(p)]  # the pool's worker did the work
        finally:
            context.close()
