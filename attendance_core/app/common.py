"""What every tab of the dashboard shares: the message bar, error handling of callbacks, the page's CSS.

The CSS makes the page work from a 360-pixel phone to a desktop: controls wrap and then stack,
buttons are at least 40 pixels tall and never cut their text, the attendance table becomes a list,
and the page never scrolls sideways. Widget widths are set here by class, not in ``Layout``, so that
the media query can change them.

It also makes the page usable by keyboard and screen reader (docs/dashboard.md, "Accessibility"): text
contrast of at least 4.5:1, a visible focus ring, a skip link, pressed status buttons marked by more than
their colour, and reflow down to 320 CSS pixels. Controls get their accessible names through ipywidgets'
own ``tooltip``/``tooltips``/``description`` (:func:`name_control`, :func:`toggle_group`), images their
``alt`` (:func:`image_view`); what
ipywidgets cannot say (a name other than a button's text, pressed state, live regions, the slider's
name) is added by the page's template script (``server/jupyter/voila/templates/attendance/static/
accessibility.js``) to the widgets marked with the classes below.
"""
from __future__ import annotations

import base64
import functools
import hashlib
import html
import logging
import re

import ipywidgets as w

from ..results import ABSENT, EXCUSED, LATE, PRESENT
from .base import AppError

log = logging.getLogger(__name__)

#: What the upload buttons offer: any image (a phone then offers its camera and its photo library),
#: JPEG and HEIC by type, and iPhone photos by extension (desktop browsers give HEIC files no image/
#: type, so "image/*" alone hides them in the file chooser).
PHOTO_TYPES = "image/*,image/jpeg,image/heic,image/heif,.jpg,.jpeg,.heic,.heif,.HEIC,.HEIF"
_STATUS_STYLE = {PRESENT: ("#1e7b34", "#e3f4e6"), ABSENT: ("#a61b1b", "#fbe4e4"), EXCUSED: ("#6b5b00", "#fff6cf"),
                 LATE: ("#1d4e89", "#e2ecf8")}

