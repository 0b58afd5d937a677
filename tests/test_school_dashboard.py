"""The dashboard follows the consent recorded in the records: the same rules as the command line."""
from __future__ import annotations

import io
import re

import ipywidgets as w
import numpy as np
import pytest
from PIL import Image

from attendance_core.app import AttendanceApp
from attendance_core.app.state import AppError, DashboardState
from attendance_core.results import ABSENT, CONSENT_REFUSED, PRESENT
from attendance_core.school import set_consent

from conftest import SAMPLE_IMAGES


def test_dashboard_never_recognises_a_student_who_refused_and_blurs_unknown_faces(app_settings):
    set_consent(app_settings, "Joe_Biden", CONSENT_REFUSED, by="office")
    state = DashboardState(app_settings, demo_photo=SAMPLE_IMAGES / "two_people.jpg")
    assert state.roster.without_consent == ["Joe_Biden"]
    assert state.add_demo_photo() == []
    status = {s.id: s.status for s in state.attendance.students}
    assert (status["Barack_Obama"], status["Joe_Biden"]) == (PRESENT, ABSENT)
    [unknown] = state.unknown_faces()
    crop = np.asarray(Image.open(io.BytesIO(state.face_crop(unknown))).convert("L"), dtype=float)
    assert np.abs(np.diff(crop, axis=1)).mean() < 2.0  # blurred: no detail left
    with pytest.raises(AppError, match="no consent"):
        state.add_face_to_student(unknown.number, "Joe_Biden")


def test_roster_tab_records_consent_and_the_class_follows_it(app_settings):
    app = AttendanceApp(DashboardState(app_settings, demo_photo=SAMPLE_IMAGES / "two_people.jpg"))
    tabs = _all(app.widget, w.Tab)[0]
    roster_tab = [view.title for view in AttendanceApp.TAB_VIEWS].index("Roster")
    tabs.selected_index = roster_tab
    cards = {c.children[1].value.split("</b>")[0].split("<b>")[1]: c
             for c in _all(tabs.children[roster_tab], w.VBox) if "sa-card" in c._dom_classes}
    consent = next(d for d in _all(cards["Rose Leslie"], w.Dropdown) if "sa-consent" in d._dom_classes)
    # Shown "Consent", read by a screen reader with the student's name.
    assert re.sub(r"<[^>]+>", "", consent.description) == "Consent of Rose Leslie"
    assert consent.value is None  # a roster folder without class lists records no consent
    consent.value = CONSENT_REFUSED
    assert "Consent of Rose Leslie recorded: refused" in app.messages
    assert app.state.roster.without_consent == ["Rose_Leslie"]
    app.state.add_photos([("kit_with_rose.jpg", (SAMPLE_IMAGES / "kit_with_rose.jpg").read_bytes())])
    status = {s.id: s.status for s in app.state.attendance.students}
    assert (status["Kit_Harington"], status["Rose_Leslie"]) == (PRESENT, ABSENT)


def test_each_photo_shows_its_time(app_settings):
    app = AttendanceApp(DashboardState(app_settings, demo_photo=SAMPLE_IMAGES / "two_people.jpg"))
    app.state.add_photos([("alex.jpg", (SAMPLE_IMAGES / "alex_lacamoire1.jpg").read_bytes())])
    captions = [x.value for x in _all(app.widget, w.HTML) if "alex.jpg</b>" in x.value]
    assert len(captions) == 1 and "taken 2016-05-04 11:49 (camera)" in captions[0]


def test_class_start_in_the_dashboard_marks_a_student_first_seen_20_minutes_later_late(app_settings):
    from datetime import datetime, timedelta, timezone

    from attendance_core.results import LATE
    from test_late import with_exif_time

    start = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
    app = AttendanceApp(DashboardState(app_settings.replace(late_after_minutes=10)))
    app.state.add_photos([("first.jpg", with_exif_time(SAMPLE_IMAGES / "obama1.jpg", start + timedelta(minutes=2))),
                          ("second.jpg", with_exif_time(SAMPLE_IMAGES / "two_people.jpg", start + timedelta(minutes=20)))])
    status = lambda: {s.id: s.status for s in app.state.attendance.students}  # noqa: E731
    assert (status()["Barack_Obama"], status()["Joe_Biden"]) == (PRESENT, PRESENT)  # no class start given
    when = next(x for x in _all(app.widget, w.NaiveDatetimePicker) if x.description == "Date & time")
    late = next(x for x in _all(app.widget, w.Checkbox) if "sa-late-start" in x._dom_classes)
    assert "late after 10 min" in late.description
    when.value = start.astimezone().replace(tzinfo=None)
    late.value = True
    assert (status()["Barack_Obama"], status()["Joe_Biden"]) == (PRESENT, LATE)
    assert "Class start" in app.messages and "1 late" in app.messages
    late.value = False
    assert status()["Joe_Biden"] == PRESENT


def test_classes_with_an_imported_list_are_offered_and_marked_against_it(app_settings, tmp_path):
    from attendance_core.school import import_class_list

    csv_file = tmp_path / "classes.csv"
    csv_file.write_text("student_id,name,class,consent\nKit_Harington,Kit Harington,Drama,given\n"
                        "Rose_Leslie,Rose Leslie,Drama,given\n", encoding="utf-8")
    import_class_list(csv_file, app_settings, by="office")
    state = DashboardState(app_settings)
    assert list(state.classes) == ["Drama", "known faces"] and state.class_name == "Drama"
    assert state.roster.ids == ["Kit_Harington", "Rose_Leslie"]
    state.class_name = "known faces"
    assert len(state.roster) == 5


def _all(root, kind):
    found = [root] if isinstance(root, kind) else []
    for child in getattr(root, "children", ()):
        found += _all(child, kind)
    return found
