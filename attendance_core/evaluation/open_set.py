"""Strangers in the photos: how many are marked present, against the tolerance and the decision rules.

Leave-people-out: in each *fold* a few people of the labelled photos are kept out of the roster and
play strangers; everybody else is enrolled with their first photos (by path) and their other photos
are classroom faces. A fold holds *sessions* of one or more photos, marked by the product's own
:class:`~attendance_core.session.Session` (matching, then :mod:`~attendance_core.decisions`); each
face's outcome is compared with the truth. ``benchmarks/bench_open_set.py`` adds classroom composites
at several face sizes and the demo class; the accuracy notebook draws the curve.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Sequence

import numpy as np

from ..decisions import DecisionRules, agree_across_photos, decide_face
from ..matching import assign, face_distances, student_distances
from ..results import DetectedFaces, Photo
from ..roster import Roster
from .labelled import LabelledFaces

__all__ = ["REFERENCES_PER_STUDENT", "FoldPhoto", "OpenSetFold", "Outcome", "leave_people_out", "mark_fold",
           "summarise", "open_set_scores", "per_student_tolerances", "closest_pair_distance", "match_only"]

#: Reference photos per enrolled person in a fold (their first ones by path).
REFERENCES_PER_STUDENT = 2


@dataclass
class FoldPhoto:
    """One photo of a fold: its face encodings ``(n, 128)``, who each face is ("" when no true face
    is there), whether each is scored (a face from a reference photo is in the class but no test),
    each face's width in pixels, and each face's quality reading when it was measured."""

    name: str
    encodings: np.ndarray
    truth: list[str]
    scored: list[bool]
    widths: list[int]
    quality: list | None = None  # list[results.FaceQuality]


@dataclass
class OpenSetFold:
    """A roster, the people kept out of it, and sessions of photos (each a list of :class:`FoldPhoto`)."""

    roster: Roster
    strangers: list[str]
    sessions: list[list[FoldPhoto]] = field(default_factory=list)


@dataclass(frozen=True)
class Outcome:
    """One scored face: who it is, whether that person is enrolled, what it was matched to and whether it is flagged."""

    truth: str
    enrolled: bool
    student: str | None
    distance: float | None
    check: bool
    width: int


def leave_people_out(faces: LabelledFaces, folds: int = 5, references: int = REFERENCES_PER_STUDENT,
                     enrolled: dict[str, np.ndarray] | None = None, seed: int = 0) -> list[OpenSetFold]:
    """Folds of labelled photos keeping every person out exactly once (``folds`` groups drawn with ``seed``).

    enrolled: students always in the roster, ``{id: (k, 128) reference encodings}`` (e.g. the demo
    class). Every photo that is not a reference is a one-photo session.
    """
    ids = np.asarray(faces.identities)
    people = sorted(set(faces.identities))
    order = np.random.default_rng(seed).permutation(people)
    out = []
    for k in range(folds):
        held = sorted(order[k::folds].tolist())
        refs, ref_rows = dict(enrolled or {}), set()
        for person in people:
            if person not in held:
                rows = sorted(np.flatnonzero(ids == person), key=lambda i: str(faces.paths[i]))[:references]
                refs[person] = faces.encodings[rows]
                ref_rows.update(int(r) for r in rows)
        fold = OpenSetFold(Roster.from_encodings(refs), held)
        for i in range(len(faces)):
            if i not in ref_rows:
                top, right, bottom, left = faces.boxes[i]
                fold.sessions.append([FoldPhoto(str(faces.paths[i]), faces.probe_encodings[i:i + 1],
                                                [faces.identities[i]], [True], [int(right - left)])])
        out.append(fold)
    return out


def mark_fold(fold: OpenSetFold, rules: DecisionRules = DecisionRules()) -> list[Outcome]:
    """Mark every session of a fold as the product does (Session at ``rules``) and return each scored face's outcome."""
    from ..session import Session

    out = []
    ids = set(fold.roster.ids)
    for photos in fold.sessions:
        session = Session(fold.roster, tolerance=rules.tolerance, ambiguity_margin=rules.ambiguity_margin,
                          check_band=rules.check_band)
        for photo in photos:
            n = len(photo.encodings)
            boxes = np.array([[0, 10 * (i + 1), 10, 10 * i] for i in range(n)], dtype=np.int64).reshape(-1, 4)
            session.photos.append(Photo(photo.name, DetectedFaces(boxes, photo.encodings), quality=photo.quality))
        faces = session.result().faces
        if rules != DecisionRules(rules.tolerance, rules.check_band, rules.ambiguity_margin):
            # Other agreement settings than the session's: decide again with them.
            faces = agree_across_photos([decide_face(f, rules.tolerance, rules) for f in faces], len(photos),
                                        rules.tolerance, rules)
        for f in faces:
            photo = photos[f.photo]
            if photo.scored[f.face]:
                truth = photo.truth[f.face]
                out.append(Outcome(truth, truth in ids, f.student, f.distance, f.check, photo.widths[f.face]))
    return out


