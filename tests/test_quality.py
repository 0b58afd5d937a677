"""A face's quality reading and what it means (issue 27): the measurement on real pixels, the words the
teacher reads, and the decisions it changes (on synthetic results: the rules, not the faces)."""
from __future__ import annotations

import cv2
import numpy as np

from attendance_core.decisions import DecisionRules, decide_face, suggest_students
from attendance_core.images import load_image
from attendance_core.quality import face_quality
from attendance_core.results import (HIDDEN, MIN_LIGHT, MIN_SHARPNESS, MIN_WIDTH, TOO_BLURRED, TOO_DARK, TOO_SMALL,
                                     Attendance, DetectedFaces, FaceQuality, FaceResult, Photo, retake_message)

from conftest import SAMPLE_IMAGES

#: Obama's face in obama-720p.jpg (top, right, bottom, left), as the detector finds it.
OBAMA_720P = (101, 757, 268, 590)
SHARP = FaceQuality(2.0, 120.0, 120)


def test_blur_lowers_the_sharpness_reading_and_darkness_the_light_reading(demo_class):
    image = load_image(SAMPLE_IMAGES / "obama-720p.jpg")
    width = OBAMA_720P[1] - OBAMA_720P[3]
    sharp, = face_quality(image, [OBAMA_720P])
    blurred, = face_quality(cv2.GaussianBlur(image, (0, 0), 0.05 * width), [OBAMA_720P])
    dark, = face_quality((image * 0.2).astype(np.uint8), [OBAMA_720P])
    assert sharp.problem is None and sharp.width == width
    assert blurred.sharpness < MIN_SHARPNESS < sharp.sharpness / 5 and blurred.problem == TOO_BLURRED
    # A dim but sharp face keeps its sharpness (detail is read against contrast) and is too dark.
    assert dark.light < MIN_LIGHT and dark.problem == TOO_DARK
    assert dark.sharpness > MIN_SHARPNESS


def test_a_face_the_detector_did_not_confirm_reads_as_partly_hidden_and_a_tiny_one_as_too_small():
    assert FaceQuality(2.0, 120.0, 120, confirmed=False).problem == HIDDEN
    assert FaceQuality(2.0, 120.0, MIN_WIDTH - 1).problem == TOO_SMALL
    assert FaceQuality(0.05, 10.0, 10, confirmed=False).problem == TOO_BLURRED  # the worst problem is named
    # A box that falls outside the photo reads as nothing to see, not as an error.
    assert face_quality(np.zeros((50, 50, 3), np.uint8), [(40, 60, 60, 40)])[0].sharpness == 0.0


def test_the_retake_message_counts_each_problem_and_says_what_to_do():
    assert retake_message({}) is None
    assert retake_message({TOO_BLURRED: 4}) == ("4 faces too blurred to recognise: take another photo (closer, "
                                                 "steadier, more light); it is added to this session")
    assert retake_message({TOO_DARK: 1, TOO_BLURRED: 2, HIDDEN: 1}).startswith(
        "2 faces too blurred, 1 face too dark and 1 face partly hidden or turned to recognise")


def _face(student, distance, quality=SHARP, photo=0, k=0, runner_up=None, runner_up_distance=None,
          nearest=None, nearest_distance=None):
    return FaceResult(photo, k, (0, 10, 10, 0), student, distance, False, nearest or student,
                      nearest_distance if nearest_distance is not None else distance,
                      runner_up=runner_up, runner_up_distance=runner_up_distance, quality=quality)


def test_a_doubtful_match_on_a_blurred_face_is_offered_as_one_tap_not_marked():
    rules = DecisionRules(0.58)
    blurred = FaceQuality(0.1, 120.0, 120)
    held = decide_face(_face("Amy", 0.56, blurred), 0.58, rules)
    assert (held.student, held.suggestion, held.check) == (None, "Amy", False)
    assert held.reason == "too blurred: not sure enough to name (0.56)"
    # Almost as close as another student: doubtful too.
    assert decide_face(_face("Amy", 0.45, blurred, runner_up="Ben", runner_up_distance=0.47), 0.58,
                       rules).student is None
    # A sure match on a blurred face is kept, and flagged for a look.
    kept = decide_face(_face("Amy", 0.40, blurred), 0.58, rules)
    assert (kept.student, kept.check, kept.reason) == ("Amy", True, "too blurred: look at the face (0.40)")
    # The same doubtful match on a sharp face stays present, flagged, as before.
    sharp = decide_face(_face("Amy", 0.56), 0.58, rules)
    assert (sharp.student, sharp.check) == ("Amy", True) and sharp.reason.startswith("close to the limit")


def test_an_unnamed_face_is_offered_its_nearest_free_student_when_clearly_nearest_and_within_the_band():
    rules = DecisionRules(0.58, suggest_band=0.06, suggest_margin=0.04)
    faces = [_face(None, None, nearest="Amy", nearest_distance=0.61, k=0),
             _face(None, None, nearest="Ben", nearest_distance=0.65, k=1),  # beyond 0.58 + 0.06
             _face("Cy", 0.30, k=2),
             _face(None, None, nearest="Cy", nearest_distance=0.60, k=3),  # Cy is named already
             _face(None, None, nearest="Dee", nearest_distance=0.60, runner_up="Eve", runner_up_distance=0.62, k=4),
             _face(None, None, nearest="Dee", nearest_distance=0.60, runner_up="Eve", runner_up_distance=0.66, k=0,
                   photo=1)]
    out = suggest_students(faces, 0.58, rules)
    # Dee is offered only where Eve is clearly further (a stranger is usually about as close to two students).
    assert [f.suggestion for f in out] == ["Amy", None, None, None, None, "Dee"]
    assert suggest_students(faces, 0.58, DecisionRules(0.58, suggest_band=0))[0].suggestion is None


def test_the_attendance_counts_unsure_and_poor_faces_and_says_retake():
    blurred = FaceQuality(0.1, 120.0, 120)
    faces = [FaceResult(0, 0, (0, 10, 10, 0), None, None, False, "Amy", 0.6, suggestion="Amy", quality=blurred),
             FaceResult(0, 1, (0, 30, 10, 20), None, None, False, "Ben", 0.9, quality=blurred),
             FaceResult(0, 2, (0, 50, 10, 40), "Cy", 0.3, False, "Cy", 0.3, quality=blurred)]
    att = Attendance([], faces, [Photo("p.jpg", DetectedFaces.empty(), (100, 100))], 0.58)
    assert [f.face for f in att.unsure_faces] == [0]
    assert att.poor_faces == {TOO_BLURRED: 2}  # the named face is not counted: it was recognised
    data = att.to_dict()
    assert data["unsure_faces"] == 1 and data["retake"].startswith("2 faces too blurred to recognise")
    assert data["photos"][0]["faces"][0]["suggestion"] == "Amy"
    assert data["photos"][0]["faces"][0]["quality"]["problem"] == TOO_BLURRED