CSS = """
<style>
.sa-app { max-width: 1100px; font-family: sans-serif; box-sizing: border-box; overflow-x: hidden; }
/* Keyboard and screen reader (docs/dashboard.md, "Accessibility"). */
.sa-visually-hidden, .sa-skip-link:not(:focus), .sa-zoom-toggle { position: absolute !important; width: 1px !important;
    height: 1px !important; margin: -1px !important; padding: 0 !important; overflow: hidden !important;
    clip: rect(0 0 0 0) !important; clip-path: inset(50%) !important; white-space: nowrap !important; border: 0 !important; }
.sa-skip-link:focus { display: inline-block; margin: 4px 0; padding: 8px 12px; background: #ffdd00; color: #0b0c0c;
    font-weight: bold; text-decoration: underline; }
/* ipywidgets turns the outline of its inputs off (outline: none !important): these selectors are more specific. */
.sa-app *:focus-visible, .sa-app .jupyter-widgets input:focus-visible, .sa-app .jupyter-widgets select:focus-visible,
.sa-app .jupyter-widgets textarea:focus-visible, .sa-app .jupyter-widgets input[type="datetime-local"]:focus-within,
.sa-skip-link:focus { outline: 3px solid #1a4fa0 !important;
    outline-offset: 2px !important; box-shadow: 0 0 0 5px #ffffff !important; }
.sa-app .lm-TabBar-tab:focus-visible, .sa-app .widget-toggle-button:focus-visible { outline-offset: -4px !important; }
.sa-zoom-toggle:focus-visible ~ .sa-zoom-hint, .sa-zoom-toggle:focus-visible + .sa-photo-frame .sa-zoom-close {
    outline: 3px solid #1a4fa0; outline-offset: 2px; }
.sa-app .jupyter-widgets.jupyter-widget-tab > .lm-TabBar .lm-TabBar-tab, .sa-app .jupyter-widget-Collapse-header {
    color: rgba(0, 0, 0, 0.87); }
.sa-app .jupyter-button.mod-success { background-color: #1e7b34; color: #fff; }
.sa-app .jupyter-button.mod-primary { background-color: #1a5fb4; color: #fff; }
.sa-app .jupyter-button.mod-danger { background-color: #b3261e; color: #fff; }
/* The pressed status button says so by more than its colour: a tick and bold underlined text. */
.sa-app .widget-toggle-button.mod-active { font-weight: bold; text-decoration: underline 2px; text-underline-offset: 3px; }
.sa-app .widget-toggle-button.mod-active::before { content: "\\2713\\00a0"; }
.sa-app * { box-sizing: border-box; }
.sa-title h2 { margin: 4px 0; }
.sa-message .sa-error { background: #fbe4e4; color: #7d1111; border: 1px solid #e3a5a5; padding: 8px 12px; border-radius: 4px; margin: 4px 0; }
.sa-message .sa-info { background: #e7f1fb; color: #0f3f6d; border: 1px solid #a9c9ea; padding: 8px 12px; border-radius: 4px; margin: 4px 0; }
.sa-message .sa-success { background: #e3f4e6; color: #124d21; border: 1px solid #9fd0aa; padding: 8px 12px; border-radius: 4px; margin: 4px 0; }
.sa-app .widget-html, .sa-app .widget-html-content { height: auto; line-height: 1.35; white-space: normal; overflow-wrap: anywhere; }
.sa-app .jupyter-button, .sa-app .widget-upload { height: auto; min-height: 40px; width: auto; min-width: 120px;
    padding: 6px 14px; white-space: normal; line-height: 1.2; overflow: visible; text-overflow: clip; }
.sa-app .widget-toggle-buttons .jupyter-button { min-width: 84px; }
.sa-app .widget-checkbox { height: auto; }
.sa-app .widget-checkbox .widget-label-basic { white-space: normal; overflow: visible; height: auto; line-height: 1.3; }
.sa-app .widget-toggle-buttons .widget-toggle-button { overflow: visible; text-overflow: clip; }
.sa-app .widget-dropdown select, .sa-app .widget-text input, .sa-app .widget-datetimepicker input { min-height: 36px; }
.sa-app .lm-TabBar, .sa-app .lm-TabBar-content { height: auto; min-height: 40px; overflow: visible; }
.sa-app .lm-TabBar-content { flex-wrap: wrap; }
.sa-app .lm-TabBar-tab { min-height: 40px; line-height: 40px; flex: 0 1 auto; min-width: max-content; max-width: none; }
.sa-app .lm-TabBar-tabLabel { overflow: visible; text-overflow: clip; }
.sa-controls { flex-wrap: wrap; gap: 6px 10px; align-items: center; }
.sa-tolerance { width: 420px; max-width: 100%; }
.sa-badge { display: inline-block; min-width: 64px; text-align: center; padding: 2px 8px; border-radius: 10px; font-weight: bold; }
.sa-table-head { font-weight: bold; border-bottom: 1px solid #999; }
.sa-row { display: flex; flex-wrap: wrap; align-items: center; gap: 2px 8px; border-bottom: 1px solid #eee; padding: 3px 0; }
.sa-row > .sa-cell-name { width: 220px; } .sa-row > .sa-cell-status { width: 110px; }
.sa-row > .sa-cell-toggle { width: 380px; } .sa-row > .sa-cell-found { flex: 1 1 200px; min-width: 0; width: auto; }
.sa-history table { border-collapse: collapse; }
.sa-history th, .sa-history td { border-bottom: 1px solid #ddd; padding: 3px 8px; text-align: left; }
.sa-history-wrap { overflow-x: auto; max-width: 100%; }
.sa-card { border: 1px solid #ccc; border-radius: 6px; padding: 6px; margin: 4px; max-width: 100%; }
.sa-legend span { display: inline-block; margin-right: 10px; }
.sa-legend .sa-key { white-space: nowrap; }
.sa-swatch { display: inline-block; width: 0.9em; height: 0.9em; margin-right: 3px; vertical-align: -1px; border: 1px solid #555; }
/* The annotated photo: markers placed in fractions of the photo, sized with it (container units). */
.sa-photos > .sa-photo-view { max-width: 100%; min-width: 0; flex: 0 1 auto; }
.sa-photo-view > .widget-html-content { max-width: 100%; min-width: 0; white-space: normal; }
.sa-photo { margin: 0 12px 8px 0; max-width: 100%; }
.sa-photo-frame { max-width: 100%; }
.sa-photo-canvas { position: relative; container-type: inline-size; width: 100%; }
.sa-photo-canvas img { display: block; width: 100%; height: auto; cursor: zoom-in; }
.sa-marker { position: absolute; display: flex; align-items: center; justify-content: center; border-radius: 50%;
    color: #fff; font-weight: bold; border: 1px solid #fff; cursor: pointer; font-family: sans-serif; line-height: 1;
    outline: none; z-index: 1; }
.sa-marker-name { display: none; position: absolute; top: 105%; left: 0; background: #222; color: #fff; padding: 4px 8px;
    border-radius: 4px; font-size: 14px; white-space: nowrap; font-weight: normal; z-index: 3; }
.sa-marker:focus, .sa-marker:hover { z-index: 2; }
.sa-marker:focus .sa-marker-name, .sa-marker:hover .sa-marker-name { display: block; }
/* Marker numbers at least 4.5:1 on their colour: dark on green, yellow and orange, white on red. */
.sa-kind-matched { background: rgb(34,160,60); color: #000; } .sa-kind-check { background: rgb(235,195,0); color: #000; }
.sa-kind-ambiguous { background: rgb(235,140,0); color: #000; } .sa-kind-unknown { background: rgb(215,40,40); color: #fff; }
.sa-zoom-hint { font-size: 13px; color: #0f3f6d; cursor: pointer; text-decoration: underline; display: inline-block;
    min-height: 40px; line-height: 40px; }
.sa-zoom-close { display: none; }
/* Enlarged: the photo at full size in a pane that scrolls both ways (the page itself never does). */
.sa-zoom-toggle:checked + .sa-photo-frame { overflow: auto; max-height: 85vh; border: 2px solid #0f3f6d;
    -webkit-overflow-scrolling: touch; }
.sa-zoom-toggle:checked + .sa-photo-frame .sa-photo-canvas { width: var(--sa-full-width); max-width: none; }
.sa-zoom-toggle:checked + .sa-photo-frame img { cursor: zoom-out; }
/* Full size, markers sized for a crowded photo seen small would hide the faces: shrink each about its
   own centre (so they stay apart) to about 30 px. */
.sa-zoom-toggle:checked + .sa-photo-frame .sa-marker { transform: scale(var(--sa-zoom-marker, 1)); }
.sa-zoom-toggle:checked + .sa-photo-frame .sa-marker:focus .sa-marker-name { transform: scale(calc(1 / var(--sa-zoom-marker, 1)));
    transform-origin: top left; }
.sa-zoom-toggle:checked + .sa-photo-frame .sa-zoom-close { display: block; position: sticky; top: 0; left: 0;
    z-index: 5; width: max-content; background: #0f3f6d; color: #fff; padding: 0 16px; min-height: 40px;
    line-height: 40px; font-weight: bold; cursor: pointer; }
/* The review of faces. */
.sa-review-card { display: flex; flex-wrap: wrap; gap: 8px; align-items: flex-start; }
.sa-review-card img { display: block; width: 140px; height: 140px; object-fit: contain; background: #f4f4f4; border-radius: 4px; }
.sa-card img.sa-roster-thumb { display: block; max-width: 96px; max-height: 96px; }
.sa-card img.sa-unknown-face { display: block; width: 120px; max-width: 100%; }
img.sa-history-chart { display: block; max-width: min(640px, 100%); height: auto; }
.sa-review-check { border-left: 6px solid rgb(235,195,0); } .sa-review-unknown { border-left: 6px solid rgb(215,40,40); }
.sa-review-ambiguous { border-left: 6px solid rgb(235,140,0); } .sa-review-sure { border-left: 6px solid rgb(34,160,60); }
.sa-review-text { flex: 1 1 220px; min-width: 0; }
.sa-app .sa-review-status { font-weight: bold; height: auto; white-space: normal; }
.sa-review-actions { flex-wrap: wrap; gap: 6px; width: 100%; }
@media (max-width: 600px) {
  .sa-app { padding: 0 2px; }
  .sa-controls { flex-direction: column; align-items: stretch; }
  .sa-controls > * { width: auto !important; max-width: 100%; margin-left: 0; margin-right: 0; }
  .sa-app .widget-inline-hbox { flex-wrap: wrap; max-width: 100%; height: auto; }
  .sa-app .widget-inline-hbox .widget-label { width: 100%; max-width: 100%; text-align: left; }
  .sa-app .widget-text input, .sa-app .widget-dropdown select, .sa-app .widget-datetimepicker input { flex: 1 1 auto; min-width: 0; }
  .sa-tolerance .slider-container { flex: 1 1 200px; min-width: 200px; }
  .sa-app .widget-hprogress { height: 12px; }
  .sa-table-head { display: none !important; }
  .sa-row > .sa-cell-name { width: auto; flex: 1 1 auto; }
  .sa-row > .sa-cell-status { width: auto; }
  .sa-row > .sa-cell-toggle, .sa-row > .sa-cell-found { width: 100%; flex: 1 1 100%; }
  .sa-photo { margin-right: 0; }
  .sa-review-card img { width: 120px; height: 120px; }
  .sa-review-actions > * { flex: 1 1 45%; }
}
</style>
"""


