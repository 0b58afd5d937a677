"""Frames for the check-in at the door from OpenCV (``attendance checkin --camera N``): a camera of this
computer, or a video file, fed to a :class:`checkin.DoorCheckIn` through a :class:`recognition.Recognizer`.

A camera is looked at about once a second (:data:`checkin.FRAME_SECONDS`), its newest frame each time (a
frame is skipped, not queued, while the last one is analysed), each frame timed when it was read. A video
file stands in for a camera where there is none (tests, trying it out): it is read at its own pace, one
frame per second of video, each timed as if the camera had been filming since ``started`` (the video's
first frame at ``started``, a frame 40 s in at ``started`` + 40 s). Frames stay in memory.
"""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from .checkin import FRAME_SECONDS, FRAME_SIDE, Arrival, DoorCheckIn
from .errors import AttendanceError
from .images import PhotoFile
from .recognition import AnalysisOptions, Recognizer

#: A camera frame sent for analysis is JPEG of this quality (the pool's workers get bytes, as for photos).
FRAME_JPEG_QUALITY = 90


class CameraError(AttendanceError):
    """The camera cannot be opened, or stopped sending pictures; the message says which and what to do."""


class Frames:
    """Frames ``(BGR array, moment taken)`` from a camera (``source`` a number) or a video file (a path).

    capture: an object that reads like ``cv2.VideoCapture`` to use instead (a fake camera, in tests)."""

    def __init__(self, source: str | int, started: datetime | None = None, capture=None):
        import cv2

        self.source = source
        self.is_camera = isinstance(source, int) or str(source).isdigit()
        self.started = started or datetime.now(timezone.utc)
        if capture is None and not self.is_camera and not Path(source).is_file():
            raise CameraError(f"{source}: no such video file (give a camera number, e.g. 0, or a video file)")
        self._capture = capture or cv2.VideoCapture(int(source) if self.is_camera else str(source))
        if not self._capture.isOpened():
            raise CameraError(f"camera {source} cannot be opened: none is connected with that number, or another "
                              "program is using it" if self.is_camera else f"{source}: not a video OpenCV can read")
        if self.is_camera:
            self._capture.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # the newest frame, not one from a second ago

    def __iter__(self) -> Iterator[tuple[np.ndarray, datetime]]:
        return self._camera() if self.is_camera else self._video()

    def _camera(self) -> Iterator[tuple[np.ndarray, datetime]]:
        next_at = time.monotonic()
        while True:
            ok, frame = self._capture.read()
            if not ok:
                raise CameraError(f"camera {self.source} stopped sending pictures (unplugged?)")
            if time.monotonic() < next_at:
                continue  # keep reading, so that the frame analysed next is the newest
            next_at = time.monotonic() + FRAME_SECONDS
            yield frame, datetime.now(timezone.utc)

    def _video(self) -> Iterator[tuple[np.ndarray, datetime]]:
        import cv2

        next_ms = 0.0
        while True:
            ok, frame = self._capture.read()
            if not ok:
                return
            position = self._capture.get(cv2.CAP_PROP_POS_MSEC)
            if position + 1e-6 >= next_ms:
                next_ms = position + FRAME_SECONDS * 1000
                yield frame, self.started + timedelta(milliseconds=position)

    def close(self) -> None:
        self._capture.release()


def frame_file(frame: np.ndarray, at: datetime) -> PhotoFile:
    """A camera frame (BGR) as the JPEG bytes an analysis takes, at most :data:`checkin.FRAME_SIDE` pixels a side,
    named after its time."""
    import cv2

    scale = FRAME_SIDE / max(frame.shape[:2])
    if scale < 1:
        frame = cv2.resize(frame, (round(frame.shape[1] * scale), round(frame.shape[0] * scale)),
                           interpolation=cv2.INTER_AREA)
    ok, data = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, FRAME_JPEG_QUALITY])
    if not ok:
        raise CameraError("a camera frame could not be encoded")
    return PhotoFile(f"door {at.astimezone():%H:%M:%S}.jpg", data.tobytes())


def run_checkin(frames: Frames, checkin: DoorCheckIn, recognizer: Recognizer, options: AnalysisOptions,
                on_arrival: Callable[[Arrival], None] = lambda a: None) -> None:
    """Feed ``frames`` to ``checkin`` until it stops (its time is up or it was ended), the video ends, or the
    camera fails (:class:`CameraError`: what was marked stays in the check-in's session)."""
    for frame, at in frames:
        if not checkin.running or at >= checkin.ends_at:
            checkin.end(min(at, checkin.ends_at))
            return
        analysis = recognizer.analyse_if_free(frame_file(frame, at), options)
        if analysis is None:
            continue  # dropped: the recognizer was busy
        for arrival in checkin.see(analysis, at).arrivals:
            on_arrival(arrival)
