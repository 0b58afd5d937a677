"""What every tab of the dashboard shares: the message bar, error handling of callbacks, the page's CSS.

The CSS makes the page work from a 360-pixel phone to a desktop: controls wrap and then stack,
buttons are at least 40 pixels tall and never cut their text, the attendance table becomes a list,
and the page never scrolls sideways. Widget widths are set here by class, not in ``Layout``, so that
the media query can change them.
"""
from __future__ import annotations

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
.sa-app * { box-sizing: border-box; }
.sa-title h2 { margin: 4px 0; }
.sa-message .sa-error { background: #fbe4e4; color: #7d1111; border: 1px solid #e3a5a5; padding: 8px 12px; border-radius: 4px; margin: 4px 0; }
.sa-message .sa-info { background: #e7f1fb; color: #0f3f6d; border: 1px solid #a9c9ea; padding: 8px 12px; border-radius: 4px; margin: 4px 0; }
.sa-message .sa-success { background: #e3f4e6; color: #124d21; border: 1px solid #9fd0aa; padding: 8px 12px; border-radius: 4px; margin: 4px 0; }
.sa-app .widget-html, .sa-app .widget-html-content { height: auto; line-height: 1.35; white-space: normal; overflow-wrap: anywhere; }
.sa-app .jupyter-button, .sa-app .widget-upload { height: auto; min-height: 40px; width: auto; min-width: 120px;
    padding: 6px 14px; white-space: normal; line-height: 1.2; overflow: visible; text-overflow: clip; }
.sa-app .widget-toggle-buttons .jupyter-button { min-width: 84px; }
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
.sa-row > .sa-cell-toggle { width: 300px; } .sa-row > .sa-cell-found { flex: 1 1 200px; min-width: 0; width: auto; }
.sa-history table { border-collapse: collapse; }
.sa-history th, .sa-history td { border-bottom: 1px solid #ddd; padding: 3px 8px; text-align: left; }
.sa-history-wrap { overflow-x: auto; max-width: 100%; }
.sa-card { border: 1px solid #ccc; border-radius: 6px; padding: 6px; margin: 4px; max-width: 100%; }
.sa-legend span { display: inline-block; margin-right: 10px; }
.sa-legend .sa-key { white-space: nowrap; }
/* The annotated photo: markers placed in fractions of the photo, sized with it (container units). */
.sa-photos > .sa-photo-view { max-width: 100%; min-width: 0; flex: 0 1 auto; }
.sa-photo-view > .widget-html-content { max-width: 100%; min-width: 0; white-space: normal; }
.sa-photo { margin: 0 12px 8px 0; max-width: 100%; }
.sa-zoom-toggle { display: none; }
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
.sa-kind-matched { background: rgb(34,160,60); } .sa-kind-check { background: rgb(235,195,0); color: #222; }
.sa-kind-ambiguous { background: rgb(235,140,0); } .sa-kind-unknown { background: rgb(215,40,40); }
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
.sa-review-card .widget-image { width: 140px; height: 140px; object-fit: contain; background: #f4f4f4; border-radius: 4px; }
.sa-review-check { border-left: 6px solid rgb(235,195,0); } .sa-review-unknown { border-left: 6px solid rgb(215,40,40); }
.sa-review-ambiguous { border-left: 6px solid rgb(235,140,0); } .sa-review-sure { border-left: 6px solid rgb(34,160,60); }
.sa-review-text { flex: 1 1 220px; min-width: 0; }
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
  .sa-review-card .widget-image { width: 120px; height: 120px; }
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
        return html.unescape(re.sub(r"<[^>]+>", " ", self.widget.value)).strip()


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
