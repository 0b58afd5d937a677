"""How well faces are matched: the numbers behind the tolerance, and attendance accuracy.

Two levels, both from labelled photos:

- *pairs*: every two photos of a labelled set are a same-person or a different-person pair; their
  encoding distances give the histograms, the ROC curve, the equal-error rate and the tolerance that
  keeps false matches under a chosen rate (:func:`recommend_tolerance`, which chose ``DEFAULT_TOLERANCE``);
- *attendance*: labelled classroom photos go through the product's own steps (detect, encode,
  :func:`~attendance_core.matching.student_distances`, :func:`~attendance_core.matching.assign`), and the
  students marked present are compared with the students really there: precision, recall and F1
  against tolerance, a per-photo table, the errors as face crops, and detector settings compared.

Labelled sets, in the user's terms:

- *labelled photos* (one person per photo, like reference photos): a folder with ``labels.csv``
  (``path,identity`` rows, paths relative to the folder), or a folder per person (the roster folder
  convention: ``Name_Surname/`` or ``Name_Surname.jpg``);
- *labelled classroom photos*: a folder of photos plus ``attendance.csv`` with ``photo,student`` rows,
  one row per student present in a photo (a photo where no student of the roster is present has one
  row with an empty ``student``). Student ids are the roster's (``Name_Surname``).

Used by the notebooks; nothing here is used to mark attendance.
"""
from __future__ import annotations

import csv
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np

from .encoding_cache import CachedFaces, EncodingCache
from .faces import DetectedFaces, DetectorSettings, encode_faces, find_faces
from .images import load_image
from .matching import DEFAULT_AMBIGUITY_MARGIN, assign, face_distances, student_distances
from .roster import ReferencePhoto, Roster, Student, display_name, roster_entries

#: Default ceiling on the false-match rate (different-person pairs accepted) for the recommended tolerance.
DEFAULT_MAX_FALSE_MATCH_RATE = 0.001
#: Tolerances are recommended on this grid: a round number an instructor can type.
TOLERANCE_STEP = 0.01
#: Tolerances swept by the notebooks.
TOLERANCES = np.round(np.arange(0.30, 0.801, 0.01), 2)
LABELS_FILE = "labels.csv"
ATTENDANCE_FILE = "attendance.csv"


# --- where the data is -----------------------------------------------------------------------


def project_root(start: Path | str | None = None) -> Path:
    """The project folder: the first folder from ``start`` (default: here) upwards holding ``attendance_core/``."""
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "attendance_core").is_dir() and (folder / "pyproject.toml").is_file():
            return folder
    return Path(__file__).resolve().parent.parent


def devdata_dir(root: Path | str | None = None) -> Path | None:
    """The labelled development set: ``$ATTENDANCE_DEVDATA``, else ``../shared/devdata`` beside the project; None if absent."""
    env = os.environ.get("ATTENDANCE_DEVDATA")
    path = Path(env) if env else project_root(root).parent / "shared" / "devdata"
    return path if path.is_dir() else None


# --- labelled photos -------------------------------------------------------------------------


@dataclass(frozen=True)
class LabelledPhoto:
    """A photo of one person, and who it is."""

    path: Path
    identity: str


