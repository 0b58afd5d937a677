"""The dashboard's widgets driven headless, as a browser would: uploads, clicks, slider, tabs."""
from __future__ import annotations

import base64
import io

import ipywidgets as w
import numpy as np
import pytest
from PIL import Image

from attendance_core.app import AttendanceApp, DashboardState
from attendance_core.app.common import image_data

from conftest import SAMPLE_IMAGES

OTHERS = ("Alex_Lacamoire", "Kit_Harington", "Rose_Leslie")


def widgets(root, kind=w.Widget):
    """Every widget under ``root`` (children of boxes and tabs), depth first."""
    found = [root] if isinstance(root, kind) else []
    for child in getattr(root, "children", ()):
        found += widgets(child, kind)
    return found


def button(app, description: str) -> w.Button:
    matches = [b for b in widgets(app.widget, w.Button) if b.description == description]
    assert matches, f"no button {description!r}"
    return matches[0]


def with_class(app, css_class: str, kind=w.Widget) -> w.Widget:
    matches = [x for x in widgets(app.widget, kind) if css_class in x._dom_classes]
    assert len(matches) == 1, f"{len(matches)} widgets with class {css_class!r}"
    return matches[0]


def status(app, student_id: str) -> str:
    """The status shown in the roster table for a student."""
    badge = with_class(app, f"sa-status-{student_id}", w.HTML).value
    return next(s for s in ("present", "absent", "excused", "no photo yet") if s in badge)


def upload(app, files: list[tuple[str, bytes]], description: str = "Upload photos") -> None:
    """Choose files in a FileUpload the way the browser sends them."""
    uploader = next(u for u in widgets(app.widget, w.FileUpload) if u.description == description)
    uploader.set_state({"value": [
        {"name": name, "type": "image/jpeg", "size": len(content), "content": memoryview(content),
         "last_modified": 0} for name, content in files]})


def shown_photos(app) -> list[bytes]:
    """The JPEG bytes of every annotated photo shown on the Take attendance tab."""
    views = [x for x in widgets(app.widget, w.HTML) if "sa-photo-view" in x._dom_classes]
    return [base64.b64decode(v.value.split("base64,")[1].split('"')[0]) for v in views]


def sample(name: str) -> tuple[str, bytes]:
    return name, (SAMPLE_IMAGES / name).read_bytes()


@pytest.fixture
def app(app_settings) -> AttendanceApp:
    return AttendanceApp(DashboardState(app_settings, demo_photo=SAMPLE_IMAGES / "two_people.jpg"))


def phone_sized_photo(min_bytes: int = 8 * 2**20) -> bytes:
    """two_people.jpg blown up to 3 megapixels with sensor-like noise: a JPEG of at least ``min_bytes``.

    (Noise at full JPEG quality makes the file as heavy as a 12-megapixel phone photo, while the
    detection stays quick.)
    """
    base = Image.open(SAMPLE_IMAGES / "two_people.jpg").convert("RGB").resize((2000, 1500), Image.BICUBIC)
    pixels = np.asarray(base, dtype=np.int16)
    noise = np.random.default_rng(0).normal(0, 25, pixels.shape).astype(np.int16)
    noisy = Image.fromarray(np.clip(pixels + noise, 0, 255).astype(np.uint8))
    buf = io.BytesIO()
    noisy.save(buf, "JPEG", quality=100, subsampling=0)
    data = buf.getvalue()
    assert len(data) >= min_bytes, len(data)
    return data


def test_upload_shows_annotated_photo_and_roster_table(app):
    assert status(app, "Barack_Obama") == "no photo yet"
    upload(app, [sample("two_people.jpg")])
    assert status(app, "Barack_Obama") == "present" and status(app, "Joe_Biden") == "present"
    assert all(status(app, sid) == "absent" for sid in OTHERS)
    shown = Image.open(io.BytesIO(shown_photos(app)[0]))
    assert max(shown.size) <= 1600
    assert "2 present, 3 absent" in with_class(app, "sa-roster-table").children[0].value
    assert not with_class(app, "sa-alert", w.HTML).value  # no error in the message bar
    # The chooser is emptied so that the same photo can be chosen again.
    assert next(u for u in widgets(app.widget, w.FileUpload) if u.description == "Upload photos").value == ()


