"""The photos a hurried teacher takes (issue 27), through the real pipeline: faces HOG misses are found,
faces too poor to name are offered as one tap, and every front end says "take another photo".

The hard photos are made here from the demo class's sample photos (blurred, half covered, cut by the
edge), never stored.
"""
from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from attendance_core.app import DashboardState
from attendance_core.app.review_list import UNSURE
from attendance_core.evaluation import conditions
from attendance_core.faces import detect_faces, locate_faces
from attendance_core.images import load_image
from attendance_core.proposals import YUNET_FILE, YUNET_KEEP_SCORE, yunet_faces
from attendance_core.recognition import AnalysisOptions, analyse_photo
from attendance_core.results import HIDDEN, PRESENT, REASSIGNED, TOO_BLURRED

from conftest import KNOWN_FACES, SAMPLE_IMAGES


def blurred(name: str, share: float) -> np.ndarray:
    """A sample photo out of focus: Gaussian blur with sigma ``share`` of its largest face's width."""
    image = load_image(SAMPLE_IMAGES / name)
    width = max(r - l for _, r, _, l in detect_faces(image))
    return cv2.GaussianBlur(image, (0, 0), share * width)


def jpeg(image: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(image).save(out, format="JPEG", quality=92)
    return out.getvalue()


@pytest.fixture(scope="module")
def blurred_class(demo_class, tmp_path_factory) -> Path:
    """two_people.jpg so blurred (sigma 4% of a face) that both faces are too unsure to name."""
    path = tmp_path_factory.mktemp("hard") / "blurred_two_people.jpg"
    path.write_bytes(jpeg(blurred("two_people.jpg", 0.04)))
    return path


def test_the_yunet_model_shipped_is_the_one_its_source_names():
    import hashlib

    row, = csv.DictReader(open(YUNET_FILE.parent / "SOURCES.csv", newline=""))
    assert row["file"] == YUNET_FILE.name and row["url"].startswith("https://github.com/opencv/opencv_zoo/")
    assert hashlib.sha256(YUNET_FILE.read_bytes()).hexdigest() == row["sha256"]
    assert "MIT License" in (YUNET_FILE.parent / "LICENSE").read_text()


def test_faces_too_blurred_for_hog_are_found_by_the_second_opinion(demo_class):
    image = blurred("two_people.jpg", 0.08)
    assert len(detect_faces(image, second_opinion=False)) == 0  # HOG alone: an empty class
    found = locate_faces(image)
    assert len(found) == 2 and not found.confirmed.any()
    # Each is the face of one of the two people: where the sharp photo's faces are.
    sharp = detect_faces(load_image(SAMPLE_IMAGES / "two_people.jpg"))
    for box in found.boxes:
        centre = np.array([(box[1] + box[3]) / 2, (box[0] + box[2]) / 2])
        assert min(np.hypot(*(centre - [(s[1] + s[3]) / 2, (s[0] + s[2]) / 2])) for s in sharp) < 0.2 * (box[1] - box[3])


def test_a_face_with_its_mouth_and_chin_covered_is_found_and_read_as_such(demo_class):
    image = load_image(SAMPLE_IMAGES / "obama-720p.jpg")
    box, = detect_faces(image)
    data, centre, width = conditions.degrade(image, box, conditions.condition("covered-strong"), np.random.default_rng(1))
    analysis = analyse_photo(data, "masked.png", AnalysisOptions())
    assert len(analysis.boxes) == 1
    quality, = analysis.quality
    assert quality.width > 100 and quality.problem in (None, HIDDEN)


def test_half_a_face_at_the_photo_edge_is_not_kept_though_yunet_sees_it(demo_class):
    image = load_image(SAMPLE_IMAGES / "kit_with_rose.jpg")
    top, right, bottom, left = detect_faces(image)[0]
    cut = np.ascontiguousarray(image[:, int(left + 0.4 * (right - left)):])
    _, scores, _ = yunet_faces(cut, 32)
    assert scores.max() >= YUNET_KEEP_SCORE  # YuNet is sure there is a face...
    assert len(locate_faces(cut)) == 0  # ...but a face 60% in the picture cannot be recognised


def test_a_blurred_class_photo_offers_each_student_as_one_tap_and_asks_for_another_photo(app_settings, blurred_class):
    state = DashboardState(app_settings)
    state.subject = "Civics"
    state.add_photos([(blurred_class.name, blurred_class.read_bytes())])
    att = state.attendance
    assert att.present == [] and {f.suggestion for f in att.unsure_faces} == {"Barack_Obama", "Joe_Biden"}
    assert att.poor_faces == {TOO_BLURRED: 2}
    assert att.retake.startswith("2 faces too blurred to recognise: take another photo")
    items = state.review_items()
    assert [i.group for i in items[:2]] == [UNSURE, UNSURE]
    # The most doubtful (the furthest from its student) first.
    assert items[0].nearest_distance >= items[1].nearest_distance
    obama = next(i for i in items if i.suggestion == "Barack_Obama")
    assert obama.suggestion_name == "Barack Obama" and obama.asked
    state.review_face(obama.number, REASSIGNED, obama.suggestion)  # the one tap
    by_id = {s.id: s for s in state.attendance.students}
    assert by_id["Barack_Obama"].status == PRESENT and by_id["Barack_Obama"].source == "manual"
    session_id = state.save()
    trail = state.store().corrections(session_id)
    note = trail[trail["student_id"] == "Barack_Obama"]["note"].iloc[-1]
    assert note == f"review: face {obama.face + 1} in {blurred_class.name} reassigned to this student"


def test_attendance_mark_says_unsure_and_retake_in_json_and_table(demo_class, blurred_class, data_dir):
    exe = [sys.executable, "-m", "attendance_core.cli", "mark", str(blurred_class), "--roster", str(KNOWN_FACES)]
    out = json.loads(subprocess.run(exe + ["--format", "json"], capture_output=True, text=True, check=True).stdout)
    assert out["present"] == [] and out["unsure_faces"] == 2 and out["poor_faces"] == {TOO_BLURRED: 2}
    faces = out["photos"][0]["faces"]
    assert sorted(f["suggestion"] for f in faces) == ["Barack_Obama", "Joe_Biden"]
    assert all(f["quality"]["problem"] == TOO_BLURRED and f["student"] is None for f in faces)
    table = subprocess.run(exe, capture_output=True, text=True, check=True).stdout
    assert "2 face(s) too unsure to name" in table
    assert "2 faces too blurred to recognise: take another photo (closer, steadier, more light)" in table
    obama = next(line for line in table.splitlines() if line.startswith("Barack Obama"))
    assert "absent" in obama and "UNSURE: perhaps the face at" in obama and blurred_class.name in obama


def test_a_sharp_second_photo_of_the_same_class_marks_them_present(app_settings, blurred_class):
    state = DashboardState(app_settings)
    state.add_photos([(blurred_class.name, blurred_class.read_bytes())])
    state.add_photos([("two_people.jpg", (SAMPLE_IMAGES / "two_people.jpg").read_bytes())])
    att = state.attendance
    assert {"Barack_Obama", "Joe_Biden"} <= set(att.present) and len(att.photos) == 2
    # Named in the second photo: nothing left to offer, nothing to retake.
    assert att.unsure_faces == [] and att.retake is None
