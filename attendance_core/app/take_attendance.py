"""The Take attendance tab: class and subject, photo upload, annotated photos, attendance table, save.

Each view holds its widgets as private attributes and splits its code as the jupyter-widgets
tutorial does: ``_build`` (the widgets and their layout), ``_wire`` (events) and callbacks
(``_on_*``), plus ``_refresh*`` methods that redraw from the state when its counters change. No
logic lives here: every action calls the state.
"""
from __future__ import annotations

import base64
import functools
import html
import io

import ipywidgets as w
from PIL import Image

from .. import annotate
from ..roster import display_name
from ..results import STATUSES, TIME_FROM_DOOR, TIME_FROM_EXIF
from . import accessible
from .common import PHOTO_TYPES, MessageBar, TabView, controls, css_class, image_view, name_control, reports_errors
from .common import badge as status_badge
from .camera import CameraView
from .common import spoken_description, toggle_group, unique_id
from .photos import photo_widget
from .state import AppError, DashboardState

#: Longest side of the annotated photo shown (and enlarged) in the page, in pixels.
PHOTO_MAX_SIDE = 1600
#: The id of the attendance table's heading, where the skip link leads.
TABLE_ID = "sa-attendance-table"
#: Where a photo's time comes from, as its caption says it.
_TIME_SOURCES = {TIME_FROM_EXIF: "camera", TIME_FROM_DOOR: "door camera"}
_STAGES = {"loading": "reading the photo", "detecting": "detecting faces", "encoding": "encoding faces",
           "matching": "matching with the roster", "done": "done"}


class AttendanceTableView:
    """One row per student: status, the face found (its marker number), and a toggle to correct by hand.

    Rows wrap: on a phone each student reads as one item of a list (name and status, then the toggle).
    """

    def __init__(self, state: DashboardState, messages: MessageBar):
        self._state = state
        self._messages = messages
        self._rows: dict[str, tuple[w.HTML, w.ToggleButtons, w.HTML]] = {}
        self._updating = False
        self._build()
        self._wire()
        self._rebuild()

    def _build(self) -> None:
        self._summary = w.HTML()
        self._list = w.VBox()
        self.widget = w.VBox([self._summary, self._list])
        self.widget.add_class("sa-roster-table")

    def _wire(self) -> None:
        self._state.observe(lambda _: self._rebuild(), "roster_version")
        self._state.observe(lambda _: self._refresh(), "result_version")

    @reports_errors
    def _rebuild(self) -> None:
        roster = self._state.roster
        self._rows = {}
        head = w.HBox([_cell(w.HTML(f"<b>{h}</b>"), part) for h, part in
                       (("Student", "name"), ("Status", "status"), ("Correct by hand", "toggle"), ("Found", "found"))])
        head.add_class("sa-row")
        head.add_class("sa-table-head")
        rows = [head]
        names = self._state.student_names()
        for student in roster.students if roster else []:
            shown = names[student.id]
            name = w.HTML(f"<b>{html.escape(shown)}</b>")
            status = w.HTML()
            status.add_class(css_class("sa-status", student.id))
            toggle = toggle_group(w.ToggleButtons(options=list(STATUSES), value=None, style={"button_width": "auto"}),
                                  accessible.status_group_name(shown),
                                  [accessible.status_name(shown, s) for s in STATUSES])
            toggle.add_class(css_class("sa-correct", student.id))
            toggle.observe(functools.partial(self._on_toggle, student.id), "value")
            found = w.HTML()
            self._rows[student.id] = (status, toggle, found)
            row = w.HBox([_cell(name, "name"), _cell(status, "status"), _cell(toggle, "toggle"), _cell(found, "found")])
            row.add_class("sa-row")
            rows.append(row)
        self._list.children = rows
        self._refresh()

    @reports_errors
    def _refresh(self) -> None:
        att = self._state.attendance
        by_id = {s.id: s for s in att.students} if att else {}
        numbers = self._state.face_numbers()
        faces = {f.student: f for f in sorted(att.faces, key=lambda f: f.distance or 0.0, reverse=True)
                 if f.student} if att else {}
        self._updating = True
        try:
            for sid, (badge, toggle, found) in self._rows.items():
                result = by_id.get(sid)
                badge.value = status_badge(result.status if result else None)
                toggle.disabled = result is None
                toggle.value = result.status if result else None
                if result is None:
                    found.value = ""
                    continue
                notes = []
                face = faces.get(sid)
                if result.photo:
                    number = f"face {numbers[(face.photo, face.face)]} in " if face is not None else ""
                    notes.append(f"{number}{html.escape(result.photo)}, distance {result.distance:.2f}")
                if result.ambiguous:
                    notes.append('<span style="color:#8f4a00">ambiguous: please check</span>')
                elif result.check:
                    notes.append('<span style="color:#6b5b00">check: ' + html.escape(result.reason or "a close call")
                                 + "</span>")
                if result.source == "manual":
                    notes.append(f"<i>corrected by hand (photos say {result.automatic_status})</i>")
                found.value = "; ".join(notes)
        finally:
            self._updating = False
        if att is None:
            self._summary.value = "<i>Upload a classroom photo to see who is present.</i>"
        else:
            asked = sum(1 for item in self._state.review_items() if item.asked)
            unsure = len(att.unsure_faces)
            self._summary.value = (
                f"<b>{html.escape(accessible.result_summary(att))}</b>, tolerance {att.tolerance:.2f}"
                + (f'<br><span class="sa-unsure">{unsure} face(s) too unsure to name: their likely student is '
                   "one tap away in <b>Review faces</b> (until then they count as absent).</span>" if unsure else "")
                + (f'<br><span class="sa-retake">{html.escape(att.retake)}.</span>' if att.retake else "")
                + (f'<br><span class="sa-to-check">{asked} face(s) to check: open <b>Review faces</b>.</span>'
                   if asked else ""))

    @reports_errors
    def _on_toggle(self, student_id: str, change) -> None:
        if self._updating or change["new"] is None:
            return
        self._state.correct(student_id, change["new"])
        name = self._state.roster.student(student_id).name
        self._messages.info(f"{name} marked {change['new']} by hand.")