def read_labelled_photos(folder: Path | str) -> list[LabelledPhoto]:
    """The labelled photos of a folder: from its ``labels.csv`` (``path,identity``), else one folder (or file) per person."""
    folder = Path(folder)
    labels = folder / LABELS_FILE
    if labels.is_file():
        with open(labels, newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
        if rows and not {"path", "identity"} <= set(rows[0]):
            raise ValueError(f"{labels}: the header must be 'path,identity'")
        return [LabelledPhoto(folder / r["path"], r["identity"].strip()) for r in rows if r["path"].strip()]
    return [LabelledPhoto(p, sid) for sid, paths in roster_entries(folder) for p in paths]


@dataclass
class LabelledFaces:
    """Encodings of labelled photos, with ``identities``, ``paths`` and face ``boxes`` ``(n, 4)``.

    encodings ``(n, 128)``: each photo encoded as a reference photo is (the roster's way, jittered);
    probe_encodings ``(n, 128)``: the same face encoded as a classroom face is (the session's way);
    problems: photos left out and why (no face, several faces, unreadable, a duplicate of another photo).
    """

    identities: list[str]
    encodings: np.ndarray
    paths: list[Path]
    boxes: np.ndarray
    problems: list[str] = field(default_factory=list)
    probe_encodings: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.probe_encodings is None:
            self.probe_encodings = self.encodings

    def __len__(self) -> int:
        return len(self.identities)

    @property
    def people(self) -> list[str]:
        """The identities, sorted, each once."""
        return sorted(set(self.identities))

    def select(self, indices: Iterable[int]) -> "LabelledFaces":
        idx = list(indices)
        return LabelledFaces([self.identities[i] for i in idx], self.encodings[idx].reshape(-1, 128),
                             [self.paths[i] for i in idx], self.boxes[idx].reshape(-1, 4), list(self.problems),
                             self.probe_encodings[idx].reshape(-1, 128))


def encode_labelled_photos(photos: Sequence[LabelledPhoto], settings: DetectorSettings = DetectorSettings(),
                           cache_dir: Path | str | None = None,
                           progress: Callable[[int, int, str], None] | None = None) -> LabelledFaces:
    """Encode labelled photos as the roster encodes reference photos (same face choice, same encoding
    cache), and the chosen face again as a session encodes a classroom face (``settings.jitters``).

    A photo with the same content as an earlier one is left out: an identical copy would be a
    same-person pair at distance 0 and flatter the numbers.
    """
    from .roster import _choose_face, _reference_faces

    cache = EncodingCache(cache_dir, settings.key())
    # Classroom-style encodings of labelled photos are cached apart from the roster's, under their own key.
    probe_cache = EncodingCache(cache_dir, f"evaluation-probe-landmarks5-resnet_v1-jitters{settings.jitters}")
    identities, encodings, paths, boxes, problems, probes = [], [], [], [], [], []
    seen: dict[str, Path] = {}
    for k, photo in enumerate(photos):
        try:
            digest = cache.digest(photo.path)
        except OSError as err:
            problems.append(f"{photo.path}: cannot be read ({err.strerror or err})")
            continue
        if digest in seen:
            problems.append(f"{photo.path}: same photo as {seen[digest].name}, left out")
            continue
        seen[digest] = photo.path
        faces = cache.get(digest)
        if faces is None:
            faces = _reference_faces(photo.path)
            cache.put(digest, faces)
        index, problem, _ = _choose_face(faces)
        if index is None:
            problems.append(f"{photo.path}: {problem}")
        else:
            box = faces.boxes[index]
            probe = probe_cache.get(digest)
            if probe is None or len(probe.boxes) != 1 or not np.array_equal(probe.boxes[0], box):
                probe = CachedFaces(box.reshape(1, 4), encode_faces(load_image(photo.path), box.reshape(1, 4), settings.jitters))
                probe_cache.put(digest, probe)
            identities.append(photo.identity)
            encodings.append(faces.encodings[index])
            probes.append(probe.encodings[0])
            paths.append(photo.path)
            boxes.append(box)
        if progress:
            progress(k + 1, len(photos), str(photo.path))
    cache.save()
    probe_cache.save()
    return LabelledFaces(identities, np.array(encodings).reshape(-1, 128), paths,
                         np.array(boxes, dtype=np.int64).reshape(-1, 4), problems, np.array(probes).reshape(-1, 128))


def load_labelled_faces(*folders: Path | str, settings: DetectorSettings = DetectorSettings(),
                        cache_dir: Path | str | None = None) -> LabelledFaces:
    """Read and encode the labelled photos of one or more folders (see :func:`read_labelled_photos`)."""
    photos = [p for folder in folders for p in read_labelled_photos(folder)]
    return encode_labelled_photos(photos, settings, cache_dir)


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


# --- a labelled class: roster, probe photos, strangers ----------------------------------------


@dataclass
class LabelledClass:
    """A roster built from labelled photos (one reference photo per student), the students' other photos, and strangers."""

    roster: Roster
    probes: LabelledFaces  # other photos of enrolled students
    strangers: LabelledFaces  # photos of people held out of the roster


def split_class(faces: LabelledFaces, strangers: int = 3, keep: Iterable[str] = (), seed: int = 0) -> LabelledClass:
    """Enroll each person with their first photo (by path) and keep the rest as probes; hold ``strangers`` people out.

    keep: identities never held out (e.g. the demo class); the strangers are drawn, with ``seed``,
    from the people with at least two photos. Deterministic for the same faces.
    """
    keep = set(keep)
    by_person: dict[str, list[int]] = {}
    for i in sorted(range(len(faces)), key=lambda i: (faces.identities[i], str(faces.paths[i]))):
        by_person.setdefault(faces.identities[i], []).append(i)
    candidates = sorted(p for p, idx in by_person.items() if p not in keep and len(idx) >= 2)
    rng = np.random.default_rng(seed)
    held = set(rng.choice(candidates, size=min(strangers, len(candidates)), replace=False).tolist()) if candidates else set()
    students, probes, outsiders = [], [], []
    for person in sorted(by_person):
        idx = by_person[person]
        if person in held:
            outsiders.extend(idx)
            continue
        ref = idx[0]
        students.append(Student(person, display_name(person), [ReferencePhoto(
            faces.paths[ref], faces.encodings[ref], tuple(int(v) for v in faces.boxes[ref]))]))
        probes.extend(idx[1:])
    return LabelledClass(Roster(None, students), faces.select(probes), faces.select(outsiders))


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
    from .synthetic import make_classroom

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
    from .synthetic import match_boxes

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


def crop_face(image: np.ndarray, box: Sequence[int], margin: float = 0.3) -> np.ndarray:
    """The face at ``box`` (top, right, bottom, left) with ``margin`` times its size around it."""
    top, right, bottom, left = (int(v) for v in box)
    mw, mh = int((right - left) * margin), int((bottom - top) * margin)
    h, w = image.shape[:2]
    return image[max(0, top - mh):min(h, bottom + mh), max(0, left - mw):min(w, right + mw)]


# --- detector settings -----------------------------------------------------------------------


def compare_detectors(photos: Sequence[ClassroomPhoto], roster: Roster, settings: Sequence[DetectorSettings],
                      tolerance: float):
    """Time against recall for each detector setting on labelled classroom photos (with true face boxes).

    Returns a DataFrame: detector, min_face_size, seconds (detect + encode, all photos), faces_found,
    face_recall (true faces detected / true faces), attendance_recall and attendance_precision at ``tolerance``.
    """
    import pandas as pd

    from .synthetic import match_boxes

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
