"""The dashboard state's roster changes: unknown faces made reference photos, students added and removed.

A mixin of :class:`~attendance_core.app.state.DashboardState`: the files are written by
:mod:`attendance_core.roster`, and the roster is enrolled again after each change.
"""
from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Iterable

from .. import annotate
from ..school import access
from ..images import ImageError, load_image
from ..images import safe_file_name
from ..roster import (RosterError, add_reference_photo, discard_reference_photo, display_name, enroll_student,
                      forget_student)
from ..records import RecordsError
from ..school import set_consent as record_consent
from .base import AppError, UnknownFace, sentence, student_id_for

#: Crops of classroom faces saved as reference photos are scaled up to at least this size (pixels).
REFERENCE_CROP_SIDE = 240
#: File name of a reference photo added from a classroom photo: added-<timestamp>.jpg.
ADDED_PHOTO_PATTERN = "added-{:%Y%m%d-%H%M%S}.jpg"


class RosterEdits:
    """Adding and removing students of the chosen class (needs ``roster``, ``session``, ``reload_roster``)."""

    def _unknown(self, number: int) -> UnknownFace:
        for face in self.unknown_faces():
            if face.number == number:
                return face
        raise AppError(f"There is no unknown face {number} any more.")

    def _require_roster_rights(self) -> None:
        # On a hub, rosters are the admin's (a teacher marks; they do not enroll or remove students).
        if self.user is not None:
            try:
                access.require_admin(self.store().user, "change a class's roster")
            except access.PermissionDenied as err:
                raise AppError(f"{str(err)[:1].upper()}{str(err)[1:]}.") from None

    def add_face_as_new_student(self, number: int, name: str) -> str:
        """Enroll unknown face ``number`` as a new student named ``name``; returns the new student id."""
        self._require_roster_rights()
        face = self._unknown(number)
        sid = student_id_for(name)
        if self.roster is not None and sid in self.roster.ids:
            raise AppError(f"{display_name(sid)} is already in the class: use \"this is\" instead.")
        crop = self._reference_crop(face)
        try:
            folder = enroll_student(self.roster_folder, sid, [(ADDED_PHOTO_PATTERN.format(datetime.now()), crop)])
        except (RosterError, ImageError) as err:
            raise AppError(sentence(str(err), capital=isinstance(err, RosterError))) from None
        self._check_added(face, next(folder.iterdir()))
        return sid

    def add_face_to_student(self, number: int, student_id: str) -> None:
        """Say unknown face ``number`` is ``student_id``: its crop becomes a reference photo, and all photos re-match."""
        self._require_roster_rights()
        face = self._unknown(number)
        if self.roster is None or student_id not in self.roster.ids:
            raise AppError(f"No student {student_id!r} in this class.")
        if not self.roster.student(student_id).may_be_recognised:
            raise AppError(f"{self.roster.student(student_id).name} has no consent to face recognition: "
                           "no reference photo is kept; mark them by hand.")
        path = add_reference_photo(self.roster_folder, student_id, self._reference_crop(face),
                                   ADDED_PHOTO_PATTERN.format(datetime.now()))
        self._check_added(face, path)

    def _reference_crop(self, face: UnknownFace) -> bytes:
        photo = self.session.photos[face.photo]
        scale = photo.image_scale
        box = tuple(round(v * scale) for v in face.box)
        crop = annotate.crop_face(photo.image, box, margin=0.6, min_side=REFERENCE_CROP_SIDE)
        return annotate.to_jpeg(crop, quality=92)

    def _check_added(self, face: UnknownFace, path: Path) -> None:
        """Enroll again; a crop in which no face is found again is taken back out of the roster."""
        roster = self.reload_roster()
        added = next((p for s in (roster.students if roster else []) for p in s.photos if p.path == path), None)
        if added is None or not added.usable:
            reason = added.problem if added is not None else "it could not be read"
            discard_reference_photo(self.roster_folder, path)
            self.reload_roster()
            raise AppError(f"{face.label} could not be used as a reference photo ({reason}). "
                           "Add a portrait of the student in the Roster tab instead.")

    # ----- roster ------------------------------------------------------------------------------

    def add_student(self, name: str, photos: Iterable[tuple[str, bytes]]) -> str:
        """Enroll a new student from one or more reference photos ``(file name, content)``; returns the id."""
        self._require_roster_rights()
        sid = student_id_for(name)
        photos = [(safe_file_name(n), bytes(c)) for n, c in photos]
        if not photos:
            raise AppError(f"Choose one or more photos of {display_name(sid)} first.")
        if self.roster is not None and sid in self.roster.ids:
            raise AppError(f"{display_name(sid)} is already in the class.")
        try:
            enroll_student(self.roster_folder, sid, photos, max_bytes=self.settings.max_upload_mb * 2**20,
                           max_pixels=self.settings.max_pixels)
        except ImageError as err:
            raise AppError(sentence(str(err))) from None
        except RosterError as err:
            raise AppError(sentence(str(err), capital=True)) from None
        except OSError as err:
            raise AppError(f"{display_name(sid)} could not be added: {err.strerror or err}.") from None
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

    def set_consent(self, student_id: str, consent: str) -> None:
        """Record a student's consent to face recognition (given, refused, not asked), signed by the
        acting user, and enroll the class again (see :func:`attendance_core.school.set_consent`)."""
        self._require_roster_rights()
        try:
            record_consent(self.settings.replace(roster_dir=self.roster_folder), student_id, consent,
                           by=self.user, store=self.records_store())
        except (RecordsError, KeyError, ValueError) as err:
            raise AppError(sentence(str(err.args[0] if isinstance(err, KeyError) else err), capital=True)) from None
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