def _cell(widget: w.Widget, part: str) -> w.Widget:
    widget.add_class(f"sa-cell-{part}")
    return widget


class UnknownFacesView:
    """A card per unknown face: its crop, and "add as a new student" or "this is student X"."""

    def __init__(self, state: DashboardState, messages: MessageBar):
        self._state = state
        self._messages = messages
        self._build()
        self._wire()
        self._refresh()

    def _build(self) -> None:
        self._title = w.HTML()
        self._cards = w.HBox(layout=w.Layout(flex_flow="row wrap"))
        self.widget = w.VBox([self._title, self._cards])
        self.widget.add_class("sa-unknown-faces")

    def _wire(self) -> None:
        self._state.observe(lambda _: self._refresh(), "result_version")

    @reports_errors
    def _refresh(self) -> None:
        faces = self._state.unknown_faces()
        if not faces:
            self._title.value = ""
            self._cards.children = []
            return
        self._title.value = (f"<h3>Unknown faces ({len(faces)})</h3><i>Faces that match no student. "
                             "Add one as a new student, or say who it is: the crop becomes a reference photo.</i>")
        students = [(name, sid) for sid, name in self._state.student_names().items()]
        self._cards.children = [self._card(face, students) for face in faces]

    def _card(self, face, students) -> w.Widget:
        nearest = ""
        if face.nearest:
            nearest = f"<br>nearest: {html.escape(display_name(face.nearest))} ({face.nearest_distance:.2f})"
        number = self._state.face_numbers().get((face.photo, face.face))
        label = w.HTML(f"<b>{face.label}</b> (face {number}) in {html.escape(face.photo_name)}{nearest}")
        crop = image_view(self._state.face_crop(face), accessible.unknown_face_alt(face.label, number, face.photo_name),
                          "sa-unknown-face")
        name = w.Text(placeholder="New student's name", layout=w.Layout(width="100%"),
                      style={"description_width": "initial"},
                      **spoken_description(accessible.new_student_field_name(face.label)))
        add = name_control(w.Button(description="Add as a new student", icon="user-plus", layout=w.Layout(width="100%")),
                           accessible.add_new_student_name(face.label))
        who = w.Dropdown(options=students, value=None, layout=w.Layout(width="100%"),
                         description=accessible.who_is_label(face.label), style={"description_width": "initial"})
        this_is = name_control(w.Button(description="This is the student above", layout=w.Layout(width="100%")),
                               accessible.this_is_name(face.label))
        add.on_click(lambda _: self._on_add_new(face.number, name.value))
        this_is.on_click(lambda _: self._on_this_is(face.number, who.value))
        box = w.VBox([crop, label, name, add, who, this_is], layout=w.Layout(width="236px", max_width="100%"))
        box.add_class("sa-card")
        return box

    @reports_errors
    def _on_add_new(self, number: int, name: str) -> None:
        sid = self._state.add_face_as_new_student(number, name)
        self._messages.success(f"{display_name(sid)} was added to the class, and the photos were matched again.")

    @reports_errors
    def _on_this_is(self, number: int, student_id: str | None) -> None:
        if not student_id:
            raise AppError("Choose the student in the list first.")
        self._state.add_face_to_student(number, student_id)
        self._messages.success(f"The face was added as a reference photo of {display_name(student_id)}, "
                               "and the photos were matched again.")


