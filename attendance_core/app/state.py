"""What the dashboard knows and does, with no widgets: class, subject, photos, attendance, review, records.

:class:`DashboardState` holds one class session being marked. Widgets (``views.py`` and the tab
modules) link to its traits (``class_name``, ``subject``, ``taken_at``, ``tolerance``) and redraw
when one of its counters changes (``result_version``: the attendance changed; ``roster_version``:
the students changed; ``history_version``: a session was saved). Every action that can fail for a
reason the instructor can fix raises :class:`AppError` with a message meant for them. Files are
written by the library (``roster`` for the roster folder, ``files`` for kept uploads), never here;
roster changes are in ``roster_edits.py``, the records in ``records_actions.py``, the check-in at the door
in ``door_actions.py``.

Classroom photos stay in memory (``Session(keep_images=True)``); the only faces written to disk
are crops the instructor explicitly adds to the roster as reference photos.
"""
from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Callable, Iterable

from sqlalchemy.exc import SQLAlchemyError
from traitlets import Bool, Float, HasTraits, Instance, Int, Unicode, observe, validate

from .. import annotate
from ..school import access
from ..config import Settings
from ..faces import DetectorSettings
from ..files import save_upload
from ..images import ImageError, PhotoFile, read_photo, safe_file_name
from ..records import RecordsError
from ..recognition import RecognitionError, Recognizer
from ..recognizers import recognizer_for
from ..results import REASSIGNED, REJECTED, REVIEW_DECISIONS, STATUSES, Attendance, shown_names
from ..roster import Roster
from ..school import class_roster
from ..session import Progress, Session
from .base import AppError, UnknownFace, default_classes, project_settings, sentence, student_id_for
from .door_actions import DoorActions
from .records_actions import HISTORY_COLUMNS, RecordsActions
from .review_list import Marker, ReviewItem, face_numbers, photo_markers, review_items
from .roster_edits import ADDED_PHOTO_PATTERN, REFERENCE_CROP_SIDE, RosterEdits

__all__ = ["ADDED_PHOTO_PATTERN", "DEMO_PHOTO", "HISTORY_COLUMNS", "REFERENCE_CROP_SIDE", "AppError",
           "DashboardState", "UnknownFace", "project_settings", "student_id_for"]

#: The demo photo offered by "Try the demo photo", relative to the folder holding the roster folder.
DEMO_PHOTO = Path("sample_images") / "two_people.jpg"


