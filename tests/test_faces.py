"""Face detection and encoding on real photos through dlib: scale from the smallest face, tiles, merging."""
import numpy as np
import pytest

from attendance_core import faces
from attendance_core.faces import DetectorSettings, detect_faces, encode_faces, find_faces, plan_detection
from attendance_core.images import load_image
from attendance_core.synthetic import make_classroom, match_boxes


def test_tiles_cover_the_photo_with_enough_overlap():
    width, height, min_face = 4000, 3000, 32
    plan = plan_detection(width, height, "hog", min_face)
    fine = [t for t, s in plan if s > 1]
    coarse = [(t, s) for t, s in plan if s <= 1]
    assert len(fine) > 1 and len(coarse) == 1
    covered = np.zeros((height, width), dtype=bool)
    for x0, y0, x1, y1 in fine:
        covered[y0:y1, x0:x1] = True
    assert covered.all()
    # Any face the coarse pass cannot see (smaller than window / coarse scale) fits inside one tile.
    coarse_min_face = faces.DETECTORS["hog"].window / coarse[0][1]
    xs = sorted({t[0] for t in fine})
    ends = sorted({t[2] for t in fine})
    overlaps = [ends[i] - xs[i + 1] for i in range(len(xs) - 1)]
    assert min(overlaps) >= coarse_min_face


def test_small_photo_is_one_pass():
    assert plan_detection(640, 480, "hog", 32) == [((0, 0, 640, 480), faces.DETECTORS["hog"].window / 32)]


def test_large_min_face_shrinks_the_photo_instead_of_upsampling():
    (tile, scale), = plan_detection(1920, 1080, "hog", 200)
    assert scale < 1


def _assert_no_duplicates(boxes):
    for i in range(len(boxes)):
        for j in range(i + 1, len(boxes)):
            t1, r1, b1, l1 = boxes[i]
            t2, r2, b2, l2 = boxes[j]
            inter = max(0, min(r1, r2) - max(l1, l2)) * max(0, min(b1, b2) - max(t1, t2))
            assert inter < 0.3 * min((r1 - l1) * (b1 - t1), (r2 - l2) * (b2 - t2)), f"boxes {i} and {j} overlap"


@pytest.fixture(scope="module")
def devdata_portraits(devdata):
    import csv

    rows = list(csv.DictReader(open(devdata / "labels.csv")))
    seen, picks = set(), []
    for r in rows:
        if r["identity"] not in seen and r["path"].startswith("lfw/"):
            seen.add(r["identity"])
            picks.append((r["identity"], devdata / r["path"]))
    return picks


def test_back_row_faces_of_35_pixels_are_found_at_default_settings(devdata_portraits):
    image, placed = make_classroom(devdata_portraits[:10], size=(1920, 1080), face_widths=(35, 50), seed=5)
    assert len(placed) == 10
    boxes = detect_faces(image)  # default: min_face_size 32
    pairs = match_boxes(placed, boxes)
    assert len(pairs) == len(placed), f"found {len(pairs)} of {len(placed)} faces"
    _assert_no_duplicates(boxes)


def test_tiled_12_megapixel_photo_finds_every_face_once(devdata_portraits):
    image, placed = make_classroom(devdata_portraits, size=(4000, 3000), face_widths=(40, 160), seed=7)
    plan = plan_detection(image.shape[1], image.shape[0], "hog", 32)
    assert len(plan) > 2, "this photo must exercise tiling"
    boxes = detect_faces(image, min_face_size=32, workers=2)
    pairs = match_boxes(placed, boxes)
    assert len(pairs) == len(placed)
    _assert_no_duplicates(boxes)  # faces in tile overlaps are merged, not counted twice


def test_encodings_match_face_recognition_reference_implementation(demo_class):
    import face_recognition

    image = load_image(demo_class / "sample_images" / "two_people.jpg")
    found = find_faces(image, DetectorSettings())
    assert len(found) == 2
    theirs = face_recognition.face_encodings(image, [tuple(int(v) for v in b) for b in found.boxes])
    assert np.allclose(found.encodings, np.array(theirs), atol=1e-6)


def test_encodings_of_the_same_person_are_close_and_of_others_far(demo_class):
    obama = load_image(demo_class / "known_faces" / "Barack_Obama" / "obama.jpg")
    obama_again = load_image(demo_class / "sample_images" / "obama1.jpg")
    biden = load_image(demo_class / "known_faces" / "Joe_Biden" / "biden.jpg")
    e = [find_faces(img).encodings[0] for img in (obama, obama_again, biden)]
    assert np.linalg.norm(e[0] - e[1]) < 0.5 < np.linalg.norm(e[0] - e[2])


def test_no_faces_and_no_boxes():
    blank = np.full((300, 400, 3), 127, dtype=np.uint8)
    assert detect_faces(blank).shape == (0, 4)
    assert encode_faces(blank, np.zeros((0, 4))).shape == (0, 128)


def test_cnn_detector_finds_the_face(demo_class):
    image = load_image(demo_class / "sample_images" / "obama-480p.jpg")
    boxes = detect_faces(image, model="cnn", min_face_size=80)
    assert len(boxes) == 1


def test_missing_models_give_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setattr(faces, "_models_dir", lambda: tmp_path)
    faces._model.cache_clear()
    try:
        with pytest.raises(faces.ModelError, match="model file missing"):
            faces._model("encoder")
    finally:
        faces._model.cache_clear()