def css_class(prefix: str, key: str) -> str:
    """A CSS class naming ``key`` (a student id) that is always one valid class token: letters, digits and
    ``_`` are kept, every other character becomes ``-<hex code>-`` (``Ada Lovelace`` -> ``Ada-20-Lovelace``)."""
    return prefix + "-" + re.sub(r"[^A-Za-z0-9_]", lambda m: f"-{ord(m.group()):x}-", key)


def unique_id(*parts) -> str:
    """A stable HTML id from ``parts`` (no characters an id or a ``for`` attribute could trip on)."""
    return "sa-" + hashlib.sha1("\x1f".join(map(str, parts)).encode("utf-8")).hexdigest()[:12]


def reports_errors(method):
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
    """Messages shown at the top of the page: errors (red) in an alert region, information (blue) and success
    (green) in a polite status region. Both regions stay in the page, so that a screen reader announces
    what appears in them."""

    def __init__(self):
        self._alert = live_region(w.HTML(""), assertive=True)
        self._status = live_region(w.HTML(""))
        self.widget = w.VBox([self._alert, self._status], layout=w.Layout(max_width="100%"))
        self.widget.add_class("sa-message")

    def show(self, error=(), info=(), success=()) -> None:
        """Show these lines (each a string or a list of strings), and nothing else."""
        self._alert.value = _lines("error", error)
        self._status.value = _lines("info", info) + _lines("success", success)

    def error(self, lines) -> None:
        self.show(error=lines)

    def info(self, lines) -> None:
        self.show(info=lines)

    def success(self, lines) -> None:
        self.show(success=lines)

    def clear(self) -> None:
        self.show()

    @property
    def text(self) -> str:
        """The messages shown, as plain text (tests, logs)."""
        shown = self._alert.value + self._status.value
        return html.unescape(re.sub(r"<[^>]+>", " ", shown)).strip()


