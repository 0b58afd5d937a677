"""Attendance on labelled classroom photos: precision, recall and F1 against the tolerance, the errors, detectors."""
from __future__ import annotations

import csv
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np

from ..annotate import crop_face
from ..faces import DetectedFaces, DetectorSettings, find_faces
from ..images import load_image
from ..matching import DEFAULT_AMBIGUITY_MARGIN, assign, student_distances
from ..roster import Roster
from .labelled import LabelledClass

__all__ = ["ClassroomPhoto", "read_classroom_photos", "make_classroom_photos", "EvaluatedPhoto", "evaluate_photos",
           "PhotoScore", "marked_present", "score_photo", "precision_recall_f1", "attendance_scores",
           "photo_scores", "per_photo_table", "best_tolerance", "MatchError", "attendance_errors",
           "error_crops", "compare_detectors", "TOLERANCES", "ATTENDANCE_FILE"]

#: Tolerances swept by the notebooks.
TOLERANCES = np.round(np.arange(0.30, 0.801, 0.01), 2)
ATTENDANCE_FILE = "attendance.csv"


# --- labelled classroom photos ---------------------------------------------------------------


@dataclass
class ClassroomPhoto:
    """A classroom photo with the students really in it (roster ids).

    faces: the true face boxes and identities when known (synthetic photos); image: the pixels, or
    None to load them from ``path``.
    """

    name: str
    present: frozenset[str]
    path: Path | None = None
    image: np.ndarray | None = field(default=None, repr=False)
    faces: list | None = None  # list[synthetic.PlacedFace]

    def pixels(self) -> np.ndarray:
        return self.image if self.image is not None else load_image(self.path)


