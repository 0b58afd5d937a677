"""The students of a class, enrolled from a folder of reference photos.

Folder convention (the seed's): ``Name_Surname.jpg`` is one student with one reference photo, and
``Name_Surname/`` is one student with every photo inside as a reference. The student id is the file
or folder name without extension; the display name replaces underscores with spaces.
A reference photo must show one face: a photo with no face, or with several faces of similar size,
is reported and not used; when one face clearly dominates (a bystander in the background) it is
used and the others are noted.

A school's roster folder holds a folder (or photo) per student id (``S1001/`` ...) and the class lists
say who is in which class, with display names and consent (see :mod:`school`): ``load_roster(...,
students=...)`` then enrolls exactly those students, and never encodes the photos of a student
whose consent is not given.
"""
from __future__ import annotations

import io
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
from PIL import Image

from .encoding_cache import CachedFaces, EncodingCache, forget_everywhere
from .errors import AttendanceError
from .faces import REFERENCE_JITTERS, DetectorSettings
from .files import write_atomic
from .images import DEFAULT_MAX_BYTES, DEFAULT_MAX_PIXELS, ImageError, is_image_file, load_image
from .results import CONSENT_GIVEN

#: A face at least this many times wider than the next one is the subject of a reference photo.
DOMINANT_FACE_RATIO = 1.6
#: Reference photos are scaled down to this longest side before detection; faces stay large.
REFERENCE_MAX_SIDE = 1600
#: Longest student id (a file or folder name): well inside a file name's 255 bytes and the records' limits.
MAX_STUDENT_ID = 100
#: The extension a saved reference photo gets, by the format found in its bytes (not by its upload name).
_EXTENSIONS = {"JPEG": ".jpg", "MPO": ".jpg", "PNG": ".png", "WEBP": ".webp", "BMP": ".bmp", "TIFF": ".tif",
               "GIF": ".gif", "HEIF": ".heic"}


class RosterError(AttendanceError):
    """A change to the roster folder that cannot be made; ``str(err)`` says why in the instructor's words."""


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
    """A student: ``consent`` is a value of results.CONSENT_STATES, or None where nobody records consent
    (a roster folder used without class lists, where the instructor vouches for every photo)."""

    id: str
    name: str
    photos: list[ReferencePhoto] = field(default_factory=list)
    consent: str | None = None

    @property
    def may_be_recognised(self) -> bool:
        """Whether face recognition may be used for this student (consent given, or not recorded)."""
        return self.consent in (None, CONSENT_GIVEN)

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
            # A student without consent is never matched, even when encodings were handed in directly.
            e = s.encodings if s.may_be_recognised else np.zeros((0, 128))
            enc.append(e)
            owners.extend([i] * len(e))
        self.reference_encodings = np.concatenate(enc) if enc else np.zeros((0, 128))
        self.owners = np.asarray(owners, dtype=np.intp)

    def __len__(self) -> int:
        return len(self.students)

    @property
    def without_consent(self) -> list[str]:
        """Ids of the students whose faces must not be recognised (consent refused or not asked)."""
        return [s.id for s in self.students if not s.may_be_recognised]

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


def photo_faces(source, name: str | None = None) -> CachedFaces:
    """Detect and encode the faces of one reference photo (a path or bytes named ``name``); no cache."""
    from .faces import detect_faces, encode_faces

    try:
        image = load_image(source, name)
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
    # HOG alone first: a reference photo is sharp and front-on, and YuNet would also find the half faces at
    # its edges that make it "several faces". YuNet's second opinion only where HOG finds no face.
    boxes = detect_faces(small, "hog", min_face, workers=1, second_opinion=False)
    if len(boxes) == 0 and min_face > 40:
        boxes = detect_faces(small, "hog", 40, workers=1, second_opinion=False)
    if len(boxes) == 0:
        boxes = detect_faces(small, "hog", 40, workers=1)
    boxes = np.round(boxes / scale).astype(np.int64)
    return CachedFaces(boxes, encode_faces(image, boxes, REFERENCE_JITTERS))


