"""What the dashboard does with its camera, with no widgets: a still taken goes the way of an upload; a
check-in at the door looks at a frame about every second (:mod:`attendance_core.checkin` has its rules).

A frame is analysed by the dashboard's recognizer (this process, or the shared pool) only when it has room
for it now (``Recognizer.analyse_if_free``): a frame is dropped, never queued, so that a page's camera
cannot hold up anyone's photos. A frame is analysed off the page's own thread (:meth:`DoorActions.analyse_frame`
is safe to call from another thread) and its result applied on it (:meth:`DoorActions.see_frame`). Frames
stay in memory; only the frame of a student's arrival is kept, for the review, with other faces blurred
(and, when ``save_uploads`` asks for it, written owner-only to ``data_dir/uploads``).
"""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import numpy as np

from ..annotate import to_jpeg
from ..checkin import DoorCheckIn, FrameReport, frame_options
from ..files import save_upload
from ..images import ImageError, load_image, read_photo
from ..recognition import PhotoAnalysis, RecognitionError
from .base import AppError, sentence

class DoorActions:
    """The check-in at the door, mixed into :class:`~attendance_core.app.state.DashboardState`."""

    checkin: DoorCheckIn | None = None

    def start_checkin(self, minutes: float) -> DoorCheckIn:
        """Start checking students in at the door for ``minutes`` into the open session."""
        session = self._require_session()
        if self.checkin is not None and self.checkin.running:
            raise AppError("The check-in at the door is already on.")
        try:
            self.checkin = DoorCheckIn(session, minutes)
        except ValueError as err:
            raise AppError(sentence(str(err), capital=True)) from None
        return self.checkin

    def end_checkin(self) -> DoorCheckIn | None:
        """End the check-in (what it marked stays in the session); None if none was on."""
        checkin, self.checkin = self.checkin, None
        if checkin is not None:
            checkin.end()
        return checkin

    def analyse_frame(self, data: bytes) -> tuple[PhotoAnalysis, Callable[[], np.ndarray]] | None:
        """One frame's faces and a function that reads its pixels (only a frame with an arrival is read), or None
        when it was dropped (the recognizer had no room, the frame was unreadable, or the pool did not answer:
        the next frame comes in a second). Safe from another thread."""
        if self.checkin is None or not self.checkin.running:
            return None
        options = frame_options(self.detector, self.settings.max_pixels, self.settings.max_upload_mb * 2**20)
        try:
            file = read_photo(bytes(data), "door frame.jpg", max_bytes=options.max_bytes)
            analysis = self.recognizer.analyse_if_free(file, options)
        except (ImageError, RecognitionError):
            return None
        if analysis is None or analysis.error:
            return None
        return analysis, lambda: load_image(file, max_pixels=options.max_pixels)

    def see_frame(self, analysed: tuple[PhotoAnalysis, Callable[[], np.ndarray]] | None,
                  at: datetime | None = None) -> FrameReport | None:
        """Apply an analysed frame taken ``at`` (default now) to the check-in; None when no check-in is on."""
        checkin = self.checkin
        if checkin is None:
            return None
        if analysed is None:
            report = FrameReport(running=checkin.running and datetime.now(timezone.utc) < checkin.ends_at)
        else:
            report = checkin.see(analysed[0], at or datetime.now(timezone.utc), analysed[1])
        if not report.running:
            checkin.end(min(datetime.now(timezone.utc), checkin.ends_at))
        if report.arrivals:
            if self.settings.save_uploads:  # the arrival's frame as kept (other faces blurred), owner-only
                photo = self.session.photos[-1]
                save_upload(Path(self.settings.data_dir) / "uploads", f"{photo.name}.jpg",
                            to_jpeg(photo.image))
            self._changed()
        return report

    def face_overlay(self, report: FrameReport, size: tuple[int, int]) -> list[dict]:
        """The faces of a frame as the live view draws them: box in fractions of the frame, name or "unknown"."""
        names = self.student_names()
        width, height = max(1, size[0]), max(1, size[1])
        return [{"top": top / height, "left": left / width, "width": (right - left) / width,
                 "height": (bottom - top) / height, "text": names.get(sid, "unknown") if sid else "unknown",
                 "kind": "matched" if sid else "unknown"}
                for (top, right, bottom, left), sid in report.faces]
