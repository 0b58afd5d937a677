"""The review of every face (issue 13): doubtful faces first, one tap each, the decision saved.

The order and the markers are checked on results built directly; the whole flow runs through the
dashboard's widgets on a 12-megapixel composite of about 20 faces where a stranger is matched just
inside the tolerance.
"""
from __future__ import annotations

import shutil
from itertools import combinations

import ipywidgets as w
import numpy as np
import pytest

from attendance_core import annotate
from attendance_core.app import AppError, AttendanceApp, DashboardState
from attendance_core.app.common import image_data
from attendance_core.app.review import ReviewView
from attendance_core.app.review_list import AMBIGUOUS, CHECK, SURE, UNKNOWN, photo_markers, review_items
from attendance_core.config import load_settings
from attendance_core.results import ABSENT, PRESENT, REJECTED, Attendance, DetectedFaces, FaceResult, Photo

from conftest import KNOWN_FACES, SAMPLE_IMAGES
from crowd_class import shared_crowd


def face(photo, k, student, distance, ambiguous=False, check=False, review=None, box=None):
    box = box or (100, 100 * k + 80, 180, 100 * k)
    return FaceResult(photo, k, box, student, distance, ambiguous, student or "Ada", distance or 0.7,
                      check=check, review=review)


def attendance(faces, photos=2) -> Attendance:
    return Attendance([], faces, [Photo(f"p{i}.jpg", DetectedFaces.empty(), (2000, 1000)) for i in range(photos)], 0.6)


def test_review_order_is_unknown_ambiguous_check_then_sure_and_decided():
    faces = [face(0, 0, "Ada", 0.30), face(0, 1, "Alan", 0.58, check=True), face(0, 2, None, None),
             face(1, 0, "Grace", 0.45, ambiguous=True), face(1, 1, "Bob", 0.59, check=True, review=REJECTED),
             face(1, 2, "Eve", 0.20)]
    items = review_items(attendance(faces), {"Ada": "Ada L"})
    assert [(i.number, i.group, i.asked) for i in items] == [
        (3, UNKNOWN, True), (4, AMBIGUOUS, True), (2, CHECK, True),
        (1, SURE, False), (5, CHECK, False), (6, SURE, False)]
    assert items[0].reason == "matches no student (nearest: Ada L, 0.70)"
    assert items[3].name == "Ada L" and items[4].decision == REJECTED


def test_markers_of_thirty_crowded_faces_never_overlap_and_keep_their_numbers():
    rng = np.random.default_rng(0)
    faces = []
    for k in range(30):
        row, col = divmod(k, 6)
        left, top = 120 + col * 620 + int(rng.integers(-40, 40)), 150 + row * 560 + int(rng.integers(-40, 40))
        side = 60 + row * 20
        faces.append(face(0, k, "Ada" if k % 3 else None, 0.4, check=k % 5 == 0,
                          box=(top, left + side, top + side, left)))
    att = Attendance([], faces, [Photo("crowd.jpg", DetectedFaces.empty(), (4000, 3000))], 0.6)
    markers = photo_markers(att, 0, {})
    assert [m.number for m in markers] == list(range(1, 31))
    rects = [(m.left * 4000, m.top * 3000, (m.left + m.width) * 4000, (m.top + m.height) * 3000) for m in markers]
    assert all(not annotate._overlaps(a, b, 0) for a, b in combinations(rects, 2))
    assert markers[0].width * 4000 >= 0.02 * 4000  # big enough to read when the photo is enlarged
    assert {m.kind for m in markers} == {annotate.UNKNOWN, annotate.CHECK, annotate.MATCHED}


def test_markers_on_faces_touching_each_other_still_do_not_overlap():
    boxes = [(100, 100 + 50 * k + 45, 145, 100 + 50 * k) for k in range(12)]  # a row of faces side by side
    rects = annotate.place_markers(boxes, (1000, 400))
    assert all(not annotate._overlaps(a, b, 0) for a, b in combinations(rects, 2))


def test_check_faces_are_drawn_in_their_own_colour():
    assert annotate.face_kind("Ada", False, check=True) == annotate.CHECK
    assert annotate.COLORS[annotate.CHECK] not in (annotate.COLORS[annotate.MATCHED], annotate.COLORS[annotate.UNKNOWN])


