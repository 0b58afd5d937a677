"""Same-person and different-person distances of labelled photos: ROC, equal-error rate, the tolerance rule."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from ..matching import face_distances
from ..roster import Roster
from .labelled import LabelledFaces

__all__ = ["pair_distances", "labelled_pair_distances", "rates_at", "RocCurve", "roc_curve", "equal_error_rate",
           "tolerance_for_false_match_rate", "Recommendation", "recommend_tolerance", "pair_table",
           "StudentPair", "closest_student_pairs", "DEFAULT_MAX_FALSE_MATCH_RATE", "TOLERANCE_STEP"]

#: Default ceiling on the false-match rate (different-person pairs accepted) for the recommended tolerance.
DEFAULT_MAX_FALSE_MATCH_RATE = 0.001
#: Tolerances are recommended on this grid: a round number an instructor can type.
TOLERANCE_STEP = 0.01


# --- pairs, ROC, equal-error rate, tolerance -------------------------------------------------


def pair_distances(encodings: np.ndarray, identities: Sequence[str],
                   probes: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Distances of all same-person pairs and all different-person pairs of labelled photos: ``(same, different)``.

    Without ``probes``, every unordered pair of ``encodings``. With ``probes`` (the same photos
    encoded as classroom faces, see :class:`LabelledFaces`), every ordered pair of two different
    photos, one as the reference photo and the other as the face in class: what matching compares.
    """
    ids = np.asarray(identities)
    if probes is None:
        d = face_distances(encodings, encodings)
        i, j = np.triu_indices(len(ids), k=1)
    else:
        d = face_distances(probes, encodings)
        i, j = np.nonzero(~np.eye(len(ids), dtype=bool))
    same = ids[i] == ids[j]
    return d[i, j][same], d[i, j][~same]


def labelled_pair_distances(faces: "LabelledFaces") -> tuple[np.ndarray, np.ndarray]:
    """``(same, different)`` distances of labelled photos as matching sees them: reference photo against classroom face."""
    return pair_distances(faces.encodings, faces.identities, faces.probe_encodings)


def rates_at(same: np.ndarray, different: np.ndarray, tolerance: float) -> tuple[float, float]:
    """``(true-match rate, false-match rate)`` at ``tolerance``: shares of same / different pairs with distance <= tolerance."""
    same, different = np.asarray(same), np.asarray(different)
    tmr = float(np.mean(same <= tolerance)) if len(same) else float("nan")
    fmr = float(np.mean(different <= tolerance)) if len(different) else float("nan")
    return tmr, fmr


@dataclass
class RocCurve:
    """True-match rate and false-match rate at each threshold (ascending), from (0, 0) to (1, 1)."""

    thresholds: np.ndarray
    true_match_rate: np.ndarray
    false_match_rate: np.ndarray

    def area(self) -> float:
        """Area under the curve (1 = every same pair closer than every different pair)."""
        return float(np.trapezoid(self.true_match_rate, self.false_match_rate))


def roc_curve(same: np.ndarray, different: np.ndarray) -> RocCurve:
    """The ROC curve: a point at every distinct distance, plus (0, 0) below them all."""
    same, different = np.sort(np.asarray(same, float)), np.sort(np.asarray(different, float))
    values = np.unique(np.concatenate([same, different]))
    thresholds = np.concatenate([[values[0] - 1e-9 if len(values) else 0.0], values])
    tmr = np.searchsorted(same, thresholds, side="right") / max(1, len(same))
    fmr = np.searchsorted(different, thresholds, side="right") / max(1, len(different))
    return RocCurve(thresholds, tmr, fmr)


def equal_error_rate(same: np.ndarray, different: np.ndarray) -> tuple[float, float]:
    """``(rate, tolerance)`` where false matches and false non-matches are balanced.

    The rate is the smallest, over thresholds, of the larger of the two error rates (0 when some
    tolerance separates every same pair from every different pair); the tolerance is the middle of
    the range of distances that reaches it.
    """
    roc = roc_curve(same, different)
    worst = np.maximum(roc.false_match_rate, 1.0 - roc.true_match_rate)
    best = float(worst.min())
    k = np.flatnonzero(np.isclose(worst, best))
    # The error rates are constant from one distinct distance up to (not including) the next one.
    values = np.concatenate([roc.thresholds, [roc.thresholds[-1]]])
    lo, hi = values[k[0]], values[k[-1] + 1]
    return best, float((lo + hi) / 2)


