"""Decisions: present, check or unknown, and why, from how close each face is.

:mod:`matching` says how close every face is to every student and pairs them one to one; this module
says which of those matches the instructor should look at before trusting them (``check``), in
their words (``reason``):

- *close to the limit*: the face is within ``check_band`` of the tolerance. False matches of
  strangers sit there: on the open-set benchmark (``benchmarks/bench_open_set.py``) every stranger
  taken for a student at the default settings was within the band, and few true matches are
  (docs/matching.md, "The check band");
- *almost as close*: another student is within ``ambiguity_margin`` of the matched one;
- *found in one photo only*: in a session of several photos, a student matched in a single photo,
  at a distance within ``agreement_band`` of the tolerance, is not confirmed by the others.

A face left unnamed whose nearest student is only a little beyond the tolerance gets that student as a
*suggestion*: the review offers it as one tap ("It is Amy?") instead of leaving the student absent
unseen (:func:`suggest_students`). On a face the photo shows poorly (blurred, dark, too small, or seen only
by the second detector: :class:`results.FaceQuality`) two people's encodings come closer: its match is
always flagged, and a doubtful one is not made at all but offered the same way (:func:`decide_face`;
docs/matching.md, "Hard photos"). A face the instructor has reviewed is never flagged: they have already
looked at it.
Nothing here loads a model or reads a file.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Sequence

from .matching import DEFAULT_AMBIGUITY_MARGIN, DEFAULT_TOLERANCE
from .results import FaceResult

#: Matches within this distance of the tolerance are flagged for a check. Set by measurement on
#: leave-people-out folds of labelled photos (docs/matching.md, "The check band").
DEFAULT_CHECK_BAND = 0.04
#: A student found in one photo of several is flagged when their distance is within this of the
#: tolerance (0: never). On the open-set benchmark a wider band flagged more true matches (sessions
#: where people are out of some photos) without catching a false match the check band missed; at
#: this width it catches, with a narrower check band, the single-photo false matches it misses.
DEFAULT_AGREEMENT_BAND = 0.04
#: An unnamed face whose nearest free student is within this distance beyond the tolerance is offered as
#: that student (one tap). Set on the conditions set (docs/matching.md, "Unsure faces: one tap").
DEFAULT_SUGGEST_BAND = 0.06
#: ... and only when the next student is at least this much further away (a face about as close to two
#: students, as a stranger's usually is, is offered nobody).
DEFAULT_SUGGEST_MARGIN = 0.04


@dataclass(frozen=True)
class DecisionRules:
    """How matches become decisions. Distances are 128-d encoding distances.

    tolerance: largest distance matched; check_band: matches further than ``tolerance - check_band``
    are flagged; ambiguity_margin: a runner-up student this close flags the match; agreement_band:
    a student found in one photo only of two or more is flagged when further than
    ``tolerance - agreement_band``; suggest_band / suggest_margin: an unnamed face is offered as its nearest
    free student when they are within ``tolerance + suggest_band`` and the next one ``suggest_margin`` further.
    """

    tolerance: float = DEFAULT_TOLERANCE
    check_band: float = DEFAULT_CHECK_BAND
    ambiguity_margin: float = DEFAULT_AMBIGUITY_MARGIN
    agreement_band: float = DEFAULT_AGREEMENT_BAND
    suggest_band: float = DEFAULT_SUGGEST_BAND
    suggest_margin: float = DEFAULT_SUGGEST_MARGIN


def _name(student_id: str) -> str:
    return " ".join(student_id.replace("_", " ").split())


def check_reason(distance: float, tolerance: float, runner_up: str | None = None,
                 runner_up_distance: float | None = None, check_band: float = DEFAULT_CHECK_BAND,
                 ambiguity_margin: float = DEFAULT_AMBIGUITY_MARGIN) -> str | None:
    """Why a match at ``distance`` needs the instructor's check, or None when it does not.

    runner_up / runner_up_distance: the next closest student (an id) and their distance.
    """
    if distance > tolerance - check_band:
        return f"close to the limit: {distance:.2f} (tolerance {tolerance:.2f})"
    if runner_up is not None and runner_up_distance is not None and runner_up_distance - distance < ambiguity_margin:
        return f"{_name(runner_up)} is almost as close ({runner_up_distance:.2f})"
    return None


def decide_face(face: FaceResult, tolerance: float, rules: DecisionRules = DecisionRules()) -> FaceResult:
    """The face with ``check`` and ``reason`` set from its match (a reviewed or unknown face: never flagged).

    A face the photo shows poorly (``face.quality.problem``) is always flagged, and a doubtful match on it
    is not made at all: the face comes back unnamed with the student as its ``suggestion`` (one tap).
    """
    if face.review is not None or face.student is None or face.distance is None:
        return replace(face, check=False, reason=None)
    reason = check_reason(face.distance, tolerance, face.runner_up, face.runner_up_distance,
                          rules.check_band, rules.ambiguity_margin)
    problem = face.quality.problem if face.quality is not None else None
    if problem and reason:
        return replace(face, student=None, distance=None, ambiguous=False, check=False, suggestion=face.student,
                       reason=f"{problem}: not sure enough to name ({face.distance:.2f})")
    if problem:
        return replace(face, check=True, reason=f"{problem}: look at the face ({face.distance:.2f})")
    return replace(face, check=reason is not None, reason=reason)


def agree_across_photos(faces: Sequence[FaceResult], photos: int, tolerance: float,
                        rules: DecisionRules = DecisionRules()) -> list[FaceResult]:
    """Flag the students found in one photo only of ``photos`` (two or more readable photos) at a
    doubtful distance (within ``rules.agreement_band`` of ``tolerance``); other faces unchanged."""
    if photos < 2 or rules.agreement_band <= 0:
        return list(faces)
    seen: dict[str, set[int]] = {}
    for f in faces:
        if f.student is not None:
            seen.setdefault(f.student, set()).add(f.photo)
    out = []
    for f in faces:
        if (f.student is not None and f.review is None and not f.check and len(seen[f.student]) == 1
                and f.distance is not None and f.distance > tolerance - rules.agreement_band):
            f = replace(f, check=True, reason=f"found in 1 of {photos} photos only ({f.distance:.2f})")
        out.append(f)
    return out


def suggest_students(faces: Sequence[FaceResult], tolerance: float,
                     rules: DecisionRules = DecisionRules()) -> list[FaceResult]:
    """Each unnamed, unreviewed face with its ``suggestion``: its nearest student, when within ``tolerance +
    rules.suggest_band``, clearly nearer than the next (``rules.suggest_margin``) and not yet named in the
    session (a student already named, in this photo or another, is not offered: one tap would change nothing)."""
    named = {f.student for f in faces if f.student is not None}
    limit = tolerance + rules.suggest_band
    out = []
    for f in faces:
        suggestion = None
        if f.student is None and f.review is None:
            if f.suggestion is not None:  # held back by decide_face: its own match is the one offered
                suggestion = f.suggestion if f.suggestion not in named else None
            elif rules.suggest_band > 0 and f.nearest is not None and f.nearest_distance is not None:
                clear = f.runner_up_distance is None or f.runner_up_distance - f.nearest_distance >= rules.suggest_margin
                if f.nearest_distance <= limit and f.nearest not in named and clear:
                    suggestion = f.nearest
        out.append(replace(f, suggestion=suggestion) if suggestion != f.suggestion else f)
    return out

