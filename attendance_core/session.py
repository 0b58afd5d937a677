"""One class session: the classroom photos taken, the faces found in them, and who is present.

Faces are detected and encoded once per photo; matching against the roster is cheap and runs again
whenever the tolerance or a manual correction changes. A student is present if found in any photo
of the session. A photo that cannot be read is kept with its error and the others are still marked.
Each photo has a time (its EXIF DateTimeOriginal, else when it was added): with a session start, a
student first seen more than ``late_after_minutes`` after it is late. A student without consent is
never matched (their faces stay unknown) and is marked by hand.
Classroom photos are held in memory only (as encodings, plus the pixels when ``keep_images``).
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Callable, Iterable

import numpy as np

from .decisions import DEFAULT_CHECK_BAND, DecisionRules, agree_across_photos, decide_face, suggest_students
from .faces import DetectorSettings
from .images import DEFAULT_MAX_BYTES, DEFAULT_MAX_PIXELS, ImageError, ImageSource, PhotoFile, read_photo
from .matching import DEFAULT_AMBIGUITY_MARGIN, DEFAULT_TOLERANCE, FaceMatch, assign, student_distances
from .results import (ABSENT, AUTOMATIC, CONFIRMED, EXCUSED, LATE, MANUAL, PRESENT, REASSIGNED, REJECTED,
                      REVIEW_DECISIONS, STATUSES, TIME_FROM_EXIF, TIME_FROM_UPLOAD, Attendance, DetectedFaces,
                      FaceResult, FaceReview, Photo, StudentResult)
from .recognition import AnalysisOptions, PhotoAnalysis, Recognizer
from .roster import Roster

__all__ = ["ABSENT", "EXCUSED", "PRESENT", "STATUSES", "Attendance", "FaceResult", "Photo", "Progress", "Session",
           "StudentResult", "mark_photos"]

#: Minutes after the session's start after which a student first seen is late (setting late_after_minutes).
DEFAULT_LATE_AFTER_MINUTES = 10.0
#: Why a student without consent is absent until marked by hand.
NO_CONSENT_REASON = "no consent to face recognition: mark by hand"

#: progress(photo_name, stage, fraction_of_session_done); stages: loading, detecting, encoding, matching, done,
#: or, with a shared pool, a sentence saying where the photo is in the queue ("waiting: 3 photos ahead, about 20 s")
Progress = Callable[[str, str, float], None]


class Session:
    """Photos of one class at one time, matched against a roster.

    detector: how faces are found; tolerance: default match tolerance (see :mod:`matching`);
    check_band: matches this close to the tolerance are flagged for a check (see :mod:`decisions`);
    keep_images: keep a copy of each photo in memory for drawing boxes, at most
    :data:`KEPT_IMAGE_MAX_SIDE` pixels on its longer side (``Photo.image_scale`` says how much it was
    shrunk); it is never written to disk.
    max_pixels / max_bytes: larger photos are refused with a message (see :func:`images.load_image`).
    start: when the class began (a naive datetime is local time; None: nobody is late);
    late_after_minutes: a student first seen in a photo taken more than this after ``start`` is late.
    recognizer: where each photo's detection and encoding run (default: here, in this process; see
    :mod:`recognition` and :mod:`pool`).
    """

    def __init__(self, roster: Roster, detector: DetectorSettings = DetectorSettings(),
                 tolerance: float = DEFAULT_TOLERANCE, ambiguity_margin: float = DEFAULT_AMBIGUITY_MARGIN,
                 class_name: str = "", subject: str = "", taken_at: datetime | None = None,
                 keep_images: bool = False, max_pixels: int = DEFAULT_MAX_PIXELS,
                 max_bytes: int = DEFAULT_MAX_BYTES, check_band: float = DEFAULT_CHECK_BAND,
                 start: datetime | None = None, late_after_minutes: float = DEFAULT_LATE_AFTER_MINUTES,
                 recognizer: Recognizer | None = None):
        self.roster = roster
        self.recognizer = recognizer or Recognizer()
        self.detector = detector
        self.tolerance = tolerance
        self.ambiguity_margin = ambiguity_margin
        self.class_name = class_name
        self.subject = subject
        self.taken_at = taken_at or datetime.now(timezone.utc)
        self.keep_images = keep_images
        self.max_pixels = max_pixels
        self.max_bytes = max_bytes
        #: Matches within this distance of the tolerance are flagged for the instructor's check.
        self.check_band = check_band
        self.start = start
        self.late_after_minutes = late_after_minutes
        self.photos: list[Photo] = []
        self.corrections: dict[str, str] = {}
        #: The instructor's face decisions by (photo, face), in the order made (a new one replaces the old).
        self.reviews: dict[tuple[int, int], FaceReview] = {}

    def add_photo(self, source: ImageSource, name: str | None = None, progress: Progress | None = None,
                  fraction: tuple[float, float] = (0.0, 1.0), keep_failed: bool = True,
                  uploaded_at: datetime | None = None) -> Photo:
        """Find and encode the faces of one photo; an unreadable photo is returned with its ``error``.

        source: a path, bytes, a binary file object or an :class:`images.PhotoFile` (read once, by
        :func:`images.read_photo`); name: what the photo is called (default: its file name).
        keep_failed: keep an unreadable photo in the session (the command line lists it with its error;
        the dashboard only reports it). The photo's time is its EXIF DateTimeOriginal, else
        ``uploaded_at`` (default now).
        """
        return self._add_files([(source, name, uploaded_at)], progress, fraction, keep_failed)[0]

    def add_photos(self, sources: Iterable[ImageSource | tuple[str, ImageSource]],
                   progress: Progress | None = None, keep_failed: bool = True) -> list[Photo]:
        """Add several photos (paths, :class:`images.PhotoFile`, or ``(name, bytes)`` pairs); a broken one does
        not stop the others. Returns one :class:`Photo` per source, failed ones included. With a pool,
        the photos are analysed at once, on several workers."""
        items = [(s[1], s[0], None) if isinstance(s, tuple) else (s, None, None) for s in sources]
        added = self._add_files(items, progress, (0.0, 1.0), keep_failed)
        if progress and added:
            progress(added[-1].name, "done", 1.0)
        return added

    def _add_files(self, items, progress: Progress | None, fraction: tuple[float, float],
                   keep_failed: bool) -> list[Photo]:
        """Read ``(source, name, uploaded_at)`` items, have the recognizer analyse the readable ones, keep them."""
        lo, hi = fraction
        n = max(1, len(items))
        order: dict[str, int] = {}

        def report(shown: str, stage: str, f: float) -> None:
            if progress:
                progress(shown, stage, lo + (hi - lo) * (order.get(shown, 0) + f) / n)

        photos: list[Photo | None] = [None] * len(items)
        files: list[tuple[int, PhotoFile, datetime | None]] = []
        for k, (source, name, uploaded_at) in enumerate(items):
            try:
                file = read_photo(source, name, max_bytes=self.max_bytes)
            except ImageError as err:
                photos[k] = Photo(err.file, DetectedFaces.empty(), error=str(err))
                continue
            order.setdefault(file.name, k)
            files.append((k, file, uploaded_at))
        options = AnalysisOptions.of(self.detector, self.keep_images, self.max_pixels, self.max_bytes)
        analyses = self.recognizer.analyse([f for _, f, _ in files], options, report) if files else []
        for (k, file, uploaded_at), analysis in zip(files, analyses):
            photos[k] = self._photo(analysis, uploaded_at)
        for photo in photos:
            if keep_failed or not photo.error:
                self.photos.append(photo)
            report(photo.name, "done" if photo.error else "matching", 1.0 if photo.error else 0.95)
        return photos

    @staticmethod
    def _photo(analysis: PhotoAnalysis, uploaded_at: datetime | None) -> Photo:
        """The session's :class:`Photo` of an analysed photo; its time is EXIF's, else ``uploaded_at`` (default now)."""
        if analysis.error:
            return Photo(analysis.name, DetectedFaces.empty(), sha256=analysis.sha256, error=analysis.error)
        taken, time_source = analysis.taken_at, TIME_FROM_EXIF
        if taken is None:
            taken, time_source = _aware(uploaded_at or datetime.now(timezone.utc)), TIME_FROM_UPLOAD
        return Photo(analysis.name, DetectedFaces(analysis.boxes, analysis.encodings), analysis.size,
                     analysis.sha256, image=analysis.image, image_scale=analysis.image_scale, taken_at=taken,
                     time_source=time_source, quality=list(analysis.quality) or None)

    def remove_photo(self, index: int) -> None:
        """Drop a photo, and the review decisions on its faces (later photos' decisions follow them)."""
        del self.photos[index]
        self.reviews = {(p if p < index else p - 1, f): (r if p < index else FaceReview(
                            p - 1, f, r.decision, r.student, r.photo_name))
                        for (p, f), r in self.reviews.items() if p != index}

    def review_face(self, photo: int, face: int, decision: str | None, student: str | None = None) -> None:
        """The instructor's decision on one face of ``photo`` (indices as in :class:`FaceResult`).

        decision: CONFIRMED (the face is ``student``, default the student it is matched to now),
        REJECTED (not ``student``, default the matched one: the face becomes unknown), REASSIGNED (it is
        ``student``, required), or None to take the decision back. A decided face is never flagged for
        a check again in this session; CONFIRMED and REASSIGNED hold at any tolerance.
        """
        if not 0 <= photo < len(self.photos) or not 0 <= face < len(self.photos[photo].faces):
            raise ValueError(f"no face {face} in photo {photo}")
        self.reviews.pop((photo, face), None)
        if decision is None:
            return
        if decision not in REVIEW_DECISIONS:
            raise ValueError(f"decision must be one of {', '.join(REVIEW_DECISIONS)}, not {decision!r}")
        if student is None:
            if decision == REASSIGNED:
                raise ValueError("say which student the face is")
            current = next((f for f in self.result().faces if (f.photo, f.face) == (photo, face)), None)
            student = current.student if current else None
            if student is None:
                raise ValueError(f"face {face} of {self.photos[photo].name} is not matched to a student")
        named = self.roster.student(student)  # raises KeyError for an unknown student
        if decision != REJECTED and not named.may_be_recognised:
            # Naming a face would show it, unblurred, as theirs: they are marked by hand instead.
            raise ValueError(f"{named.name} has no consent to face recognition: mark them by hand")
        self.reviews[(photo, face)] = FaceReview(photo, face, decision, student, self.photos[photo].name)

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
        """Match every photo's faces to the roster at ``tolerance`` (default: the session's); no detection.

        A student's ``automatic_status`` is what the matching alone says; their ``status`` also follows
        the review decisions and the corrections by hand. Faces and students whose match the
        instructor should look at are flagged ``check``, with a ``reason`` (see :mod:`decisions`).
        A student found is late when the earliest photo they are in was taken more than
        ``late_after_minutes`` after the session's start.
        """
        tol = self.tolerance if tolerance is None else tolerance
        rules = DecisionRules(tol, self.check_band, self.ambiguity_margin)
        readable = sum(1 for p in self.photos if not p.error)

        def decided(reviews: dict) -> list[FaceResult]:
            faces = agree_across_photos(self._faces(tol, reviews, rules), readable, tol, rules)
            return suggest_students(faces, tol, rules)

        automatic = decided({})
        faces = decided(self.reviews) if self.reviews else automatic
        found_auto, found = _best_faces(automatic), _best_faces(faces)
        first_auto, first = self._first_seen(automatic), self._first_seen(faces)
        students = []
        for s in self.roster.students:
            machine = self.arrival_status(first_auto.get(s.id)) if s.id in found_auto else ABSENT
            seen = found.get(s.id)
            reviewed = self.arrival_status(first.get(s.id)) if seen else ABSENT
            status = self.corrections.get(s.id, reviewed)
            # A mark set by hand is the instructor's own: there is nothing left for them to check.
            check = bool(seen and seen.check and s.id not in self.corrections)
            reason = seen.reason if check else (None if seen or s.may_be_recognised else NO_CONSENT_REASON)
            students.append(StudentResult(
                s.id, s.name, status, MANUAL if status != machine else AUTOMATIC,
                seen.distance if seen else None, self.photos[seen.photo].name if seen else None,
                seen.ambiguous if seen else False, machine, check, reason, first.get(s.id)))
        return Attendance(students, faces, list(self.photos), tol, list(self.reviews.values()),
                          blur_unknown=bool(self.roster.without_consent),
                          start=_aware(self.start) if self.start else None,
                          late_after_minutes=self.late_after_minutes)

    def _first_seen(self, faces: list[FaceResult]) -> dict[str, datetime]:
        """Each named student's earliest photo time."""
        first: dict[str, datetime] = {}
        for f in faces:
            taken = self.photos[f.photo].taken_at
            if f.student is not None and taken is not None and (f.student not in first or taken < first[f.student]):
                first[f.student] = taken
        return first

    def arrival_status(self, first_seen: datetime | None) -> str:
        """PRESENT, or LATE when first seen more than the late limit after the start."""
        if self.start is None or first_seen is None:
            return PRESENT
        late = first_seen - _aware(self.start) > timedelta(minutes=self.late_after_minutes)
        return LATE if late else PRESENT

    def _faces(self, tol: float, reviews: dict[tuple[int, int], FaceReview],
               rules: DecisionRules) -> list[FaceResult]:
        """Every face of every photo matched at ``tol``, the review decisions applied, each face's check decided."""
        roster = self.roster
        ids = roster.ids
        faces: list[FaceResult] = []
        for p_index, photo in enumerate(self.photos):
            if photo.error or len(photo.faces) == 0:
                continue
            d = student_distances(photo.faces.encodings, roster.reference_encodings, roster.owners, len(roster))
            decided = {f: r for (p, f), r in reviews.items() if p == p_index}
            for m in _assign_reviewed(d, tol, self.ambiguity_margin, decided, roster.index):
                review = decided.get(m.face)
                face = FaceResult(
                    p_index, m.face, tuple(int(v) for v in photo.faces.boxes[m.face]),
                    ids[m.student] if m.student is not None else None, m.distance, m.ambiguous,
                    ids[m.nearest] if m.nearest is not None else None, m.nearest_distance,
                    review=review.decision if review else None,
                    runner_up=ids[m.runner_up] if m.runner_up is not None else None,
                    runner_up_distance=m.runner_up_distance,
                    quality=photo.quality[m.face] if photo.quality and m.face < len(photo.quality) else None)
                faces.append(decide_face(face, tol, rules))
        return faces


def _assign_reviewed(d, tol: float, margin: float, decided: dict[int, FaceReview], index) -> list[FaceMatch]:
    """:func:`matching.assign` with the instructor's decisions: a rejected face matches nobody, a confirmed
    or reassigned face is its student (at any distance) and that student is nobody else in the photo."""
    if not decided:
        return assign(d, tol, margin)
    free = d.copy()
    pinned: dict[int, int] = {}
    for face, review in decided.items():
        free[face, :] = np.inf
        if review.decision in (CONFIRMED, REASSIGNED):
            pinned[face] = index(review.student)
    for j in pinned.values():
        free[:, j] = np.inf
    matches = assign(free, tol, margin)
    out = []
    for m in matches:
        if m.face not in decided:
            out.append(m)
            continue
        row = d[m.face]
        order = [int(j) for j in np.argsort(row, kind="stable") if np.isfinite(row[j])]
        nearest = order[0] if order else None
        student = pinned.get(m.face)
        runner = next((j for j in order if j != student), None) if student is not None else None
        out.append(FaceMatch(m.face, student, float(row[student]) if student is not None else None, nearest,
                             float(row[nearest]) if nearest is not None else None, runner,
                             float(row[runner]) if runner is not None else None, False))
    return out


def _aware(moment: datetime) -> datetime:
    """A timezone-aware datetime; a naive one is taken as local time."""
    return moment if moment.tzinfo is not None else moment.astimezone()


def _best_faces(faces: list[FaceResult]) -> dict[str, FaceResult]:
    """Each named student's closest face."""
    best: dict[str, FaceResult] = {}
    for f in faces:
        if f.student is not None and (f.student not in best or f.distance < best[f.student].distance):
            best[f.student] = f
    return best


def mark_photos(photos: Iterable[ImageSource], roster: Roster, detector: DetectorSettings = DetectorSettings(),
                tolerance: float = DEFAULT_TOLERANCE, progress: Progress | None = None) -> Attendance:
    """Attendance of one session from photo paths or bytes: the library's one-call entry point."""
    session = Session(roster, detector, tolerance)
    session.add_photos(photos, progress)
    return session.result()
