"""The camera in the Take attendance tab: a live view, **Take photo**, and the check-in at the door.

:class:`CameraWidget` is an anywidget (its ES module is ``static/camera.js``): the browser's camera, stills
and frames sent to the kernel as JPEG bytes, the names of the faces of the last frame drawn over the live
view. :class:`CameraView` holds it with its controls (ipywidgets, named from ``accessible.py``) and wires
them to the state: a still goes the way of an upload (the tab's ``add_photo`` callback: same limits, same
analysis, same Review faces); a check-in's frames go to :class:`~attendance_core.app.door_actions.DoorActions`,
analysed off the kernel's thread, the arrivals announced once in the page's polite live region.
"""
from __future__ import annotations

import asyncio
import html
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

import anywidget
import ipywidgets as w
import traitlets as t

from ..checkin import DEFAULT_CHECKIN_MINUTES, FRAME_SECONDS, FRAME_SIDE
from ..results import LATE
from . import accessible
from .common import MessageBar, controls, reports_errors
from .state import AppError, DashboardState

#: After this long without a photo or a check-in, the live view turns the camera off (a page left open).
IDLE_MINUTES = 10
#: What the check-in's "stops after" offers, in minutes.
CHECKIN_CHOICES = (10, 15, 20, 30, 45, 60, 90, 120)
#: What the teacher is told of each fault the browser reports (the camera is off after each).
PROBLEMS = {
    "insecure": "The camera can only be used on a secure page: open the dashboard over HTTPS (see docs/deploying.md), "
                "or upload photos instead.",
    "unsupported": "This browser cannot use a camera: upload photos instead.",
    "denied": "The camera was not allowed: allow this page to use the camera in the browser's settings, then press "
              "Use the camera again.",
    "no-camera": "No camera was found: connect one (or choose another), then press Use the camera again.",
    "busy": "The camera is in use by another program or page: close it, then press Use the camera again.",
    "ended": "The camera stopped (unplugged, or turned off): connect it, then press Use the camera again.",
    "idle": f"The camera was turned off after {IDLE_MINUTES} minutes without a photo: press Use the camera to turn "
            "it on again.",
    "not-ready": "The camera is not showing a picture yet: wait a moment, then press Take photo again.",
}
CSS = """
.sa-camera-frame { position: relative; width: 640px; max-width: 100%; background: #222; min-height: 48px; }
.sa-camera-video { display: block; width: 100%; height: auto; }
.sa-camera-frame:not(.sa-camera-on) .sa-camera-video { display: none; }
.sa-camera-blurred .sa-camera-video { filter: blur(14px); }
.sa-camera-overlay { position: absolute; inset: 0; pointer-events: none; }
.sa-camera-face { position: absolute; border: 3px solid rgb(34,160,60); box-sizing: border-box; }
.sa-camera-face.sa-camera-unknown { border-color: rgb(215,40,40); }
.sa-camera-name { position: absolute; top: 100%; left: -3px; background: #111; color: #fff; padding: 2px 6px;
    font: bold 14px sans-serif; white-space: nowrap; }
"""


class CameraWidget(anywidget.AnyWidget):
    """The browser's camera (see ``static/camera.js``): on while ``active``; sends a frame every ``interval_ms``
    while ``checkin``; draws ``overlay`` (faces: box in fractions of the frame, ``text``, ``kind``)."""

    _esm = (Path(__file__).parent / "static" / "camera.js").read_text(encoding="utf-8")
    _css = CSS
    active = t.Bool(False).tag(sync=True)
    checkin = t.Bool(False).tag(sync=True)
    interval_ms = t.Int(round(FRAME_SECONDS * 1000)).tag(sync=True)
    frame_side = t.Int(FRAME_SIDE).tag(sync=True)
    idle_minutes = t.Float(IDLE_MINUTES).tag(sync=True)
    blur = t.Bool(False).tag(sync=True)
    label = t.Unicode("").tag(sync=True)
    device_id = t.Unicode("").tag(sync=True)
    devices = t.List().tag(sync=True)
    overlay = t.List().tag(sync=True)