_reference_faces = photo_faces  # how load_roster encodes by default (the evaluation and the tests use this name)


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


@dataclass(frozen=True)
class Enrolment:
    """A student as the class lists name them: id, display name and consent (None: not recorded)."""

    id: str
    name: str
    consent: str | None = None


def load_roster(
    folder: Path | str,
    settings: DetectorSettings = DetectorSettings(),
    cache_dir: Path | str | None = None,
    progress: Callable[[int, int, str], None] | None = None,
    students: Sequence[Enrolment] | None = None,
    encode: Callable[[Path], CachedFaces] | None = None,
) -> Roster:
    """Enroll the students of a roster folder, reusing cached encodings where the photos are unchanged.

    cache_dir: where the encoding cache lives (None: no cache); progress(done, total, file) is
    called after each photo. students: the class's students (from its class list), in the order
    shown; default every entry of the folder, named after it. The photos of a student without
    consent are never read. encode(path): the faces of a reference photo missing from the cache (default
    :func:`photo_faces`, here; a :class:`recognition.Recognizer`'s ``reference_faces`` runs it elsewhere).
    Problems (unreadable photo, no face, several faces, student without a
    usable photo) are collected in ``Roster.problems``, never raised.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"roster folder not found: {folder}")
    cache = EncodingCache(cache_dir, settings.key())
    found = dict(roster_entries(folder))
    if students is None:
        students = [Enrolment(sid, display_name(sid)) for sid in found]
    entries = [(e, found.get(e.id, []) if e.consent in (None, CONSENT_GIVEN) else []) for e in students]
    total = sum(len(paths) for _, paths in entries)
    enrolled: list[Student] = []
    problems: list[RosterProblem] = []
    done = 0
    for entry, paths in entries:
        sid = entry.id
        student = Student(sid, entry.name, consent=entry.consent)
        for path in paths:
            rel = str(path.relative_to(folder))
            try:
                digest = cache.digest(path)
            except OSError as err:
                problems.append(RosterProblem(rel, sid, f"cannot be read ({err.strerror or err})"))
                continue
            faces = cache.get(digest)
            if faces is None:
                faces = (encode or _reference_faces)(path)
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
        if not student.may_be_recognised:
            pass  # no consent: no photos read, nothing to report; they are marked by hand
        elif sid not in found:
            problems.append(RosterProblem(sid + "/", sid, "no reference photo in the roster folder"))
        elif not student.photos:
            problems.append(RosterProblem(sid + "/", sid, "folder has no photos (JPEG, PNG, WebP or HEIC)"))
        elif not student.usable:
            problems.append(RosterProblem(sid, sid, "no usable reference photo: this student cannot be recognised"))
        enrolled.append(student)
    cache.save()
    return Roster(folder, enrolled, problems)


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


# ----- changing the roster folder (the dashboard's Add student and "this is" actions) ------------------

def check_student_id(student_id: str) -> str:
    """``student_id`` if it can name a roster file or folder; raises :class:`RosterError` otherwise.

    An id is one path part (no ``/``, not hidden), of printable characters, at most MAX_STUDENT_ID long.
    """
    if not student_id or not student_id.strip():
        raise RosterError("a student needs a name")
    if len(student_id) > MAX_STUDENT_ID:
        raise RosterError(f"'{student_id[:40]}...' is too long for a student name "
                          f"({len(student_id)} characters, at most {MAX_STUDENT_ID})")
    if (student_id.startswith(".") or any(c in student_id for c in "/\\")
            or not all(c.isprintable() for c in student_id)):
        raise RosterError(f"'{student_id}' cannot be a student name")
    return student_id


def _entry_named(folder: Path, student_id: str) -> Path | None:
    """The roster folder's entry for ``student_id`` (file or folder, any case), or None."""
    key = student_id.lower()
    return next((p for p in folder.iterdir() if (p.stem if p.is_file() else p.name).lower() == key), None)