def _lines(kind: str, lines) -> str:
    lines = [lines] if isinstance(lines, str) else list(lines)
    return "".join(f'<div class="sa-{kind}">{html.escape(line)}</div>' for line in lines if line)


def live_region(widget: w.Widget, assertive: bool = False) -> w.Widget:
    """``widget`` made a live region: what appears in it is announced, politely (a status) or at once
    (an alert). The region must be in the page before its text changes: keep the widget, change its value."""
    widget.add_class("sa-alert" if assertive else "sa-live")
    return widget


def name_control(widget: w.Widget, name: str) -> w.Widget:
    """``widget`` (a button) named ``name`` for a screen reader, whatever its visible text: its tooltip,
    which the page's script makes its accessible name. The name must start with the visible text."""
    widget.tooltip = name
    widget.add_class("sa-named")
    return widget


def image_html(data: bytes, alternative: str, css_class: str, fmt: str = "jpeg") -> str:
    """An ``<img>`` of class ``css_class`` with its text alternative (``alt``) and ``data`` inline; no data:
    the alternative as text."""
    if not data:
        return f'<span class="{css_class} sa-no-image">{html.escape(alternative)}</span>'
    source = f"data:image/{fmt};base64,{base64.b64encode(bytes(data)).decode('ascii')}"
    return f'<img class="{css_class}" alt="{html.escape(alternative)}" src="{source}">'


