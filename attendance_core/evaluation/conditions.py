"""The photos a hurried teacher really takes: labelled photos under five conditions, and how marking holds up.

Each labelled photo (one person) is turned into what a phone in a classroom produces, at two strengths:

==========  ===============================================================  =====================
condition   what is done to the photo                                        mild / strong
==========  ===============================================================  =====================
dark        exposure cut, sensor noise and 8-bit capture, then the phone's   1/4 / 1/8 of the light
            brightening (the noise and banding come up with the face)
tilt        the head turned in the picture plane, about the face's centre    15 / 25 degrees
far         shrunk to a back-row face, then re-sent as a strong JPEG         60 px q35 / 45 px q20
covered     mouth and chin covered: a hand at the chin, or a mask from the   hand / mask
            nose's base down
blur        defocus: Gaussian blur, sigma a share of the face's width        2% / 3%
==========  ===============================================================  =====================

The set is made at run time from a labelled folder (never stored), seeded, so it is the same every run.
:func:`evaluate_conditions` runs every conditioned photo through the product's own steps
(:func:`recognition.analyse_photo`: read, detect, encode, quality; then :class:`session.Session`:
matching and decisions) and scores, per condition and strength: *recall* (students marked present),
*precision* of "present", *not found* (the student's face was not detected at all), *recall with one
tap* (a student not marked but offered as the face's suggestion in Review faces), and, in
leave-people-out folds, *false presents per 1,000 strangers* and whether each was flagged for a check.

Only the labelled face of each photo is scored: the other faces in a labelled photo (bystanders at a
press photo's edge) are not labelled.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Callable, Iterable, Sequence

import numpy as np

from .labelled import LabelledFaces

__all__ = ["Condition", "CONDITIONS", "CLEAN", "condition", "degrade", "ConditionedPhoto", "conditioned_photos",
           "ConditionOutcome", "analyse_conditioned", "score_conditions", "study_roster", "evaluate_conditions"]


@dataclass(frozen=True)
class Condition:
    """One way a classroom photo goes wrong, at one strength. ``amount`` is the condition's own measure
    (see the module's table); ``jpeg`` the JPEG quality the photo is sent with (0: lossless)."""

    name: str
    strength: str
    amount: float
    jpeg: int = 0
    label: str = ""

    @property
    def key(self) -> str:
        return self.name if self.name == "clean" else f"{self.name}-{self.strength}"


CLEAN = Condition("clean", "none", 0.0, label="clean photo")
#: The conditions, mild then strong for each; the strong ones are the issue's measured baseline.
CONDITIONS: tuple[Condition, ...] = (
    Condition("dark", "mild", 1 / 4, label="a dim room (1/4 of the light)"),
    Condition("dark", "strong", 1 / 8, label="a dark room (1/8 of the light)"),
    Condition("tilt", "mild", 15.0, label="head tilted 15 degrees"),
    Condition("tilt", "strong", 25.0, label="head tilted 25 degrees"),
    Condition("far", "mild", 60.0, 35, label="back row, 60 px face, JPEG quality 35"),
    Condition("far", "strong", 45.0, 20, label="back row, 45 px face, JPEG quality 20"),
    Condition("covered", "mild", 0.0, label="a hand at the chin"),
    Condition("covered", "strong", 1.0, label="a mask over mouth and chin"),
    Condition("blur", "mild", 0.02, label="defocus, sigma 2% of the face"),
    Condition("blur", "strong", 0.03, label="defocus, sigma 3% of the face"),
)


def condition(key: str) -> Condition:
    """The condition named ``key`` ("clean", "blur-strong", ...)."""
    for c in (CLEAN, *CONDITIONS):
        if c.key == key:
            return c
    raise KeyError(f"no condition {key!r}: use clean or one of {', '.join(c.key for c in CONDITIONS)}")


# --- the degradations ------------------------------------------------------------------------------


def _linear(image: np.ndarray) -> np.ndarray:
    return (image.astype(np.float32) / 255.0) ** 2.2


def _srgb(linear: np.ndarray) -> np.ndarray:
    return np.clip(np.round(255.0 * np.clip(linear, 0, 1) ** (1 / 2.2)), 0, 255).astype(np.uint8)


def _dark(image: np.ndarray, exposure: float, rng: np.random.Generator) -> np.ndarray:
    """Too little light: the sensor gets ``exposure`` of it, with shot and read noise, stored in 8 bits; the
    phone then brightens the picture back (noise and banding brightened with it)."""
    light = _linear(image) * exposure
    noise = np.sqrt(0.0008 * light + 0.003 ** 2) * rng.standard_normal(light.shape).astype(np.float32)
    captured = _srgb(light + noise)
    return _srgb(_linear(captured) / exposure)


def _tilt(image: np.ndarray, centre: tuple[float, float], degrees: float) -> np.ndarray:
    import cv2

    m = cv2.getRotationMatrix2D((float(centre[0]), float(centre[1])), degrees, 1.0)
    return cv2.warpAffine(image, m, (image.shape[1], image.shape[0]), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)


def _shrink(image: np.ndarray, factor: float) -> np.ndarray:
    import cv2

    size = (max(1, round(image.shape[1] * factor)), max(1, round(image.shape[0] * factor)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def _blur(image: np.ndarray, sigma: float) -> np.ndarray:
    import cv2

    return cv2.GaussianBlur(image, (0, 0), sigmaX=max(0.3, sigma), sigmaY=max(0.3, sigma))


def landmarks68(image: np.ndarray, box: Sequence[int]) -> np.ndarray:
    """The 68 landmarks ``(68, 2)`` (x, y) of the face at ``box`` (top, right, bottom, left): dlib's 68-point model."""
    import dlib

    from ..models import model

    top, right, bottom, left = (int(v) for v in box)
    shape = model("landmarks68")(image, dlib.rectangle(left, top, right, bottom))
    return np.array([(shape.part(k).x, shape.part(k).y) for k in range(68)], dtype=np.float64)


def _covered(image: np.ndarray, points: np.ndarray, mask: bool, rng: np.random.Generator) -> np.ndarray:
    """Mouth and chin covered: a mask (from the nose's base to under the chin, jaw to jaw, one of a few
    colours, with folds and shading) or a hand at the chin (a skin-toned palm and fingers from below)."""
    import cv2

    out = image.copy()
    jaw, nose = points[0:17], points[27:36]
    width = float(np.linalg.norm(jaw[16] - jaw[0]))
    if mask:
        top_y = float(nose[6][1]) - 0.03 * width  # the nose's base (landmark 33), with its edge over the nostrils
        outline = np.vstack([[jaw[1][0], top_y], jaw[2:15], [jaw[15][0], top_y]])
        outline[2:-2, 1] += 0.04 * width  # the mask hangs a little below the jaw
        colour = np.array([(180, 210, 235), (235, 235, 235), (40, 40, 48), (120, 160, 200)][rng.integers(4)], float)
        layer = np.zeros(image.shape[:2], np.uint8)
        cv2.fillPoly(layer, [np.round(outline).astype(np.int32)], 255)
        shade = np.linspace(1.05, 0.8, image.shape[0], dtype=np.float32)[:, None, None]  # light from above
        fill = np.clip(colour[None, None, :] * shade, 0, 255)
        out = np.where(layer[..., None] > 0, fill, out).astype(np.uint8)
        for k in (0.35, 0.6):  # pleats
            y = round(top_y + k * (float(jaw[8][1]) - top_y))
            cv2.line(out, (round(jaw[3][0]), y), (round(jaw[13][0]), y),
                     tuple(int(v) for v in colour * 0.75), max(1, round(width / 60)))
        return out
    # A hand: palm over the chin and the mouth's lower half, fingers up the cheek on one side.
    skin = image[int(nose[4][1]):int(nose[6][1]) + 1, int(jaw[3][0]):int(jaw[13][0]) + 1].reshape(-1, 3)
    tone = np.median(skin, axis=0) * 0.92 if len(skin) else np.array([190, 150, 130], float)
    mouth_mid = (points[62] + points[66]) / 2
    cx, cy = float(jaw[8][0]), float(jaw[8][1])
    axes = (round(0.33 * width), round(max(4.0, cy - mouth_mid[1]) * 1.1))
    side = 1 if rng.random() < 0.5 else -1
    cv2.ellipse(out, (round(cx + side * 0.05 * width), round(cy)), axes, 0, 0, 360,
                tuple(int(v) for v in tone), -1)
    for f in range(3):  # fingers, slightly darker between them
        x = cx + side * (0.18 + 0.09 * f) * width
        cv2.line(out, (round(x), round(cy)), (round(x + side * 0.05 * width), round(mouth_mid[1] - 0.08 * width)),
                 tuple(int(v) for v in tone * 0.97), max(2, round(width / 12)))
    return out


def _jpeg(image: np.ndarray, quality: int) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="JPEG", quality=int(quality))
    return buffer.getvalue()


def _png(image: np.ndarray) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def degrade(image: np.ndarray, box: Sequence[int], cond: Condition,
            rng: np.random.Generator) -> tuple[bytes, tuple[float, float], float]:
    """The photo ``image`` (RGB) with its face at ``box`` (top, right, bottom, left) under ``cond``, as the
    file a phone would send (PNG, or JPEG for ``far``), with where the face's centre (x, y) is now and its width."""
    top, right, bottom, left = (float(v) for v in box)
    centre, width = ((left + right) / 2, (top + bottom) / 2), right - left
    if cond.name == "clean":
        out = image
    elif cond.name == "dark":
        out = _dark(image, cond.amount, rng)
    elif cond.name == "tilt":
        out = _tilt(image, centre, cond.amount * (1 if rng.random() < 0.5 else -1))
    elif cond.name == "far":
        factor = cond.amount / width
        out = _shrink(image, factor)
        centre, width = (centre[0] * factor, centre[1] * factor), cond.amount
    elif cond.name == "covered":
        out = _covered(image, landmarks68(image, box), cond.amount >= 1.0, rng)
    elif cond.name == "blur":
        out = _blur(image, cond.amount * width)
    else:
        raise ValueError(f"unknown condition {cond.name!r}")
    return (_jpeg(out, cond.jpeg) if cond.jpeg else _png(out)), centre, width


# --- the conditioned set ---------------------------------------------------------------------------


@dataclass
class ConditionedPhoto:
    """One labelled photo under one condition: the file's bytes, who is in it and where their face now is."""

    name: str
    identity: str
    condition: Condition
    data: bytes
    centre: tuple[float, float]
    width: float
    source: str


def conditioned_photos(faces: LabelledFaces, indices: Iterable[int],
                       conditions: Sequence[Condition] = (CLEAN, *CONDITIONS),
                       seed: int = 0) -> Iterable[ConditionedPhoto]:
    """Each photo of ``faces`` at ``indices`` under each condition, made as it is needed (never written to disk).

    Seeded per photo and condition: the same set every run, whatever the order or subset asked.
    """
    from ..images import load_image

    for i in indices:
        image = load_image(faces.paths[i])
        for k, cond in enumerate(conditions):
            rng = np.random.default_rng([seed, int(i), k])
            data, centre, width = degrade(image, faces.boxes[i], cond, rng)
            path = faces.paths[i]
            yield ConditionedPhoto(f"{path.parent.name}/{path.stem}@{cond.key}", faces.identities[i], cond,
                                   data, centre, width, str(path))


# --- scoring ---------------------------------------------------------------------------------------


@dataclass
class ConditionOutcome:
    """A conditioned photo after analysis: the faces found (boxes, encodings, quality) and which of them
    is the labelled person's (None: not found)."""

    photo: ConditionedPhoto
    analysis: object  # recognition.PhotoAnalysis
    face: int | None

    @property
    def found(self) -> bool:
        return self.face is not None


def _true_face(boxes: np.ndarray, centre: tuple[float, float], width: float) -> int | None:
    """The detected face whose centre is nearest the true one, within half a face width; None if there is none."""
    if len(boxes) == 0:
        return None
    cx = (boxes[:, 1] + boxes[:, 3]) / 2.0
    cy = (boxes[:, 0] + boxes[:, 2]) / 2.0
    d = np.hypot(cx - centre[0], cy - centre[1])
    k = int(np.argmin(d))
    return k if d[k] <= 0.5 * width else None


def analyse_conditioned(photos: Iterable[ConditionedPhoto], options=None, recognizer=None,
                        progress: Callable[[int, str], None] | None = None) -> list[ConditionOutcome]:
    """Detect, encode and read the quality of every conditioned photo, as a session's photo is analysed."""
    from ..images import PhotoFile
    from ..recognition import AnalysisOptions, Recognizer

    options = options or AnalysisOptions(workers=1)
    recognizer = recognizer or Recognizer()
    out = []
    for k, photo in enumerate(photos):
        analysis = recognizer.analyse([PhotoFile(photo.name, photo.data)], options)[0]
        out.append(ConditionOutcome(photo, analysis, _true_face(analysis.boxes, photo.centre, photo.width)))
        if progress:
            progress(k + 1, photo.name)
    return out


def _marked(roster, analysis, rules, judge_quality: bool = True) -> tuple[object, list]:
    """The session's attendance for one analysed photo (matching and decisions as the product does;
    judge_quality False: without the faces' quality readings, as before issue 27)."""
    from ..results import DetectedFaces, Photo
    from ..session import Session

    session = Session(roster, tolerance=rules.tolerance, ambiguity_margin=rules.ambiguity_margin,
                      check_band=rules.check_band)
    session.photos.append(Photo(analysis.name, DetectedFaces(analysis.boxes, analysis.encodings),
                                analysis.size, analysis.sha256, quality=analysis.quality if judge_quality else None))
    attendance = session.result()
    return attendance, attendance.faces


def _labelled_face(roster, outcome: ConditionOutcome, rules, judge_quality: bool = True):
    """The labelled face's result when its photo is marked against ``roster`` (None: the face was not found)."""
    if not outcome.found:
        return None
    _, faces = _marked(roster, outcome.analysis, rules, judge_quality)
    return next(f for f in faces if f.face == outcome.face)


def score_conditions(outcomes: Sequence[ConditionOutcome], roster, folds: Sequence = (), rules=None,
                     judge_quality: bool = True):
    """Per condition, a row of the labelled faces' results (a DataFrame).

    Students (people of ``roster``): recall (marked present as themselves), precision (of the faces marked
    present, marked as the right student), not_found (no face detected there), recall_one_tap (marked, or
    unnamed with themselves as the suggestion), unsure (unnamed with a suggestion) and poor (a quality
    problem). Strangers (people kept out of a fold's roster, over ``folds``): false_present (taken for a
    student), per_1000 (per 1,000 stranger faces) and unflagged (false presents not flagged for a check).
    judge_quality False: decide without the faces' quality readings (as before issue 27).
    """
    import pandas as pd

    from ..decisions import DecisionRules

    rules = rules or DecisionRules()
    rows: dict[str, dict] = {}
    ids = set(roster.ids)
    # A student's own reference photo, degraded, is no test: it is compared with itself.
    references = {str(p.path) for s in roster.students for p in s.photos}
    for o in outcomes:
        cond = o.photo.condition
        row = rows.setdefault(cond.key, {"condition": cond.name, "strength": cond.strength, "label": cond.label,
                                         "students": 0, "marked": 0, "right": 0, "not_found": 0,
                                         "one_tap": 0, "unsure": 0, "poor": 0, "strangers": 0,
                                         "false_present": 0, "unflagged": 0})
        if o.photo.identity in ids and o.photo.source not in references:
            face = _labelled_face(roster, o, rules, judge_quality)
            row["students"] += 1
            row["not_found"] += face is None
            if face is not None:
                right = face.student == o.photo.identity
                row["marked"] += face.student is not None
                row["right"] += right
                row["unsure"] += face.student is None and face.suggestion is not None
                row["one_tap"] += right or (face.student is None and face.suggestion == o.photo.identity)
                row["poor"] += bool(face.quality is not None and face.quality.problem)
        for fold in folds:
            if o.photo.identity in fold.strangers:
                face = _labelled_face(fold.roster, o, rules, judge_quality)
                row["strangers"] += 1
                if face is not None and face.student is not None:
                    row["false_present"] += 1
                    row["unflagged"] += not face.check
    table = []
    for key, r in rows.items():
        students = max(1, r["students"])
        table.append({"key": key, **{k: r[k] for k in ("condition", "strength", "label", "students")},
                      "recall": r["right"] / students,
                      "precision": r["right"] / r["marked"] if r["marked"] else 1.0,
                      "not_found": r["not_found"] / students,
                      "recall_one_tap": r["one_tap"] / students,
                      "unsure": r["unsure"], "poor": r["poor"],
                      "strangers": r["strangers"], "false_present": r["false_present"],
                      "per_1000": 1000 * r["false_present"] / max(1, r["strangers"]),
                      "unflagged": r["unflagged"]})
    return pd.DataFrame(table)


def study_roster(faces: LabelledFaces, references: int = 2):
    """The roster of a conditions study: every person of ``faces`` enrolled with their first ``references``
    photos (by path); their other photos are the students' test photos (:func:`score_conditions`)."""
    from ..roster import ReferencePhoto, Roster, Student, display_name

    by_person: dict[str, list[int]] = {}
    for i in sorted(range(len(faces)), key=lambda i: str(faces.paths[i])):
        by_person.setdefault(faces.identities[i], []).append(i)
    return Roster(None, [Student(p, display_name(p), [
        ReferencePhoto(faces.paths[i], faces.encodings[i], tuple(int(v) for v in faces.boxes[i]))
        for i in idx[:references]]) for p, idx in sorted(by_person.items())])


def evaluate_conditions(faces: LabelledFaces, roster, photos: Sequence[int], folds: Sequence = (),
                        conditions: Sequence[Condition] = (CLEAN, *CONDITIONS), options=None, recognizer=None,
                        rules=None, seed: int = 0, progress: Callable[[int, str], None] | None = None,
                        before: bool = False):
    """:func:`score_conditions` of the photos ``photos`` of ``faces`` under ``conditions``, analysed by
    ``recognizer`` (default: in this process) with ``options``; returns ``(table, outcomes)``.
    before: as the product did before issue 27 (HOG alone, no quality readings), for comparison."""
    from dataclasses import replace

    from ..recognition import AnalysisOptions

    options = options or AnalysisOptions(workers=1)
    if before:
        options = replace(options, second_opinion=False)
    outcomes = analyse_conditioned(conditioned_photos(faces, photos, conditions, seed), options, recognizer, progress)
    return score_conditions(outcomes, roster, folds, rules, judge_quality=not before), outcomes
