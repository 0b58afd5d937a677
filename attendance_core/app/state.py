"""What the dashboard knows and does, with no widgets: class, subject, photos, attendance, records.

:class:`DashboardState` holds one class session being marked. Widgets (``views.py``) link to its
traits (``class_name``, ``subject``, ``taken_at``, ``tolerance``) and redraw when one of its
counters changes (``result_version``: the attendance changed; ``roster_version``: the students
changed; ``history_version``: a session was saved). Every action that can fail for a reason the
instructor can fix raises :class:`AppError` with a message meant for them.

Classroom photos stay in memory (``Session(keep_images=True)``); the only faces written to disk
are crops the instructor explicitly adds to the roster as reference photos.
"""
from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Callable, Iterable

import pandas as pd
from sqlalchemy.exc import SQLAlchemyError
from traitlets import Float, HasTraits, Instance, Int, Unicode, observe, validate

from .. import access, annotate
from ..config import Settings, load_settings
from ..faces import DetectorSettings
from ..images import ImageError, load_image
from ..images import display_name as display_file_name
from ..records import DuplicateSessionError, RecordsError, Store
from ..roster import Roster, display_name, forget_student, load_roster, roster_entries
from ..errors import AttendanceError
from ..results import STATUSES, Attendance
from ..session import Progress, Session

#: The demo photo offered by "Try the demo photo", relative to the folder holding the roster folder.
DEMO_PHOTO = Path("sample_images") / "two_people.jpg"
#: Crops of classroom faces saved as reference photos are scaled up to at least this size (pixels).
REFERENCE_CROP_SIDE = 240
#: File name of a reference photo added from a classroom photo: added-<timestamp>.jpg.
ADDED_PHOTO_PATTERN = "added-{:%Y%m%d-%H%M%S}.jpg"
#: Columns of the History table, from the records' sessions.
HISTORY_COLUMNS = ["id", "subject", "taken_at", "present", "absent", "excused", "unknown_faces", "photos",
                   "marked_by"]


class AppError(AttendanceError):
    """A problem the instructor can fix; ``str(err)`` is the message shown in the page."""


@dataclass(frozen=True)
class UnknownFace:
    """A face of a classroom photo that matched no student. ``number`` counts from 1 across the session."""

    number: int
    photo: int
    face: int
    photo_name: str
    box: tuple[int, int, int, int]
    nearest: str | None
    nearest_distance: float | None

    @property
    def label(self) -> str:
        return f"Unknown {self.number}"


def project_settings(start: Path | None = None, **overrides) -> Settings:
    """Settings as :func:`load_settings` gives them, with the roster and data folders found from ``start``.

    Voilà and nbval run a notebook in its own folder (``notebooks/``): when no config file or
    environment variable names the folders and the default roster folder is not there, the nearest
    parent folder holding the default roster folder is used, as if the command ran there.
    """
    settings = load_settings(**overrides)
    if settings.source != "defaults" or settings.roster_dir.is_dir():
        return settings
    here = (start or Path.cwd()).resolve()
    for folder in here.parents:
        if (folder / Settings.roster_dir).is_dir():
            extra = {}
            if "ATTENDANCE_ROSTER_DIR" not in os.environ and "roster_dir" not in overrides:
                extra["roster_dir"] = folder / Settings.roster_dir
            if "ATTENDANCE_DATA_DIR" not in os.environ and "data_dir" not in overrides:
                extra["data_dir"] = folder / Settings.data_dir
            return load_settings(**{**overrides, **extra})
    return settings


def default_classes(settings: Settings) -> dict[str, Path]:
    """The classes to choose from: each roster folder in ``classes_dir`` (a school), else the roster folder,
    named after itself (``known_faces`` -> "known faces")."""
    if settings.classes_dir and Path(settings.classes_dir).is_dir():
        folders = sorted(p for p in Path(settings.classes_dir).iterdir() if p.is_dir() and not p.name.startswith("."))
        return {display_name(p.name): p for p in folders}
    return {display_name(settings.roster_dir.name) or "class": settings.roster_dir}


