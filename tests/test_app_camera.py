"""The camera view and the check-in at the door, headless: the widget's messages sent as the browser sends them
(a still, frames, faults), through the real dlib pipeline on the demo class (issue 31)."""
from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone

import numpy as np
from PIL import Image

from attendance_core.app import AttendanceApp, DashboardState
from attendance_core.app.camera import CameraWidget
from attendance_core.results import CONSENT_REFUSED
from attendance_core.school import set_consent

from camera_video import picture
from conftest import SAMPLE_IMAGES
from test_app_widgets import button, status, widgets


def jpeg(rgb: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(rgb).save(out, "JPEG", quality=90)
    return out.getvalue()


def camera(app) -> CameraWidget:
    (found,) = widgets(app.widget, CameraWidget)
    return found


def browser_says(app, content: dict, data: bytes | None = None) -> None:
    """A message of the page's camera script, as the kernel receives it."""
    camera(app)._handle_custom_msg(content, [memoryview(data)] if data is not None else [])


def door(app, student: str | None) -> None:
    browser_says(app, {"type": "frame"}, jpeg(picture(student, (480, 360))))


def test_a_photo_taken_is_marked_as_an_upload(app_settings):
    app = AttendanceApp(DashboardState(app_settings))
    button(app, "Use the camera").click()
    assert camera(app).active and button(app, "Take photo").disabled
    browser_says(app, {"type": "started", "width": 1280, "height": 720})
    assert not button(app, "Take photo").disabled
    browser_says(app, {"type": "photo"}, (SAMPLE_IMAGES / "two_people.jpg").read_bytes())
    assert status(app, "Barack_Obama") == "present" and status(app, "Joe_Biden") == "present"
    assert status(app, "Kit_Harington") == "absent"
    assert app.state.photos[0].name.startswith("camera-")
    assert "1 photo: 2 present, 3 absent, 0 unknown faces." in app.messages


def test_check_in_marks_each_student_once_names_them_over_the_live_view_and_ends(app_settings):
    app = AttendanceApp(DashboardState(app_settings))
    button(app, "Start check-in at the door").click()
    assert camera(app).active and camera(app).checkin
    door(app, "Barack_Obama")
    assert status(app, "Barack_Obama") == "present"
    assert [face["text"] for face in camera(app).overlay] == ["Barack Obama"]
    assert app.messages.startswith("Barack Obama: present, ")
    door(app, None)
    assert camera(app).overlay == []
    door(app, "Barack_Obama")
    door(app, "Joe_Biden")
    assert [a.student for a in app.state.checkin.arrivals] == ["Barack_Obama", "Joe_Biden"]
    assert app.messages.startswith("Joe Biden: present")
    # The time is up: the next frame ends it, and what was marked stays.
    app.state.checkin.ends_at = datetime.now(timezone.utc) - timedelta(seconds=1)
    door(app, "Kit_Harington")
    assert app.state.checkin is None and not camera(app).checkin
    assert "Check-in at the door ended at" in app.messages and "2 arrived" in app.messages
    assert status(app, "Kit_Harington") == "absent" and status(app, "Joe_Biden") == "present"


def test_a_student_without_consent_is_blurred_in_the_live_view_and_never_checked_in(app_settings):
    set_consent(app_settings, "Joe_Biden", CONSENT_REFUSED, by="office")
    app = AttendanceApp(DashboardState(app_settings))
    assert camera(app).blur and "blurred" in camera(app).label
    button(app, "Start check-in at the door").click()
    door(app, "Joe_Biden")
    assert [face["text"] for face in camera(app).overlay] == ["unknown"]
    assert app.state.checkin.arrivals == [] and app.state.checkin.unknown_sightings == 1
    assert app.state.photos == []  # nothing of the frame kept


def test_camera_faults_are_plain_messages_and_keep_what_was_checked_in(app_settings):
    app = AttendanceApp(DashboardState(app_settings))
    button(app, "Start check-in at the door").click()
    door(app, "Joe_Biden")
    browser_says(app, {"type": "problem", "kind": "ended"})
    assert app.messages == ("The camera stopped (unplugged, or turned off): connect it, then press Use the camera "
                            "again. Nothing already marked is lost (1 student checked in).")
    assert not camera(app).active and app.state.checkin is None
    assert status(app, "Joe_Biden") == "present"
    for kind, words in (("denied", "The camera was not allowed"), ("no-camera", "No camera was found"),
                        ("insecure", "open the dashboard over HTTPS"), ("idle", "turned off after 10 minutes"),
                        ("busy", "in use by another program")):
        button(app, "Use the camera").click()
        browser_says(app, {"type": "problem", "kind": kind})
        assert words in app.messages and not camera(app).active
    assert status(app, "Joe_Biden") == "present"


def test_a_new_session_ends_the_check_in(app_settings):
    app = AttendanceApp(DashboardState(app_settings))
    button(app, "Start check-in at the door").click()
    button(app, "New session").click()
    assert app.state.checkin is None and not camera(app).checkin
    assert button(app, "Start check-in at the door")


def test_arrival_frames_are_written_only_when_save_uploads_asks_for_it(app_settings):
    uploads = app_settings.data_dir / "uploads"
    app = AttendanceApp(DashboardState(app_settings))
    button(app, "Start check-in at the door").click()
    door(app, "Barack_Obama")
    assert status(app, "Barack_Obama") == "present" and not uploads.exists()
    keeping = AttendanceApp(DashboardState(app_settings.replace(save_uploads=True)))
    button(keeping, "Start check-in at the door").click()
    door(keeping, None)
    door(keeping, "Barack_Obama")
    door(keeping, "Barack_Obama")
    (kept,) = [p for p in uploads.rglob("*") if p.is_file()]
    assert "door_" in kept.name and kept.suffix == ".jpg" and kept.stat().st_mode & 0o077 == 0
