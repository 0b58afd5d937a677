"""Matching maths on synthetic encodings: distances, one-to-one assignment, tolerance, ambiguity."""
import numpy as np
import pytest

from attendance_core.matching import assign, face_distances, student_distances


def _first_match_wins(distances, tolerance):
    """The seed's rule: each face in turn takes the first free student within tolerance."""
    taken, out = set(), []
    for row in distances:
        pick = next((j for j in range(len(row)) if row[j] <= tolerance and j not in taken), None)
        taken.add(pick)
        out.append(pick)
    return out


def _unit(rng, n):
    v = rng.normal(size=(n, 128))
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_face_distances_match_pairwise_norms():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(7, 128)), rng.normal(size=(5, 128))
    expected = np.linalg.norm(a[:, None, :] - b[None, :, :], axis=2)
    assert np.allclose(face_distances(a, b), expected)


def test_identical_encodings_have_zero_distance_not_nan():
    a = np.full((1, 128), 0.1)
    d = face_distances(a, a)
    assert d.shape == (1, 1) and np.isfinite(d).all() and d[0, 0] == pytest.approx(0.0, abs=1e-6)


def test_student_distance_is_best_over_reference_photos():
    faces = np.zeros((1, 128))
    refs = np.zeros((3, 128))
    refs[0, 0], refs[1, 0], refs[2, 0] = 0.9, 0.3, 0.5
    d = student_distances(faces, refs, owners=[0, 0, 1], n_students=3)
    assert d[0, 0] == pytest.approx(0.3)
    assert d[0, 1] == pytest.approx(0.5)
    assert d[0, 2] == np.inf  # a student without a usable reference photo never matches


def test_assignment_beats_first_match_wins():
    # Face 0 is close to both students, face 1 only to student 0: first-match-wins gives student 0
    # to face 0 and leaves face 1 unknown; the optimal assignment names both.
    d = np.array([[0.40, 0.45],
                  [0.42, 0.90]])
    assert _first_match_wins(d, 0.6) == [0, None]
    matches = assign(d, tolerance=0.6)
    assert [m.student for m in matches] == [1, 0]
    assert [m.distance for m in matches] == [pytest.approx(0.45), pytest.approx(0.42)]


def test_one_face_per_student_and_one_student_per_face():
    rng = np.random.default_rng(1)
    d = rng.uniform(0.2, 0.7, size=(9, 6))
    matches = assign(d, tolerance=0.6)
    named = [m.student for m in matches if m.student is not None]
    assert len(named) == len(set(named))
    assert all(m.distance <= 0.6 for m in matches if m.student is not None)


def test_faces_beyond_tolerance_are_unknown_but_keep_their_nearest_student():
    d = np.array([[0.70, 0.65]])
    (m,) = assign(d, tolerance=0.6)
    assert m.student is None and m.distance is None
    assert m.nearest == 1 and m.nearest_distance == pytest.approx(0.65)


def test_assignment_minimises_total_distance_among_full_matchings():
    d = np.array([[0.30, 0.35, 0.9],
                  [0.31, 0.50, 0.9],
                  [0.9, 0.9, 0.20]])
    matches = assign(d, tolerance=0.6)
    assert [m.student for m in matches] == [1, 0, 2]  # 0.35 + 0.31 < 0.30 + 0.50


@pytest.mark.parametrize("tolerance", [0.45, 0.6, 0.9])  # few, some, many competing faces and students
def test_assignment_is_the_optimal_solvers_whichever_way_groups_are_solved(tolerance):
    # Small groups of competing faces are solved by trying each pairing, large ones by scipy: both
    # must give the optimal assignment (most matches, then smallest total distance).
    from scipy.optimize import linear_sum_assignment

    rng = np.random.default_rng(3)
    for _ in range(200):
        d = rng.uniform(0.3, 1.0, size=(rng.integers(1, 12), rng.integers(1, 12)))
        feasible = d <= tolerance
        rows, cols = linear_sum_assignment(np.where(feasible, d, 100.0))
        expected = {int(r): int(c) for r, c in zip(rows, cols) if feasible[r, c]}
        got = {m.face: m.student for m in assign(d, tolerance) if m.student is not None}
        assert got == expected


def test_close_runner_up_is_ambiguous():
    d = np.array([[0.40, 0.42, 0.80],
                  [0.80, 0.80, 0.30]])
    first, second = assign(d, tolerance=0.6, ambiguity_margin=0.04)
    assert first.student == 0 and first.ambiguous and first.runner_up == 1
    assert second.student == 2 and not second.ambiguous


def test_empty_inputs():
    assert assign(np.zeros((0, 3))) == []
    (m,) = assign(np.zeros((1, 0)))
    assert m.student is None and m.nearest is None
