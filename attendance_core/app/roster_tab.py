"""The Roster tab: the class's students with thumbnails and reference-photo problems; add or remove one."""
from __future__ import annotations

import html

import ipywidgets as w

from ..results import CONSENT_GIVEN, CONSENT_STATES
from . import accessible
from .common import PHOTO_TYPES, MessageBar, TabView, controls, image_view, name_control, reports_errors
from .common import spoken_description
from .state import DashboardState


class RosterView(TabView):
    """The class's students with thumbnails and reference-photo problems; add or remove a student."""

    title = "Roster"

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
        self._photos = w.FileUpload(accept=PHOTO_TYPES, multiple=True, description="Reference photos")
        self._add = w.Button(description="Add student", icon="user-plus", button_style="primary")
        self._reload = w.Button(description="Reload roster", icon="refresh")
        self.widget = w.VBox([
            self._folder, self._cards, self._problems,
            w.HTML("<h3>Add a student</h3><i>One or more sharp, front-facing photos of the student alone.</i>"),
            controls(self._name, self._photos, self._add),
            controls(self._reload),
        ])

    def _wire(self) -> None:
        self._add.on_click(self._on_add)
        self._reload.on_click(self._on_reload)
        self._state.observe(lambda _: self._loaded and self.refresh(), "roster_version")

    @reports_errors
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
        image = image_view(thumb or b"", accessible.thumbnail_alt(student.name, bool(thumb)), "sa-roster-thumb")
        usable = sum(p.usable for p in student.photos)
        warn = "" if student.usable else '<br><span style="color:#a61b1b">cannot be recognised</span>'
        if not student.may_be_recognised:
            warn = '<br><span style="color:#1d4e89">no consent: marked by hand</span>'
        label = w.HTML(f"<b>{html.escape(student.name)}</b><br>{usable}/{len(student.photos)} reference photo(s){warn}")
        remove = name_control(w.Button(description="Remove", icon="trash"), accessible.remove_name(student.name))
        remove.on_click(lambda b: self._on_remove(student.id, b))
        # Consent to face recognition (given / refused / not asked); "not recorded" only until set.
        choices = ([("not recorded", None)] if student.consent is None else []) + [(c, c) for c in CONSENT_STATES]
        consent = w.Dropdown(options=choices, value=student.consent, layout=w.Layout(width="150px"),
                             style={"description_width": "55px"},
                             **spoken_description(accessible.consent_label(student.name), "Consent"))
        consent.add_class("sa-consent")
        consent.observe(lambda change: self._on_consent(student.id, change["new"]), "value")
        box = w.VBox([image, label, consent, remove])
        box.add_class("sa-card")
        return box

    @reports_errors
    def _on_consent(self, student_id: str, consent: str | None) -> None:
        if consent is None:
            return
        name = self._state.roster.student(student_id).name
        self._state.set_consent(student_id, consent)
        self._messages.success(f"Consent of {name} recorded: {consent}."
                               + ("" if consent == CONSENT_GIVEN else " They are not recognised and are marked by hand."))

    @reports_errors
    def _on_remove(self, student_id: str, button) -> None:
        if self._confirm != student_id:
            # Removing deletes the reference photos: ask for a second click.
            self._confirm = student_id
            button.description = "Click to confirm"
            button.button_style = "danger"
            name_control(button, accessible.remove_name(self._state.roster.student(student_id).name, confirming=True))
            return
        self._confirm = None
        name = self._state.roster.student(student_id).name
        self._state.remove_student(student_id)
        self._messages.success(f"{name} was removed from the class.")

    @reports_errors
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

    @reports_errors
    def _on_reload(self, _button) -> None:
        self._state.reload_roster()
        self._messages.info(f"Roster reloaded: {len(self._state.roster or [])} students.")


