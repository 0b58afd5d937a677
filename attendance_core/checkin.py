"""Check-in at the door: a camera sees the students come in, and each is marked once, at the time first seen.

The rules of a check-in, with no camera and no widgets: frames come already analysed (boxes and encodings,
:func:`recognition.analyse_photo`, in this process or on the shared pool), each with the moment it was
taken. :class:`DoorCheckIn` keeps them over an open :class:`session.Session`:

- a face matched to a student within the session's tolerance, and not ambiguous, is that student's
  **arrival** the first time it is seen; the student is then in the session, present, or late when first seen
  more than ``late_after_minutes`` after the session's start (the session's own rule, as for photos);
- each student is **announced once**: a student seen again, or already found in a photo, is not news;
- **unknown faces are counted, never stored**: a face matched to nobody (a stranger, or a student without
  consent, whose reference photos are never encoded) adds one to :attr:`DoorCheckIn.unknown_sightings`, and
  nothing of it is kept;
- the check-in **stops** at :attr:`DoorCheckIn.ends_at` (its set time) or when :meth:`DoorCheckIn.end` is
  called; a frame after that is not looked at, and what was marked stays in the session.

An arrival is kept in the session as a *door frame*: a photo holding only the faces of the students who
arrived in it (box and encoding), timed by the frame (``TIME_FROM_DOOR``), with a display copy (when given)
in which every other face is blurred. Nothing here writes to disk, or keeps a frame without an arrival.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Callable

import numpy as np

from .matching import assign, student_distances
from .results import LATE, TIME_FROM_DOOR, DetectedFaces, Photo
from .images import DEFAULT_MAX_BYTES, DEFAULT_MAX_PIXELS
from .recognition import AnalysisOptions, PhotoAnalysis
from .session import Session, _aware

if TYPE_CHECKING:
    from .faces import DetectorSettings

#: How long a check-in runs unless it is ended first, in minutes.
DEFAULT_CHECKIN_MINUTES = 30.0
#: The longest a check-in may be set to run, in minutes (a page left open all day stops by itself).
MAX_CHECKIN_MINUTES = 240.0
#: How often a camera at the door is looked at, in seconds (a frame is skipped while the last one is analysed).
FRAME_SECONDS = 1.0
#: The longest side of a door frame, in pixels, and the smallest face looked for in it: someone coming in is
#: close to the camera (a face of 64 px in 640 is a person about 2.5 m from a laptop's camera), and a small face
#: costs dlib's detector several times more (it enlarges the frame to find one).
FRAME_SIDE, DOOR_MIN_FACE = 640, 64


def frame_options(detector: "DetectorSettings", max_pixels: int = DEFAULT_MAX_PIXELS,
                  max_bytes: int = DEFAULT_MAX_BYTES) -> AnalysisOptions:
    """How a door frame is analysed: as a photo, with faces of at least :data:`DOOR_MIN_FACE` pixels, no copy kept."""
    return AnalysisOptions(detector.model, max(detector.min_face_size, DOOR_MIN_FACE), detector.workers,
                           detector.jitters, False, max_pixels, max_bytes)


@dataclass(frozen=True)
class Arrival:
    """A student seen at the door for the first time: id, name shown, when, and the status it gives
    (present or late, by the session's start and ``late_after_minutes``)."""

    student: str
    name: str
    seen_at: datetime
    status: str
    distance: float

    def announcement(self, shown: str | None = None) -> str:
        """What the screen says once: ``Barack Obama: present, 08:03`` (``shown``: the name to say instead,
        e.g. the dashboard's ``Kit Harington (1003)`` where two students share a name)."""
        return f"{shown or self.name}: {self.status}, {self.seen_at.astimezone():%H:%M}"


@dataclass
class FrameReport:
    """What one frame gave: the arrivals in it, each face seen (``(box, student id or None)``; a student id
    only for a recognised student), and whether the check-in is still running."""

    arrivals: list[Arrival] = field(default_factory=list)
    faces: list[tuple[tuple[int, int, int, int], str | None]] = field(default_factory=list)
    running: bool = True


class DoorCheckIn:
    """The check-in of one open session at the door (see the module's rules).

    session: the class session the arrivals are marked in (its roster, tolerance, start and late rule);
    minutes: how long the check-in runs from ``started_at`` (default now), at most
    :data:`MAX_CHECKIN_MINUTES`.
    """

    def __init__(self, session: Session, minutes: float = DEFAULT_CHECKIN_MINUTES,
                 started_at: datetime | None = None):
        if not 0 < minutes <= MAX_CHECKIN_MINUTES:
            raise ValueError(f"a check-in runs for more than 0 and at most {MAX_CHECKIN_MINUTES:g} minutes, "
                             f"not {minutes:g}")
        self.session = session
        self.started_at = _aware(started_at or datetime.now(timezone.utc))
        self.ends_at = self.started_at + timedelta(minutes=minutes)
        self.arrivals: list[Arrival] = []
        #: Faces seen that matched no student (a person seen in five frames counts five); nothing else is kept.
        self.unknown_sightings = 0
        #: Frames looked at.
        self.frames = 0
        self.ended_at: datetime | None = None
        self._announced: set[str] = set(self._found())

    @property
    def running(self) -> bool:
        return self.ended_at is None

    def end(self, at: datetime | None = None) -> None:
        """Stop the check-in (the teacher ended it, the camera stopped); what was marked stays."""
        if self.ended_at is None:
            self.ended_at = _aware(at or datetime.now(timezone.utc))

    def see(self, analysis: PhotoAnalysis, at: datetime,
            image: np.ndarray | Callable[[], np.ndarray] | None = None) -> FrameReport:
        """Look at one analysed frame taken at ``at``; ``image`` (RGB, the frame's pixels, or a function that
        reads them) is kept, other faces blurred, only when a student arrives in it. A frame at or after
        :attr:`ends_at` ends the check-in."""
        at = _aware(at)
        if self.running and at >= self.ends_at:
            self.end(self.ends_at)
        if not self.running or analysis.error:
            return FrameReport(running=self.running)
        self.frames += 1
        session, roster = self.session, self.session.roster
        faces = []
        arrived: list[tuple[int, int, float]] = []  # (face, student index, distance)
        if len(analysis.encodings):
            d = student_distances(analysis.encodings, roster.reference_encodings, roster.owners, len(roster))
            for m in assign(d, session.tolerance, session.ambiguity_margin):
                box = tuple(int(v) for v in analysis.boxes[m.face])
                if m.student is None:
                    self.unknown_sightings += 1
                    faces.append((box, None))
                    continue
                sid = roster.ids[m.student]
                faces.append((box, sid))
                if not m.ambiguous and sid not in self._announced:
                    arrived.append((m.face, m.student, float(m.distance)))
        report = FrameReport(faces=faces)
        if arrived:
            self._keep(analysis, at, image, [face for face, _, _ in arrived])
            for _, index, distance in arrived:
                student = roster.students[index]
                arrival = Arrival(student.id, student.name, at, session.arrival_status(at), distance)
                self._announced.add(student.id)
                self.arrivals.append(arrival)
                report.arrivals.append(arrival)
        return report

    def _keep(self, analysis: PhotoAnalysis, at: datetime, image, kept: list[int]) -> None:
        """Add the door frame of these arrivals to the session: their faces only, the others blurred in the copy."""
        from .annotate import blur_faces  # PIL only

        image = image() if callable(image) else image
        boxes = np.asarray(analysis.boxes)
        others = [boxes[k] for k in range(len(boxes)) if k not in kept]
        shown = blur_faces(image, others) if image is not None and others else image
        digest = hashlib.sha256(analysis.sha256.encode("ascii") + at.isoformat().encode("ascii")).hexdigest()
        self.session.photos.append(Photo(
            f"door {at.astimezone():%H:%M:%S}", DetectedFaces(boxes[kept], np.asarray(analysis.encodings)[kept]),
            analysis.size, digest, image=shown, image_scale=1.0, taken_at=at, time_source=TIME_FROM_DOOR,
            quality=[analysis.quality[k] for k in kept] if len(analysis.quality) == len(boxes) else None))

    def _found(self) -> list[str]:
        """Students the session's photos already show (not news at the door)."""
        if not self.session.photos:
            return []
        return [s.id for s in self.session.result().students if s.photo is not None]

    def summary(self) -> str:
        """The check-in in one line: ``5 arrived (1 late), 3 unknown face sightings, 42 frames``."""
        late = sum(1 for a in self.arrivals if a.status == LATE)
        return (f"{len(self.arrivals)} arrived" + (f" ({late} late)" if late else "")
                + f", {self.unknown_sightings} unknown face sighting{'s' if self.unknown_sightings != 1 else ''}"
                + f", {self.frames} frame{'s' if self.frames != 1 else ''}")

