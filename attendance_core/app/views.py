"""The dashboard's widgets, bound to a :class:`~attendance_core.app.state.DashboardState`.

Each view holds its widgets as private attributes and splits its code as the jupyter-widgets
tutorial does: ``_build`` (the widgets and their layout), ``_wire`` (events) and callbacks
(``_on_*``), plus ``_refresh*`` methods that redraw from the state when its counters change. No
logic lives here: every action calls the state. Every callback goes through :func:`_reports_errors`,
so that a failure is a readable message in the page, never a traceback.
"""
from __future__ import annotations

import base64
import functools
import html
import logging

import ipywidgets as w

from ..roster import display_name
from ..results import ABSENT, EXCUSED, PRESENT, STATUSES
from .state import AppError, DashboardState, rates_chart

log = logging.getLogger(__name__)

#: What the upload buttons offer: any image, and iPhone photos by extension (desktop browsers give
#: HEIC files no image/ type, so "image/*" alone hides them in the file chooser).
PHOTO_TYPES = "image/*,.heic,.heif,.HEIC,.HEIF"
_STAGES = {"loading": "reading the photo", "detecting": "detecting faces", "encoding": "encoding faces",
           "matching": "matching with the roster", "done": "done"}
_STATUS_STYLE = {PRESENT: ("#1e7b34", "#e3f4e6"), ABSENT: ("#a61b1b", "#fbe4e4"), EXCUSED: ("#6b5b00", "#fff6cf")}

_CSS = """
<style>
.sa-app { max-width: 1100px; font-family: sans-serif; }
.sa-title h2 { margin: 4px 0; }
.sa-message .sa-error { background: #fbe4e4; color: #7d1111; border: 1px solid #e3a5a5; padding: 8px 12px; border-radius: 4px; margin: 4px 0; }
.sa-message .sa-info { background: #e7f1fb; color: #0f3f6d; border: 1px solid #a9c9ea; padding: 8px 12px; border-radius: 4px; margin: 4px 0; }
.sa-message .sa-success { background: #e3f4e6; color: #124d21; border: 1px solid #9fd0aa; padding: 8px 12px; border-radius: 4px; margin: 4px 0; }
.sa-badge { display: inline-block; min-width: 64px; text-align: center; padding: 2px 8px; border-radius: 10px; font-weight: bold; }
.sa-table-head { font-weight: bold; border-bottom: 1px solid #999; }
.sa-history table { border-collapse: collapse; }
.sa-history th, .sa-history td { border-bottom: 1px solid #ddd; padding: 3px 8px; text-align: left; }
.sa-card { border: 1px solid #ccc; border-radius: 6px; padding: 6px; margin: 4px; }
</style>
"""