def summarise(outcomes: Sequence[Outcome]) -> dict:
    """The open-set numbers of some outcomes.

    strangers / students: scored faces of people out of / in the roster; false_present: strangers
    matched to a student; per_1000: the same per 1,000 stranger faces (unflagged_per_1000: those not
    flagged for a check); wrong_student: students
    matched to another student; recall: students' faces matched to the right student; checked: share
    of all faces flagged; true_checked: share of right matches flagged; bad_checked: share of false
    presents and wrong students flagged; bad_unflagged: how many were not; bad_distances: theirs.
    """
    strangers = [o for o in outcomes if o.truth and not o.enrolled]
    students = [o for o in outcomes if o.enrolled]
    false_present = [o for o in strangers if o.student is not None]
    wrong = [o for o in students if o.student is not None and o.student != o.truth]
    right = [o for o in students if o.student == o.truth]
    bad = false_present + wrong
    return {
        "strangers": len(strangers), "students": len(students),
        "false_present": len(false_present),
        "per_1000": 1000 * len(false_present) / max(1, len(strangers)),
        "unflagged_per_1000": 1000 * sum(not o.check for o in false_present) / max(1, len(strangers)),
        "wrong_student": len(wrong),
        "recall": len(right) / max(1, len(students)),
        "checked": sum(o.check for o in outcomes if o.student is not None) / max(1, len(outcomes)),
        "true_checked": sum(o.check for o in right) / max(1, len(right)),
        "bad_checked": sum(o.check for o in bad) / len(bad) if bad else float("nan"),
        "bad_unflagged": sum(not o.check for o in bad),
        "bad_distances": sorted(round(float(o.distance), 3) for o in bad),
    }


def open_set_scores(folds: Sequence[OpenSetFold], tolerances: Iterable[float], check_band: float | None = None):
    """A DataFrame, one row per tolerance: false presents per 1,000 strangers, recall and the shares flagged.

    check_band: None for the default (:data:`decisions.DEFAULT_CHECK_BAND`).
    """
    import pandas as pd

    rows = []
    for t in tolerances:
        rules = DecisionRules(float(t)) if check_band is None else DecisionRules(float(t), check_band)
        s = summarise([o for fold in folds for o in mark_fold(fold, rules)])
        rows.append({"tolerance": round(float(t), 4), **{k: v for k, v in s.items() if k != "bad_distances"}})
    return pd.DataFrame(rows)


def per_student_tolerances(roster: Roster, tolerance: float, margin: float) -> np.ndarray:
    """Each student's tolerance ``(n_students,)``: ``tolerance``, lowered to ``margin`` under the
    distance from their reference photos to the nearest other student's."""
    d = face_distances(roster.reference_encodings, roster.reference_encodings)
    out = np.full(len(roster), float(tolerance))
    for j in range(len(roster)):
        mine = roster.owners == j
        others = d[np.ix_(mine, ~mine)]
        if others.size:
            out[j] = min(tolerance, float(others.min()) - margin)
    return out


def closest_pair_distance(roster: Roster) -> float:
    """The smallest distance between reference photos of two different students."""
    d = face_distances(roster.reference_encodings, roster.reference_encodings)
    return float(d[roster.owners[:, None] != roster.owners[None, :]].min())


def match_only(folds: Sequence[OpenSetFold], tolerance_of) -> dict:
    """:func:`summarise` of matching alone (no checks) with ``tolerance_of(roster)``: a number or one per student."""
    outcomes = []
    for fold in folds:
        tol = tolerance_of(fold.roster)
        ids = fold.roster.ids
        for photos in fold.sessions:
            for photo in photos:
                d = student_distances(photo.encodings, fold.roster.reference_encodings, fold.roster.owners, len(fold.roster))
                for m in assign(d, tol):
                    if photo.scored[m.face]:
                        t = photo.truth[m.face]
                        outcomes.append(Outcome(t, t in ids, ids[m.student] if m.student is not None else None,
                                                m.distance, False, photo.widths[m.face]))
    return summarise(outcomes)