def test_large_phone_photo_upload_works(app):
    content = phone_sized_photo()
    upload(app, [("IMG_4032.jpg", content)])
    assert status(app, "Barack_Obama") == "present" and status(app, "Joe_Biden") == "present"
    assert app.messages == "1 photo: 2 present, 3 absent, 0 unknown faces."
    assert "IMG_4032.jpg" in with_class(app, "sa-progress-text", w.HTML).value


def test_non_image_upload_shows_a_message_and_the_app_keeps_working(app):
    upload(app, [("homework.pdf", b"%PDF-1.4 not a photo")])
    assert "homework.pdf: not an image" in app.messages
    assert "Traceback" not in app.messages
    assert shown_photos(app) == []
    button(app, "Try the demo photo").click()
    assert status(app, "Joe_Biden") == "present"
    assert "1 photo: 2 present, 3 absent" in app.messages


def test_tolerance_slider_rematches(app):
    button(app, "Try the demo photo").click()
    slider = next(s for s in widgets(app.widget, w.FloatSlider) if s.description == "Tolerance")
    slider.value = 0.3
    assert app.state.tolerance == 0.3
    assert status(app, "Barack_Obama") == "absent" and status(app, "Joe_Biden") == "present"
    cards = with_class(app, "sa-unknown-faces").children[1].children
    assert len(cards) == 1
    slider.value = 0.6
    assert status(app, "Barack_Obama") == "present"
    assert with_class(app, "sa-unknown-faces").children[1].children == ()


def test_toggle_corrects_a_student_by_hand(app):
    toggle = with_class(app, "sa-correct-Kit_Harington", w.ToggleButtons)
    assert toggle.disabled  # nothing to correct before a photo
    button(app, "Try the demo photo").click()
    assert toggle.value == "absent" and not toggle.disabled
    toggle.value = "present"
    assert status(app, "Kit_Harington") == "present"
    assert {s.id: s.source for s in app.state.attendance.students}["Kit_Harington"] == "manual"
    assert "Kit Harington marked present by hand" in app.messages


def test_unknown_face_added_as_new_student_from_its_card(app, app_settings):
    upload(app, [sample("lin-manuel-miranda.png")])
    card = with_class(app, "sa-unknown-faces").children[1].children[0]
    name = next(x for x in widgets(card, w.Text))
    name.value = "Lin Manuel"
    next(b for b in widgets(card, w.Button) if b.description == "Add as a new student").click()
    assert "Lin Manuel was added to the class" in app.messages
    assert status(app, "Lin_Manuel") == "present"
    assert (app_settings.roster_dir / "Lin_Manuel").is_dir()


def test_this_is_student_from_a_card_without_choosing_is_a_message(app):
    upload(app, [sample("lin-manuel-miranda.png")])
    card = with_class(app, "sa-unknown-faces").children[1].children[0]
    next(b for b in widgets(card, w.Button) if b.description == "This is the student above").click()
    assert "Choose the student" in app.messages


def test_save_then_history_tab_shows_the_session_and_chart(app):
    subject = next(t for t in widgets(app.widget, w.Text) if t.description == "Subject")
    subject.value = "Geography"
    button(app, "Try the demo photo").click()
    button(app, "Save session").click()
    assert "Session saved (number 1)" in app.messages
    tabs = widgets(app.widget, w.Tab)[0]
    tabs.selected_index = 2
    history = with_class(app, "sa-history", w.HTML).value
    assert "Geography" in history and "<td>1</td>" in history
    chart = with_class(app, "sa-history-chart-view", w.HTML)
    assert image_data(chart).startswith(b"\x89PNG")
    button(app, "Save session").click()
    assert "already saved" in app.messages