def _reports_errors(method):
    """Run a callback; show an :class:`AppError` (or any failure) as a message instead of raising it."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except AppError as err:
            self._messages.error(str(err))
        except Exception as err:  # a bug: log it for the maintainer, tell the instructor in words
            log.exception("dashboard callback %s failed", method.__name__)
            self._messages.error(f"Something went wrong ({type(err).__name__}: {err}). "
                                 "The rest of the page still works; please report this message.")

    return wrapper


class MessageBar:
    """Messages shown at the top of the page: errors (red), information (blue), success (green)."""

    def __init__(self):
        self.widget = w.HTML("")
        self.widget.add_class("sa-message")

    def _show(self, kind: str, lines) -> None:
        lines = [lines] if isinstance(lines, str) else list(lines)
        self.widget.value = "".join(f'<div class="sa-{kind}">{html.escape(line)}</div>' for line in lines if line)

    def error(self, lines) -> None:
        self._show("error", lines)

    def info(self, lines) -> None:
        self._show("info", lines)

    def success(self, lines) -> None:
        self._show("success", lines)

    def clear(self) -> None:
        self.widget.value = ""

    @property
    def text(self) -> str:
        """The messages shown, as plain text (tests, logs)."""
        import re

        return html.unescape(re.sub(r"<[^>]+>", " ", self.widget.value)).strip()


def _badge(status: str | None) -> str:
    if status is None:
        return '<span class="sa-badge" style="color:#666;background:#eee">no photo yet</span>'
    fg, bg = _STATUS_STYLE[status]
    return f'<span class="sa-badge sa-{status}" style="color:{fg};background:{bg}">{status}</span>'


class RosterTableView:
    """One row per student: status, distance, photo, and a toggle to correct the student by hand."""

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
        self._grid = w.GridBox(layout=w.Layout(grid_template_columns="220px 110px 300px 1fr", grid_gap="2px 8px",
                                               align_items="center"))
        self.widget = w.VBox([self._summary, self._grid])
        self.widget.add_class("sa-roster-table")

    def _wire(self) -> None:
        self._state.observe(lambda _: self._rebuild(), "roster_version")
        self._state.observe(lambda _: self._refresh(), "result_version")

    @_reports_errors
    def _rebuild(self) -> None:
        roster = self._state.roster
        self._rows = {}
        cells = [w.HTML(f'<span class="sa-table-head">{h}</span>') for h in
                 ("Student", "Status", "Correct by hand", "Found in")]
        for student in roster.students if roster else []:
            name = w.HTML(f"<b>{html.escape(student.name)}</b>")
            badge = w.HTML()
            badge.add_class(f"sa-status-{student.id}")
            toggle = w.ToggleButtons(options=list(STATUSES), value=None, style={"button_width": "88px"},
                                     tooltips=["Mark present", "Mark absent", "Mark excused"])
            toggle.add_class(f"sa-correct-{student.id}")
            toggle.observe(functools.partial(self._on_toggle, student.id), "value")
            found = w.HTML()
            self._rows[student.id] = (badge, toggle, found)
            cells += [name, badge, toggle, found]
        self._grid.children = cells
        self._refresh()

    @_reports_errors
    def _refresh(self) -> None:
        att = self._state.attendance
        by_id = {s.id: s for s in att.students} if att else {}
        self._updating = True
        try:
            for sid, (badge, toggle, found) in self._rows.items():
                result = by_id.get(sid)
                badge.value = _badge(result.status if result else None)
                toggle.disabled = result is None
                toggle.value = result.status if result else None
                if result is None:
                    found.value = ""
                    continue
                notes = []
                if result.photo:
                    notes.append(f"{html.escape(result.photo)}, distance {result.distance:.2f}")
                if result.ambiguous:
                    notes.append('<span style="color:#b36b00">ambiguous: please check</span>')
                if result.source == "manual":
                    notes.append(f"<i>corrected by hand (photos say {result.automatic_status})</i>")
                found.value = "; ".join(notes)
        finally:
            self._updating = False
        if att is None:
            self._summary.value = "<i>Upload a classroom photo to see who is present.</i>"
        else:
            self._summary.value = (
                f"<b>{len(att.present)} present, {len(att.absent)} absent"
                + (f", {len(att.excused)} excused" if att.excused else "")
                + f"</b>, {len(att.unknown_faces)} unknown face(s), tolerance {att.tolerance:.2f}")

    @_reports_errors
    def _on_toggle(self, student_id: str, change) -> None:
        if self._updating or change["new"] is None:
            return
        self._state.correct(student_id, change["new"])
        name = self._state.roster.student(student_id).name
        self._messages.info(f"{name} marked {change['new']} by hand.")


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

    @_reports_errors
    def _refresh(self) -> None:
        faces = self._state.unknown_faces()
        if not faces:
            self._title.value = ""
            self._cards.children = []
            return
        self._title.value = (f"<h3>Unknown faces ({len(faces)})</h3><i>Faces that match no student. "
                             "Add one as a new student, or say who it is: the crop becomes a reference photo.</i>")
        students = [(s.name, s.id) for s in self._state.roster.students] if self._state.roster else []
        self._cards.children = [self._card(face, students) for face in faces]

    def _card(self, face, students) -> w.Widget:
        nearest = ""
        if face.nearest:
            nearest = f"<br>nearest: {html.escape(display_name(face.nearest))} ({face.nearest_distance:.2f})"
        label = w.HTML(f"<b>{face.label}</b> in {html.escape(face.photo_name)}{nearest}")
        crop = w.Image(value=self._state.face_crop(face), format="jpeg", layout=w.Layout(width="120px"))
        name = w.Text(placeholder="New student's name", layout=w.Layout(width="200px"))
        add = w.Button(description="Add as a new student", icon="user-plus", layout=w.Layout(width="200px"))
        who = w.Dropdown(options=students, value=None, layout=w.Layout(width="200px"))
        this_is = w.Button(description="This is the student above", layout=w.Layout(width="200px"))
        add.on_click(lambda _: self._on_add_new(face.number, name.value))
        this_is.on_click(lambda _: self._on_this_is(face.number, who.value))
        box = w.VBox([crop, label, name, add, who, this_is])
        box.add_class("sa-card")
        return box

    @_reports_errors
    def _on_add_new(self, number: int, name: str) -> None:
        sid = self._state.add_face_as_new_student(number, name)
        self._messages.success(f"{display_name(sid)} was added to the class, and the photos were matched again.")

    @_reports_errors
    def _on_this_is(self, number: int, student_id: str | None) -> None:
        if not student_id:
            raise AppError("Choose the student in the list first.")
        self._state.add_face_to_student(number, student_id)
        self._messages.success(f"The face was added as a reference photo of {display_name(student_id)}, "
                               "and the photos were matched again.")


class TakeAttendanceView:
    """Class, subject and time; photo upload with progress; annotated photos; roster table; save."""

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
        self._upload = w.FileUpload(accept=PHOTO_TYPES, multiple=True, description="Upload photos",
                                    button_style="primary", layout=w.Layout(width="180px"))
        self._upload.add_class("sa-upload-photos")
        self._demo = w.Button(description="Try the demo photo", icon="image", layout=w.Layout(width="180px"))
        self._demo.add_class("sa-demo")
        self._new = w.Button(description="New session", icon="refresh", tooltip="Forget the photos and start again")
        self._progress = w.FloatProgress(value=0, min=0, max=1, layout=w.Layout(width="300px", visibility="hidden"))
        self._stage = w.HTML()
        self._stage.add_class("sa-progress-text")
        self._tolerance = w.FloatSlider(value=s.tolerance, min=0.3, max=0.8, step=0.01, readout_format=".2f",
                                        description="Tolerance", continuous_update=False,
                                        layout=w.Layout(width="420px"),
                                        tooltip="Largest face distance accepted as the same person; lower is stricter")
        self._legend = w.HTML(
            '<span style="color:#22a03c">&#9632; matched</span> &nbsp; '
            '<span style="color:#eb8c00">&#9632; ambiguous (check)</span> &nbsp; '
            '<span style="color:#d72828">&#9632; unknown</span> &nbsp; <i>lower tolerance = stricter</i>')
        self._photos = w.HBox(layout=w.Layout(flex_flow="row wrap"))
        self._photos.add_class("sa-photos")
        self._table = RosterTableView(self._state, self._messages)
        self._unknown = UnknownFacesView(self._state, self._messages)
        self._save = w.Button(description="Save session", icon="save", button_style="success")
        self._save.add_class("sa-save")
        self._download = w.HTML()
        self._download.add_class("sa-download")

        self.widget = w.VBox([
            w.HBox([self._class, self._subject, self._when], layout=w.Layout(flex_flow="row wrap")),
            w.HBox([self._upload, self._demo, self._new]),
            w.HBox([self._progress, self._stage]),
            w.HBox([self._tolerance, self._legend]),
            self._photos,
            w.HTML("<h3>Attendance</h3>"),
            self._table.widget,
            self._unknown.widget,
            w.HBox([self._save, self._download]),
        ])

    def _wire(self) -> None:
        s = self._state
        self._class.observe(self._on_class, "value")
        self._subject.observe(self._on_subject, "value")
        self._when.observe(self._on_when, "value")
        self._upload.observe(self._on_upload, "value")
        self._demo.on_click(self._on_demo)
        self._new.on_click(self._on_new)
        self._tolerance.observe(self._on_tolerance, "value")
        self._save.on_click(self._on_save)
        s.observe(lambda _: self._refresh_photos(), "result_version")
        s.observe(lambda _: self._refresh_download(), ["result_version", "subject", "class_name", "taken_at"])
        s.observe(self._on_state_time, "taken_at")

    # ----- callbacks -----------------------------------------------------------------------------

    @_reports_errors
    def _on_class(self, change) -> None:
        self._state.class_name = change["new"]
        self._messages.info(f"Class {change['new']}: {len(self._state.roster or [])} students.")
        if self._state.roster_error:
            raise AppError(self._state.roster_error)

    @_reports_errors
    def _on_subject(self, change) -> None:
        self._state.subject = change["new"]

    @_reports_errors
    def _on_when(self, change) -> None:
        if change["new"] is not None:
            self._state.taken_at = change["new"].astimezone()

    def _on_state_time(self, change) -> None:
        value = change["new"].replace(tzinfo=None)
        if self._when.value != value:
            self._when.value = value

    @_reports_errors
    def _on_tolerance(self, change) -> None:
        self._state.tolerance = float(change["new"])

    def _on_upload(self, change) -> None:
        files = change["new"]
        if not files:
            return
        try:
            self._process(lambda progress: self._state.add_photos(
                [(f["name"], f["content"]) for f in files], progress))
        finally:
            # Clear the chooser so that the same photo can be chosen again after "New session".
            self._upload.value = ()

    def _on_demo(self, _button) -> None:
        self._process(self._state.add_demo_photo)

    @_reports_errors
    def _on_new(self, _button) -> None:
        self._state.new_session()
        self._messages.info("New session: upload the photos of the class.")

    @_reports_errors
    def _on_save(self, _button) -> None:
        session_id = self._state.save()
        self._messages.success(f"Session saved (number {session_id}): {self._state.class_name}, "
                               f"{self._state.subject}, {self._state.taken_at:%Y-%m-%d %H:%M}. See it in History.")

    @_reports_errors
    def _process(self, add) -> None:
        if self._busy:
            raise AppError("Please wait: photos are still being processed.")
        self._busy = True
        self._upload.disabled = self._demo.disabled = True
        self._progress.layout.visibility = "visible"
        self._progress.value = 0
        self._seen = []
        self._messages.clear()
        try:
            problems = add(self._on_progress)
        finally:
            self._busy = False
            self._upload.disabled = self._demo.disabled = False
        self._progress.value = 1
        att = self._state.attendance
        names = html.escape(", ".join(self._seen))
        if problems:
            self._stage.value = f"<b>Done, with problems (see above)</b>: {names}"
            self._messages.error(problems)
        else:
            self._stage.value = f"<b>Done</b>: {names}"
            if att is not None:
                self._messages.success(f"{len(att.photos)} photo(s): {len(att.present)} present, "
                                       f"{len(att.absent)} absent, {len(att.unknown_faces)} unknown face(s).")

    def _on_progress(self, photo: str, stage: str, fraction: float) -> None:
        if photo not in self._seen:
            self._seen.append(photo)
        self._progress.value = max(0.0, min(1.0, fraction))
        self._stage.value = f"{html.escape(photo)}: {_STAGES.get(stage, stage)}&hellip; ({fraction:.0%})"

    # ----- redraw ----------------------------------------------------------------------------------

    @_reports_errors
    def _refresh_photos(self) -> None:
        att = self._state.attendance
        if att is None:
            self._photos.children = []
            return
        items = []
        for i, photo in enumerate(att.photos):
            faces = att.faces_in(i)
            named = sum(1 for f in faces if f.student)
            caption = w.HTML(f"<b>{html.escape(photo.name)}</b>: {len(faces)} face(s), {named} student(s) recognised")
            image = w.Image(value=self._state.annotated_photo(i), format="jpeg",
                            layout=w.Layout(max_width="100%", max_height="440px", width="auto", height="auto"))
            image.add_class("sa-annotated-photo")
            items.append(w.VBox([caption, image], layout=w.Layout(margin="0 12px 8px 0")))
        self._photos.children = items

    @_reports_errors
    def _refresh_download(self) -> None:
        if self._state.attendance is None:
            self._download.value = ""
            return
        data = base64.b64encode(self._state.csv_text().encode("utf-8")).decode("ascii")
        name = html.escape(self._state.csv_file_name())
        self._download.value = (f'<a download="{name}" href="data:text/csv;base64,{data}" '
                                'style="margin-left:12px;font-weight:bold">&#11015; Download CSV</a>')


class HistoryView:
    """Past sessions of the class and a chart of each student's attendance rate."""

    def __init__(self, state: DashboardState, messages: MessageBar):
        self._state = state
        self._messages = messages
        self._loaded = False
        self._build()
        self._wire()

    def _build(self) -> None:
        self._refresh_button = w.Button(description="Refresh", icon="refresh")
        self._table = w.HTML("<i>Open this tab to see the saved sessions.</i>")
        self._table.add_class("sa-history")
        self._chart = w.Image(format="png", layout=w.Layout(max_width="640px"))
        self._chart.add_class("sa-history-chart")
        self.widget = w.VBox([self._refresh_button, self._table, self._chart])

    def _wire(self) -> None:
        self._refresh_button.on_click(lambda _: self.refresh())
        self._state.observe(lambda _: self._loaded and self.refresh(), ["history_version", "class_name"])

    @_reports_errors
    def refresh(self) -> None:
        """Read the sessions and rates from the records again."""
        self._loaded = True
        sessions = self._state.history()
        if sessions is None or len(sessions) == 0:
            self._table.value = f"<p>No session of {html.escape(self._state.class_name)} saved yet.</p>"
            self._chart.value = b""
            self._chart.layout.display = "none"
            return
        shown = sessions.rename(columns={"id": "session", "taken_at": "date and time", "unknown_faces": "unknown faces",
                                         "marked_by": "marked by"})
        self._table.value = (f"<h3>Sessions of {html.escape(self._state.class_name)}</h3>"
                             + shown.to_html(index=False, na_rep="", float_format=lambda v: f"{v:.2f}"))
        summary = self._state.attendance_rates()
        self._chart.value = rates_chart(summary, f"Attendance rate per student, {self._state.class_name}")
        self._chart.layout.display = None