class CameraView:
    """**Use the camera** (a live view, a choice of camera where there are several, **Take photo**) and the
    check-in at the door (**Start check-in at the door**, stops after a set time or **End check-in**).

    add_photo(name, data, button): called with a still taken, to add it as an upload would be.
    """

    def __init__(self, state: DashboardState, messages: MessageBar,
                 add_photo: Callable[[str, bytes, w.Widget], None]):
        self._state = state
        self._messages = messages
        self._add_photo = add_photo
        self._analysing = ThreadPoolExecutor(max_workers=1, thread_name_prefix="door-frames")
        self._shown = None  # the check-in whose arrivals are listed (the last one, until the session changes)
        self._frame_busy = False
        self._build()
        self._wire()
        self._refresh()

    def _build(self) -> None:
        self.camera = CameraWidget()
        self.camera.add_class("sa-camera")
        self._use = w.Button(description=accessible.USE_CAMERA, icon="camera")
        self._use.add_class("sa-use-camera")
        self._take = w.Button(description=accessible.TAKE_PHOTO, icon="circle", button_style="primary", disabled=True)
        self._take.add_class("sa-take-photo")
        self._choose = w.Dropdown(description=accessible.CHOOSE_CAMERA, options=[], layout=w.Layout(display="none"))
        self._choose.add_class("sa-choose-camera")
        self._minutes = w.Dropdown(description=accessible.CHECKIN_MINUTES, value=int(DEFAULT_CHECKIN_MINUTES),
                                   options=[(f"{m} minutes", m) for m in CHECKIN_CHOICES],
                                   style={"description_width": "initial"})
        self._minutes.add_class("sa-checkin-minutes")
        self._door = w.Button(description=accessible.START_CHECKIN, icon="sign-in")
        self._door.add_class("sa-checkin")
        self._arrivals = w.HTML()
        self._arrivals.add_class("sa-arrivals")
        self._panel = w.VBox([self.camera, controls(self._take, self._choose),
                              controls(self._minutes, self._door), self._arrivals],
                             layout=w.Layout(display="none", max_width="100%"))
        self._panel.add_class("sa-camera-panel")

    def _wire(self) -> None:
        self._use.on_click(self._on_use)
        self._take.on_click(self._on_take)
        self._door.on_click(self._on_door)
        self._choose.observe(self._on_choose, "value")
        self.camera.on_msg(self._on_message)
        self.camera.observe(self._on_devices, "devices")
        self._state.observe(lambda _: self._refresh(), ["roster_version", "result_version"])

    # ----- callbacks ---------------------------------------------------------------------------------

    @reports_errors
    def _on_use(self, _button=None) -> None:
        on = not self.camera.active
        if not on and self._state.checkin is not None:
            self._end_checkin()
        self.camera.active = on
        self._take.disabled = True  # until the browser says the camera is on
        self._refresh()

    @reports_errors
    def _on_take(self, _button=None) -> None:
        if not self.camera.active:
            raise AppError("Press Use the camera first.")
        self.camera.send({"type": "take"})

    @reports_errors
    def _on_door(self, _button=None) -> None:
        if self._state.checkin is not None:
            self._end_checkin()
            return
        checkin = self._shown = self._state.start_checkin(float(self._minutes.value))
        self.camera.active = True
        self.camera.checkin = True
        limit = self._state.taken_at + timedelta(minutes=self._state.settings.late_after_minutes)
        late = (f"students first seen after {limit:%H:%M} are late" if self._state.late_from_start else
                "nobody is marked late (tick \u201cClass starts at this time\u201d for late arrivals)")
        self._messages.info(f"Check-in at the door until {checkin.ends_at.astimezone():%H:%M}: {late}.")
        self._refresh()

    def _on_choose(self, change) -> None:
        if change["new"] is not None and change["new"] != self.camera.device_id:
            self.camera.device_id = change["new"]

    def _on_devices(self, change) -> None:
        devices = [tuple(d) for d in change["new"] or []]
        self._choose.options = devices
        self._choose.layout.display = None if len(devices) > 1 else "none"
        if self.camera.device_id in [d for _, d in devices]:
            self._choose.value = self.camera.device_id

    def _on_message(self, _widget, content: dict, buffers) -> None:
        kind = content.get("type")
        if kind == "started":
            self._take.disabled = False
        elif kind == "photo" and buffers:
            name = f"camera-{datetime.now().astimezone():%H%M%S}.jpg"
            self._add_photo(name, bytes(buffers[0]), self._take)
        elif kind == "frame":
            self._on_frame(bytes(buffers[0]) if buffers else b"")
        elif kind == "problem":
            self._on_problem(content.get("kind", "other"), content.get("detail", ""))

    @reports_errors
    def _on_problem(self, kind: str, detail: str) -> None:
        checkin = self._end_checkin(say=False) if kind != "not-ready" else None
        if kind != "not-ready":
            self.camera.active = False
            self._take.disabled = True
        kept = (f" Nothing already marked is lost ({accessible.count(len(checkin.arrivals), 'student')} checked in)."
                if checkin is not None else "")
        text = PROBLEMS.get(kind) or f"The camera could not be used ({detail or kind}): upload photos instead."
        self._refresh()
        self._messages.error(text + kept)

    def _on_frame(self, data: bytes) -> None:
        """Analyse a check-in frame off the kernel's thread, then apply it on it (when there is a running loop:
        in a kernel; a test without one does both here)."""
        at = datetime.now(timezone.utc)
        if self._frame_busy:  # the page sends one frame at a time; a second one is dropped, never queued
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        self._frame_busy = True
        if loop is None:
            self._apply_frame(self._state.analyse_frame(data), at)
            return
        future = loop.run_in_executor(self._analysing, self._state.analyse_frame, data)
        future.add_done_callback(lambda done: self._apply_frame(done.result() if not done.exception() else None, at))

    @reports_errors
    def _apply_frame(self, analysed, at: datetime) -> None:
        self._frame_busy = False
        try:
            report = self._state.see_frame(analysed, at)
            if report is None:
                return
            names = self._state.student_names()
            if analysed is not None:
                self.camera.overlay = self._state.face_overlay(report, analysed[0].size)
            if report.arrivals:
                self._messages.info([a.announcement(names.get(a.student)) for a in report.arrivals])
            if not report.running:
                checkin = self._end_checkin(say=False)
                self._messages.info(f"Check-in at the door ended at {checkin.ends_at.astimezone():%H:%M}: "
                                    f"{checkin.summary()}. Save the session to record it.")
            self._refresh()
        finally:
            self.camera.send({"type": "frame-done"})

    def _end_checkin(self, say: bool = True):
        checkin = self._state.end_checkin()
        self.camera.checkin = False
        self.camera.overlay = []
        if say and checkin is not None:
            self._messages.info(f"Check-in at the door ended: {checkin.summary()}. Save the session to record it.")
        self._refresh()
        return checkin

    # ----- redraw ------------------------------------------------------------------------------------

    @reports_errors
    def _refresh(self) -> None:
        state, camera = self._state, self.camera
        if state.checkin is None and camera.checkin:  # a new session or another class ended it
            camera.checkin, camera.overlay = False, []
        checking_in = state.checkin is not None
        roster = state.roster
        camera.blur = bool(roster and roster.without_consent)
        camera.label = accessible.camera_view_name(checking_in, camera.blur)
        self._use.description = accessible.CAMERA_OFF if camera.active else accessible.USE_CAMERA
        self._panel.layout.display = None if camera.active else "none"
        self._door.description = accessible.END_CHECKIN if checking_in else accessible.START_CHECKIN
        self._door.button_style = "danger" if checking_in else ""
        self._minutes.disabled = checking_in
        self._arrivals.value = self._arrivals_html()

    def _arrivals_html(self) -> str:
        checkin = self._shown
        if checkin is None or checkin.session is not self._state.session:
            self._shown = None
            return ""
        names = self._state.student_names()
        late = sum(1 for a in checkin.arrivals if a.status == LATE)
        items = "".join(f"<li>{html.escape(a.announcement(names.get(a.student)))}</li>" for a in checkin.arrivals)
        heading = accessible.arrivals_heading(len(checkin.arrivals), late, checkin.unknown_sightings)
        return f"<b>{html.escape(heading)}</b>" + (f"<ul>{items}</ul>" if items else "")

    @property
    def controls(self) -> w.Widget:
        """The control that shows the camera, beside Upload photos."""
        return self._use

    @property
    def widget(self) -> w.Widget:
        """The live view with its controls (shown while the camera is on)."""
        return self._panel

    def close(self) -> None:
        self._analysing.shutdown(wait=False)