class DashboardState(RosterEdits, RecordsActions, DoorActions, HasTraits):
    """One class session being marked in the dashboard, plus the roster and records it uses.

    settings: the settings in force (default: :func:`project_settings`); classes: class name ->
    roster folder (default: :func:`default_classes`); store: a records store (default: opened from
    the settings on first use); demo_photo: the photo of "Try the demo photo"; recognizer: where photos
    are analysed (default from the settings: the shared pool at ``pool_address``, else this process).
    """

    class_name = Unicode("")
    subject = Unicode("")
    taken_at = Instance(datetime)
    #: Whether ``taken_at`` is the class's start, so that students first seen more than the settings'
    #: ``late_after_minutes`` later are late (off: nobody is late, as without ``attendance mark --start``).
    late_from_start = Bool(False)
    tolerance = Float(0.6)
    #: Bumped whenever the attendance changes (photos, tolerance, corrections, roster).
    result_version = Int(0)
    #: Bumped whenever the roster changes (class chosen, student added or removed).
    roster_version = Int(0)
    #: Bumped whenever the records change (a session saved).
    history_version = Int(0)

    def __init__(self, settings: Settings | None = None, classes: dict[str, Path] | None = None,
                 store=None, demo_photo: Path | None = None, user: str | None = None,
                 recognizer: Recognizer | None = None):
        settings = settings or project_settings()
        self.settings = settings
        self.recognizer = recognizer or recognizer_for(settings)
        # Connecting comes first: a preheated kernel of the hub's shared dashboard does it while it waits
        # for its teacher (in hub_user).
        self.recognizer.warm_up()
        self.user = access.hub_user() if user is None else access.normalize_user(user)
        self._store = access.open_store(store, self.user) if store is not None else None
        self.classes = {name: Path(folder) for name, folder in (classes or default_classes(settings)).items()}
        if self.user is not None:
            allowed = access.visible_classes(self.store().user, self.classes)
            if self.classes and not allowed:
                raise AppError(f"No class is assigned to {self.user} yet: ask an admin to assign yours "
                               "(attendance classes assign CLASS --teacher NAME).")
            self.classes = {name: self.classes[name] for name in allowed}
        if not self.classes:
            raise AppError("No class to choose: give at least one roster folder.")
        self.detector = DetectorSettings(settings.detector, settings.min_face_size, settings.workers, settings.jitters)
        self.demo_photo = Path(demo_photo) if demo_photo else settings.roster_dir.parent / DEMO_PHOTO
        self.roster: Roster | None = None
        self.roster_error: str | None = None
        self.session: Session | None = None
        self.saved_session_id: int | None = None
        self._attendance: Attendance | None = None
        super().__init__(tolerance=settings.tolerance, taken_at=_now())
        self.class_name = next(iter(self.classes))  # loads the roster (see _class_changed)

    # ----- class, roster and session -------------------------------------------------------------

    @property
    def roster_folder(self) -> Path:
        return self.classes[self.class_name]

    @validate("class_name")
    def _valid_class(self, proposal) -> str:
        if proposal["value"] not in self.classes:
            raise AppError(f"No class named {proposal['value']!r}.")
        return proposal["value"]

    @observe("class_name")
    def _class_changed(self, change) -> None:
        self.session = None  # the photos were of another class
        self.reload_roster()
        self.new_session()

    def reload_roster(self, progress: Callable[[int, int, str], None] | None = None) -> Roster | None:
        """Enroll the chosen class's roster folder again (cached encodings make it quick)."""
        try:
            # The class's list and consent from the records (school.class_roster): the same rules as the CLI.
            roster = class_roster(self.settings.replace(roster_dir=self.roster_folder), self.class_name,
                                  self.detector, progress, store=self.records_store(),
                                  encode=self.recognizer.reference_faces)
        except (RecordsError, SQLAlchemyError) as err:
            self.roster, self.roster_error = None, f"The class's students cannot be read from the records: {err}"
        except FileNotFoundError:
            self.roster, self.roster_error = None, (
                f"The roster folder {self.roster_folder} does not exist. Create it with one photo per student "
                "(Name_Surname.jpg), or run `attendance samples` for the demo class.")
        except RecognitionError as err:  # e.g. the recognition pool could not encode a new reference photo
            self.roster, self.roster_error = None, sentence(str(err), capital=True)
        else:
            self.roster, self.roster_error = roster, None
            if self.session is not None:
                # Re-match the photos already taken against the new roster: no detection again.
                self.session.roster = roster
        self._changed(roster=True)
        return self.roster

    def new_session(self) -> None:
        """Start again: no photos, no corrections, the time set to now (a check-in at the door ends)."""
        self.end_checkin()
        self.saved_session_id = None
        self.session = None
        self.taken_at = _now()
        if self.roster is not None:
            self.session = Session(self.roster, self.detector, self.tolerance, self.settings.ambiguity_margin,
                                   keep_images=True, max_pixels=self.settings.max_pixels,
                                   max_bytes=self.settings.max_upload_mb * 2**20, check_band=self.settings.check_band,
                                   start=self._start(), late_after_minutes=self.settings.late_after_minutes,
                                   recognizer=self.recognizer)
        self._changed()

    def _start(self) -> datetime | None:
        return self.taken_at if self.late_from_start else None

    @observe("late_from_start", "taken_at")
    def _start_changed(self, change) -> None:
        if self.session is not None and self.session.start != self._start():
            self.session.start = self._start()
            self._changed()

    def _require_session(self) -> Session:
        if self.session is None:
            raise AppError(self.roster_error or "No roster is loaded: choose a class first.")
        return self.session

    def _changed(self, roster: bool = False) -> None:
        self._attendance = None
        if roster:
            self.roster_version += 1
        self.result_version += 1

    @observe("tolerance")
    def _tolerance_changed(self, change) -> None:
        self._changed()

    # ----- photos ------------------------------------------------------------------------------

    def add_photos(self, files: Iterable[tuple[str, bytes]], progress: Progress | None = None) -> list[str]:
        """Add classroom photos ``(file name, content)``; returns a message per photo that could not be used.

        Messages come in upload order, each starting with the file's name (its last path part). A
        photo that is not a usable image, is too large or was already added is left out; a photo with
        no face is kept (it is shown) and reported. At most ``settings.max_files_per_upload`` photos
        are taken from one upload; one message names the others. Photos stay in memory, unless
        ``settings.save_uploads`` keeps a copy in ``data_dir/uploads`` (owner-only files).
        """
        session = self._require_session()
        files = list(files)
        if not files:
            raise AppError("No photo was given.")
        limit = self.settings.max_files_per_upload
        files, extra = files[:limit], [safe_file_name(name) for name, _ in files[limit:]]
        messages: dict[int, str] = {}
        known = {p.sha256 for p in session.photos}
        fresh: list[tuple[int, PhotoFile]] = []
        for k, (name, content) in enumerate(files):
            try:
                file = read_photo(content, name, max_bytes=session.max_bytes)
            except ImageError as err:
                messages[k] = sentence(str(err))
                continue
            if file.sha256 in known:
                messages[k] = f"{file.name}: this photo is already in the session."
            else:
                known.add(file.sha256)
                fresh.append((k, file))
        added = []
        try:
            # A photo that cannot be decoded is reported, not kept: there is nothing to show of it.
            added = session.add_photos([file for _, file in fresh], progress, keep_failed=False) if fresh else []
        finally:
            self._changed()
        kept = []
        for (k, file), photo in zip(fresh, added):
            if photo.error:
                messages[k] = sentence(photo.error)
                continue
            kept.append((photo.name, file.data))
            if len(photo.faces) == 0:
                messages[k] = (f"{photo.name}: no faces found. Use a sharper photo where faces are at least "
                               f"{self.settings.min_face_size} pixels wide, or a lower smallest face size.")
        if self.settings.save_uploads:
            for name, content in kept:
                save_upload(Path(self.settings.data_dir) / "uploads", name, content)
        result = [messages[k] for k in sorted(messages)]
        if extra:
            names = ", ".join(extra)
            result.append(f"{names}: not added, at most {limit} photos can be uploaded at once "
                          f"(upload {'it' if len(extra) == 1 else 'them'} next).")
        return result

    def add_demo_photo(self, progress: Progress | None = None) -> list[str]:
        """Add the demo classroom photo (``sample_images/two_people.jpg``)."""
        self._require_session()
        try:
            content = self.demo_photo.read_bytes()
        except OSError:
            raise AppError(f"The demo photo {self.demo_photo} is missing: run `attendance samples` to fetch it.") from None
        return self.add_photos([(self.demo_photo.name, content)], progress)

    def remove_photo(self, index: int) -> None:
        self._require_session().remove_photo(index)
        self._changed()

    @property
    def photos(self):
        return [] if self.session is None else list(self.session.photos)

    # ----- attendance --------------------------------------------------------------------------

    @property
    def attendance(self) -> Attendance | None:
        """The attendance at the current tolerance with the corrections; None before any photo."""
        if self.session is None or not self.session.photos:
            return None
        if self._attendance is None:
            self._attendance = self.session.result(self.tolerance)
        return self._attendance

    def correct(self, student_id: str, status: str | None) -> None:
        """Set a student present, absent or excused by hand (None: back to what the photos say)."""
        session = self._require_session()
        if status is not None and status not in STATUSES:
            raise AppError(f"A student can be {', '.join(STATUSES)}, not {status!r}.")
        try:
            session.correct(student_id, status)
        except KeyError:
            raise AppError(f"No student {student_id!r} in this class.") from None
        self._changed()
        if self.saved_session_id is not None and status is not None:
            store = self.store()
            try:
                store.correct(self.saved_session_id, student_id, status, note="corrected in the dashboard")
            except (RecordsError, SQLAlchemyError) as err:
                raise AppError(f"The correction is shown but could not be saved: {err}") from None
            self.history_version += 1

    def unknown_faces(self) -> list[UnknownFace]:
        """Faces matched to no student, numbered in photo order."""
        att = self.attendance
        if att is None:
            return []
        faces = sorted(att.unknown_faces, key=lambda f: (f.photo, f.face))
        return [UnknownFace(k + 1, f.photo, f.face, att.photos[f.photo].name, f.box, f.nearest, f.nearest_distance)
                for k, f in enumerate(faces)]

    def unknown_labels(self) -> dict[tuple[int, int], str]:
        return {(u.photo, u.face): u.label for u in self.unknown_faces()}

    def student_names(self) -> dict[str, str]:
        """Student id -> the name shown, in roster order; a name two students share gets the id
        (``Kit Harington (1003)``: class lists may hold both)."""
        return shown_names((s.id, s.name) for s in self.roster.students) if self.roster else {}


    def _blur(self, student: str | None) -> bool:
        """Whether a face matched to ``student`` (None: unknown) is blurred: it may be a student without consent."""
        return student is None and self.roster is not None and bool(self.roster.without_consent)

    def annotated_photo(self, index: int, max_side: int = annotate.DISPLAY_MAX_SIDE, labels: bool = True) -> bytes:
        """JPEG bytes of photo ``index`` with a box on every face, and its name unless ``labels`` is False
        (the dashboard draws numbered markers instead: see :meth:`photo_markers`)."""
        att = self.attendance
        if att is None:
            raise AppError("No photo yet.")
        photo = att.photos[index]
        # A kept copy may be smaller than the photo the boxes were found in.
        scale = photo.image_scale
        return annotate.to_jpeg(annotate.annotate_attendance(att, index, self.student_names(), self.unknown_labels(),
                                                             max_side, scale, labels))

    def photo_markers(self, index: int) -> list[Marker]:
        """The numbered markers of photo ``index``, placed so that none overlaps another."""
        att = self.attendance
        if att is None:
            raise AppError("No photo yet.")
        return photo_markers(att, index, self.student_names())

    def face_numbers(self) -> dict[tuple[int, int], int]:
        """``(photo, face)`` -> the number of the face's marker (1, 2, ... in photo order)."""
        att = self.attendance
        return face_numbers(att) if att is not None else {}

    # ----- review of every face ----------------------------------------------------------------------

    def review_items(self) -> list[ReviewItem]:
        """Every face in review order: unknown, ambiguous, check band, then sure and decided ones."""
        return review_items(self.attendance, self.student_names())

    def review_face(self, number: int, decision: str | None, student_id: str | None = None) -> None:
        """The instructor's decision on face ``number``: CONFIRMED (right), REJECTED (not this student),
        REASSIGNED (it is ``student_id``), or None to take it back. A decision made after saving
        corrects the saved marks it changes, with an audit line."""
        session = self._require_session()
        item = next((i for i in self.review_items() if i.number == number), None)
        if item is None:
            raise AppError(f"There is no face {number} any more.")
        if decision is not None and decision not in REVIEW_DECISIONS:
            raise AppError(f"A face can be {', '.join(REVIEW_DECISIONS)}, not {decision!r}.")
        if decision == REASSIGNED and not student_id:
            raise AppError("Choose the student in the list first.")
        if decision == REJECTED and student_id is None and item.student is None:
            student_id = item.suggestion or item.nearest  # "nobody in the class", said of its likely student
            if student_id is None:
                raise AppError(f"Face {number} is not matched to a student.")
        before = {s.id: s.status for s in self.attendance.students}
        try:
            session.review_face(item.photo, item.face, decision, student_id)
        except (KeyError, ValueError) as err:
            raise AppError(sentence(str(err).strip("'\""), capital=True)) from None
        self._changed()
        if self.saved_session_id is not None:
            after = {s.id: s.status for s in self.attendance.students}
            changed = [sid for sid in after if after[sid] != before.get(sid)]
            self._correct_saved(changed, after, f"face review: face {number} of {item.photo_name}, {decision}")

    def _correct_saved(self, student_ids, statuses: dict[str, str], note: str) -> None:
        if not student_ids:
            return
        store = self.store()
        try:
            for sid in student_ids:
                store.correct(self.saved_session_id, sid, statuses[sid], note=note)
        except (RecordsError, SQLAlchemyError) as err:
            raise AppError(f"The change is shown but could not be saved: {err}") from None
        self.history_version += 1

    def review_crop(self, item: ReviewItem, side: int = 160) -> bytes:
        """JPEG bytes of a face of the review, with some margin, at most ``side`` pixels (scaled up when small)."""
        photo = self.session.photos[item.photo]
        scale = photo.image_scale
        box = tuple(round(v * scale) for v in item.box)
        crop = annotate.crop_face(photo.image, box, 0.3, min_side=side, blur=self._blur(item.student))
        return annotate.to_jpeg(annotate.thumbnail(crop, side))

    def face_crop(self, face: UnknownFace, side: int = 120) -> bytes:
        """JPEG bytes of an unknown face, for display."""
        photo = self.session.photos[face.photo]
        scale = photo.image_scale
        box = tuple(round(v * scale) for v in face.box)
        crop = annotate.crop_face(photo.image, box, 0.3, blur=self._blur(None))
        return annotate.to_jpeg(annotate.thumbnail(crop, side))


def _now() -> datetime:
    return datetime.now().astimezone().replace(second=0, microsecond=0)
