"""The evaluation maths on synthetic encodings and distance matrices with known answers, then the dev set."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from attendance_core import evaluation as ev
from attendance_core.faces import DetectedFaces
from attendance_core.roster import Roster
from attendance_core.synthetic import PlacedFace


def _clusters(people: int, photos: int, spread: float, separation: float, seed: int = 0):
    """Encodings of ``people`` clusters: centres ``separation`` apart on orthogonal axes, photos within ``spread``."""
    rng = np.random.default_rng(seed)
    enc, ids = [], []
    for p in range(people):
        centre = np.zeros(128)
        centre[p] = separation / np.sqrt(2)  # orthogonal centres: |c_a - c_b| = separation
        for _ in range(photos):
            noise = rng.normal(size=128)
            enc.append(centre + noise / np.linalg.norm(noise) * spread * rng.uniform(0.2, 1.0))
            ids.append(f"Person_{p}")
    return np.array(enc), ids


def _axis(*values: float) -> np.ndarray:
    """Encodings on one axis: distances between them are differences of ``values``."""
    out = np.zeros((len(values), 128))
    out[:, 0] = values
    return out


# --- pairs -----------------------------------------------------------------------------------


def test_pair_distances_split_same_and_different_pairs():
    enc = _axis(0.0, 0.3, 1.0, 1.5, 3.0)
    same, different = ev.pair_distances(enc, ["A", "A", "B", "B", "C"])
    assert sorted(np.round(same, 6)) == [0.3, 0.5]
    # A-B: 1.0 1.5 0.7 1.2; A-C: 3.0 2.7; B-C: 2.0 1.5
    assert sorted(np.round(different, 6)) == [0.7, 1.0, 1.2, 1.5, 1.5, 2.0, 2.7, 3.0]


def test_pair_distances_with_probes_compare_each_reference_with_every_other_photo_in_class():
    references = _axis(0.0, 1.0, 5.0)
    probes = _axis(0.1, 1.3, 5.2)  # the same photos, encoded as classroom faces
    same, different = ev.pair_distances(references, ["A", "A", "B"], probes)
    assert sorted(np.round(same, 6)) == [0.9, 1.3]  # probe 0 vs reference 1, probe 1 vs reference 0; never a photo with itself
    assert sorted(np.round(different, 6)) == [3.7, 4.2, 4.9, 5.2]
    # Probes identical to the references: every unordered pair counted twice.
    twice_same, twice_different = ev.pair_distances(references, ["A", "A", "B"], references)
    once_same, once_different = ev.pair_distances(references, ["A", "A", "B"])
    assert sorted(twice_same) == sorted(np.repeat(once_same, 2))
    assert sorted(twice_different) == sorted(np.repeat(once_different, 2))


def test_well_separated_clusters_have_zero_equal_error_rate():
    enc, ids = _clusters(people=6, photos=5, spread=0.2, separation=1.0)
    same, different = ev.pair_distances(enc, ids)
    assert same.max() < different.min()
    rate, tolerance = ev.equal_error_rate(same, different)
    assert rate == 0.0
    assert tolerance == pytest.approx((same.max() + different.min()) / 2)
    assert ev.roc_curve(same, different).area() == pytest.approx(1.0)


def test_overlapping_distances_give_known_roc_points_and_equal_error_rate():
    same = np.array([0.2, 0.4, 0.6, 0.8])
    different = np.array([0.5, 0.7, 0.9, 1.1])
    roc = ev.roc_curve(same, different)
    points = dict(zip(np.round(roc.thresholds, 6), zip(roc.true_match_rate, roc.false_match_rate)))
    assert points[0.6] == (0.75, 0.25)
    assert points[0.4] == (0.5, 0.0)
    assert points[1.1] == (1.0, 1.0)
    assert (roc.true_match_rate[0], roc.false_match_rate[0]) == (0.0, 0.0)
    # Both error rates are 1/4 from 0.6 up to 0.7, and nowhere is the worse of the two lower.
    rate, tolerance = ev.equal_error_rate(same, different)
    assert rate == pytest.approx(0.25)
    assert tolerance == pytest.approx(0.65)
    assert ev.rates_at(same, different, 0.65) == (0.75, 0.25)


def test_tolerance_for_false_match_rate_is_the_largest_grid_value_under_the_limit():
    same = np.linspace(0.2, 0.7, 50)
    different = np.concatenate([[0.553, 0.612], np.linspace(0.7, 1.2, 998)])  # 1000 different pairs
    assert ev.tolerance_for_false_match_rate(same, different, 0.0) == pytest.approx(0.55)
    assert ev.tolerance_for_false_match_rate(same, different, 0.001) == pytest.approx(0.61)  # 0.612 is over
    assert ev.tolerance_for_false_match_rate(same, different, 0.002) == pytest.approx(0.69)
    # A limit nothing can meet gives the lowest tolerance.
    assert ev.tolerance_for_false_match_rate(same, np.array([0.1]), 0.0) == pytest.approx(0.3)


def test_recommended_tolerance_maximises_true_matches_under_the_false_match_limit():
    same = np.linspace(0.2, 0.7, 51)
    different = np.concatenate([[0.553, 0.612], np.linspace(0.7, 1.2, 998)])
    rec = ev.recommend_tolerance(same, different, max_false_match_rate=0.001)
    assert rec.tolerance == pytest.approx(0.61)
    assert rec.false_match_rate == pytest.approx(0.001)
    assert rec.true_match_rate == pytest.approx(np.mean(same <= 0.61))
    assert (rec.same_pairs, rec.different_pairs) == (51, 1000)
    stricter = ev.recommend_tolerance(same, different, max_false_match_rate=0.0)
    assert stricter.tolerance < rec.tolerance and stricter.true_match_rate < rec.true_match_rate
    assert "0.61" in str(rec)


def test_pair_table_counts_false_matches_and_missed_pairs():
    table = ev.pair_table(np.array([0.2, 0.5, 0.7]), np.array([0.45, 0.9]), [0.4, 0.6])
    assert table["false_matches"].tolist() == [0, 1]
    assert table["missed_pairs"].tolist() == [2, 1]


# --- the class-specific risk -----------------------------------------------------------------


def test_closest_student_pairs_are_sorted_and_use_each_students_closest_photo():
    roster = Roster.from_encodings({
        "Ann": _axis(0.0, 5.0),  # Ann's second photo is far away
        "Ben": _axis(0.9),
        "Cat": _axis(5.4),  # closest to Ann's second photo: 0.4
        "Dan": _axis(20.0),
    })
    pairs = ev.closest_student_pairs(roster, count=3)
    assert [(p.a, p.b) for p in pairs] == [("Ann", "Cat"), ("Ann", "Ben"), ("Ben", "Cat")]
    assert [round(p.distance, 6) for p in pairs] == [0.4, 0.9, 4.5]
    assert pairs[0].photo_a.name == "Ann#1" and pairs[0].photo_b.name == "Cat#0"


# --- a labelled class ------------------------------------------------------------------------


def _labelled(counts: dict[str, int]) -> ev.LabelledFaces:
    ids, paths = [], []
    for person, n in counts.items():
        for k in range(n):
            ids.append(person)
            paths.append(Path(f"/photos/{person}/{k}.jpg"))
    enc = np.random.default_rng(1).normal(size=(len(ids), 128))
    return ev.LabelledFaces(ids, enc, paths, np.zeros((len(ids), 4), dtype=np.int64))


def test_split_class_enrolls_the_first_photo_and_holds_strangers_out():
    faces = _labelled({"Ann": 3, "Ben": 2, "Cat": 4, "Dan": 2, "Eve": 1})
    cls = ev.split_class(faces, strangers=2, keep=["Ann"], seed=3)
    strangers = set(cls.strangers.identities)
    assert len(strangers) == 2 and "Ann" not in strangers and "Eve" not in strangers  # Eve has one photo
    assert set(cls.roster.ids) == {"Ann", "Ben", "Cat", "Dan", "Eve"} - strangers
    for s in cls.roster.students:
        assert len(s.photos) == 1 and s.photos[0].path.name == "0.jpg"
    assert all(p.name != "0.jpg" for p in cls.probes.paths)
    assert set(cls.probes.identities) <= set(cls.roster.ids)
    assert len(cls.probes) + len(cls.strangers) + len(cls.roster) == len(faces)
    again = ev.split_class(faces, strangers=2, keep=["Ann"], seed=3)
    assert again.roster.ids == cls.roster.ids


def test_read_labelled_photos_from_labels_csv_or_folders(tmp_path):
    (tmp_path / "set").mkdir()
    (tmp_path / "set" / "labels.csv").write_text("path,identity\na/1.jpg,Ann_Lee\nb/2.jpg, Ben_Ode\n")
    photos = ev.read_labelled_photos(tmp_path / "set")
    assert photos == [ev.LabelledPhoto(tmp_path / "set" / "a/1.jpg", "Ann_Lee"),
                      ev.LabelledPhoto(tmp_path / "set" / "b/2.jpg", "Ben_Ode")]
    roster = tmp_path / "roster"
    (roster / "Ben_Ode").mkdir(parents=True)
    for name in ("Ann_Lee.jpg", "Ben_Ode/x.png", "Ben_Ode/y.jpg", "Ben_Ode/notes.txt"):
        (roster / name).write_bytes(b"")
    photos = ev.read_labelled_photos(roster)
    assert [(p.path.name, p.identity) for p in photos] == [("Ann_Lee.jpg", "Ann_Lee"), ("x.png", "Ben_Ode"), ("y.jpg", "Ben_Ode")]


def test_read_classroom_photos_lists_who_is_in_each_photo(tmp_path):
    (tmp_path / "attendance.csv").write_text("photo,student\nmon.jpg,Ann_Lee\nmon.jpg,Ben_Ode\nempty.jpg,\n")
    photos = {p.name: p for p in ev.read_classroom_photos(tmp_path)}
    assert photos["mon.jpg"].present == {"Ann_Lee", "Ben_Ode"}
    assert photos["empty.jpg"].present == frozenset()
    assert photos["mon.jpg"].path == tmp_path / "mon.jpg" and photos["mon.jpg"].faces is None


def test_a_wrong_header_is_refused(tmp_path):
    (tmp_path / "attendance.csv").write_text("file,name\nmon.jpg,Ann\n")
    with pytest.raises(ValueError, match="photo,student"):
        ev.read_classroom_photos(tmp_path)


# --- attendance on classroom photos ----------------------------------------------------------

IDS = ["Ann", "Ben", "Cat"]
INF = np.inf


def test_precision_recall_f1_from_counts():
    assert ev.precision_recall_f1(3, 1, 2) == pytest.approx((0.75, 0.6, 2 * 0.75 * 0.6 / 1.35))
    assert ev.precision_recall_f1(0, 0, 0) == (1.0, 1.0, 1.0)
    assert ev.precision_recall_f1(0, 2, 1) == (0.0, 0.0, 0.0)


def test_attendance_scores_count_true_present_false_present_and_missed():
    # Photo 1: Ann and Ben there; face 0 is Ann (0.35), face 1 is Ben (0.55), face 2 a stranger nearest Cat (0.62).
    photo1 = np.array([[0.35, 0.80, 0.90], [0.85, 0.55, 0.90], [0.90, 0.95, 0.62]])
    # Photo 2: Cat there (0.45).
    photo2 = np.array([[0.90, 0.90, 0.45]])
    scores = ev.attendance_scores([photo1, photo2], IDS, [{"Ann", "Ben"}, {"Cat"}], [0.4, 0.5, 0.6, 0.7])
    rows = scores.set_index("tolerance")
    assert rows.loc[0.4, ["true_present", "false_present", "missed"]].tolist() == [1, 0, 2]
    assert rows.loc[0.5, ["true_present", "false_present", "missed"]].tolist() == [2, 0, 1]
    assert rows.loc[0.6, ["true_present", "false_present", "missed"]].tolist() == [3, 0, 0]
    assert rows.loc[0.7, ["true_present", "false_present", "missed"]].tolist() == [3, 1, 0]
    assert rows.loc[0.6, "f1"] == 1.0
    assert rows.loc[0.7, "precision"] == pytest.approx(0.75)
    assert ev.best_tolerance(scores) == (0.6, 0.6, 1.0)


def test_attendance_scores_follow_the_one_to_one_assignment():
    # Two faces both close to Ann: the product names Ann once; the look-alike stays unknown, no double count.
    d = np.array([[0.30, 0.90, 0.90], [0.40, 0.95, 0.90]])
    s = ev.score_photo(d, IDS, {"Ann"}, 0.6)
    assert s.marked == {"Ann"} and not s.false_present and not s.missed
    assert ev.marked_present(d, IDS, 0.6) == ["Ann", None]


def _evaluated(name, distances, truth, present, missed=(), boxes_known=True):
    n = len(distances)
    boxes = np.array([[10 * i, 10 * i + 8, 10 * i + 8, 10 * i] for i in range(n)], dtype=np.int64).reshape(-1, 4)
    faces = [PlacedFace(t, tuple(int(v) for v in b)) for t, b in zip(truth, boxes) if t] + list(missed)
    photo = ev.ClassroomPhoto(name, frozenset(present), image=np.zeros((80, 80, 3), np.uint8),
                              faces=faces if boxes_known else None)
    return ev.EvaluatedPhoto(photo, DetectedFaces(boxes, np.zeros((n, 128))), np.array(distances).reshape(n, len(IDS)),
                             list(truth) if boxes_known else [None] * n, list(missed), 0.0)


def test_attendance_errors_name_false_matches_and_misses():
    roster = Roster.from_encodings({sid: _axis(k) for k, sid in enumerate(IDS)})
    e = _evaluated("p1", [[0.35, 0.80, 0.90],   # Ann, right
                          [0.85, 0.65, 0.90],   # Ben, too far at 0.6: a miss
                          [0.90, 0.95, 0.52]],  # a stranger taken for Cat: a false match
                   ["Ann", "Ben", "Zed"], {"Ann", "Ben", "Cat"},
                   missed=[PlacedFace("Cat", (70, 78, 78, 70))])  # Cat is there, but her face was not detected
    errors = ev.attendance_errors([e], roster, 0.6)
    kinds = sorted((x.kind, x.truth, x.matched) for x in errors)
    assert kinds == [("false match", "Zed", "Cat"), ("miss", "Ben", None), ("miss", "Cat", None)]
    false_match = next(x for x in errors if x.kind == "false match")
    assert false_match.distance == pytest.approx(0.52) and "stranger" in false_match.reason
    crops = ev.error_crops(errors, [e])
    assert all(c is not None and c.shape[0] > 0 for c in crops)


def test_attendance_errors_without_true_boxes_use_the_students_present():
    roster = Roster.from_encodings({sid: _axis(k) for k, sid in enumerate(IDS)})
    e = _evaluated("real", [[0.35, 0.80, 0.90], [0.90, 0.95, 0.52]], [None, None], {"Ann", "Ben"}, boxes_known=False)
    errors = ev.attendance_errors([e], roster, 0.6)
    assert sorted((x.kind, x.truth, x.matched) for x in errors) == [("false match", None, "Cat"), ("miss", "Ben", None)]
    assert ev.error_crops(errors, [e])[[x.kind for x in errors].index("miss")] is None
    table = ev.per_photo_table([e], roster, 0.6)
    assert table.loc[0, "false_present"] == "Cat" and table.loc[0, "missed"] == "Ben"
    assert table.loc[0, "precision"] == 0.5 and table.loc[0, "recall"] == 0.5


def test_crop_face_stays_inside_the_photo():
    image = np.arange(100 * 100 * 3, dtype=np.uint8).reshape(100, 100, 3)
    assert ev.crop_face(image, (0, 20, 20, 0), margin=0.5).shape == (30, 30, 3)
    assert ev.crop_face(image, (40, 60, 60, 40), margin=0.5).shape == (40, 40, 3)


# --- the dev set, through the real pipeline --------------------------------------------------

DEVDATA = ev.devdata_dir()
needs_devdata = pytest.mark.skipif(DEVDATA is None and os.environ.get("ATTENDANCE_REQUIRE_DEVDATA") != "1",
                                   reason="labelled dev set not found (set ATTENDANCE_DEVDATA)")


@needs_devdata
@pytest.mark.slow
def test_dev_set_tolerance_study_reproduces(tmp_path):
    faces = ev.load_labelled_faces(DEVDATA, cache_dir=ev.project_root() / "attendance_data" / "cache")
    assert len(faces) >= 150 and len(faces.people) == 15
    assert any("same photo as" in p for p in faces.problems)  # the duplicate John_Shimkus photo
    same, different = ev.labelled_pair_distances(faces)
    assert len(same) > 1000 and not np.allclose(faces.probe_encodings, faces.encodings)
    rate, _ = ev.equal_error_rate(same, different)
    assert rate < 0.02
    rec = ev.recommend_tolerance(same, different, max_false_match_rate=0.001)
    assert 0.55 <= rec.tolerance <= 0.62 and rec.false_match_rate <= 0.001 and rec.true_match_rate > 0.95


@needs_devdata
@pytest.mark.slow
def test_composed_classroom_photo_marks_its_students_and_no_stranger():
    faces = ev.load_labelled_faces(DEVDATA, cache_dir=ev.project_root() / "attendance_data" / "cache")
    cls = ev.split_class(faces, strangers=2, seed=1)
    photos = ev.make_classroom_photos(cls, photos=1, size=(1280, 720), students_per_photo=6, strangers_per_photo=2,
                                      face_widths=(70, 100), seed=5)
    photo = photos[0]
    assert len(photo.present) == 6 and len(photo.faces) == 8
    assert {f.identity for f in photo.faces} - photo.present <= set(cls.strangers.identities)
    evaluated = ev.evaluate_photos(photos, cls.roster)
    assert not evaluated[0].missed  # faces of 70 px and more are all found
    scores = ev.photo_scores(evaluated, cls.roster, [0.3, 0.58]).set_index("tolerance")
    assert scores.loc[0.58, "precision"] == 1.0 and scores.loc[0.58, "recall"] >= 5 / 6
    assert scores.loc[0.3, "recall"] < scores.loc[0.58, "recall"]
    # The errors listed are exactly the students the score counts as missed or falsely present.
    errors = ev.attendance_errors(evaluated, cls.roster, 0.58)
    score = ev.score_photo(evaluated[0].distances, cls.roster.ids, photo.present, 0.58)
    assert {e.truth for e in errors if e.kind == "miss"} == set(score.missed)
    assert not [e for e in errors if e.kind == "false match"]