def test_save_with_nothing_is_a_message(app):
    button(app, "Save session").click()
    assert "Nothing to save yet" in app.messages


def test_csv_download_link_holds_the_attendance(app):
    assert with_class(app, "sa-download", w.HTML).value == ""
    button(app, "Try the demo photo").click()
    link = with_class(app, "sa-download", w.HTML).value
    data = base64.b64decode(link.split("base64,")[1].split('"')[0]).decode()
    assert "Barack_Obama,Barack Obama,present" in data and "Rose_Leslie,Rose Leslie,absent" in data


def test_roster_tab_shows_students_problems_and_adds_and_removes(app, app_settings):
    (app_settings.roster_dir / "Blank_Student.jpg").write_bytes(b"broken")
    button(app, "Reload roster").click()
    tabs = widgets(app.widget, w.Tab)[0]
    tabs.selected_index = 3
    roster_tab = tabs.children[3]
    cards = [c for c in widgets(roster_tab, w.VBox) if "sa-card" in c._dom_classes]
    assert len(cards) == 6
    assert "Blank_Student.jpg" in with_class(app, "sa-roster-problems", w.HTML).value
    # Add a student from a reference photo.
    next(t for t in widgets(roster_tab, w.Text) if t.description == "Name").value = "Lin Manuel"
    upload(app, [sample("lin-manuel-miranda.png")], description="Reference photos")
    button(app, "Add student").click()
    assert "Lin Manuel was added" in app.messages
    assert "Lin_Manuel" in app.state.roster.ids
    assert with_class(app, "sa-status-Lin_Manuel", w.HTML)  # a row in the attendance table too
    # Remove takes two clicks.
    remove = next(b for c in widgets(roster_tab, w.VBox) if "sa-card" in c._dom_classes
                  and "Lin Manuel" in c.children[1].value for b in widgets(c, w.Button))
    remove.click()
    assert "Lin_Manuel" in app.state.roster.ids
    remove.click()
    assert "Lin_Manuel" not in app.state.roster.ids
    assert "Lin Manuel was removed" in app.messages


def test_add_student_with_a_non_image_is_a_message(app):
    widgets(app.widget, w.Tab)[0].selected_index = 3
    next(t for t in widgets(app.widget, w.Text) if t.description == "Name").value = "Ada Lovelace"
    upload(app, [("ada.docx", b"PK\x03\x04 not a photo")], description="Reference photos")
    button(app, "Add student").click()
    assert "ada.docx: not an image" in app.messages


def test_missing_roster_folder_shows_a_message(tmp_path, data_dir):
    from attendance_core.config import load_settings

    app = AttendanceApp.from_settings(load_settings(roster_dir=tmp_path / "nowhere", data_dir=data_dir))
    assert "does not exist" in app.messages
    button(app, "Try the demo photo").click()
    assert "does not exist" in app.messages


def test_progress_names_each_photo_and_stage(app):
    stage = with_class(app, "sa-progress-text", w.HTML)
    shown: list[str] = []
    stage.observe(lambda change: shown.append(change["new"]), "value")
    upload(app, [sample("two_people.jpg"), sample("kit_with_rose.jpg")])
    text = " | ".join(shown)
    for expected in ("two_people.jpg: detecting faces", "two_people.jpg: encoding faces",
                     "two_people.jpg: matching", "kit_with_rose.jpg: detecting faces"):
        assert expected in text
    assert "Done" in stage.value and "two_people.jpg, kit_with_rose.jpg" in stage.value
    assert next(p for p in widgets(app.widget, w.FloatProgress)).value == 1
    assert [status(app, sid) for sid in ("Kit_Harington", "Rose_Leslie", "Alex_Lacamoire")] == \
        ["present", "present", "absent"]
