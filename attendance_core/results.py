"""What marking a session produces, as plain data: statuses, photos, faces and students.

No dlib and no database here, so that the records, the dashboard and the command line share these
types and words without loading the face models.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

ENCODING_SIZE = 128


@dataclass
class DetectedFaces:
    """Faces found in one photo: ``boxes`` ``(n, 4)`` as (top, right, bottom, left) and ``encodings`` ``(n, 128)``."""

    boxes: np.ndarray
    encodings: np.ndarray

    def __len__(self) -> int:
        return len(self.boxes)

    @classmethod
    def empty(cls) -> "DetectedFaces":
        return cls(np.zeros((0, 4), dtype=np.int64), np.zeros((0, ENCODING_SIZE)))


#: A student's attendance in a session. LATE: first seen in a photo taken more than the late limit
#: after the session's start (they attended, and arrived late).
PRESENT, ABSENT, EXCUSED, LATE = "present", "absent", "excused", "late"
STATUSES = (PRESENT, ABSENT, EXCUSED, LATE)
#: The statuses of a student who was in class.
ATTENDED = (PRESENT, LATE)
#: A student's consent to face recognition. Only GIVEN lets their reference photos be encoded.
CONSENT_GIVEN, CONSENT_REFUSED, CONSENT_NOT_ASKED = "given", "refused", "not asked"
CONSENT_STATES = (CONSENT_GIVEN, CONSENT_REFUSED, CONSENT_NOT_ASKED)
#: Where a photo's time comes from: its EXIF DateTimeOriginal, the moment it was added (uploaded), or (a frame
#: of the check-in at the door, :mod:`checkin`) the moment the frame reached the program.
TIME_FROM_EXIF, TIME_FROM_UPLOAD, TIME_FROM_DOOR = "exif", "upload", "door"
#: Who set a mark: the face matching, or a person.
AUTOMATIC, MANUAL = "automatic", "manual"
SOURCES = (AUTOMATIC, MANUAL)
#: What an instructor says of one face in the review: the match is right, the face is not that
#: student (it becomes unknown), or it is another student.
CONFIRMED, REJECTED, REASSIGNED = "confirmed", "not this student", "reassigned"
REVIEW_DECISIONS = (CONFIRMED, REJECTED, REASSIGNED)


#: What a poor view of a face is called, worst first (see :class:`FaceQuality`). HIDDEN: the face detector
#: itself did not see a face there (only YuNet's second opinion did): turned, or partly covered.
TOO_BLURRED, TOO_DARK, TOO_SMALL, HIDDEN = "too blurred", "too dark", "too small", "partly hidden or turned"
QUALITY_PROBLEMS = (TOO_BLURRED, TOO_DARK, TOO_SMALL, HIDDEN)
#: A face's sharpness reading (fine detail over contrast, :mod:`quality`) under which it is too blurred to
#: recognise, its light (median grey level, 0-255) under which it is too dark, and its width in pixels under
#: which it is too small. Set on the conditions set (docs/matching.md, "Photos too poor to recognise").
MIN_SHARPNESS, MIN_LIGHT, MIN_WIDTH = 0.2, 40.0, 26
#: What the teacher can do about each problem.
RETAKE_ADVICE = "take another photo (closer, steadier, more light)"


@dataclass(frozen=True)
class FaceQuality:
    """How good a view of a face a photo gives: ``sharpness`` (fine detail over contrast on the face scaled
    to 64 px; ~0.1 is blurred), ``light`` (median grey level, 0-255), ``width`` (pixels) and whether the
    face detector itself found it (``confirmed``; False: only YuNet's second opinion did)."""

    sharpness: float
    light: float
    width: int
    confirmed: bool = True

    @property
    def problem(self) -> str | None:
        """Why the face is too poor to be sure of (a value of QUALITY_PROBLEMS), or None."""
        if self.sharpness < MIN_SHARPNESS:
            return TOO_BLURRED
        if self.light < MIN_LIGHT:
            return TOO_DARK
        if self.width < MIN_WIDTH:
            return TOO_SMALL
        if not self.confirmed:
            return HIDDEN
        return None

    def to_dict(self) -> dict:
        return {"sharpness": self.sharpness, "light": self.light, "width": self.width,
                "confirmed": self.confirmed, "problem": self.problem}


def retake_message(problems: dict[str, int]) -> str | None:
    """The teacher's message for faces too poor to recognise, ``{problem: count}``: "4 faces too blurred to
    recognise: take another photo (closer, steadier, more light)"; None when there are none."""
    parts = [f"{n} face{'s' if n != 1 else ''} {p}" for p in QUALITY_PROBLEMS if (n := problems.get(p, 0))]
    if not parts:
        return None
    listed = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return f"{listed} to recognise: {RETAKE_ADVICE}; it is added to this session"


@dataclass
class Photo:
    """A classroom photo of the session: where its faces are and what they encode, or why it failed."""

    name: str
    faces: DetectedFaces
    size: tuple[int, int] = (0, 0)  # width, height after EXIF rotation
    sha256: str = ""
    error: str | None = None
    #: The copy kept for display (``Session(keep_images=True)``), possibly shrunk: see ``image_scale``.
    image: np.ndarray | None = field(default=None, repr=False)
    #: Display pixels per photo pixel of ``image`` (1.0 = full size). Boxes are in photo pixels: draw box
    #: (top, right, bottom, left) at ``round(v * image_scale)`` for each coordinate v.
    image_scale: float = 1.0
    #: When the photo was taken (timezone-aware), and where that time comes from (TIME_FROM_EXIF / _UPLOAD).
    taken_at: datetime | None = None
    time_source: str = ""
    #: Each face's quality reading (in face order), when it was measured.
    quality: list[FaceQuality] | None = None


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
    #: The instructor should look at this face before trusting it; ``reason`` says why in their words.
    check: bool = False
    reason: str | None = None
    #: The instructor's review decision on this face (a value of REVIEW_DECISIONS), if any.
    review: str | None = None
    #: The next closest student after the one matched (after the nearest for an unknown face), and their distance.
    runner_up: str | None = None
    runner_up_distance: float | None = None
    #: For a face not named: the student it most likely is, offered as one tap ("It is Amy?"); see decisions.
    suggestion: str | None = None
    #: How good a view of the face the photo gives (None: not measured).
    quality: FaceQuality | None = None

    @property
    def quality_problem(self) -> str | None:
        """Why this face, left unnamed, is too poor to recognise (a value of QUALITY_PROBLEMS), or None."""
        return self.quality.problem if self.quality is not None and self.student is None else None


@dataclass(frozen=True)
class FaceReview:
    """An instructor's decision on one face: ``photo``/``face`` index it, ``student`` is the student it is
    about (the matched one for CONFIRMED and REJECTED, the chosen one for REASSIGNED)."""

    photo: int
    face: int
    decision: str
    student: str | None
    photo_name: str = ""


@dataclass(frozen=True)
class StudentResult:
    """Attendance of one student: status, whether it was set by hand, and the best face found."""

    id: str
    name: str
    status: str
    source: str  # AUTOMATIC or MANUAL
    distance: float | None = None
    photo: str | None = None
    ambiguous: bool = False
    automatic_status: str = ABSENT
    #: The match that made the student present needs the instructor's look (see FaceResult.check).
    check: bool = False
    reason: str | None = None
    #: When the student was first seen: the time of the earliest photo their face is in (None: not seen).
    first_seen: datetime | None = None


def _rounded(distance: float | None) -> float | None:
    return None if distance is None else round(float(distance), 4)


@dataclass
class Attendance:
    """The attendance of a session at one tolerance."""

    students: list[StudentResult]
    faces: list[FaceResult]
    photos: list[Photo]
    tolerance: float
    #: The instructor's face decisions in this session, in the order they were made.
    reviews: list[FaceReview] = field(default_factory=list)
    #: Unknown faces are blurred when drawn: some student of the class has no consent, and an unknown
    #: face may be theirs (nobody can tell which without recognising them).
    blur_unknown: bool = False
    #: The session's start (timezone-aware; None: not given, nobody is late) and the late limit in minutes.
    start: datetime | None = None
    late_after_minutes: float | None = None

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
    def late(self) -> list[str]:
        return [s.id for s in self.students if s.status == LATE]

    @property
    def unknown_faces(self) -> list[FaceResult]:
        return [f for f in self.faces if f.student is None]

    @property
    def unsure_faces(self) -> list[FaceResult]:
        """Faces too unsure to name, offered to the instructor as one tap on their likely student."""
        return [f for f in self.faces if f.student is None and f.suggestion is not None and f.review is None]

    @property
    def poor_faces(self) -> dict[str, int]:
        """How many unnamed faces are too poor to recognise, by problem (``{"too blurred": 4}``); a face whose
        nearest student is named in the session (most likely them, seen better in another photo) is not counted."""
        named = {f.student for f in self.faces if f.student is not None}
        counts: dict[str, int] = {}
        for f in self.faces:
            if f.quality_problem and f.review is None and f.nearest not in named:
                counts[f.quality_problem] = counts.get(f.quality_problem, 0) + 1
        return counts

    @property
    def retake(self) -> str | None:
        """The message asking for another photo when faces were too poor to recognise (see :func:`retake_message`)."""
        return retake_message(self.poor_faces)

    def shown_names(self) -> dict[str, str]:
        """Student id -> the name to show; a name several students share gets the id: ``Kit Harington (1003)``."""
        return shown_names((s.id, s.name) for s in self.students)

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
            "late": self.late,
            "start": self.start.isoformat() if self.start else None,
            "unknown_faces": len(self.unknown_faces),
            "unsure_faces": len(self.unsure_faces),
            "poor_faces": self.poor_faces,
            "retake": self.retake,
            "to_check": [{"student": s.id, "reason": s.reason} for s in self.to_check],
            "photos": [
                {
                    "file": p.name,
                    "present": sorted({f.student for f in self.faces_in(i) if f.student}),
                    "faces": [
                        {"box": list(f.box), "student": f.student, "distance": _rounded(f.distance),
                         "ambiguous": f.ambiguous, "nearest": f.nearest, "nearest_distance": _rounded(f.nearest_distance),
                         "runner_up": f.runner_up, "runner_up_distance": _rounded(f.runner_up_distance),
                         "check": f.check, "reason": f.reason, "review": f.review, "suggestion": f.suggestion,
                         "quality": f.quality.to_dict() if f.quality else None}
                        for f in self.faces_in(i)
                    ],
                    "error": p.error,
                    "taken_at": p.taken_at.isoformat() if p.taken_at else None,
                    "time_source": p.time_source or None,
                }
                for i, p in enumerate(self.photos)
            ],
        }

    @property
    def to_check(self) -> list[StudentResult]:
        """Students whose presence rests on a face flagged for the instructor's check."""
        return [s for s in self.students if s.check]

    def to_frame(self):
        """One row per student: id, name, status, source, distance, photo, ambiguous, first_seen (ISO time)."""
        import pandas as pd

        columns = ["id", "name", "status", "source", "distance", "photo", "ambiguous", "first_seen"]
        rows = [{"id": s.id, "name": s.name, "status": s.status, "source": s.source,
                 "distance": s.distance, "photo": s.photo, "ambiguous": s.ambiguous,
                 "first_seen": s.first_seen.isoformat(timespec="seconds") if s.first_seen else None}
                for s in self.students]
        return pd.DataFrame(rows, columns=columns)


def shown_names(students) -> dict[str, str]:
    """Student id -> the name to show, from ``(id, name)`` pairs; a name several students share (case and
    spacing aside) gets the id: ``Kit Harington (1003)``."""
    pairs = list(students)
    count: dict[str, int] = {}
    for _, name in pairs:
        key = " ".join(name.casefold().split())
        count[key] = count.get(key, 0) + 1
    return {sid: f"{name} ({sid})" if count[" ".join(name.casefold().split())] > 1 else name for sid, name in pairs}
