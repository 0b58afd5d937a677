"""Draw what was found on a photo: a box and a name on every face, and crops of single faces.

Used by the dashboard and the notebooks. Colors say what a face is: green for a matched student,
orange for an ambiguous match (check it), red for an unknown face. Large photos are scaled down
for display first, so that boxes and labels stay legible at any photo size (line width and text
size follow the displayed photo, not the original). Boxes are ``(top, right, bottom, left)`` in
pixels of the upright photo, as everywhere in the library.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable, Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .roster import display_name

MATCHED, AMBIGUOUS, UNKNOWN = "matched", "ambiguous", "unknown"
#: RGB colors of the boxes, by kind of face.
COLORS = {MATCHED: (34, 160, 60), AMBIGUOUS: (235, 140, 0), UNKNOWN: (215, 40, 40)}
#: Longest side, in pixels, of a photo shown in the dashboard.
DISPLAY_MAX_SIDE = 1280

Box = Sequence[int]


@dataclass(frozen=True)
class FaceLabel:
    """One face to draw: its box in photo pixels, the text written on it and its kind (matched, ambiguous, unknown)."""

    box: Box
    text: str
    kind: str = MATCHED


def face_kind(student: str | None, ambiguous: bool) -> str:
    """The kind of a matched face: unknown when no student, ambiguous when flagged, else matched."""
    if student is None:
        return UNKNOWN
    return AMBIGUOUS if ambiguous else MATCHED


@lru_cache(maxsize=16)
def _font(size: int) -> ImageFont.ImageFont:
    # matplotlib ships DejaVu Sans, so the labels look the same on every machine.
    try:
        import matplotlib

        path = f"{matplotlib.get_data_path()}/fonts/ttf/DejaVuSans-Bold.ttf"
        return ImageFont.truetype(path, size)
    except (ImportError, OSError):
        return ImageFont.load_default(size=size)


def scaled_to(image: np.ndarray, max_side: int) -> tuple[np.ndarray, float]:
    """``image`` scaled down so that its longest side is at most ``max_side``, and the scale used (<= 1)."""
    h, w = image.shape[:2]
    scale = min(1.0, max_side / max(h, w, 1))
    if scale >= 1.0:
        return image, 1.0
    small = Image.fromarray(image).resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.LANCZOS)
    return np.asarray(small), scale


def draw_faces(image: np.ndarray, faces: Iterable[FaceLabel], max_side: int = DISPLAY_MAX_SIDE) -> np.ndarray:
    """A copy of an RGB ``image``, scaled to ``max_side`` at most, with a colored box and label per face."""
    small, scale = scaled_to(np.asarray(image, dtype=np.uint8), max_side)
    canvas = Image.fromarray(small).convert("RGB")
    draw = ImageDraw.Draw(canvas)
    h, w = small.shape[:2]
    side = max(h, w)
    line = max(2, round(side / 300))
    font = _font(max(12, round(side / 38)))
    for face in faces:
        top, right, bottom, left = (v * scale for v in face.box)
        color = COLORS.get(face.kind, COLORS[UNKNOWN])
        draw.rectangle([left, top, right, bottom], outline=color, width=line)
        if not face.text:
            continue
        tl, tt, tr, tb = draw.textbbox((0, 0), face.text, font=font)
        tw, th = tr - tl, tb - tt
        pad = max(2, line)
        # The label sits under the box, or above it when the box touches the bottom; kept inside the photo.
        y = bottom + line if bottom + line + th + 2 * pad <= h else max(0, top - th - 2 * pad - line)
        x = min(max(0, left), max(0, w - tw - 2 * pad))
        draw.rectangle([x, y, x + tw + 2 * pad, y + th + 2 * pad], fill=color)
        draw.text((x + pad - tl, y + pad - tt), face.text, fill=(255, 255, 255), font=font)
    return np.asarray(canvas)


def crop_face(image: np.ndarray, box: Box, margin: float = 0.5, min_side: int = 0) -> np.ndarray:
    """The face in ``box`` with ``margin`` (a fraction of the box size) around it, clipped to the photo.

    min_side: scale the crop up so its shorter side is at least this many pixels (0: never), so that a
    small face from a classroom photo can serve as a reference photo (detected at 40 px and more).
    """
    top, right, bottom, left = (int(v) for v in box)
    h, w = image.shape[:2]
    mx, my = int((right - left) * margin), int((bottom - top) * margin)
    y0, y1 = max(0, top - my), min(h, bottom + my)
    x0, x1 = max(0, left - mx), min(w, right + mx)
    crop = np.ascontiguousarray(image[y0:y1, x0:x1])
    if crop.size == 0:
        raise ValueError(f"box {tuple(box)} is outside the photo ({w}x{h})")
    short = min(crop.shape[:2])
    if min_side and short < min_side:
        f = min_side / short
        crop = np.asarray(Image.fromarray(crop).resize((round(crop.shape[1] * f), round(crop.shape[0] * f)),
                                                       Image.LANCZOS))
    return crop


def thumbnail(image: np.ndarray, side: int = 120) -> np.ndarray:
    """``image`` scaled down to fit a ``side`` x ``side`` square."""
    return scaled_to(image, side)[0]


def to_jpeg(image: np.ndarray, quality: int = 85) -> bytes:
    """JPEG bytes of an RGB array (for ``ipywidgets.Image(format="jpeg")`` or a reference photo)."""
    buf = io.BytesIO()
    Image.fromarray(np.asarray(image, dtype=np.uint8)).convert("RGB").save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def to_png(image: np.ndarray) -> bytes:
    """PNG bytes of an RGB array."""
    buf = io.BytesIO()
    Image.fromarray(np.asarray(image, dtype=np.uint8)).save(buf, "PNG")
    return buf.getvalue()


def annotate_attendance(attendance, photo: int, names: dict[str, str] | None = None,
                        unknown_labels: dict[tuple[int, int], str] | None = None,
                        max_side: int = DISPLAY_MAX_SIDE) -> np.ndarray:
    """Photo number ``photo`` of a :class:`~attendance_core.session.Attendance`, with its faces drawn.

    The photo's pixels must have been kept (``Session(keep_images=True)``). names: student id -> name
    shown (default: the id with spaces); unknown_labels: ``(photo, face)`` -> label of an unknown face
    (default "unknown"). A matched face is labelled with the name and its distance.
    """
    p = attendance.photos[photo]
    if p.image is None:
        raise ValueError(f"{p.name}: the photo's pixels were not kept (use Session(keep_images=True))")
    labels = []
    for f in attendance.faces_in(photo):
        kind = face_kind(f.student, f.ambiguous)
        if f.student is None:
            text = (unknown_labels or {}).get((f.photo, f.face), "unknown")
        else:
            name = (names or {}).get(f.student, display_name(f.student))
            text = f"{name} {f.distance:.2f}" + (" ?" if f.ambiguous else "")
        labels.append(FaceLabel(f.box, text, kind))
    return draw_faces(p.image, labels, max_side)
