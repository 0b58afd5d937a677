"""The students of a class, enrolled from a folder of reference photos.

Folder convention (the seed's): ``Name_Surname.jpg`` is one student with one reference photo, and
``Name_Surname/`` is one student with every photo inside as a reference. The student id is the file
or folder name without extension; the display name replaces underscores with spaces.
A reference photo must show one face: a photo with no face, or with several faces of similar size,
is reported and not used; when one face clearly dominates (a bystander in the background) it is
used and the others are noted.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from .encoding_cache import CachedFaces, EncodingCache, forget_everywhere
from .faces import REFERENCE_JITTERS, DetectorSettings, detect_faces, encode_faces
from .images import ImageError, is_image_file, load_image

#: A face at least this many times wider than the next one is the subject of a reference photo.
DOMINANT_FACE_RATIO = 1.6
#: Reference photos are scaled down to this longest side before detection; faces stay large.
REFERENCE_MAX_SIDE = 1600


@dataclass
class ReferencePhoto:
    """One reference photo: ``encoding`` is None when it is not usable, and ``problem`` says why."""

    path: Path
    encoding: np.ndarray | None
    box: tuple[int, int, int, int] | None = None
    problem: str | None = None
    note: str | None = None

    @property
    def usable(self) -> bool:
        return self.encoding is not None


@dataclass
class Student:
    id: str
    name: str
    photos: list[ReferencePhoto] = field(default_factory=list)

    @property
    def encodings(self) -> np.ndarray:
        enc = [p.encoding for p in self.photos if p.usable]
        return np.array(enc).reshape(-1, 128)

    @property
    def usable(self) -> bool:
        return any(p.usable for p in self.photos)


@dataclass(frozen=True)
class RosterProblem:
    """Something wrong with the roster: ``file`` (a photo or a student folder) and ``reason``."""

    file: str
    student: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}: {self.reason}"


@dataclass
class Roster:
    """Students in folder order, their usable reference encodings, and the problems found."""

    folder: Path | None
    students: list[Student]
    problems: list[RosterProblem] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._index = {s.id: i for i, s in enumerate(self.students)}
        enc, owners = [], []
        for i, s in enumerate(self.students):
            e = s.encodings
            enc.append(e)
            owners.extend([i] * len(e))
        self.reference_encodings = np.concatenate(enc) if enc else np.zeros((0, 128))
        self.owners = np.asarray(owners, dtype=np.intp)

    def __len__(self) -> int:
        return len(self.students)

    @property
    def ids(self) -> list[str]:
        return [s.id for s in self.students]

    def index(self, student_id: str) -> int:
        try:
            return self._index[student_id]
        except KeyError:
            raise KeyError(f"no student {student_id!r} in the roster") from None

    def student(self, student_id: str) -> Student:
        return self.students[self.index(student_id)]

    @classmethod
    def from_encodings(cls, encodings: dict[str, np.ndarray], names: dict[str, str] | None = None) -> "Roster":
        """A roster built from encodings directly (tests, evaluation): ``{id: (k, 128) array}``."""
        students = [
            Student(sid, (names or {}).get(sid, display_name(sid)),
                    [ReferencePhoto(Path(f"{sid}#{k}"), np.asarray(e)) for k, e in enumerate(np.asarray(enc).reshape(-1, 128))])
            for sid, enc in encodings.items()
        ]
        return cls(None, students)


def display_name(student_id: str) -> str:
    """``Name_Surname`` -> ``Name Surname``."""
    return " ".join(part for part in student_id.replace("_", " ").split())


def roster_entries(folder: Path) -> list[tuple[str, list[Path]]]:
    """``(student id, reference photo paths)`` per student of a roster folder, sorted by id."""
    entries: dict[str, list[Path]] = {}
    for entry in sorted(folder.iterdir(), key=lambda p: p.name.lower()):
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            entries.setdefault(entry.name, []).extend(sorted(p for p in entry.iterdir() if is_image_file(p)))
        elif is_image_file(entry):
            entries.setdefault(entry.stem, []).append(entry)
    return sorted(entries.items(), key=lambda kv: kv[0].lower())


def _reference_faces(path: Path) -> CachedFaces:
    """Detect and encode the faces of one reference photo (no cache)."""
    try:
        image = load_image(path)
    except ImageError as err:
        return CachedFaces(np.zeros((0, 4), dtype=np.int64), np.zeros((0, 128)), error=err.reason)
    h, w = image.shape[:2]
    scale = min(1.0, REFERENCE_MAX_SIDE / max(h, w))
    small = image
    if scale < 1.0:
        import cv2

        small = cv2.resize(image, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
    # The subject of a portrait is large: look for faces of at least a tenth of the photo.
    min_face = int(max(40, min(small.shape[:2]) / 10))
    boxes = detect_faces(small, "hog", min_face, workers=1)
    if len(boxes) == 0 and min_face > 40:
        boxes = detect_faces(small, "hog", 40, workers=1)
    boxes = np.round(boxes / scale).astype(np.int64)
    return CachedFaces(boxes, encode_faces(image, boxes, REFERENCE_JITTERS))


def _choose_face(faces: CachedFaces) -> tuple[int | None, str | None, str | None]:
    """Which face of a reference photo to use: ``(index or None, problem, note)``."""
    if faces.error:
        return None, faces.error, None
    n = len(faces.boxes)
    if n == 0:
        return None, "no face found (use a sharp, front-facing photo with the face at least 80 pixels wide)", None
    if n == 1:
        return 0, None, None
    widths = faces.boxes[:, 1] - faces.boxes[:, 3]
    order = np.argsort(-widths)
    if widths[order[0]] >= DOMINANT_FACE_RATIO * widths[order[1]]:
        return int(order[0]), None, f"{n} faces found; used the largest"
    return None, f"{n} faces of similar size found; crop the photo to the student alone", None


def load_roster(
    folder: Path | str,
    settings: DetectorSettings = DetectorSettings(),
    cache_dir: Path | str | None = None,
    progress: Callable[[int, int, str], None] | None = None,
) -> Roster:
    """Enroll every student of a roster folder, reusing cached encodings where the photos are unchanged.

    cache_dir: where the encoding cache lives (None: no cache); progress(done, total, file) is
    called after each photo. Problems (unreadable photo, no face, several faces, student without a
    usable photo) are collected in ``Roster.problems``, never raised.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"roster folder not found: {folder}")
    cache = EncodingCache(cache_dir, settings.key())
    entries = roster_entries(folder)
    total = sum(len(paths) for _, paths in entries)
    students: list[Student] = []
    problems: list[RosterProblem] = []
    done = 0
    for sid, paths in entries:
        student = Student(sid, display_name(sid))
        for path in paths:
            rel = str(path.relative_to(folder))
            try:
                digest = cache.digest(path)
            except OSError as err:
                problems.append(RosterProblem(rel, sid, f"cannot be read ({err.strerror or err})"))
                continue
            faces = cache.get(digest)
            if faces is None:
                faces = _reference_faces(path)
                cache.put(digest, faces)
            index, problem, note = _choose_face(faces)
            if index is None:
                student.photos.append(ReferencePhoto(path, None, problem=problem))
                problems.append(RosterProblem(rel, sid, problem))
            else:
                box = tuple(int(v) for v in faces.boxes[index])
                student.photos.append(ReferencePhoto(path, faces.encodings[index], box, note=note))
            done += 1
            if progress:
                progress(done, total, rel)
        if not student.photos:
            problems.append(RosterProblem(sid + "/", sid, "folder has no photos (JPEG, PNG, WebP or HEIC)"))
        elif not student.usable:
            problems.append(RosterProblem(sid, sid, "no usable reference photo: this student cannot be recognised"))
        students.append(student)
    cache.save()
    return Roster(folder, students, problems)


def forget_student(folder: Path | str, student_id: str, settings: DetectorSettings = DetectorSettings(),
                   cache_dir: Path | str | None = None, delete_photos: bool = False) -> list[Path]:
    """Delete a student's cached encodings (and reference photos when asked); returns their photo paths.

    Entries are removed from every cache file under ``cache_dir``, whatever model settings made them
    (``settings`` is kept for compatibility and no longer narrows the clean-up).
    Raises KeyError when the roster folder has no such student.
    """
    folder = Path(folder)
    paths = dict(roster_entries(folder)).get(student_id)
    if paths is None:
        raise KeyError(f"no student {student_id!r} in {folder}")
    forget_everywhere(cache_dir, paths)
    if delete_photos:
        for p in paths:
            p.unlink(missing_ok=True)
        student_dir = folder / student_id
        if student_dir.is_dir() and not any(student_dir.iterdir()):
            student_dir.rmdir()
    return paths
