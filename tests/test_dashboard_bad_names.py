"""Odd names in the roster and in uploads (issue 10, items 12 and 13): the dashboard keeps working and
the roster folder only ever gets whole, readable students."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from attendance_core.app import AttendanceApp, DashboardState
from attendance_core.app.charts import rates_chart
from attendance_core.app.common import image_data
from attendance_core.app.state import AppError

from conftest import SAMPLE_IMAGES

PORTRAIT = SAMPLE_IMAGES / "obama-480p.jpg"  # a JPEG with one face


def widgets(root):
    found = [root]
    for child in getattr(root, "children", ()):
        found += widgets(child)
    return found


@pytest.fixture
def state(app_settings) -> DashboardState:
    return DashboardState(app_settings, demo_photo=SAMPLE_IMAGES / "two_people.jpg")


def entries(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


# ----- item 12: names in the History chart and in CSS classes ------------------------------------------

def test_dollar_signs_in_a_student_name_draw_the_history_chart():
    summary = pd.DataFrame({"student_id": ["Bad$\\frac$_F", "Ada"], "name": ["Bad$\\frac$ F", "Ada"],
                            "rate": [0.5, 1.0]})
    png = rates_chart(summary, "Class $x$")
    assert png.startswith(b"\x89PNG")


def test_a_roster_student_named_with_dollars_shows_in_history(state, app_settings):
    shutil.copy(PORTRAIT, app_settings.roster_dir / "Bad$\\frac$_F.jpg")
    state.reload_roster()
    assert "Bad$\\frac$_F" in state.roster.ids
    state.subject = "Maths"
    state.add_photos([("two_people.jpg", (SAMPLE_IMAGES / "two_people.jpg").read_bytes())])
    state.save()
    app = AttendanceApp(state)
    app.show(type(app.tabs[2]))
    chart = next(x for x in widgets(app.widget) if "sa-history-chart-view" in getattr(x, "_dom_classes", ()))
    assert image_data(chart).startswith(b"\x89PNG")
    assert "Something went wrong" not in app.messages


def test_a_student_id_with_a_space_is_never_used_as_a_css_class(state, app_settings):
    shutil.copy(PORTRAIT, app_settings.roster_dir / "Ada Lovelace.jpg")
    state.reload_roster()
    assert "Ada Lovelace" in state.roster.ids
    app = AttendanceApp(state)
    classes = [c for x in widgets(app.widget) for c in getattr(x, "_dom_classes", ())]
    bad = [c for c in classes if not re.fullmatch(r"[A-Za-z_-][A-Za-z0-9_-]*", c)]
    assert bad == []
    # Her row still has its own status and correction classes, distinct from everyone else's.
    assert classes.count("sa-status-Ada-20-Lovelace") == 1 and classes.count("sa-correct-Ada-20-Lovelace") == 1


# ----- item 13: Add student with odd upload names ----------------------------------------------------------

@pytest.mark.parametrize("upload_name, saved", [("ok.txt", "ok.jpg"), ("passwd", "passwd.jpg"),
                                                ("", "photo.jpg"), (".", "photo.jpg"), ("..", "photo.jpg"),
                                                ("../../evil.png", "evil.jpg")])
def test_a_reference_photo_is_saved_under_its_detected_format(state, app_settings, upload_name, saved):
    before = entries(app_settings.roster_dir)
    sid = state.add_student("Ada Lovelace", [(upload_name, PORTRAIT.read_bytes())])
    assert entries(app_settings.roster_dir) == before | {"Ada_Lovelace"}
    assert [p.name for p in (app_settings.roster_dir / sid).iterdir()] == [saved]
    assert state.roster.student(sid).usable  # read back as a reference photo


def test_two_uploads_of_the_same_name_are_both_kept(state, app_settings):
    sid = state.add_student("Ada Lovelace", [("a.jpg", PORTRAIT.read_bytes()),
                                             ("a.jpg", (SAMPLE_IMAGES / "obama-240p.jpg").read_bytes())])
    assert sorted(p.name for p in (app_settings.roster_dir / sid).iterdir()) == ["a-2.jpg", "a.jpg"]


def test_a_long_upload_name_is_shortened(state, app_settings):
    sid = state.add_student("Ada Lovelace", [("x" * 300 + ".jpg", PORTRAIT.read_bytes())])
    (saved,) = (app_settings.roster_dir / sid).iterdir()
    assert saved.name == "x" * 60 + ".jpg"


def test_a_300_character_name_is_refused_and_nothing_is_written(state, app_settings):
    before = entries(app_settings.roster_dir)
    with pytest.raises(AppError, match="too long for a student name"):
        state.add_student("A" * 300, [("ada.jpg", PORTRAIT.read_bytes())])
    assert entries(app_settings.roster_dir) == before


def test_a_bad_second_photo_leaves_nothing_behind(state, app_settings):
    before = entries(app_settings.roster_dir)
    with pytest.raises(AppError, match="notes.jpg: not an image"):
        state.add_student("Ada Lovelace", [("ada.jpg", PORTRAIT.read_bytes()), ("notes.jpg", b"not a photo")])
    assert entries(app_settings.roster_dir) == before


def test_a_failed_write_leaves_no_half_made_student(state, app_settings, monkeypatch):
    before = entries(app_settings.roster_dir)
    real = Path.write_bytes
    written = []

    def second_write_fails(self, data):
        written.append(self)
        if len(written) == 2:
            raise OSError(28, "No space left on device")
        return real(self, data)

    monkeypatch.setattr(Path, "write_bytes", second_write_fails)
    with pytest.raises(AppError, match="could not be added: No space left on device"):
        state.add_student("Ada Lovelace", [("a.jpg", PORTRAIT.read_bytes()), ("b.jpg", PORTRAIT.read_bytes())])
    assert entries(app_settings.roster_dir) == before  # no student folder, no hidden staging folder
