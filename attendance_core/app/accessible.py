"""What the dashboard says in words where the page shows something else: accessible names, text
alternatives and announcements, in one place.

A screen reader hears a control's name, not its place in a row: the status buttons of a student are
named after the student ("Barack Obama: present"), a review button after its face ("Right: face 3
is Barack Obama"), a photo by what it shows ("class photo 1 of 2, 25 faces found, 24 recognised").
Colours are said in words too (sure / check / ambiguous / unknown). A name starts with the control's
visible text, so that a voice user can say what they see (WCAG 2.5.3); the status buttons, whose text
is only "present", "absent"..., say the student first. Every text here is plain text,
built from what the state already knows; the views only attach it (``common.name_control``,
``common.toggle_group``, ``common.image_view``...). A new control that acts on a student or a face takes its name from a
function added here, beside the ones of its tab, so that the words stay the same everywhere.
"""
from __future__ import annotations

from .. import annotate
from ..results import ABSENT, EXCUSED, LATE, PRESENT, Attendance

#: The words for the kinds of face the colours show (boxes, markers, review cards, legend).
KIND_WORDS = {annotate.MATCHED: "sure", annotate.CHECK: "check", annotate.AMBIGUOUS: "ambiguous",
              annotate.UNKNOWN: "unknown"}
#: The text of the link that jumps over the controls and photos to the attendance table.
SKIP_TO_TABLE = "Skip to the attendance table"


def count(n: int, word: str, plural: str | None = None) -> str:
    """``n`` and ``word`` agreed in number: ``count(1, "unknown face")`` -> ``1 unknown face``."""
    return f"{n} {word if n == 1 else (plural or word + 's')}"


# ----- Take attendance ----------------------------------------------------------------------------

def result_summary(attendance: Attendance) -> str:
    """The result in one line, as announced after a photo is marked: ``24 present, 9 absent, 1 unknown face``
    (late and excused students only when there are any)."""
    parts = [f"{len(attendance.present)} {PRESENT}"]
    if attendance.late:
        parts.append(f"{len(attendance.late)} {LATE}")
    parts.append(f"{len(attendance.absent)} {ABSENT}")
    if attendance.excused:
        parts.append(f"{len(attendance.excused)} {EXCUSED}")
    parts.append(count(len(attendance.unknown_faces), "unknown face"))
    return ", ".join(parts)


def status_name(student: str, status: str) -> str:
    """The name of the button that marks ``student`` with ``status``: ``Barack Obama: present``."""
    return f"{student}: {status}"


def status_group_name(student: str) -> str:
    """The name of the group of status buttons of ``student``."""
    return f"{student}: correct by hand"


def photo_alt(index: int, photos: int, faces: int, recognised: int) -> str:
    """The text alternative of a classroom photo: ``class photo 1 of 2, 25 faces found, 24 recognised``."""
    return f"class photo {index + 1} of {photos}, {count(faces, 'face')} found, {recognised} recognised"


def enlarge_name(index: int, photos: int) -> str:
    """The name of the control that shows a classroom photo at full size."""
    return f"Enlarge class photo {index + 1} of {photos}"


def marker_name(number: int, kind: str, student: str | None, distance: float | None,
                suggestion: str | None = None) -> str:
    """What a numbered marker on a photo stands for: ``face 3: Barack Obama, distance 0.45, sure``; a face too
    unsure to name, with its likely student: ``face 4: too unsure to name, maybe Amy Adams``."""
    if student is None:
        return f"face {number}: too unsure to name, maybe {suggestion}" if suggestion else f"face {number}: unknown face"
    return f"face {number}: {student}, distance {distance:.2f}, {KIND_WORDS[kind]}"


def unknown_face_alt(label: str, number: int | None, photo_name: str) -> str:
    """The text alternative of the crop of an unknown face: ``Unknown 1, face 4 in IMG_0412.jpg``."""
    where = f"face {number} in {photo_name}" if number is not None else photo_name
    return f"{label}, {where}"


def new_student_field_name(label: str) -> str:
    return f"Name of {label} as a new student"


def add_new_student_name(label: str) -> str:
    return f"Add as a new student: {label}"


def who_is_label(label: str) -> str:
    """The label of the list of students an unknown face may be."""
    return f"{label} is"


def this_is_name(label: str) -> str:
    return f"This is the student above: {label} is the one chosen in the list"


# ----- The camera (Take attendance) ---------------------------------------------------------------

#: The camera's controls: their text is their name (a voice user says what they see).
USE_CAMERA, CAMERA_OFF, TAKE_PHOTO = "Use the camera", "Turn the camera off", "Take photo"
START_CHECKIN, END_CHECKIN = "Start check-in at the door", "End check-in"
CHOOSE_CAMERA, CHECKIN_MINUTES = "Camera", "Check-in stops after"


def camera_view_name(checking_in: bool, blurred: bool) -> str:
    """The accessible name of the live view: what it shows, and that faces are blurred when they are."""
    shown = "camera view, check-in at the door" if checking_in else "camera view"
    return shown + (", blurred: a student of this class has not consented" if blurred else "")


def arrivals_heading(arrived: int, late: int, unknown: int) -> str:
    """The line above the check-in's arrivals: ``At the door: 3 arrived (1 late), 2 unknown face sightings``."""
    late_part = f" ({late} late)" if late else ""
    return f"At the door: {arrived} arrived{late_part}, {count(unknown, 'unknown face sighting')}"


# ----- Review faces -------------------------------------------------------------------------------

def face_alt(number: int, photo_name: str, group: str) -> str:
    """The text alternative of a face's crop in the review: ``face 3 in IMG_0412.jpg, check``."""
    return f"face {number} in {photo_name}, {group}"


def reference_alt(student: str) -> str:
    """The text alternative of a student's reference photo."""
    return f"reference photo of {student}"


def confirm_name(number: int, student: str) -> str:
    return f"Right: face {number} is {student}"


def reject_name(number: int, student: str) -> str:
    return f"Not this student: face {number} is not {student}"


def suggestion_name(number: int, student: str) -> str:
    """The one-tap suggestion for a face too unsure to name: ``It is Amy Adams? face 4``."""
    return f"It is {student}? face {number}"


def nobody_name(number: int) -> str:
    return f"Nobody in the class: face {number} is a visitor"


def undo_name(number: int) -> str:
    return f"Undo the decision on face {number}"


def pick_label(number: int) -> str:
    """The label of the list of the other students face ``number`` may be."""
    return f"Face {number}: it is"


# ----- History and Roster -------------------------------------------------------------------------

def chart_alt(title: str, names, rates) -> str:
    """The text alternative of the attendance-rate chart: its title and every bar as a percentage
    (``rates`` from 0 to 1; a missing rate is said as "no session")."""
    bars = [f"{name} {rate * 100:.0f}%" if rate is not None and rate == rate else f"{name} no session"
            for name, rate in zip(names, rates)]
    return f"{title}: " + ", ".join(bars) if bars else title


def thumbnail_alt(student: str, has_photo: bool) -> str:
    return reference_alt(student) if has_photo else f"no usable reference photo of {student}"


def consent_label(student: str) -> str:
    return f"Consent of {student}"


def remove_name(student: str, confirming: bool = False) -> str:
    return f"Click to confirm: remove {student}" if confirming else f"Remove {student}"
