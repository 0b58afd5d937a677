"""The Review faces tab: every face of the session, doubtful ones first, one tap to settle each.

Each face is shown as its crop beside the reference photo of the student it is matched to (or the
nearest student), with the name, the distance and why it is asked. The state gives the order
(unknown, ambiguous, check band, then sure and decided faces, collapsed); this view only draws it.
"""
from __future__ import annotations

import functools
import html

import ipywidgets as w

from ..results import CONFIRMED, REASSIGNED, REJECTED
from .common import MessageBar, TabView, reports_errors
from .review_list import AMBIGUOUS, CHECK, SURE, UNKNOWN, UNSURE, ReviewItem
from .state import AppError, DashboardState

#: Side of the face crop and the reference photo shown side by side, in pixels of the image sent.
CROP_SIDE = 200
_GROUP_TITLES = {UNKNOWN: "unknown face", UNSURE: "unsure", AMBIGUOUS: "ambiguous", CHECK: "check", SURE: "sure"}
_DECISION_TEXT = {CONFIRMED: "confirmed: {name}", REJECTED: "not {name}", REASSIGNED: "it is {name}"}


class ReviewView(TabView):
    """A card per face: crop, reference photo, name and distance; right / not this student / it is X."""

    def __init__(self, state: DashboardState, messages: MessageBar):
        self._state = state
        self._messages = messages
        self._thumbs: dict[tuple[str, int], bytes] = {}
        self._rest: list[ReviewItem] = []
        self._build()
        self._wire()

    @property
    def title(self) -> str:
        asked = sum(1 for item in self._state.review_items() if item.asked)
        return f"Review faces ({asked})" if asked else "Review faces"

    def _build(self) -> None:
        self._intro = w.HTML("<i>Upload a classroom photo: its faces are listed here, doubtful ones first.</i>")
        self._asked = w.VBox(layout=w.Layout(max_width="100%"))
        self._asked.add_class("sa-review-asked")
        self._rest_box = w.VBox(layout=w.Layout(max_width="100%"))
        self._rest_panel = w.Accordion(children=[self._rest_box], selected_index=None,
                                       layout=w.Layout(max_width="100%"))
        self._rest_panel.add_class("sa-review-rest")
        self.widget = w.VBox([self._intro, self._asked, self._rest_panel], layout=w.Layout(max_width="100%"))
        self.widget.add_class("sa-review")

    def _wire(self) -> None:
        self._rest_panel.observe(lambda _: self._draw_rest(), "selected_index")
        self._state.observe(lambda _: self._thumbs.clear(), "roster_version")

    @reports_errors
    def refresh(self) -> None:
        """Draw the faces still asked, and the title of the collapsed sure and decided ones."""
        items = self._state.review_items()
        asked = [i for i in items if i.asked]
        self._rest = [i for i in items if not i.asked]
        if not items:
            self._intro.value = "<i>Upload a classroom photo: its faces are listed here, doubtful ones first.</i>"
        elif asked:
            self._intro.value = (f"<p><b>{len(asked)} face(s) to check</b>, the most doubtful first. Each face is "
                                 "beside the reference photo of the student it was matched to.</p>")
        else:
            self._intro.value = "<p><b>Nothing left to check.</b> The sure and decided faces are below.</p>"
        self._asked.children = [self._card(i) for i in asked]
        self._rest_panel.set_title(0, f"Sure and decided faces ({len(self._rest)})")
        self._rest_panel.layout.display = None if self._rest else "none"
        self._draw_rest()

    @reports_errors
    def _draw_rest(self) -> None:
        # Drawn only when opened: a class photo has many sure faces.
        self._rest_box.children = ([self._card(i) for i in self._rest]
                                   if self._rest_panel.selected_index == 0 else [])

    def _thumbnail(self, student_id: str) -> bytes:
        key = (student_id, self._state.roster_version)
        if key not in self._thumbs:
            self._thumbs[key] = self._state.reference_thumbnail(student_id, CROP_SIDE) or b""
        return self._thumbs[key]

    def _card(self, item: ReviewItem) -> w.Widget:
        who = item.student or item.suggestion or item.nearest
        names = self._state.student_names()
        crop = w.Image(value=self._state.review_crop(item, CROP_SIDE), format="jpeg")
        crop.add_class("sa-review-face")
        images = [crop]
        if who:
            reference = w.Image(value=self._thumbnail(who), format="jpeg")
            reference.add_class("sa-review-reference")
            images.append(reference)
        self_text = self._text(item, names)
        actions = self._actions(item, names)
        card = w.HBox([*images, self_text, actions], layout=w.Layout(max_width="100%"))
        card.add_class("sa-card")
        card.add_class("sa-review-card")
        card.add_class(f"sa-review-{item.group}")
        card.add_class("sa-review-item")
        return card

    def _text(self, item: ReviewItem, names: dict[str, str]) -> w.HTML:
        label = _GROUP_TITLES[item.group]
        if item.student:
            match = f"<b>{html.escape(item.name or item.student)}</b>, distance {item.distance:.2f}"
        elif item.nearest:
            match = (f"nobody; nearest {html.escape(names.get(item.nearest, item.nearest))}, "
                     f"distance {item.nearest_distance:.2f}")
        else:
            match = "nobody"
        decided = ""
        if item.decision:
            subject = next((r.student for r in self._state.attendance.reviews
                            if (r.photo, r.face) == (item.photo, item.face)), item.student)
            decided = ("<br><i>Decided: " + html.escape(_DECISION_TEXT.get(item.decision, "{name}").format(
                name=names.get(subject, subject or ""))) + "</i>")
        text = w.HTML(
            f'<div><span class="sa-review-number">Face {item.number}</span> &middot; '
            f'<span class="sa-review-group sa-group-{item.group}"><b>{label}</b></span>: {html.escape(item.reason)}'
            f"<br>Matched to: {match}<br>in {html.escape(item.photo_name)}{decided}</div>")
        text.add_class("sa-review-text")
        return text

    def _actions(self, item: ReviewItem, names: dict[str, str]) -> w.Widget:
        buttons: list[w.Widget] = []
        if item.decision:
            undo = w.Button(description="Undo", icon="undo", tooltip="Take this decision back")
            undo.on_click(lambda _: self._decide(item, None))
            buttons.append(undo)
        else:
            if item.student:
                right = w.Button(description="Right", icon="check", button_style="success",
                                 tooltip=f"This is {item.name}")
                right.add_class("sa-review-right")
                right.on_click(lambda _: self._decide(item, CONFIRMED))
                wrong = w.Button(description="Not this student", icon="times", button_style="danger",
                                 tooltip=f"This is not {item.name}: the face becomes unknown")
                wrong.add_class("sa-review-reject")
                wrong.on_click(lambda _: self._decide(item, REJECTED))
                buttons += [right, wrong]
            elif item.suggestion:
                # One tap on the likely student: the instructor looks at the two faces side by side.
                tap = w.Button(description=f"It is {item.suggestion_name}?", icon="check", button_style="success",
                               tooltip=f"Yes, this is {item.suggestion_name}: mark them present",
                               layout=w.Layout(width="auto"))
                tap.add_class("sa-review-suggestion")
                tap.on_click(lambda _: self._decide(item, REASSIGNED, item.suggestion))
                buttons.append(tap)
            if not item.student and item.nearest:
                nobody = w.Button(description="Nobody in the class", icon="times",
                                  tooltip="A visitor, or a student of another class")
                nobody.add_class("sa-review-reject")
                nobody.on_click(lambda _: self._decide(item, REJECTED))
                buttons.append(nobody)
            others = [(name, sid) for sid, name in names.items() if sid != item.student]
            pick = w.Dropdown(options=[("It is…", "")] + others, value="", layout=w.Layout(width="auto"))
            pick.add_class("sa-review-pick")
            pick.observe(functools.partial(self._on_pick, item), "value")
            buttons.append(pick)
        box = w.HBox(buttons, layout=w.Layout(max_width="100%"))
        box.add_class("sa-review-actions")
        return box

    def _on_pick(self, item: ReviewItem, change) -> None:
        if change["new"]:
            self._decide(item, REASSIGNED, change["new"])

    @reports_errors
    def _decide(self, item: ReviewItem, decision: str | None, student_id: str | None = None) -> None:
        if self._state.session is None:
            raise AppError("No photo yet.")
        self._state.review_face(item.number, decision, student_id)
        self._messages.info(self._outcome(item, decision, student_id))
        self.refresh()

    def _outcome(self, item: ReviewItem, decision: str | None, student_id: str | None) -> str:
        att = self._state.attendance
        by_id = {s.id: s for s in att.students} if att else {}
        if decision is None:
            return f"Face {item.number}: decision taken back."
        if decision == CONFIRMED:
            return f"Face {item.number} is {item.name}: confirmed."
        if decision == REASSIGNED:
            student = by_id.get(student_id)
            return f"Face {item.number} is {student.name if student else student_id}: marked {student.status}." \
                if student else f"Face {item.number} is {student_id}."
        who = item.student or item.nearest
        student = by_id.get(who)
        if item.student and student is not None:
            return f"Face {item.number} is not {student.name}: {student.name} is {student.status} now."
        return f"Face {item.number}: nobody in the class."