def read_classroom_photos(folder: Path | str, labels: str = ATTENDANCE_FILE) -> list[ClassroomPhoto]:
    """Labelled classroom photos: ``folder/attendance.csv`` with ``photo,student`` rows (an empty student: nobody of the roster)."""
    folder = Path(folder)
    present: dict[str, set[str]] = {}
    with open(folder / labels, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    if rows and not {"photo", "student"} <= set(rows[0]):
        raise ValueError(f"{folder / labels}: the header must be 'photo,student'")
    for r in rows:
        photo = (r["photo"] or "").strip()
        if photo:
            students = present.setdefault(photo, set())
            if (r["student"] or "").strip():
                students.add(r["student"].strip())
    return [ClassroomPhoto(name, frozenset(ids), folder / name) for name, ids in present.items()]


def make_classroom_photos(labelled: LabelledClass, photos: int = 4, size: tuple[int, int] = (1920, 1080),
                          students_per_photo: int = 16, strangers_per_photo: int = 3,
                          face_widths: tuple[int, int] = (28, 110), seed: int = 0) -> list[ClassroomPhoto]:
    """Labelled synthetic classroom photos: probe photos of some students and of strangers, composed by
    :func:`synthetic.make_classroom` with faces from ``face_widths[0]`` px (back row) to ``face_widths[1]``.

    The defaults are the notebooks' dev classroom: 4 photos of 1920x1080, 16 students and 3
    strangers each. Each photo uses different probe photos where a person has enough.
    """
    from ..synthetic import make_classroom

    rng = np.random.default_rng(seed)
    probes, outsiders = labelled.probes, labelled.strangers
    by_person: dict[str, list[int]] = {}
    for i, ident in enumerate(probes.identities):
        by_person.setdefault(ident, []).append(i)
    by_stranger: dict[str, list[int]] = {}
    for i, ident in enumerate(outsiders.identities):
        by_stranger.setdefault(ident, []).append(i)
    used: dict[str, int] = {}
    out = []
    for k in range(photos):
        people = sorted(by_person)
        chosen = rng.choice(people, size=min(students_per_photo, len(people)), replace=False)
        strangers = sorted(by_stranger)
        chosen_strangers = rng.choice(strangers, size=min(strangers_per_photo, len(strangers)), replace=False) if strangers else []
        portraits = []
        for person in chosen:
            n = used.get(person, 0)
            used[person] = n + 1
            portraits.append((str(person), probes.paths[by_person[person][n % len(by_person[person])]]))
        for person in chosen_strangers:
            n = used.get(person, 0)
            used[person] = n + 1
            portraits.append((str(person), outsiders.paths[by_stranger[person][n % len(by_stranger[person])]]))
        image, placed = make_classroom(portraits, size, face_widths, seed=seed * 1000 + k)
        roster_ids = set(labelled.roster.ids)
        present = frozenset(p.identity for p in placed if p.identity in roster_ids)
        out.append(ClassroomPhoto(f"classroom_{k + 1}", present, None, image, placed))
    return out


# --- attendance on classroom photos ----------------------------------------------------------


@dataclass
class EvaluatedPhoto:
    """A classroom photo after detection and encoding: its faces, their distances to every student, and the truth.

    face_truth: the true identity of each detected face (strangers included), or None where no true
    face is there or the true boxes are unknown; missed: true faces that were not detected.
    """

    photo: ClassroomPhoto
    faces: DetectedFaces
    distances: np.ndarray  # (faces, students)
    face_truth: list[str | None]
    missed: list  # list[synthetic.PlacedFace]
    seconds: float

    @property
    def name(self) -> str:
        return self.photo.name


def evaluate_photos(photos: Sequence[ClassroomPhoto], roster: Roster, settings: DetectorSettings = DetectorSettings(),
                    progress: Callable[[int, int, str], None] | None = None) -> list[EvaluatedPhoto]:
    """Detect and encode the faces of each classroom photo (as a session does), and pair them with the truth."""
    from ..synthetic import match_boxes

    out = []
    for k, photo in enumerate(photos):
        image = photo.pixels()
        start = time.perf_counter()
        faces = find_faces(image, settings)
        seconds = time.perf_counter() - start
        d = student_distances(faces.encodings, roster.reference_encodings, roster.owners, len(roster))
        truth: list[str | None] = [None] * len(faces)
        missed = []
        if photo.faces is not None:
            pairs = match_boxes(photo.faces, faces.boxes)
            for i, j in pairs.items():
                truth[i] = photo.faces[j].identity
            found = set(pairs.values())
            missed = [f for j, f in enumerate(photo.faces) if j not in found]
        out.append(EvaluatedPhoto(photo, faces, d, truth, missed, seconds))
        if progress:
            progress(k + 1, len(photos), photo.name)
    return out


@dataclass(frozen=True)
class PhotoScore:
    """Attendance from one photo at one tolerance, against the truth (sets of student ids)."""

    photo: str
    tolerance: float
    marked: frozenset[str]
    present: frozenset[str]

    @property
    def true_present(self) -> frozenset[str]:
        return self.marked & self.present

    @property
    def false_present(self) -> frozenset[str]:
        return self.marked - self.present

    @property
    def missed(self) -> frozenset[str]:
        return self.present - self.marked


def marked_present(distances: np.ndarray, student_ids: Sequence[str], tolerance: float,
                   ambiguity_margin: float = DEFAULT_AMBIGUITY_MARGIN) -> list[str | None]:
    """The student each face is matched to (or None), by the product's one-to-one assignment."""
    return [student_ids[m.student] if m.student is not None else None
            for m in assign(distances, tolerance, ambiguity_margin)]


def score_photo(distances: np.ndarray, student_ids: Sequence[str], present: Iterable[str], tolerance: float,
                name: str = "") -> PhotoScore:
    """Who one photo marks present at ``tolerance`` (distances: faces x students), compared with who is there."""
    marked = frozenset(s for s in marked_present(distances, student_ids, tolerance) if s is not None)
    return PhotoScore(name, float(tolerance), marked, frozenset(present))


def precision_recall_f1(true_positives: int, false_positives: int, false_negatives: int) -> tuple[float, float, float]:
    """Precision, recall and F1 from counts; precision is 1 when nothing was marked, recall 1 when nobody was there."""
    marked = true_positives + false_positives
    there = true_positives + false_negatives
    precision = true_positives / marked if marked else 1.0
    recall = true_positives / there if there else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def attendance_scores(matrices: Sequence[np.ndarray], student_ids: Sequence[str], present: Sequence[Iterable[str]],
                      tolerances: Iterable[float] = TOLERANCES):
    """Attendance precision, recall and F1 (students marked present vs really there, summed over photos) at each tolerance.

    matrices: one faces x students distance matrix per photo; present: the students really in each photo.
    Returns a DataFrame: tolerance, precision, recall, f1, true_present, false_present, missed.
    """
    import pandas as pd

    present = [frozenset(p) for p in present]
    rows = []
    for t in tolerances:
        tp = fp = fn = 0
        for d, truth in zip(matrices, present):
            s = score_photo(d, student_ids, truth, t)
            tp, fp, fn = tp + len(s.true_present), fp + len(s.false_present), fn + len(s.missed)
        p, r, f = precision_recall_f1(tp, fp, fn)
        rows.append({"tolerance": round(float(t), 4), "precision": p, "recall": r, "f1": f,
                     "true_present": tp, "false_present": fp, "missed": fn})
    return pd.DataFrame(rows)


def photo_scores(evaluated: Sequence[EvaluatedPhoto], roster: Roster, tolerances: Iterable[float] = TOLERANCES):
    """:func:`attendance_scores` for evaluated classroom photos."""
    return attendance_scores([e.distances for e in evaluated], roster.ids, [e.photo.present for e in evaluated], tolerances)


def per_photo_table(evaluated: Sequence[EvaluatedPhoto], roster: Roster, tolerance: float):
    """One row per photo at ``tolerance``: faces, students there, marked, false present, missed, precision, recall, seconds."""
    import pandas as pd

    rows = []
    for e in evaluated:
        s = score_photo(e.distances, roster.ids, e.photo.present, tolerance, e.name)
        p, r, f = precision_recall_f1(len(s.true_present), len(s.false_present), len(s.missed))
        rows.append({"photo": e.name, "faces_found": len(e.faces), "students_there": len(s.present),
                     "marked_present": len(s.marked), "false_present": ", ".join(sorted(s.false_present)),
                     "missed": ", ".join(sorted(s.missed)), "precision": p, "recall": r, "f1": f,
                     "seconds": round(e.seconds, 2)})
    return pd.DataFrame(rows)


def best_tolerance(scores) -> tuple[float, float, float]:
    """``(lowest, highest, f1)``: the range of tolerances of a score table that reach its best F1."""
    best = scores["f1"].max()
    at = scores.loc[np.isclose(scores["f1"], best), "tolerance"]
    return float(at.min()), float(at.max()), float(best)


@dataclass(frozen=True)
class MatchError:
    """One mistake at a tolerance: a face matched to the wrong student ("false match") or a student not found ("miss").

    truth: who the face really is (None: not a face, or unknown); matched: the student it was matched
    to; distance: its distance to that student (or to the true student for a miss); box: (top, right,
    bottom, left), None when the student's face was not found at all and the true box is unknown.
    """

    photo: str
    kind: str
    truth: str | None
    matched: str | None
    distance: float | None
    box: tuple[int, int, int, int] | None
    reason: str


def attendance_errors(evaluated: Sequence[EvaluatedPhoto], roster: Roster, tolerance: float) -> list[MatchError]:
    """Every false match and every miss of the classroom photos at ``tolerance``, one per face.

    With true face boxes: a face matched to anyone but its own student is a false match; a student's
    face left unknown, or not detected, is a miss. Without them (a real labelled set): a face matched
    to a student not in the photo is a false match, and a student in the photo whom no face matched is a miss.
    """
    ids = roster.ids
    errors: list[MatchError] = []
    for e in evaluated:
        matched = marked_present(e.distances, ids, tolerance)
        boxes_known = e.photo.faces is not None
        for i, (student, truth) in enumerate(zip(matched, e.face_truth)):
            box = tuple(int(v) for v in e.faces.boxes[i])
            if student is not None and (student != truth if boxes_known else student not in e.photo.present):
                if not boxes_known:
                    reason = "not in this photo"
                elif truth is None:
                    reason = "not a face"
                else:
                    reason = f"really {truth}" if truth in ids else f"a stranger ({truth})"
                errors.append(MatchError(e.name, "false match", truth, student,
                                         float(e.distances[i, ids.index(student)]), box, reason))
            elif boxes_known and student is None and truth in ids:
                dist = float(e.distances[i, ids.index(truth)])
                errors.append(MatchError(e.name, "miss", truth, None, dist, box,
                                         f"distance {dist:.2f} > tolerance {tolerance:.2f}"))
        if boxes_known:
            errors.extend(MatchError(e.name, "miss", f.identity, None, None, tuple(f.box), "face not detected")
                          for f in e.missed if f.identity in ids)
        else:
            found = {s for s in matched if s is not None}
            errors.extend(MatchError(e.name, "miss", sid, None, None, None, "no face matched")
                          for sid in sorted(e.photo.present - found))
    return errors


def error_crops(errors: Sequence[MatchError], evaluated: Sequence[EvaluatedPhoto], margin: float = 0.3) -> list[np.ndarray | None]:
    """A crop of each error's face (with ``margin`` of the face width around it), or None without a box."""
    images = {e.name: e.photo for e in evaluated}
    cache: dict[str, np.ndarray] = {}
    crops = []
    for err in errors:
        if err.box is None:
            crops.append(None)
            continue
        if err.photo not in cache:
            cache[err.photo] = images[err.photo].pixels()
        crops.append(crop_face(cache[err.photo], err.box, margin))
    return crops


# --- detector settings -----------------------------------------------------------------------


def compare_detectors(photos: Sequence[ClassroomPhoto], roster: Roster, settings: Sequence[DetectorSettings],
                      tolerance: float):
    """Time against recall for each detector setting on labelled classroom photos (with true face boxes).

    Returns a DataFrame: detector, min_face_size, seconds (detect + encode, all photos), faces_found,
    face_recall (true faces detected / true faces), attendance_recall and attendance_precision at ``tolerance``.
    """
    import pandas as pd

    from ..synthetic import match_boxes

    rows = []
    for s in settings:
        evaluated = evaluate_photos(photos, roster, s)
        true_faces = sum(len(e.photo.faces or []) for e in evaluated)
        detected = sum(len(match_boxes(e.photo.faces, e.faces.boxes)) for e in evaluated if e.photo.faces)
        scores = photo_scores(evaluated, roster, [tolerance]).iloc[0]
        rows.append({"detector": s.model, "min_face_size": s.min_face_size,
                     "seconds": round(sum(e.seconds for e in evaluated), 2),
                     "faces_found": sum(len(e.faces) for e in evaluated),
                     "face_recall": detected / true_faces if true_faces else float("nan"),
                     "attendance_recall": float(scores["recall"]), "attendance_precision": float(scores["precision"])})
    return pd.DataFrame(rows)