def student_id_for(name: str) -> str:
    """The student id of a typed name: ``" Ada  Lovelace "`` -> ``Ada_Lovelace``; raises AppError if unusable."""
    words = name.split()
    sid = "_".join(words)
    if not sid:
        raise AppError("Type the new student's name first (for example: Ada Lovelace).")
    if not re.fullmatch(r"[^\W_][\w.'-]*", sid) or sid.startswith("."):
        raise AppError(f"'{name.strip()}' cannot be a student name: use letters, digits, spaces, ' and -.")
    return sid


class DashboardState(HasTraits):
    """One class session being marked in the dashboard, plus the roster and records it uses.

    settings: the settings in force (default: :func:`project_settings`); classes: class name ->
    roster folder (default: :func:`default_classes`); store: a records store (default: opened from
    the settings on first use); demo_photo: the photo of "Try the demo photo"; user: the signed-in
    user (default: the hub's ``$JUPYTERHUB_USER``, None without a hub): only their classes are offered,
    and the records are read and written as them (:class:`attendance_core.access.UserStore`).
    """

    class_name = Unicode("")
    subject = Unicode("")
    taken_at = Instance(datetime)
    tolerance = Float(0.6)
    #: Bumped whenever the attendance changes (photos, tolerance, corrections, roster).
    result_version = Int(0)
    #: Bumped whenever the roster changes (class chosen, student added or removed).
    roster_version = Int(0)
    #: Bumped whenever the records change (a session saved).
    history_version = Int(0)

    def __init__(self, settings: Settings | None = None, classes: dict[str, Path] | None = None,
                 store=None, demo_photo: Path | None = None, user: str | None = None):
        settings = settings or project_settings()
        self.settings = settings
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
            roster = load_roster(self.roster_folder, self.detector, self.settings.cache_dir, progress)
        except FileNotFoundError:
            self.roster, self.roster_error = None, (
                f"The roster folder {self.roster_folder} does not exist. Create it with one photo per student "
                "(Name_Surname.jpg), or run `attendance samples` for the demo class.")
        else:
            self.roster, self.roster_error = roster, None
            if self.session is not None:
                # Re-match the photos already taken against the new roster: no detection again.
                self.session.roster = roster
        self._changed(roster=True)
        return self.roster

    def new_session(self) -> None:
        """Start again: no photos, no corrections, the time set to now."""
        self.saved_session_id = None
        self.session = None
        self.taken_at = _now()
        if self.roster is not None:
            self.session = Session(self.roster, self.detector, self.tolerance, self.settings.ambiguity_margin,
                                   keep_images=True, max_pixels=self.settings.max_pixels,
                                   max_bytes=self.settings.max_upload_mb * 2**20)
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
        files = [(display_file_name(name), bytes(content)) for name, content in files]
        if not files:
            raise AppError("No photo was given.")
        limit = self.settings.max_files_per_upload
        files, extra = files[:limit], files[limit:]
        messages: dict[int, str] = {}
        known = {p.sha256 for p in session.photos}
        fresh: list[tuple[int, str, bytes]] = []
        for k, (name, content) in enumerate(files):
            digest = _sha256(content)
            if digest in known:
                messages[k] = f"{name}: this photo is already in the session."
            else:
                known.add(digest)
                fresh.append((k, name, content))
        before = len(session.photos)
        added = []
        try:
            added = session.add_photos([(name, content) for _, name, content in fresh], progress) if fresh else []
        finally:
            # A photo that could not be read is reported, not kept: there is nothing to show of it.
            for i in reversed(range(before, len(session.photos))):
                if session.photos[i].error:
                    session.remove_photo(i)
            self._changed()
        kept = []
        for (k, _, content), photo in zip(fresh, added):
            if photo.error:
                messages[k] = _sentence(photo.error)
                continue
            kept.append((photo.name, content))
            if len(photo.faces) == 0:
                messages[k] = (f"{photo.name}: no faces found. Use a sharper photo where faces are at least "
                               f"{self.settings.min_face_size} pixels wide, or a lower smallest face size.")
        if self.settings.save_uploads and kept:
            self._keep_uploads(kept)
        result = [messages[k] for k in sorted(messages)]
        if extra:
            names = ", ".join(name for name, _ in extra)
            result.append(f"{names}: not added, at most {limit} photos can be uploaded at once "
                          f"(upload {'it' if len(extra) == 1 else 'them'} next).")
        return result

    def _keep_uploads(self, photos: list[tuple[str, bytes]]) -> None:
        """Copy accepted classroom photos into ``data_dir/uploads/<date>/`` (folders 0700, files 0600)."""
        now = datetime.now()
        uploads = Path(self.settings.data_dir) / "uploads"
        folder = uploads / f"{now:%Y-%m-%d}"
        for d in (Path(self.settings.data_dir), uploads, folder):
            d.mkdir(mode=0o700, exist_ok=True)
        for d in (uploads, folder):
            os.chmod(d, 0o700)
        for name, content in photos:
            safe = re.sub(r"[^\w.-]+", "_", name).lstrip(".") or "photo"
            path = _free_name(folder / f"{now:%H%M%S}-{safe}")
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(content)
            os.chmod(path, 0o600)

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

    def annotated_photo(self, index: int, max_side: int = annotate.DISPLAY_MAX_SIDE) -> bytes:
        """JPEG bytes of photo ``index`` with a box and a name on every face."""
        att = self.attendance
        if att is None:
            raise AppError("No photo yet.")
        names = {s.id: s.name for s in self.roster.students} if self.roster else {}
        return annotate.to_jpeg(annotate.annotate_attendance(att, index, names, self.unknown_labels(), max_side))

    def face_crop(self, face: UnknownFace, side: int = 120) -> bytes:
        """JPEG bytes of an unknown face, for display."""
        image = self.session.photos[face.photo].image
        return annotate.to_jpeg(annotate.thumbnail(annotate.crop_face(image, face.box, 0.3), side))

    def _unknown(self, number: int) -> UnknownFace:
        for face in self.unknown_faces():
            if face.number == number:
                return face
        raise AppError(f"There is no unknown face {number} any more.")

    def add_face_as_new_student(self, number: int, name: str) -> str:
        """Enroll unknown face ``number`` as a new student named ``name``; returns the new student id."""
        self._require_roster_rights()
        face = self._unknown(number)
        sid = student_id_for(name)
        if self.roster is not None and sid in self.roster.ids:
            raise AppError(f"{display_name(sid)} is already in the class: use \"this is\" instead.")
        if any(p.stem.lower() == sid.lower() for p in self.roster_folder.iterdir()):
            raise AppError(f"The roster folder already has an entry named {sid}.")
        self._add_reference_crop(face, sid)
        return sid

    def add_face_to_student(self, number: int, student_id: str) -> None:
        """Say unknown face ``number`` is ``student_id``: its crop becomes a reference photo, and all photos re-match."""
        self._require_roster_rights()
        face = self._unknown(number)
        if self.roster is None or student_id not in self.roster.ids:
            raise AppError(f"No student {student_id!r} in this class.")
        self._add_reference_crop(face, student_id)

    def _require_roster_rights(self) -> None:
        # On a hub, rosters are the admin's (a teacher marks; they do not enroll or remove students).
        if self.user is not None:
            try:
                access.require_admin(self.store().user, "change a class's roster")
            except access.PermissionDenied as err:
                raise AppError(f"{str(err)[:1].upper()}{str(err)[1:]}.") from None

    def _add_reference_crop(self, face: UnknownFace, student_id: str) -> None:
        image = self.session.photos[face.photo].image
        crop = annotate.crop_face(image, face.box, margin=0.6, min_side=REFERENCE_CROP_SIDE)
        folder = self._student_folder(student_id)
        path = _free_name(folder / ADDED_PHOTO_PATTERN.format(datetime.now()))
        path.write_bytes(annotate.to_jpeg(crop, quality=92))
        roster = self.reload_roster()
        added = next((p for s in (roster.students if roster else []) if s.id == student_id
                      for p in s.photos if p.path == path), None)
        if added is None or not added.usable:
            reason = added.problem if added is not None else "it could not be read"
            path.unlink(missing_ok=True)
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
            self.reload_roster()
            raise AppError(f"{face.label} could not be used as a reference photo ({reason}). "
                           "Add a portrait of the student in the Roster tab instead.")

    def _student_folder(self, student_id: str) -> Path:
        """The folder of a student's reference photos; a one-photo student (``Id.jpg``) becomes ``Id/Id.jpg``."""
        root = self.roster_folder
        folder = root / student_id
        if folder.is_dir():
            return folder
        single = [p for sid, paths in roster_entries(root) if sid == student_id for p in paths if p.parent == root]
        folder.mkdir()
        for p in single:
            shutil.move(str(p), folder / p.name)
        return folder

    # ----- roster ------------------------------------------------------------------------------

    def add_student(self, name: str, photos: Iterable[tuple[str, bytes]]) -> str:
        """Enroll a new student from one or more reference photos ``(file name, content)``; returns the id."""
        self._require_roster_rights()
        sid = student_id_for(name)
        photos = [(Path(n).name, bytes(c)) for n, c in photos]
        if not photos:
            raise AppError(f"Choose one or more photos of {display_name(sid)} first.")
        if self.roster is not None and sid in self.roster.ids:
            raise AppError(f"{display_name(sid)} is already in the class.")
        for file_name, content in photos:
            try:
                load_image(content, file_name)
            except ImageError as err:
                raise AppError(_sentence(str(err))) from None
        folder = self.roster_folder / sid
        folder.mkdir(parents=True, exist_ok=False)
        for file_name, content in photos:
            _free_name(folder / file_name).write_bytes(content)
        self.reload_roster()
        return sid

    def remove_student(self, student_id: str) -> None:
        """Remove a student from the class: their reference photos and cached encodings are deleted."""
        self._require_roster_rights()
        try:
            forget_student(self.roster_folder, student_id, self.detector, self.settings.cache_dir, delete_photos=True)
        except KeyError:
            raise AppError(f"No student {student_id!r} in this class.") from None
        self.reload_roster()

    def reference_thumbnail(self, student_id: str, side: int = 96) -> bytes | None:
        """JPEG bytes of a student's first usable reference photo, cropped on the face (None if none)."""
        student = self.roster.student(student_id)
        for photo in student.photos:
            try:
                image = load_image(photo.path)
            except ImageError:
                continue
            if photo.box is not None:
                image = annotate.crop_face(image, photo.box, 0.3)
            return annotate.to_jpeg(annotate.thumbnail(image, side))
        return None

    # ----- records -----------------------------------------------------------------------------

    def store(self) -> Store:
        """The records store (opened from the settings on first use)."""
        if self._store is None:
            try:
                self._store = access.open_store(Store.from_settings(self.settings), self.user)
            except (RecordsError, OSError, SQLAlchemyError) as err:
                raise AppError(f"The records database cannot be opened: {err}") from None
        return self._store

    def save(self, marked_by: str | None = None) -> int:
        """Save the session's attendance in the records; returns the session number."""
        att = self.attendance
        if att is None:
            raise AppError("Nothing to save yet: add a classroom photo first.")
        if not self.subject.strip():
            raise AppError("Type the subject (for example: Mathematics) before saving.")
        if self.saved_session_id is not None:
            raise AppError(f"This session is already saved (session {self.saved_session_id}); corrections "
                           "made since are saved as you make them. Use \"New session\" for another class.")
        store = self.store()
        try:
            session_id = store.save_session(att, class_name=self.class_name, subject=self.subject.strip(),
                                            taken_at=self.taken_at, marked_by=marked_by, settings=self.settings)
        except DuplicateSessionError as err:
            raise AppError(f"These photos of this class were saved already, as session {err.session_id}.") from None
        except (RecordsError, access.PermissionDenied, SQLAlchemyError) as err:
            raise AppError(f"The session could not be saved: {err}") from None
        self.saved_session_id = int(session_id)
        self.history_version += 1
        return self.saved_session_id

    def csv_text(self) -> str:
        """The attendance as CSV: class, subject, date, then one row per student."""
        att = self.attendance
        if att is None:
            raise AppError("Nothing to download yet: add a classroom photo first.")
        frame = att.to_frame()
        frame.insert(0, "taken_at", self.taken_at.isoformat(timespec="minutes"))
        frame.insert(0, "subject", self.subject.strip())
        frame.insert(0, "class", self.class_name)
        frame["distance"] = pd.to_numeric(frame["distance"]).round(4)
        return frame.to_csv(index=False)

    def csv_file_name(self) -> str:
        parts = [self.class_name, self.subject.strip(), f"{self.taken_at:%Y-%m-%d_%H%M}"]
        return re.sub(r"[^\w.-]+", "_", "_".join(p for p in parts if p)) + ".csv"

    def history(self) -> pd.DataFrame:
        """Saved sessions of the chosen class, newest first (empty when none was saved)."""
        store = self.store()
        try:
            if self.class_name not in store.classes():
                return pd.DataFrame(columns=HISTORY_COLUMNS)
            sessions = store.sessions(class_name=self.class_name)
        except (RecordsError, SQLAlchemyError) as err:
            raise AppError(f"The history cannot be read: {err}") from None
        return sessions[[c for c in HISTORY_COLUMNS if c in sessions.columns]].iloc[::-1].reset_index(drop=True)

    def attendance_rates(self) -> pd.DataFrame:
        """Per student of the chosen class: present, absent, excused, sessions and rate (0-1) over the saved sessions."""
        store = self.store()
        try:
            if self.class_name not in store.classes():
                return pd.DataFrame(columns=["student_id", "name", "present", "absent", "excused", "sessions", "rate"])
            return store.report(self.class_name).summary
        except (RecordsError, SQLAlchemyError) as err:
            raise AppError(f"The attendance report cannot be made: {err}") from None