def tolerance_for_false_match_rate(same: np.ndarray, different: np.ndarray,
                                   max_false_match_rate: float = DEFAULT_MAX_FALSE_MATCH_RATE,
                                   step: float = TOLERANCE_STEP, lowest: float = 0.3, highest: float = 1.0) -> float:
    """The largest tolerance on a ``step`` grid whose false-match rate is at most ``max_false_match_rate``.

    Recall only grows with the tolerance, so this is the tolerance with the most true matches under
    the constraint. Returns ``lowest`` when even it lets too many different pairs through.
    """
    grid = np.round(np.arange(lowest, highest + step / 2, step), 6)
    different = np.sort(np.asarray(different, float))
    fmr = np.searchsorted(different, grid + 1e-12, side="right") / max(1, len(different))
    ok = np.flatnonzero(fmr <= max_false_match_rate + 1e-12)
    return float(grid[ok[-1]]) if len(ok) else float(grid[0])


@dataclass(frozen=True)
class Recommendation:
    """A recommended tolerance and the pair rates at it."""

    tolerance: float
    true_match_rate: float
    false_match_rate: float
    max_false_match_rate: float
    same_pairs: int
    different_pairs: int

    def __str__(self) -> str:
        return (f"tolerance {self.tolerance:.2f}: true-match rate {self.true_match_rate:.3f}, "
                f"false-match rate {100 * self.false_match_rate:.3f}% "
                f"(limit {100 * self.max_false_match_rate:.2f}%, {self.same_pairs} same / {self.different_pairs} different pairs)")


def recommend_tolerance(same: np.ndarray, different: np.ndarray,
                        max_false_match_rate: float = DEFAULT_MAX_FALSE_MATCH_RATE,
                        step: float = TOLERANCE_STEP) -> Recommendation:
    """The tolerance that finds the most same-person pairs while accepting at most ``max_false_match_rate`` of different ones.

    This is how ``DEFAULT_TOLERANCE`` was chosen (README, "How matching works").
    """
    tol = tolerance_for_false_match_rate(same, different, max_false_match_rate, step)
    tmr, fmr = rates_at(same, different, tol)
    return Recommendation(tol, tmr, fmr, max_false_match_rate, len(same), len(different))


def pair_table(same: np.ndarray, different: np.ndarray, tolerances: Iterable[float]):
    """A DataFrame of true-match rate and false-match rate (and counts) at each tolerance."""
    import pandas as pd

    rows = []
    for t in tolerances:
        tmr, fmr = rates_at(same, different, t)
        rows.append({"tolerance": round(float(t), 4), "true_match_rate": tmr, "false_match_rate": fmr,
                     "false_matches": int(np.sum(np.asarray(different) <= t)),
                     "missed_pairs": int(np.sum(np.asarray(same) > t))})
    return pd.DataFrame(rows)


# --- the class-specific risk -----------------------------------------------------------------


@dataclass(frozen=True)
class StudentPair:
    """Two students of a roster and the closest distance between their reference photos."""

    a: str
    b: str
    distance: float
    photo_a: Path
    photo_b: Path


def closest_student_pairs(roster: Roster, count: int = 5) -> list[StudentPair]:
    """The ``count`` pairs of different students whose reference photos are closest: the likely confusions."""
    enc, owners, photos = roster.reference_encodings, roster.owners, []
    for s in roster.students:
        photos.extend(p for p in s.photos if p.usable)
    d = face_distances(enc, enc)
    n = len(roster)
    best = np.full((n, n), np.inf)
    where: dict[tuple[int, int], tuple[int, int]] = {}
    for i, j in zip(*np.triu_indices(len(enc), k=1)):
        a, b = int(owners[i]), int(owners[j])
        if a == b:
            continue
        key = (min(a, b), max(a, b))
        if d[i, j] < best[key]:
            best[key] = d[i, j]
            where[key] = (i, j) if a < b else (j, i)
    pairs = sorted(where, key=lambda k: (best[k], k))[:count]
    return [StudentPair(roster.students[a].id, roster.students[b].id, float(best[a, b]),
                        photos[where[(a, b)][0]].path, photos[where[(a, b)][1]].path) for a, b in pairs]