def image_view(data: bytes, alternative: str, css_class: str, fmt: str = "jpeg") -> w.HTML:
    """:func:`image_html` in a widget. (ipywidgets' ``Image`` has no ``alt``, and its ``tooltip`` breaks its
    view in ipywidgets 8.1: the view reads a ``description`` an Image does not have.)"""
    return w.HTML(image_html(data, alternative, css_class, fmt), layout=w.Layout(max_width="100%"))


def image_data(widget: w.HTML) -> bytes:
    """The bytes of the image an :func:`image_view` shows (empty if none)."""
    found = re.search(r'src="data:image/[a-z]+;base64,([^"]*)"', widget.value)
    return base64.b64decode(found.group(1)) if found else b""


def spoken_description(spoken: str, shown: str = "") -> dict:
    """Keyword arguments of a control's ``description`` (its label): ``shown`` in the page, all of ``spoken``
    (which starts with ``shown``) read by a screen reader; e.g. shown "Consent", read "Consent of Ada Lovelace"."""
    if not spoken.startswith(shown):
        raise ValueError(f"{spoken!r} does not start with {shown!r}")
    rest = spoken[len(shown):]
    hidden = f'<span class="sa-visually-hidden">{html.escape(rest)}</span>' if rest else ""
    return {"description": html.escape(shown) + hidden, "description_allow_html": True}


def toggle_group(toggle: w.ToggleButtons, name: str, names) -> w.ToggleButtons:
    """``toggle`` made a toggle group (ARIA Authoring Practices: one tab stop, arrows move, Enter or Space
    presses, each button says whether it is pressed) named ``name``, its buttons named ``names``."""
    toggle.tooltip = name
    toggle.tooltips = list(names)
    toggle.add_class("sa-toggle-group")
    return toggle


def badge(status: str | None) -> str:
    """HTML of a student's status as a colored badge ("no photo yet" before any photo)."""
    if status is None:
        return '<span class="sa-badge" style="color:#666;background:#eee">no photo yet</span>'
    fg, bg = _STATUS_STYLE[status]
    return f'<span class="sa-badge sa-{status}" style="color:{fg};background:{bg}">{status}</span>'


def controls(*children: w.Widget) -> w.HBox:
    """A row of controls that wraps, and stacks on a phone (class ``sa-controls``)."""
    box = w.HBox(list(children), layout=w.Layout(max_width="100%"))
    box.add_class("sa-controls")
    return box


class TabView:
    """A tab of the dashboard: ``title``, ``widget``, and ``refresh()`` to redraw it from the state when shown."""

    title = ""

    def refresh(self) -> None:  # pragma: no cover - every tab defines it
        raise NotImplementedError