def rates_chart(summary, title: str = "") -> bytes:
    """PNG bytes of a horizontal bar chart of attendance rate (0-1 or 0-100) per student."""
    from matplotlib.figure import Figure

    rate_col = next((c for c in ("rate", "attendance_rate", "present_rate") if c in summary.columns), None)
    name_col = next((c for c in ("name", "student_name", "student", "student_id", "id") if c in summary.columns), None)
    if rate_col is None:
        raise AppError("The attendance report has no rate to chart.")
    names = list(summary[name_col]) if name_col else [str(i) for i in summary.index]
    rates = [float(r) for r in summary[rate_col].fillna(0)]
    percent = [r * 100 if max(rates, default=0) <= 1.0 else r for r in rates]
    fig = Figure(figsize=(6, 0.4 * max(3, len(names)) + 1), dpi=100)
    ax = fig.add_subplot()
    ax.barh(names[::-1], percent[::-1], color="#2a9d4a")
    ax.set_xlim(0, 100)
    ax.set_xlabel("attendance (%)")
    if title:
        ax.set_title(title)
    for y, value in enumerate(percent[::-1]):
        ax.text(min(value + 1, 90), y, f"{value:.0f}%", va="center", fontsize=9)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def _now() -> datetime:
    return datetime.now().astimezone().replace(second=0, microsecond=0)


def _sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?", ")")) else text + "."


def _free_name(path: Path) -> Path:
    """``path``, or ``stem-2.ext``, ``stem-3.ext``... when it exists already."""
    k = 2
    candidate = path
    while candidate.exists():
        candidate = path.with_name(f"{path.stem}-{k}{path.suffix}")
        k += 1
    return candidate
