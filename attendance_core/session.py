"""One class session: the classroom photos taken, the faces found in them, and who is present.

Faces are detected and encoded once per photo; matching against the roster is cheap and runs again
whenever the tolerance or a manual correction changes. A student is present if found in any photo
of the session. A photo that cannot be read is kept with its error and the others are still marked.
Classroom photos are held in memory only (as encodings, plus the pixels when ``keep_images``).
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from .faces import DetectedFaces, DetectorSettings, detect_faces, encode_faces
from .images import DEFAULT_MAX_BYTES, DEFAULT_MAX_PIXELS, ImageError, ImageSource, display_name, load_image
from .matching import DEFAULT_AMBIGUITY_MARGIN, DEFAULT_TOLERANCE, assign, student_distances
from .roster import Roster

PRESENT, ABSENT, EXCUSED = "present", "absent", "excused"
STATUSES = (PRESENT, ABSENT, EXCUSED)

#: progress(photo_name, stage, fraction_of_session_done); stages: loading, detecting, encoding, matching, done
Progress = Callable[[str, str, float], None]


@dataclass
class Photo:
    """A classroom photo of the session: where its faces are and what they encode, or why it failed."""

    name: str
    faces: DetectedFaces
    size: tuple[int, int] = (0, 0)  # width, height after EXIF rotation
    sha256: str = ""
    error: str | None = None
    image: np.ndarray | None = field(default=None, repr=False)


@dataclass(frozen=True)
class FaceResult:
    """One face of one photo after matching. Boxes are (top, right, bottom, left) in photo pixels."""

    photo: int
    face: int
    box: tuple[int, int, int, int]
    student: str | None
    distance: float | None
    ambiguous: bool
    nearest: str | None
    nearest_distance: float | None


@dataclass(frozen=True)
class StudentResult:
    """Attendance of one student: status, whether it was set by hand, and the best face found."""

    id: str
    name: str
    status: str
    source: str  # "automatic" or "manual"
    distance: float | None = None
    photo: str | None = None
    ambiguous: bool = False
    automatic_status: str = ABSENT


@dataclass
class Attendance:
    """The attendance of a session at one tolerance."""

    students: list[StudentResult]
    faces: list[FaceResult]
    photos: list[Photo]
    tolerance: float

    @property
    def present(self) -> list[str]:
        return [s.id for s in self.students if s.status == PRESENT]

    @property
    def absent(self) -> list[str]:
        return [s.id for s in self.students if s.status == ABSENT]

    @property
    def excused(self) -> list[str]:
        return [s.id for s in self.students if s.status == EXCUSED]

    @property
    def unknown_faces(self) -> list[FaceResult]:
        return [f for f in self.faces if f.student is None]

    def faces_in(self, photo: int) -> list[FaceResult]:
        return [f for f in self.faces if f.photo == photo]

    def to_dict(self) -> dict:
        """The JSON shape of ``attendance mark --format json``."""
        return {
            "roster": len(self.students),
            "tolerance": self.tolerance,
            "present": self.present,
            "absent": self.absent,
            "excused": self.excused,
            "unknown_faces": len(self.unknown_faces),
            "photos": [
                {
                    "file": p.name,
                    "present": sorted({f.student for f in self.faces_in(i) if f.student}),
                    "faces": [
                        {"box": list(f.box), "student": f.student,
                         "distance": None if f.distance is None else round(f.distance, 4),
                         "ambiguous": f.ambiguous}
                        for f in self.faces_in(i)
                    ],
                    "error": p.error,
                }
                for i, p in enumerate(self.photos)
            ],
        }

    def to_frame(self):
        """One row per student: id, name, status, source, distance, photo, ambiguous."""
        import pandas as pd

        rows = [{"id": s.id, "name": s.name, "status": s.status, "source": s.source,
                 "distance": s.distance, "photo": s.photo, "ambiguous": s.ambiguous} for s in self.students]
        return pd.DataFrame(rows, columns=["id", "name", "status", "source", "distance", "photo", "ambiguous"])


class Session:
    """Photos of one class at one time, matched against a roster.

    detector: how faces are found; tolerance: default match tolerance (see :mod:`matching`);
    keep_images: keep the photos' pixels in memory (for drawing boxes); they are never written to disk.
    max_pixels / max_bytes: larger photos are refused with a message (see :func:`images.load_image`).
    """

    def __init__(self, roster: Roster, detector: DetectorSettings = DetectorSettings(),
                 tolerance: float = DEFAULT_TOLERANCE, ambiguity_margin: float = DEFAULT_AMBIGUITY_MARGIN,
                 class_name: str = "", subject: str = "", taken_at: datetime | None = None,
                 keep_images: bool = False, max_pixels: int = DEFAULT_MAX_PIXELS,
                 max_bytes: int = DEFAULT_MAX_BYTES):
        self.roster = roster
        self.detector = detector
        self.tolerance = tolerance
        self.ambiguity_margin = ambiguity_margin
        self.class_name = class_name
        self.subject = subject
        self.taken_at = taken_at or datetime.now(timezone.utc)
        self.keep_images = keep_images
        self.max_pixels = max_pixels
        self.max_bytes = max_bytes
        self.photos: list[Photo] = []
        self.corrections: dict[str, str] = {}

    def add_photo(self, source: ImageSource, name: str | None = None, progress: Progress | None = None,
                  fraction: tuple[float, float] = (0.0, 1.0)) -> Photo:
        """Find and encode the faces of one photo; an unreadable photo is kept with its ``error``."""
        if name is None:
            name = str(source) if isinstance(source, (str, os.PathLike)) else "upload"
        name = display_name(name)
        lo, hi = fraction

        def report(stage: str, f: float) -> None:
            if progress:
                progress(name, stage, lo + (hi - lo) * f)

        report("loading", 0.0)
        try:
            if isinstance(source, (str, os.PathLike)):
                data = Path(source).read_bytes()
            elif hasattr(source, "read"):
                data = source.read()
            else:
                data = bytes(source)
        except OSError as err:
            reason = "file not found" if isinstance(err, FileNotFoundError) else f"cannot be read ({err.strerror or err})"
            photo = Photo(name, DetectedFaces.empty(), error=f"{name}: {reason}")
            self.photos.append(photo)
            report("done", 1.0)
            return photo
        try:
            image = load_image(data, name, max_pixels=self.max_pixels, max_bytes=self.max_bytes)
        except ImageError as err:
            photo = Photo(name, DetectedFaces.empty(), error=str(err))
            self.photos.append(photo)
            report("done", 1.0)
            return photo
        digest = hashlib.sha256(data).hexdigest()
        report("detecting", 0.1)
        boxes = detect_faces(image, self.detector.model, self.detector.min_face_size, self.detector.workers)
        report("encoding", 0.7)
        encodings = encode_faces(image, boxes, self.detector.jitters)
        photo = Photo(name, DetectedFaces(boxes, encodings), (image.shape[1], image.shape[0]), digest,
                      image=image if self.keep_images else None)
        self.photos.append(photo)
        report("matching", 0.95)
        return photo

    def add_photos(self, sources: Iterable[ImageSource | tuple[str, ImageSource]],
                   progress: Progress | None = None) -> list[Photo]:
        """Add several photos (paths, or ``(name, bytes)`` pairs); a broken one does not stop the others."""
        items = [(s[0], s[1]) if isinstance(s, tuple) else (None, s) for s in sources]
        added = []
        for k, (name, source) in enumerate(items):
            added.append(self.add_photo(source, name, progress, (k / len(items), (k + 1) / len(items))))
        if progress and added:
            progress(added[-1].name, "done", 1.0)
        return added

    def remove_photo(self, index: int) -> None:
        del self.photos[index]

    def correct(self, student_id: str, status: str | None) -> None:
        """Set a student's status by hand (present, absent, excused), or None to return to the automatic result."""
        self.roster.index(student_id)  # raises KeyError for an unknown student
        if status is None:
            self.corrections.pop(student_id, None)
        elif status not in STATUSES:
            raise ValueError(f"status must be one of {', '.join(STATUSES)}, not {status!r}")
        else:
            self.corrections[student_id] = status

    def result(self, tolerance: float | None = None) -> Attendance:
        """Match every photo's faces to the roster at ``tolerance`` (default: the session's); no detection."""
        tol = self.tolerance if tolerance is None else tolerance
        roster = self.roster
        faces: list[FaceResult] = []
        best: dict[int, FaceResult] = {}
        for p_index, photo in enumerate(self.photos):
            if photo.error or len(photo.faces) == 0:
                continue
            d = student_distances(photo.faces.encodings, roster.reference_encodings, roster.owners, len(roster))
            for m in assign(d, tol, self.ambiguity_margin):
                sid = roster.students[m.student].id if m.student is not None else None
                fr = FaceResult(p_index, m.face, tuple(int(v) for v in photo.faces.boxes[m.face]), sid, m.distance,
                                m.ambiguous, roster.students[m.nearest].id if m.nearest is not None else None,
                                m.nearest_distance)
                faces.append(fr)
                if m.student is not None and (m.student not in best or m.distance < best[m.student].distance):
                    best[m.student] = fr
        students = []
        for i, s in enumerate(roster.students):
            found = best.get(i)
            automatic = PRESENT if found else ABSENT
            manual = self.corrections.get(s.id)
            students.append(StudentResult(
                s.id, s.name, manual or automatic, "manual" if manual and manual != automatic else "automatic",
                found.distance if found else None, self.photos[found.photo].name if found else None,
                found.ambiguous if found else False, automatic))
        return Attendance(students, faces, list(self.photos), tol)


def mark_photos(photos: Iterable[ImageSource], roster: Roster, detector: DetectorSettings = DetectorSettings(),
                tolerance: float = DEFAULT_TOLERANCE, progress: Progress | None = None) -> Attendance:
    """Attendance of one session from photo paths or bytes: the library's one-call entry point."""
    session = Session(roster, detector, tolerance)
    session.add_photos(photos, progress)
    return session.result()
