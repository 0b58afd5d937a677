"""Match the faces found in a photo to the students of a roster.

All faces are compared with all reference encodings at once (a distance matrix), a student's
distance is the best over their reference photos, and faces are paired with students by an optimal
one-to-one assignment: within one photo a face names at most one student and a student is named by
at most one face. First-match-wins gets this wrong whenever two faces are both close to one student
(see ``tests/test_matching.py``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

#: Distance between two 128-d encodings under which two faces are taken as the same person.
#: Lower is stricter. Derived by the project's rule, not picked by hand: the largest tolerance whose
#: false-match rate on the labelled development set stays under 0.1%
#: (``evaluation.recommend_tolerance``; docs/matching.md, "The tolerance"; checked by tests/test_open_set.py).
DEFAULT_TOLERANCE = 0.58
#: A match is flagged ambiguous when another student is within this distance of the matched one.
DEFAULT_AMBIGUITY_MARGIN = 0.04


#: Groups of competing faces and students whose pairings number at most this are solved by trying each.
MAX_PAIRINGS_TRIED = 5000


@dataclass(frozen=True)
class FaceMatch:
    """The decision for one face of a photo.

    student: index of the matched student in the roster, or None for an unknown face;
    distance: the face's distance to that student (None when unknown);
    nearest / nearest_distance: the closest student whatever the tolerance (None if the roster is empty);
    ambiguous: another student is almost as close as the matched one.
    """

    face: int
    student: int | None
    distance: float | None
    nearest: int | None
    nearest_distance: float | None
    runner_up: int | None
    runner_up_distance: float | None
    ambiguous: bool


def face_distances(faces: np.ndarray, references: np.ndarray) -> np.ndarray:
    """Euclidean distances between every face ``(n, 128)`` and every reference ``(m, 128)``: ``(n, m)``."""
    faces = np.asarray(faces, dtype=np.float64).reshape(-1, 128)
    references = np.asarray(references, dtype=np.float64).reshape(-1, 128)
    if len(faces) == 0 or len(references) == 0:
        return np.zeros((len(faces), len(references)))
    # |a-b|^2 = |a|^2 + |b|^2 - 2ab, clipped because rounding can make it slightly negative.
    sq = (faces**2).sum(1)[:, None] + (references**2).sum(1)[None, :] - 2.0 * faces @ references.T
    return np.sqrt(np.clip(sq, 0.0, None))


def student_distances(faces: np.ndarray, references: np.ndarray, owners: Sequence[int], n_students: int) -> np.ndarray:
    """Distance of every face to every student ``(n_faces, n_students)``: the best over each student's references.

    owners[j] is the student index of reference j; a student with no reference gets ``inf``.
    """
    d = face_distances(faces, references)
    out = np.full((d.shape[0], n_students), np.inf)
    if d.size:
        owners = np.asarray(owners, dtype=np.intp)
        np.minimum.at(out.T, owners, d.T)
    return out


def _best_pairs(distances: np.ndarray, feasible: np.ndarray) -> list[tuple[int, int]]:
    """(face, student) pairs among the ``feasible`` ones: the most pairs, then the smallest total distance.

    The feasible pairs fall apart into groups sharing no face and no student. In a class photo most
    groups are one face and one student, and a few hold two or three: those are solved by trying every
    pairing (at most :data:`MAX_PAIRINGS_TRIED`); a larger group by scipy's solver, whose import costs a
    command 0.3 s of start-up.
    """
    n_faces, n_students = feasible.shape
    parent = list(range(n_faces + n_students))  # union-find over faces 0.. and students n_faces..

    def root(k: int) -> int:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    edges = np.argwhere(feasible)
    for r, c in edges:
        parent[root(int(r))] = root(n_faces + int(c))
    groups: dict[int, list[int]] = {}
    for r in sorted({int(r) for r in edges[:, 0]}):
        groups.setdefault(root(r), []).append(r)
    pairs: list[tuple[int, int]] = []
    for rows in groups.values():
        options = [[int(c) for c in np.flatnonzero(feasible[r])] for r in rows]
        tries = 1
        for o in options:
            tries *= len(o) + 1
        if tries <= MAX_PAIRINGS_TRIED:
            pairs += _tried_pairs(rows, options, distances)
        else:
            from scipy.optimize import linear_sum_assignment

            cols = sorted({c for o in options for c in o})
            sub, ok = distances[np.ix_(rows, cols)], feasible[np.ix_(rows, cols)]
            # A cost above any sum of feasible distances makes the solver maximise matches first.
            penalty = 2.0 * (float(sub[ok].max()) + 1.0) * len(cols)
            chosen = linear_sum_assignment(np.where(ok, sub, penalty))
            pairs += [(rows[i], cols[j]) for i, j in zip(*chosen) if ok[i, j]]
    return pairs


def _tried_pairs(rows: list[int], options: list[list[int]], distances: np.ndarray) -> list[tuple[int, int]]:
    """The best pairing of ``rows`` (faces) with their ``options`` (students), trying each pairing."""
    best: tuple[int, float, list[tuple[int, int]]] = (0, 0.0, [])

    def walk(k: int, used: set[int], chosen: list[tuple[int, int]], total: float) -> None:
        nonlocal best
        if k == len(rows):
            if len(chosen) > best[0] or (len(chosen) == best[0] and total < best[1]):
                best = (len(chosen), total, list(chosen))
            return
        walk(k + 1, used, chosen, total)  # this face left unknown
        for c in options[k]:
            if c not in used:
                used.add(c)
                chosen.append((rows[k], c))
                walk(k + 1, used, chosen, total + float(distances[rows[k], c]))
                chosen.pop()
                used.remove(c)

    walk(0, set(), [], 0.0)
    return best[2]


def assign(distances: np.ndarray, tolerance: float | np.ndarray = DEFAULT_TOLERANCE,
           ambiguity_margin: float = DEFAULT_AMBIGUITY_MARGIN) -> list[FaceMatch]:
    """One-to-one assignment of faces (rows) to students (columns) of a distance matrix.

    Pairs further apart than ``tolerance`` (one number, or one per student ``(n_students,)``) are never
    made. Among the pairings, the one with the most matched faces wins, then the smallest total
    distance. Returns one :class:`FaceMatch` per face.
    """
    distances = np.asarray(distances, dtype=np.float64)
    n_faces, n_students = distances.shape
    tolerance = np.asarray(tolerance, dtype=np.float64)
    assigned: dict[int, int] = {}
    if n_faces and n_students:
        feasible = distances <= tolerance
        assigned = dict(_best_pairs(distances, feasible))

    matches = []
    for i in range(n_faces):
        row = distances[i]
        order = np.argsort(row, kind="stable") if n_students else np.array([], dtype=int)
        finite = [int(j) for j in order if np.isfinite(row[j])]
        nearest = finite[0] if finite else None
        student = assigned.get(i)
        distance = float(row[student]) if student is not None else None
        others = [j for j in finite if j != (student if student is not None else nearest)]
        runner_up = others[0] if others else None
        runner_up_distance = float(row[runner_up]) if runner_up is not None else None
        ambiguous = (
            student is not None
            and runner_up_distance is not None
            and runner_up_distance - distance < ambiguity_margin
        )
        matches.append(FaceMatch(
            face=i,
            student=student,
            distance=distance,
            nearest=nearest,
            nearest_distance=float(row[nearest]) if nearest is not None else None,
            runner_up=runner_up,
            runner_up_distance=runner_up_distance,
            ambiguous=bool(ambiguous),
        ))
    return matches

