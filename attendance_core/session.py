"""One class session: the classroom photos taken, the faces found in them, and who is present.

Faces are detected and encoded once per photo; matching against the roster is cheap and runs again
whenever the tolerance or a manual correction changes. A student is present if found in any photo
of the session. A photo that cannot be read is kept with its error and the others are still marked.
Classroom photos are held in memory only (as encodings, plus the pixels when ``keep_images``).
"""
from __future__ import annotations

import hashlib
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterable

from .faces import DetectorSettings, detect_faces, encode_faces, release_memory
from .images import DEFAULT_MAX_BYTES, DEFAULT_MAX_PIXELS, ImageError, ImageSource, display_name, load_image
from .matching import DEFAULT_AMBIGUITY_MARGIN, DEFAULT_TOLERANCE, assign, student_distances
from .results import (ABSENT, AUTOMATIC, EXCUSED, MANUAL, PRESENT, STATUSES, Attendance, DetectedFaces,
                      FaceResult, Photo, StudentResult)
from .roster import Roster

__all__ = ["ABSENT", "EXCUSED", "PRESENT", "STATUSES", "Attendance", "FaceResult", "Photo", "Progress", "Session",
           "StudentResult", "mark_photos"]

#: progress(photo_name, stage, fraction_of_session_done); stages: loading, detecting, encoding, matching, done
Progress = Callable[[str, str, float], None]


class Session:
    """Photos of one class at one time, matched against a roster.

    detector: how faces are found; tolerance: default match tolerance (see :mod:`matching`);
    keep_images: keep a copy of each photo in memory for drawing boxes, at most
    :data:`KEPT_IMAGE_MAX_SIDE` pixels on its longer side (``Photo.image_scale`` says how much it was
    shrunk); it is never written to disk.
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
        kept, kept_scale = _display_copy(image) if self.keep_images else (None, 1.0)
        photo = Photo(name, DetectedFaces(boxes, encodings), (image.shape[1], image.shape[0]), digest,
                      image=kept, image_scale=kept_scale)
        # The full-size pixels are not needed once boxes and encodings are kept: give them back now,
        # not at the next photo (a 12 MP photo and its working copies are several hundred MB).
        del image
        release_memory()
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
                s.id, s.name, manual or automatic, MANUAL if manual and manual != automatic else AUTOMATIC,
                found.distance if found else None, self.photos[found.photo].name if found else None,
                found.ambiguous if found else False, automatic))
        return Attendance(students, faces, list(self.photos), tol)


def mark_photos(photos: Iterable[ImageSource], roster: Roster, detector: DetectorSettings = DetectorSettings(),
                tolerance: float = DEFAULT_TOLERANCE, progress: Progress | None = None) -> Attendance:
    """Attendance of one session from photo paths or bytes: the library's one-call entry point."""
    session = Session(roster, detector, tolerance)
    session.add_photos(photos, progress)
    return session.result()


#: Longer side, in pixels, of the copy of a photo kept for display (``keep_images``): more than the
#: dashboard draws (1280), so that a face crop keeps some detail, and a tenth of a 12 MP photo's memory.
KEPT_IMAGE_MAX_SIDE = 2048


def _display_copy(image):
    """The copy of ``image`` kept for display and its scale (display pixels per photo pixel, <= 1)."""
    import cv2

    scale = min(1.0, KEPT_IMAGE_MAX_SIDE / float(max(image.shape[:2])))
    if scale >= 1.0:
        return image, 1.0
    size = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA), scale
