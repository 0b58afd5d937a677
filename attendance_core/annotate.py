"""Draw what was found on a photo: a box and a name on every face, and crops of single faces.

Used by the dashboard and the notebooks. Colors say what a face is: green for a sure match, yellow
for a match in the check band (just inside the tolerance: look at it), orange for an ambiguous match
(two students almost as close), red for an unknown face. In a crowded photo names do not fit: the
dashboard puts a numbered marker by each face instead, placed by :func:`place_markers` so that no two
markers overlap. Large photos are scaled down
for display first, so that boxes and labels stay legible at any photo size (line width and text
size follow the displayed photo, not the original). Boxes are ``(top, right, bottom, left)`` in
pixels of the upright photo, as everywhere in the library. Where a student of the class has no
consent to face recognition, unknown faces (one of them may be theirs) are blurred beyond recognition
in the drawn photo and in crops.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable, Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from .roster import display_name

MATCHED, CHECK, AMBIGUOUS, UNKNOWN = "matched", "check", "ambiguous", "unknown"
#: RGB colors of the boxes, by kind of face.
COLORS = {MATCHED: (34, 160, 60), CHECK: (235, 195, 0), AMBIGUOUS: (235, 140, 0), UNKNOWN: (215, 40, 40)}
#: Longest side, in pixels, of a photo shown in the dashboard.
DISPLAY_MAX_SIDE = 1280
#: A blurred face keeps this many blocks across: a shape, no identity.
BLUR_BLOCKS = 4
#: The blurred area extends this fraction of the box beyond it (hair, ears, chin).
BLUR_MARGIN = 0.3

Box = Sequence[int]


@dataclass(frozen=True)
class FaceLabel:
    """One face to draw: its box in photo pixels, the text written on it and its kind (matched, ambiguous, unknown)."""

    box: Box
    text: str
    kind: str = MATCHED
    #: Blur the face (a person who has not consented to face recognition may be under it).
    blur: bool = False


def face_kind(student: str | None, ambiguous: bool, check: bool = False) -> str:
    """The kind of a matched face: unknown when no student, ambiguous or check when flagged, else matched."""
    if student is None:
        return UNKNOWN
    if ambiguous:
        return AMBIGUOUS
    return CHECK if check else MATCHED


@lru_cache(maxsize=16)
def _font(size: int) -> ImageFont.ImageFont:
    # matplotlib ships DejaVu Sans, so the labels look the same on every machine. Found, not imported: importing
    # matplotlib cost a dashboard kernel about 20 MB for one file name.
    import importlib.util

    try:
        spec = importlib.util.find_spec("matplotlib")
        if spec is None or not spec.submodule_search_locations:
            raise ImportError("matplotlib")
        path = f"{list(spec.submodule_search_locations)[0]}/mpl-data/fonts/ttf/DejaVuSans-Bold.ttf"
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


def draw_faces(image: np.ndarray, faces: Iterable[FaceLabel], max_side: int = DISPLAY_MAX_SIDE,
               box_scale: float = 1.0) -> np.ndarray:
    """A copy of an RGB ``image``, scaled to ``max_side`` at most, with a colored box and label per face.

    box_scale: pixels of ``image`` per pixel of the boxes (less than 1 when the image kept is a
    downscaled copy of the photo the boxes were found in).
    """
    small, scale = scaled_to(np.asarray(image, dtype=np.uint8), max_side)
    scale *= box_scale
    faces = list(faces)
    blurred = [tuple(v * scale for v in face.box) for face in faces if face.blur]
    if blurred:
        small = blur_faces(small, blurred)
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


def blur_faces(image: np.ndarray, boxes: Iterable[Box], margin: float = BLUR_MARGIN) -> np.ndarray:
    """A copy of an RGB ``image`` with each face box (and ``margin`` of its size around it) blurred
    beyond recognition: reduced to BLUR_BLOCKS blocks across, then smoothed."""
    out = Image.fromarray(np.asarray(image, dtype=np.uint8)).convert("RGB")
    h, w = out.height, out.width
    for box in boxes:
        top, right, bottom, left = (float(v) for v in box)
        mx, my = (right - left) * margin, (bottom - top) * margin
        x0, y0 = max(0, int(left - mx)), max(0, int(top - my))
        x1, y1 = min(w, int(np.ceil(right + mx))), min(h, int(np.ceil(bottom + my)))
        if x1 <= x0 or y1 <= y0:
            continue
        region = out.crop((x0, y0, x1, y1))
        blocks = (BLUR_BLOCKS, max(1, round(BLUR_BLOCKS * (y1 - y0) / (x1 - x0))))
        region = region.resize(blocks, Image.BOX).resize(region.size, Image.BILINEAR)
        region = region.filter(ImageFilter.GaussianBlur(max(2, (x1 - x0) / 12)))
        out.paste(region, (x0, y0))
    return np.asarray(out)


def crop_face(image: np.ndarray, box: Box, margin: float = 0.5, min_side: int = 0,
              blur: bool = False) -> np.ndarray:
    """The face in ``box`` with ``margin`` (a fraction of the box size) around it, clipped to the photo.

    min_side: scale the crop up so its shorter side is at least this many pixels (0: never), so that a
    small face from a classroom photo can serve as a reference photo (detected at 40 px and more).
    blur: blur the face (see :func:`blur_faces`), for a face that may be a student without consent.
    """
    top, right, bottom, left = (int(v) for v in box)
    h, w = image.shape[:2]
    mx, my = int((right - left) * margin), int((bottom - top) * margin)
    y0, y1 = max(0, top - my), min(h, bottom + my)
    x0, x1 = max(0, left - mx), min(w, right + mx)
    crop = np.ascontiguousarray(image[y0:y1, x0:x1])
    if crop.size == 0:
        raise ValueError(f"box {tuple(box)} is outside the photo ({w}x{h})")
    if blur:
        crop = blur_faces(crop, [(top - y0, right - x0, bottom - y0, left - x0)])
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
                        max_side: int = DISPLAY_MAX_SIDE, scale: float = 1.0, labels: bool = True,
                        blur_unknown: bool | None = None) -> np.ndarray:
    """Photo number ``photo`` of a :class:`~attendance_core.session.Attendance`, with its faces drawn.

    The photo's pixels must have been kept (``Session(keep_images=True)``). names: student id -> name
    shown (default: the students' names, with the id where two share one); unknown_labels:
    ``(photo, face)`` -> label of an unknown face (default "unknown"). A matched face is labelled with
    the name and its distance. scale: pixels of the kept image per photo pixel of the boxes;
    labels=False draws the boxes only (the dashboard adds numbered markers). blur_unknown: blur the
    unknown faces (default ``attendance.blur_unknown``: some student has no consent).
    """
    p = attendance.photos[photo]
    if p.image is None:
        raise ValueError(f"{p.name}: the photo's pixels were not kept (use Session(keep_images=True))")
    blur = attendance.blur_unknown if blur_unknown is None else blur_unknown
    names = names if names is not None else attendance.shown_names()
    drawn = []
    for f in attendance.faces_in(photo):
        kind = face_kind(f.student, f.ambiguous, f.check)
        if not labels:
            text = ""
        elif f.student is None:
            text = (unknown_labels or {}).get((f.photo, f.face), "unknown")
        else:
            name = (names or {}).get(f.student, display_name(f.student))
            text = f"{name} {f.distance:.2f}" + (" ?" if f.ambiguous else "")
        drawn.append(FaceLabel(f.box, text, kind, blur=blur and f.student is None))
    return draw_faces(p.image, drawn, max_side, scale)


#: A marker's side as a fraction of the photo's width: the largest of these that leaves every marker
#: apart is used (a two-face photo gets big markers, a crowded one small ones, readable when enlarged).
MARKER_SIZES = (0.07, 0.055, 0.045, 0.036, 0.03, 0.025, 0.02, 0.016)


def _overlaps(a, b, gap: float) -> bool:
    return a[0] < b[2] + gap and b[0] < a[2] + gap and a[1] < b[3] + gap and b[1] < a[3] + gap


def _candidates(box, m: float, width: float, height: float):
    """Places for a marker of side ``m`` by a face box, nearest first, kept inside the photo."""
    top, right, bottom, left = box
    g = m * 0.15
    spots = [(left - m - g, top), (left, top - m - g), (right + g, top), (left, bottom + g),
             (right - m, top - m - g), (left - m - g, bottom - m), (right + g, bottom - m), (right - m, bottom + g),
             (left, top)]
    for step in (1, 2, 3):  # further out when the near spots are taken
        d = step * (m + g)
        spots += [(left - m - g - d, top), (right + g + d, top), (left, top - m - g - d), (left, bottom + g + d),
                  (left - m - g, top - d), (right + g, top + d), (left - m - g - d, top - d), (right + g + d, top + d)]
    for x, y in spots:
        x = min(max(0.0, x), width - m)
        y = min(max(0.0, y), height - m)
        yield (x, y, x + m, y + m)


def place_markers(boxes: Sequence[Box], size: tuple[int, int],
                  sizes: Sequence[float] = MARKER_SIZES) -> list[tuple[float, float, float, float]]:
    """Square marker rectangles ``(x0, y0, x1, y1)`` in photo pixels, one per box, none overlapping.

    boxes: ``(top, right, bottom, left)`` in pixels of a photo of ``size`` ``(width, height)``. The
    markers are as large as ``sizes`` (fractions of the width) allow with no two touching, each by its
    face and off the faces where there is room. On a photo too crowded even for the smallest size,
    the smallest markers are placed with the fewest overlaps.
    """
    width, height = float(size[0]), float(size[1])
    faces = [tuple(float(v) for v in b) for b in boxes]
    face_rects = [(l, t, r, b) for t, r, b, l in faces]
    best: list | None = None
    for fraction in sizes:
        m = max(8.0, fraction * width)
        gap = m * 0.08
        placed: list[tuple[float, float, float, float]] = []
        clean = True
        for i, box in enumerate(faces):
            options = list(_candidates(box, m, width, height))
            free = [r for r in options if not any(_overlaps(r, p, gap) for p in placed)]
            if free:
                off_faces = [r for r in free if not any(_overlaps(r, f, 0) for j, f in enumerate(face_rects) if j != i)]
                placed.append((off_faces or free)[0])
            else:
                clean = False
                placed.append(min(options, key=lambda r: sum(_overlaps(r, p, gap) for p in placed)))
        best = placed
        if clean:
            return placed
    return best or []