def _checked_photo(name: str, content: bytes, max_bytes: int, max_pixels: int) -> str:
    """The extension of a usable reference photo, from its bytes; raises ImageError when it is not one."""
    load_image(content, name, max_pixels=max_pixels, max_bytes=max_bytes)
    with Image.open(io.BytesIO(content)) as img:
        return _EXTENSIONS.get(img.format or "", ".jpg")


def _photo_file_name(name: str, extension: str, taken: set[str]) -> str:
    """A file name for a reference photo: the upload's name reduced to letters, digits, ``-`` and ``_``
    (at most 60), or ``photo``, with ``extension``; ``-2``, ``-3``... when taken (case-blind)."""
    base = str(name).replace("\\", "/").rsplit("/", 1)[-1]
    stem = re.sub(r"[^\w-]+", "_", base.rsplit(".", 1)[0] if "." in base else base)[:60].strip("_-") or "photo"
    candidate, k = f"{stem}{extension}", 2
    while candidate.lower() in taken:
        candidate, k = f"{stem}-{k}{extension}", k + 1
    taken.add(candidate.lower())
    return candidate


def enroll_student(folder: Path | str, student_id: str, photos: Sequence[tuple[str, bytes]],
                   max_bytes: int = DEFAULT_MAX_BYTES, max_pixels: int = DEFAULT_MAX_PIXELS) -> Path:
    """Add a student to a roster folder as ``folder/student_id/`` holding ``photos`` ``(upload name, bytes)``.

    Every check is made before anything is written: the id (:func:`check_student_id`), no entry of the
    same name, at least one photo, each a usable image (:class:`ImageError` names the file). A saved
    photo is named after its upload, reduced to safe characters, with the extension of the format
    found in its bytes. The folder appears whole or not at all. Returns the student's folder.
    """
    folder = Path(folder)
    check_student_id(student_id)
    if not photos:
        raise RosterError(f"choose one or more photos of {display_name(student_id)}")
    if _entry_named(folder, student_id) is not None:
        raise RosterError(f"the roster folder already has an entry named {student_id}")
    taken: set[str] = set()
    named = [(_photo_file_name(name, _checked_photo(name, bytes(content), max_bytes, max_pixels), taken),
              bytes(content)) for name, content in photos]
    # Written in a hidden folder (roster_entries skips it) and renamed: no half-made student on failure.
    staging = Path(tempfile.mkdtemp(dir=folder, prefix=".new-student-"))
    target = folder / student_id
    try:
        for file_name, content in named:
            (staging / file_name).write_bytes(content)
        os.chmod(staging, 0o777 & ~_umask())
        os.rename(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def add_reference_photo(folder: Path | str, student_id: str, content: bytes, file_name: str) -> Path:
    """Add one reference photo (``content``, already checked) to a student of a roster folder.

    A one-photo student (``Id.jpg``) first becomes a folder (``Id/Id.jpg``). The photo is written
    atomically as ``file_name`` (or ``stem-2.ext``... when taken). Returns its path; raises KeyError
    when the folder has no such student.
    """
    folder = Path(folder)
    student_dir = folder / student_id
    if not student_dir.is_dir():
        single = [p for sid, paths in roster_entries(folder) if sid == student_id for p in paths
                  if p.parent == folder]
        if not single:
            raise KeyError(f"no student {student_id!r} in {folder}")
        student_dir.mkdir()
        for p in single:
            shutil.move(str(p), student_dir / p.name)
    path = student_dir / file_name
    k = 2
    while path.exists():
        path = student_dir / f"{Path(file_name).stem}-{k}{Path(file_name).suffix}"
        k += 1
    return write_atomic(path, content)


def discard_reference_photo(folder: Path | str, path: Path | str) -> None:
    """Delete one reference photo of a roster folder (one just added that turned out unusable), and its
    student's folder when that leaves it empty."""
    folder, path = Path(folder), Path(path)
    path.unlink(missing_ok=True)
    parent = path.parent
    if parent != folder and parent.parent == folder and parent.is_dir() and not any(parent.iterdir()):
        parent.rmdir()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