class RosterView:
    """The class's students with thumbnails and reference-photo problems; add or remove a student."""

    def __init__(self, state: DashboardState, messages: MessageBar):
        self._state = state
        self._messages = messages
        self._loaded = False
        self._confirm: str | None = None
        self._build()
        self._wire()

    def _build(self) -> None:
        self._folder = w.HTML()
        self._cards = w.HBox(layout=w.Layout(flex_flow="row wrap"))
        self._problems = w.HTML()
        self._problems.add_class("sa-roster-problems")
        self._name = w.Text(description="Name", placeholder="e.g. Ada Lovelace")
        self._photos = w.FileUpload(accept=PHOTO_TYPES, multiple=True, description="Reference photos",
                                    layout=w.Layout(width="220px"))
        self._add = w.Button(description="Add student", icon="user-plus", button_style="primary")
        self._reload = w.Button(description="Reload roster", icon="refresh")
        self.widget = w.VBox([
            self._folder, self._cards, self._problems,
            w.HTML("<h3>Add a student</h3><i>One or more sharp, front-facing photos of the student alone.</i>"),
            w.HBox([self._name, self._photos, self._add]),
            self._reload,
        ])

    def _wire(self) -> None:
        self._add.on_click(self._on_add)
        self._reload.on_click(self._on_reload)
        self._state.observe(lambda _: self._loaded and self.refresh(), "roster_version")

    @_reports_errors
    def refresh(self) -> None:
        """Redraw the students and problems."""
        self._loaded = True
        roster = self._state.roster
        self._folder.value = f"<p>Roster folder: <code>{html.escape(str(self._state.roster_folder))}</code></p>"
        if roster is None:
            self._cards.children = []
            self._problems.value = f'<div class="sa-error">{html.escape(self._state.roster_error or "")}</div>'
            return
        self._cards.children = [self._card(s) for s in roster.students]
        lines = [html.escape(str(p)) for p in roster.problems]
        lines += [html.escape(f"{p.path.name} ({s.name}): {p.note}") for s in roster.students for p in s.photos if p.note]
        self._problems.value = ("<h3>Reference-photo problems</h3><ul>" + "".join(f"<li>{x}</li>" for x in lines)
                                + "</ul>") if lines else "<p>No reference-photo problems.</p>"

    def _card(self, student) -> w.Widget:
        thumb = self._state.reference_thumbnail(student.id)
        image = w.Image(value=thumb or b"", format="jpeg", layout=w.Layout(max_width="96px", max_height="96px"))
        usable = sum(p.usable for p in student.photos)
        warn = "" if student.usable else '<br><span style="color:#a61b1b">cannot be recognised</span>'
        label = w.HTML(f"<b>{html.escape(student.name)}</b><br>{usable}/{len(student.photos)} reference photo(s){warn}")
        remove = w.Button(description="Remove", icon="trash", layout=w.Layout(width="150px"))
        remove.on_click(lambda b: self._on_remove(student.id, b))
        box = w.VBox([image, label, remove])
        box.add_class("sa-card")
        return box

    @_reports_errors
    def _on_remove(self, student_id: str, button) -> None:
        if self._confirm != student_id:
            # Removing deletes the reference photos: ask for a second click.
            self._confirm = student_id
            button.description = "Click to confirm"
            button.button_style = "danger"
            return
        self._confirm = None
        name = self._state.roster.student(student_id).name
        self._state.remove_student(student_id)
        self._messages.success(f"{name} was removed from the class.")

    @_reports_errors
    def _on_add(self, _button) -> None:
        files = [(f["name"], f["content"]) for f in self._photos.value]
        sid = self._state.add_student(self._name.value, files)
        student = self._state.roster.student(sid)
        self._name.value = ""
        self._photos.value = ()
        if student.usable:
            self._messages.success(f"{student.name} was added with {len(student.photos)} reference photo(s).")
        else:
            problems = [str(p) for p in self._state.roster.problems if p.student == sid]
            self._messages.error([f"{student.name} was added but cannot be recognised yet:"] + problems)

    @_reports_errors
    def _on_reload(self, _button) -> None:
        self._state.reload_roster()
        self._messages.info(f"Roster reloaded: {len(self._state.roster or [])} students.")


