"""Open-set evaluation: leave-people-out folds, strangers marked present, and the default tolerance's rule."""
import os
from pathlib import Path

import numpy as np
import pytest

from attendance_core import evaluation as ev
from attendance_core.decisions import DecisionRules
from attendance_core.matching import DEFAULT_TOLERANCE


def labelled(people=6, photos=4, spread=0.15, seed=3):
    """Synthetic labelled faces: people far apart, their photos ``spread`` around them."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(people, 128))
    centres = centres / np.linalg.norm(centres, axis=1, keepdims=True)
    ids, enc, paths = [], [], []
    for p in range(people):
        for k in range(photos):
            ids.append(f"Person_{p}")
            enc.append(centres[p] + rng.normal(size=128) * spread / np.sqrt(128))
            paths.append(Path(f"Person_{p}/{k}.jpg"))
    enc = np.array(enc)
    return ev.LabelledFaces(ids, enc, paths, np.tile([0, 50, 50, 0], (len(ids), 1)), [], enc)


def test_every_person_is_a_stranger_in_exactly_one_fold_and_references_are_never_faces():
    faces = labelled()
    folds = ev.leave_people_out(faces, folds=3, references=2, enrolled={"Demo_Student": np.ones((1, 128))})
    held = [p for f in folds for p in f.strangers]
    assert sorted(held) == sorted(set(faces.identities)) and len(held) == 6
    for fold in folds:
        assert "Demo_Student" in fold.roster.ids and not set(fold.strangers) & set(fold.roster.ids)
        names = [photo.name for session in fold.sessions for photo in session]
        enrolled_refs = {f"Person_{p}/{k}.jpg" for p in range(6) if f"Person_{p}" in fold.roster.ids for k in (0, 1)}
        assert not enrolled_refs & set(names)
        # Strangers keep all their photos; enrolled people the ones that are not references.
        assert len(names) == 2 * 4 + 4 * 2


def test_open_set_counts_strangers_marked_present_and_flags():
    folds = ev.leave_people_out(labelled(), folds=3)
    tight = ev.summarise([o for f in folds for o in ev.mark_fold(f, DecisionRules(0.3, 0.04))])
    assert tight["strangers"] == 24 and tight["students"] == 24
    assert tight["false_present"] == 0 and tight["recall"] == 1.0
    # A tolerance wider than the distance between people takes every stranger for somebody.
    loose = ev.summarise([o for f in folds for o in ev.mark_fold(f, DecisionRules(1.9, 0.04, ambiguity_margin=0.0))])
    assert loose["false_present"] == 24 and loose["per_1000"] == 1000
    assert loose["bad_unflagged"] == 24  # far inside a 1.9 tolerance, no runner-up rule: nothing says "check"
    table = ev.open_set_scores(folds, [0.3, 1.9])
    assert list(table["false_present"]) == [0, 24]


def test_summarise_counts_each_kind_of_error():
    o = ev.Outcome
    outcomes = [o("Ada", True, "Ada", 0.3, False, 50), o("Ada", True, "Alan", 0.57, True, 50),
                o("Bob", False, "Ada", 0.56, True, 40), o("Bob", False, None, None, False, 40),
                o("", False, "Ada", 0.5, False, 30)]
    s = ev.summarise(outcomes)
    assert (s["strangers"], s["students"], s["false_present"], s["wrong_student"]) == (2, 2, 1, 1)
    assert s["per_1000"] == 500 and s["recall"] == 0.5 and s["bad_checked"] == 1.0 and s["bad_unflagged"] == 0
    assert s["bad_distances"] == [0.56, 0.57]


DEVDATA = ev.devdata_dir()
needs_devdata = pytest.mark.skipif(DEVDATA is None and os.environ.get("ATTENDANCE_REQUIRE_DEVDATA") != "1",
                                   reason="labelled dev set not found (set ATTENDANCE_DEVDATA)")


@needs_devdata
@pytest.mark.slow
def test_default_tolerance_is_the_one_the_rule_derives_from_the_dev_set():
    faces = ev.load_labelled_faces(DEVDATA, cache_dir=ev.project_root() / "attendance_data" / "cache")
    same, different = ev.labelled_pair_distances(faces)
    assert ev.recommend_tolerance(same, different, ev.DEFAULT_MAX_FALSE_MATCH_RATE).tolerance == DEFAULT_TOLERANCE


@needs_devdata
@pytest.mark.slow
def test_dev_set_strangers_at_default_settings_are_rare_and_all_flagged():
    faces = ev.load_labelled_faces(DEVDATA, cache_dir=ev.project_root() / "attendance_data" / "cache")
    folds = ev.leave_people_out(faces, folds=5)
    s = ev.summarise([o for f in folds for o in ev.mark_fold(f, DecisionRules())])
    assert s["strangers"] >= 150 and s["per_1000"] <= 5 and s["bad_unflagged"] == 0
    assert s["recall"] >= 0.99


def test_per_student_tolerance_is_lowered_under_the_nearest_other_student():
    from attendance_core.matching import assign
    from attendance_core.roster import Roster

    a, b, c = np.zeros(128), np.zeros(128), np.zeros(128)
    b[0], c[1] = 0.5, 2.0  # Ben is 0.5 from Ann; Cat is far from both
    roster = Roster.from_encodings({"Ann": a, "Ben": b, "Cat": c})
    tol = ev.per_student_tolerances(roster, 0.58, margin=0.05)
    assert tol == pytest.approx([0.45, 0.45, 0.58])
    assert ev.closest_pair_distance(roster) == pytest.approx(0.5)
    # A face 0.5 from Ann: inside 0.58, outside Ann's own 0.45; a face 0.5 from Cat: inside hers.
    distances = np.array([[0.5, 0.71, 2.06], [2.06, 2.02, 0.5]])
    assert [m.student for m in assign(distances, tol)] == [None, 2]
    assert [m.student for m in assign(distances, 0.58)] == [0, 2]