class TakeAttendanceView(TabView):
    """Class, subject and time; photo upload with progress; annotated photos; attendance table; save."""

    title = "Take attendance"

    def __init__(self, state: DashboardState, messages: MessageBar):
        self._state = state
        self._messages = messages
        self._busy = False
        self._seen: list[str] = []
        self._build()
        self._wire()
        self._refresh_photos()
        self._refresh_download()

    def _build(self) -> None:
        s = self._state
        self._class = w.Dropdown(options=list(s.classes), value=s.class_name, description="Class")
        self._subject = w.Text(value=s.subject, description="Subject", placeholder="e.g. Mathematics")
        self._when = w.NaiveDatetimePicker(value=s.taken_at.replace(tzinfo=None), description="Date & time")
        minutes = f"{s.settings.late_after_minutes:g}"
        self._late = w.Checkbox(value=s.late_from_start, indent=False,
                                description=f"Class starts at this time: late after {minutes} min",
                                tooltip=f"A student first seen in a photo taken more than {minutes} minutes after "
                                        "this time is marked late (photo times: camera, else upload)")
        self._late.add_class("sa-late-start")
        # Named without the count of files ipywidgets shows after the text ("Upload photos (0)").
        self._upload = name_control(w.FileUpload(accept=PHOTO_TYPES, multiple=True, description="Upload photos",
                                                 button_style="primary"), "Upload photos")
        self._upload.add_class("sa-upload-photos")
        self._demo = w.Button(description="Try the demo photo", icon="image")
        self._demo.add_class("sa-demo")
        self._new = w.Button(description="New session", icon="refresh", tooltip="Forget the photos and start again")
        self._camera = CameraView(s, self._messages, self._add_camera_photo)
        self._progress = w.FloatProgress(value=0, min=0, max=1, layout=w.Layout(width="300px", max_width="100%",
                                                                                visibility="hidden"))
        self._stage = w.HTML()
        self._stage.add_class("sa-progress-text")
        self._tolerance = w.FloatSlider(value=s.tolerance, min=0.3, max=0.8, step=0.01, readout_format=".2f",
                                        description="Tolerance", continuous_update=False,
                                        tooltip="Largest face distance accepted as the same person; lower is stricter")
        self._tolerance.add_class("sa-tolerance")
        self._legend = w.HTML(_legend())
        self._legend.add_class("sa-legend")
        self._photos = w.HBox(layout=w.Layout(flex_flow="row wrap", max_width="100%"))
        self._photos.add_class("sa-photos")
        self._table = AttendanceTableView(self._state, self._messages)
        self._unknown = UnknownFacesView(self._state, self._messages)
        self._save = w.Button(description="Save session", icon="save", button_style="success")
        self._save.add_class("sa-save")
        self._download = w.HTML()
        self._download.add_class("sa-download")
        skip = w.HTML(f'<a class="sa-skip-link" href="#{TABLE_ID}">{accessible.SKIP_TO_TABLE}</a>')

        self.widget = w.VBox([
            skip,
            controls(self._class, self._subject, self._when, self._late),
            controls(self._upload, self._camera.controls, self._demo, self._new),
            self._camera.widget,
            controls(self._progress, self._stage),
            controls(self._tolerance, self._legend),
            self._photos,
            w.HTML(f'<h3 id="{TABLE_ID}" tabindex="-1">Attendance</h3>'),
            self._table.widget,
            self._unknown.widget,
            controls(self._save, self._download),
        ])

    def _wire(self) -> None:
        s = self._state
        self._class.observe(self._on_class, "value")
        self._subject.observe(self._on_subject, "value")
        self._when.observe(self._on_when, "value")
        self._late.observe(self._on_late, "value")
        self._upload.observe(self._on_upload, "value")
        self._demo.on_click(self._on_demo)
        self._new.on_click(self._on_new)
        self._tolerance.observe(self._on_tolerance, "value")
        self._save.on_click(self._on_save)
        s.observe(lambda _: self._refresh_photos(), "result_version")
        s.observe(lambda _: self._refresh_download(), ["result_version", "subject", "class_name", "taken_at"])
        s.observe(self._on_state_time, "taken_at")

    # ----- callbacks -----------------------------------------------------------------------------

    @reports_errors
    def _on_class(self, change) -> None:
        self._state.class_name = change["new"]
        self._messages.info(f"Class {change['new']}: {len(self._state.roster or [])} students.")
        if self._state.roster_error:
            raise AppError(self._state.roster_error)

    @reports_errors
    def _on_subject(self, change) -> None:
        self._state.subject = change["new"]

    @reports_errors
    def _on_when(self, change) -> None:
        if change["new"] is not None:
            self._state.taken_at = change["new"].astimezone()

    @reports_errors
    def _on_late(self, change) -> None:
        self._state.late_from_start = change["new"]
        attendance = self._state.attendance
        if change["new"]:
            start = f"{self._state.taken_at:%H:%M}"
            self._messages.info(f"Class start {start}: {len(attendance.late)} late." if attendance else
                                f"Class start {start}: students first seen later than the limit will be late.")

    def _on_state_time(self, change) -> None:
        value = change["new"].replace(tzinfo=None)
        if self._when.value != value:
            self._when.value = value

    @reports_errors
    def _on_tolerance(self, change) -> None:
        self._state.tolerance = float(change["new"])

    def _on_upload(self, change) -> None:
        files = change["new"]
        if not files:
            return
        try:
            self._process(lambda progress: self._state.add_photos(
                [(f["name"], f["content"]) for f in files], progress), self._upload)
        finally:
            # Clear the chooser so that the same photo can be chosen again after "New session".
            self._upload.value = ()

    def _add_camera_photo(self, name: str, data: bytes, button: w.Widget) -> None:
        """A still of the camera, added as an upload of it would be."""
        self._process(lambda progress: self._state.add_photos([(name, data)], progress), button)

    def _on_demo(self, _button) -> None:
        self._process(self._state.add_demo_photo, self._demo)

    @reports_errors
    def refresh(self) -> None:
        """Nothing to read: this tab follows the state as it changes."""

    def _on_new(self, _button) -> None:
        self._state.new_session()
        self._messages.info("New session: upload the photos of the class.")

    @reports_errors
    def _on_save(self, _button) -> None:
        session_id = self._state.save()
        self._messages.success(f"Session saved (number {session_id}): {self._state.class_name}, "
                               f"{self._state.subject}, {self._state.taken_at:%Y-%m-%d %H:%M}. See it in History.")

    @reports_errors
    def _process(self, add, button: w.Widget) -> None:
        if self._busy:
            raise AppError("Please wait: photos are still being processed.")
        self._busy = True
        self._upload.disabled = self._demo.disabled = True
        self._progress.layout.visibility = "visible"
        self._progress.layout.display = None
        self._progress.value = 0
        self._seen = []
        self._messages.clear()
        try:
            problems = add(self._on_progress)
        finally:
            self._busy = False
            self._upload.disabled = self._demo.disabled = False
            button.focus()  # disabled while busy, it lost the focus: give it back
        self._progress.value = 1
        self._progress.layout.display = "none"
        att = self._state.attendance
        names = html.escape(", ".join(self._seen))
        self._stage.value = f"<b>Done, with problems (see above)</b>: {names}" if problems else f"<b>Done</b>: {names}"
        # The problems in the alert region, the result (and a retake request) in the status region: a screen
        # reader says both.
        result = f"{accessible.count(len(att.photos), 'photo')}: {accessible.result_summary(att)}." if att else ""
        retake = f"{att.retake[0].upper()}{att.retake[1:]}." if att is not None and att.retake else ""
        self._messages.show(error=problems, success=[result, retake])

    def _on_progress(self, photo: str, stage: str, fraction: float) -> None:
        if photo not in self._seen:
            self._seen.append(photo)
        self._progress.value = max(0.0, min(1.0, fraction))
        self._stage.value = f"{html.escape(photo)}: {_STAGES.get(stage, stage)}&hellip; ({fraction:.0%})"

    # ----- redraw ----------------------------------------------------------------------------------

    @reports_errors
    def _refresh_photos(self) -> None:
        att = self._state.attendance
        if att is None:
            self._photos.children = []
            return
        items = []
        for i, photo in enumerate(att.photos):
            faces = att.faces_in(i)
            named = sum(1 for f in faces if f.student)
            alt = accessible.photo_alt(i, len(att.photos), len(faces), named)
            when = (f", taken {photo.taken_at.astimezone():%Y-%m-%d %H:%M}"
                    + f" ({_TIME_SOURCES.get(photo.time_source, 'upload')})") if photo.taken_at else ""
            caption = (f"<div><b>{html.escape(photo.name)}</b>: {len(faces)} face(s), "
                       f"{named} student(s) recognised<span class=\"sa-photo-time\">{when}</span></div>")
            jpeg = self._state.annotated_photo(i, PHOTO_MAX_SIDE, labels=False)
            with Image.open(io.BytesIO(jpeg)) as shown:
                size = shown.size
            items.append(photo_widget(jpeg, size, self._state.photo_markers(i),
                                      unique_id(photo.sha256, i, self._state.result_version), caption,
                                      alt, accessible.enlarge_name(i, len(att.photos))))
        self._photos.children = items

    @reports_errors
    def _refresh_download(self) -> None:
        if self._state.attendance is None:
            self._download.value = ""
            return
        data = base64.b64encode(self._state.csv_text().encode("utf-8")).decode("ascii")
        name = html.escape(self._state.csv_file_name())
        self._download.value = (f'<a download="{name}" href="data:text/csv;base64,{data}" '
                                'style="margin-left:12px;font-weight:bold"><span aria-hidden="true">&#11015;&nbsp;</span>'
                                'Download CSV</a>')


def _legend() -> str:
    """The colours of the boxes and markers, each said in words (the words carry the meaning, not the colour)."""
    keys = "".join(f'<span class="sa-key"><span class="sa-swatch" style="background:rgb{annotate.COLORS[kind]}">'
                   f"</span>{accessible.KIND_WORDS[kind]}"
                   f"{' (just inside the tolerance)' if kind == annotate.CHECK else ''}</span> "
                   for kind in annotate.COLORS)
    return keys + "<span><i>lower tolerance = stricter; tap a number for the name, the photo to enlarge</i></span>"
