"""The annotated classroom photos: boxes drawn in the photo, numbered markers over it, tap to enlarge.

A marker is an HTML element placed in fractions of the photo (see ``review_list.photo_markers``),
sized in container units, so that the markers keep the layout computed for them, apart from each
other, at any display width. Tapping a marker shows the name and distance; tapping the photo opens
it at full size in a pane that scrolls both ways (the page itself never scrolls sideways), and tapping
again or "Close" returns. No JavaScript: the enlargement is a checkbox and its labels.
"""
from __future__ import annotations

import base64
import html

import ipywidgets as w

from .review_list import Marker

#: Height of a photo shown in the page (narrower screens show it smaller); enlarged, it is full size.
SHOWN_HEIGHT = 400
#: Side of a marker on the enlarged photo, in CSS pixels (markers are never made larger than placed).
ZOOMED_MARKER = 30


def marker_html(marker: Marker) -> str:
    """One numbered marker, absolutely placed over the photo. A tap (or click) focuses it and shows the name;
    it is no tab stop (a crowded photo would be thirty of them: the table and the review say the same),
    and a screen reader reads it as an image named with the face, the student and the kind of match."""
    side = marker.width * 100
    style = (f"left:{marker.left * 100:.3f}%;top:{marker.top * 100:.3f}%;width:{side:.3f}%;"
             f"height:{marker.height * 100:.3f}%;font-size:{side * 0.55:.3f}cqw")
    return (f'<span class="sa-marker sa-kind-{marker.kind}" tabindex="-1" role="img" '
            f'aria-label="{html.escape(marker.name)}" data-face="{marker.number}" '
            f'style="{style}" title="{html.escape(marker.text)}">{marker.number}'
            f'<span class="sa-marker-name">{marker.number}: {html.escape(marker.text)}</span></span>')


def photo_html(jpeg: bytes, size: tuple[int, int], markers: list[Marker], zoom_id: str, caption: str,
               alt: str = "classroom photo", enlarge: str = "Enlarge the photo") -> str:
    """The HTML of one annotated photo: caption, the photo with its markers, and the enlarge control.

    jpeg: the photo as drawn (boxes only); size: its width and height in pixels (its full-size width
    when enlarged); zoom_id: an id unique in the page; caption: HTML shown above; alt: the photo's text
    alternative; enlarge: the accessible name of the enlarge control (a checkbox: Space toggles it).
    """
    data = base64.b64encode(jpeg).decode("ascii")
    width, height = size
    markers_html = "".join(marker_html(m) for m in markers)
    side = max((m.width * width for m in markers), default=ZOOMED_MARKER)
    zoom_marker = min(1.0, ZOOMED_MARKER / side)
    return (
        f'<div class="sa-photo" style="width:{SHOWN_HEIGHT * width / max(height, 1):.0f}px">{caption}'
        f'<input type="checkbox" class="sa-zoom-toggle" id="{zoom_id}" aria-label="{html.escape(enlarge)}">'
        f'<div class="sa-photo-frame">'
        f'<label class="sa-zoom-close" for="{zoom_id}" aria-hidden="true">&#10005; Close</label>'
        f'<div class="sa-photo-canvas" style="--sa-full-width:{max(width, 1)}px;--sa-zoom-marker:{zoom_marker:.3f}">'
        f'<label for="{zoom_id}"><img class="sa-annotated-photo" alt="{html.escape(alt)}" width="{width}" '
        f'height="{height}" src="data:image/jpeg;base64,{data}"></label>{markers_html}</div></div>'
        f'<label class="sa-zoom-hint" for="{zoom_id}" aria-hidden="true">Enlarge the photo</label></div>')


def photo_widget(jpeg: bytes, size: tuple[int, int], markers: list[Marker], zoom_id: str, caption: str,
                 alt: str = "classroom photo", enlarge: str = "Enlarge the photo") -> w.HTML:
    """:func:`photo_html` in a widget (class ``sa-photo-view``)."""
    widget = w.HTML(photo_html(jpeg, size, markers, zoom_id, caption, alt, enlarge), layout=w.Layout(max_width="100%"))
    widget.add_class("sa-photo-view")
    return widget