class AttendanceApp:
    """The dashboard: Take attendance, History and Roster tabs over one :class:`DashboardState`.

    Display it as the last expression of a notebook cell (Voilà shows it as the page).
    """

    TABS = ("Take attendance", "History", "Roster")

    def __init__(self, state: DashboardState | None = None):
        self.state = state or DashboardState()
        self._messages = MessageBar()
        self._build()
        self._wire()
        if self.state.roster_error:
            self._messages.error(self.state.roster_error)

    @classmethod
    def from_settings(cls, settings=None, **kwargs) -> "AttendanceApp":
        """An app over a :class:`DashboardState` made from ``settings`` (default: the project's settings)."""
        return cls(DashboardState(settings, **kwargs))

    def _build(self) -> None:
        self._take = TakeAttendanceView(self.state, self._messages)
        self._history = HistoryView(self.state, self._messages)
        self._roster = RosterView(self.state, self._messages)
        self._tabs = w.Tab(children=[self._take.widget, self._history.widget, self._roster.widget],
                           titles=self.TABS)
        title = w.HTML("<h2>Smart Attendance</h2>")
        title.add_class("sa-title")
        self.widget = w.VBox([w.HTML(_CSS), title, self._messages.widget, self._tabs])
        self.widget.add_class("sa-app")

    def _wire(self) -> None:
        self._tabs.observe(self._on_tab, "selected_index")

    def _on_tab(self, change) -> None:
        if change["new"] == 1:
            self._history.refresh()
        elif change["new"] == 2:
            self._roster.refresh()

    @property
    def messages(self) -> str:
        """The messages shown at the top of the page, as plain text."""
        return self._messages.text

    def _repr_mimebundle_(self, **kwargs):
        bundle = self.widget._repr_mimebundle_(**kwargs)
        if isinstance(bundle, dict):
            # What a front end without widgets shows (and what a page check can look for).
            bundle["text/plain"] = f"Smart Attendance dashboard ({self.state.class_name}): open it with Voila."
        return bundle