# ----- the whole flow on a crowded class photo ------------------------------------------------------------

@pytest.fixture(scope="module")
def crowd(devdata, demo_class, tmp_path_factory):
    return shared_crowd(devdata, KNOWN_FACES, SAMPLE_IMAGES, tmp_path_factory)


@pytest.fixture
def crowd_app(crowd, tmp_path):
    built, cache = crowd
    data = tmp_path / "attendance_data"
    shutil.copytree(cache, data / "cache")
    settings = load_settings(roster_dir=built.roster_dir, data_dir=data, tolerance=built.tolerance, min_face_size=50)
    return AttendanceApp(DashboardState(settings))


def widgets(root):
    found = [root]
    for child in getattr(root, "children", ()):
        found += widgets(child)
    return found


def test_stranger_inside_the_tolerance_is_reviewed_first_and_not_this_student_is_saved(crowd, crowd_app):
    built, _ = crowd
    app, state = crowd_app, crowd_app.state
    state.subject = "History"
    assert state.add_photos([(built.photo.name, built.photo.read_bytes())]) == []
    assert built.nearest in state.attendance.present
    review = app.show(ReviewView)
    assert review.title == "Review faces (1)"
    cards = [x for x in widgets(review.widget) if "sa-review-item" in getattr(x, "_dom_classes", ())]
    first = cards[0]
    assert "sa-review-check" in first._dom_classes
    item = state.review_items()[0]
    assert (item.group, item.student) == (CHECK, built.nearest)
    assert len(state.attendance.faces) == built.faces >= 19
    text = next(x for x in widgets(first) if "sa-review-text" in getattr(x, "_dom_classes", ())).value
    assert f"Face {item.number}" in text and "check" in text and f"{item.distance:.2f}" in text
    # The face's crop and the student's reference photo, side by side, big enough to know a face.
    images = [image_data(x) for x in widgets(first) if isinstance(x, w.HTML) and "<img " in x.value]
    assert len(images) == 2 and all(len(i) > 2000 for i in images)

    reject = next(x for x in widgets(first) if "sa-review-reject" in getattr(x, "_dom_classes", ()))
    reject.click()
    student = {s.id: s for s in state.attendance.students}[built.nearest]
    assert student.status == ABSENT and student.automatic_status == PRESENT
    assert f"is {ABSENT} now" in app.messages
    assert not any(i.asked for i in state.review_items())  # decided: not asked again
    assert review.title == "Review faces"

    session_id = state.save()
    marks = state.store().session_marks(session_id).set_index("student_id")
    assert marks.loc[built.nearest, "status"] == ABSENT
    trail = state.store().corrections(session_id)
    row = trail[trail["student_id"] == built.nearest].iloc[0]
    assert (row["old_status"], row["new_status"]) == (PRESENT, ABSENT)
    assert [(r.decision, r.student) for r in state.attendance.reviews] == [(REJECTED, built.nearest)]


def test_it_is_another_student_and_a_decision_after_saving_are_recorded(app_settings):
    state = DashboardState(app_settings)
    state.subject = "Civics"
    state.add_photos([("two_people.jpg", (SAMPLE_IMAGES / "two_people.jpg").read_bytes())])
    obama = next(i for i in state.review_items() if i.student == "Barack_Obama")
    state.review_face(obama.number, "reassigned", "Kit_Harington")
    by_id = {s.id: s.status for s in state.attendance.students}
    assert (by_id["Kit_Harington"], by_id["Barack_Obama"]) == (PRESENT, ABSENT)
    session_id = state.save()
    state.review_face(obama.number, None)  # taken back after saving: the saved marks follow, audited
    marks = state.store().session_marks(session_id).set_index("student_id")
    assert (marks.loc["Kit_Harington", "status"], marks.loc["Barack_Obama", "status"]) == (ABSENT, PRESENT)
    trail = state.store().corrections(session_id)
    last = trail[trail["student_id"] == "Barack_Obama"].iloc[-1]
    assert (last["old_status"], last["new_status"]) == (ABSENT, PRESENT)
    assert last["note"].startswith("face review: face 1 of two_people.jpg")
    with pytest.raises(AppError, match="no face 9"):
        state.review_face(9, REJECTED)
