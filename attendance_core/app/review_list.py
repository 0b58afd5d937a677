"""The review of every face of a session, doubtful ones first, and the numbered markers on the photos.

No widgets here: :class:`~attendance_core.app.state.DashboardState` builds these lists and the views
draw them in the order given. Every face of the session has a number (1, 2, ... in photo order),
the same on the photo's marker, in the review list and in the attendance table.
"""
from __future__ import annotations

from dataclasses import dataclass

from .. import annotate
from ..results import Attendance, FaceResult

#: The groups of the review, in the order they are shown, the most doubtful first. Unknown faces first
#: (who is it?), then faces too unsure to name with their likely student offered as one tap (the
#: furthest first), then matches another student is almost as close to, then matches in the check band
#: just inside the tolerance, then sure matches (shown collapsed).
UNKNOWN, UNSURE, AMBIGUOUS, CHECK, SURE = "unknown", "unsure", "ambiguous", "check", "sure"
REVIEW_GROUPS = (UNKNOWN, UNSURE, AMBIGUOUS, CHECK, SURE)
#: The kind of marker drawn for each group (its color, see annotate.COLORS).
MARKER_KINDS = {UNKNOWN: annotate.UNKNOWN, UNSURE: annotate.CHECK, AMBIGUOUS: annotate.AMBIGUOUS,
                CHECK: annotate.CHECK, SURE: annotate.MATCHED}


@dataclass(frozen=True)
class ReviewItem:
    """One face to review: where it is, who it is matched to and why it is asked.

    number: the face's number on the photo markers; group: one of REVIEW_GROUPS; student/name/distance:
    the match (None for an unknown face); nearest/nearest_distance: the closest student whatever the
    tolerance; reason: why the face is in its group, in the instructor's words; decision: the
    instructor's review decision (a value of results.REVIEW_DECISIONS) or None; suggestion / suggestion_name:
    for a face too unsure to name, the student it most likely is (offered as one tap).
    """

    number: int
    photo: int
    face: int
    photo_name: str
    box: tuple[int, int, int, int]
    group: str
    student: str | None
    name: str | None
    distance: float | None
    nearest: str | None
    nearest_distance: float | None
    reason: str
    decision: str | None = None
    suggestion: str | None = None
    suggestion_name: str | None = None

    @property
    def asked(self) -> bool:
        """True while the face waits for the instructor's look (doubtful and not decided yet)."""
        return self.decision is None and self.group != SURE


@dataclass(frozen=True)
class Marker:
    """A numbered marker by a face: its rectangle as fractions of the photo's width and height, its kind
    (annotate.MATCHED, CHECK, AMBIGUOUS, UNKNOWN) and the text shown when it is tapped."""

    number: int
    kind: str
    left: float
    top: float
    width: float
    height: float
    text: str


def face_group(face: FaceResult) -> str:
    """The review group of a matched face, from its fields (``check`` comes from the decision rules)."""
    if face.student is None:
        return UNSURE if face.suggestion is not None else UNKNOWN
    if face.ambiguous:
        return AMBIGUOUS
    return CHECK if face.check else SURE


def face_numbers(attendance: Attendance) -> dict[tuple[int, int], int]:
    """``(photo, face)`` -> the face's number, counting from 1 in photo order, then face order."""
    keys = sorted((f.photo, f.face) for f in attendance.faces)
    return {key: k + 1 for k, key in enumerate(keys)}


def _reason(face: FaceResult, group: str, names: dict[str, str]) -> str:
    name = names.get(face.nearest, face.nearest) if face.nearest else None
    if face.reason:
        return face.reason
    if group == UNSURE:
        problem = f"{face.quality_problem}: " if face.quality_problem else ""
        return f"{problem}not sure enough to name (nearest: {name}, {face.nearest_distance:.2f})"
    if group == UNKNOWN:
        if name is None:
            return "matches no student"
        return f"matches no student (nearest: {name}, {face.nearest_distance:.2f})"
    if group == AMBIGUOUS:
        return "another student is almost as close"
    if group == CHECK:
        return "a match just inside the tolerance"
    return "a close match"


def review_items(attendance: Attendance | None, names: dict[str, str]) -> list[ReviewItem]:
    """Every face of the session in review order: faces still asked first (unknown, ambiguous, check,
    each group by number), then the sure and decided ones by number. names: student id -> name shown."""
    if attendance is None:
        return []
    numbers = face_numbers(attendance)
    items = []
    for f in attendance.faces:
        group = face_group(f)
        items.append(ReviewItem(
            numbers[(f.photo, f.face)], f.photo, f.face, attendance.photos[f.photo].name, tuple(f.box), group,
            f.student, names.get(f.student, f.student) if f.student else None, f.distance, f.nearest,
            f.nearest_distance, _reason(f, group, names), f.review, f.suggestion,
            names.get(f.suggestion, f.suggestion) if f.suggestion else None))
    # Asked faces by group (unsure ones the furthest first), then by number; the settled ones simply by number.
    return sorted(items, key=lambda i: (not i.asked, REVIEW_GROUPS.index(i.group) if i.asked else 0,
                                        -(i.nearest_distance or 0.0) if i.asked and i.group == UNSURE else 0,
                                        i.number))


def photo_markers(attendance: Attendance, photo: int, names: dict[str, str]) -> list[Marker]:
    """Numbered markers for the faces of photo ``photo``, placed apart (see :func:`annotate.place_markers`)."""
    p = attendance.photos[photo]
    faces = sorted(attendance.faces_in(photo), key=lambda f: f.face)
    width, height = p.size if p.size[0] and p.size[1] else _size_from_boxes(faces)
    rects = annotate.place_markers([f.box for f in faces], (width, height))
    numbers = face_numbers(attendance)
    markers = []
    for f, (x0, y0, x1, y1) in zip(faces, rects):
        group = face_group(f)
        if f.student is None:
            text = f"unsure: {names.get(f.suggestion, f.suggestion)}?" if f.suggestion else "unknown"
        else:
            text = f"{names.get(f.student, f.student)} {f.distance:.2f}" + (" (check)" if group != SURE else "")
        markers.append(Marker(numbers[(f.photo, f.face)], MARKER_KINDS[group], x0 / width, y0 / height,
                              (x1 - x0) / width, (y1 - y0) / height, text))
    return markers


def _size_from_boxes(faces: list[FaceResult]) -> tuple[int, int]:
    right = max((f.box[1] for f in faces), default=1)
    bottom = max((f.box[2] for f in faces), default=1)
    return max(1, right), max(1, bottom)
