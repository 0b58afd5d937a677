"""Classroom-like test photos composed from portraits, with the true identity of every face.

Real group photos with labels are rare; these composites put portraits of known people on a
large canvas at back-row to front-row sizes, so accuracy and speed can be measured on photos the
size of a phone's (12 MP) with faces as small as the back of a classroom. Used by the tests, the
benchmarks and the accuracy notebook; nothing here is used to mark attendance.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np

from .faces import detect_faces
from .images import load_image


@dataclass(frozen=True)
class PlacedFace:
    """A portrait pasted into a composite: who it is and its face box (top, right, bottom, left)."""

    identity: str
    box: tuple[int, int, int, int]


def portrait_face(image: np.ndarray) -> tuple[int, int, int, int] | None:
    """The largest face box of a portrait, or None."""
    boxes = detect_faces(image, "hog", min_face_size=max(40, min(image.shape[:2]) // 8), workers=1)
    if len(boxes) == 0:
        return None
    widths = boxes[:, 1] - boxes[:, 3]
    return tuple(int(v) for v in boxes[int(np.argmax(widths))])


def _background(width: int, height: int, rng: np.random.Generator) -> np.ndarray:
    """A wall-and-desks background: smooth colour gradients with low-frequency texture."""
    small = rng.uniform(60, 200, size=(6, 8, 3)).astype(np.float32)
    bg = cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC)
    noise = cv2.resize(rng.normal(0, 12, size=(height // 16 + 1, width // 16 + 1, 3)).astype(np.float32),
                       (width, height), interpolation=cv2.INTER_LINEAR)
    return np.clip(bg + noise, 0, 255).astype(np.uint8)


def make_classroom(
    portraits: Sequence[tuple[str, np.ndarray | str | Path]],
    size: tuple[int, int] = (4000, 3000),
    face_widths: tuple[int, int] = (60, 160),
    seed: int = 0,
) -> tuple[np.ndarray, list[PlacedFace]]:
    """Compose a classroom photo ``(height, width, 3)`` from ``(identity, portrait)`` pairs.

    Faces are laid out in rows, smallest (``face_widths[0]`` px, the back row) at the top to largest
    at the bottom, with random jitter. Portraits whose face is not found are skipped. Returns the
    photo and where each identity's face went.
    """
    rng = np.random.default_rng(seed)
    width, height = size
    canvas = _background(width, height, rng).astype(np.float32)
    items = []
    for identity, portrait in portraits:
        image = portrait if isinstance(portrait, np.ndarray) else load_image(portrait)
        box = portrait_face(image)
        if box is not None:
            items.append((identity, image, box))
    if not items:
        return canvas.astype(np.uint8), []
    n_rows = max(1, int(round(np.sqrt(len(items) * height / width))))
    per_row = int(np.ceil(len(items) / n_rows))
    placed: list[PlacedFace] = []
    order = rng.permutation(len(items))
    lo, hi = face_widths
    for k, idx in enumerate(order):
        identity, image, (top, right, bottom, left) = items[idx]
        row, col = divmod(k, per_row)
        t = row / max(1, n_rows - 1)
        target = lo + (hi - lo) * t if n_rows > 1 else (lo + hi) / 2
        target *= rng.uniform(0.92, 1.08)
        target = float(np.clip(target, lo, hi))
        scale = target / max(1, right - left)
        # Crop the head with some hair and neck around the face box.
        fw, fh = right - left, bottom - top
        cx0, cy0 = max(0, int(left - 0.6 * fw)), max(0, int(top - 0.8 * fh))
        cx1, cy1 = min(image.shape[1], int(right + 0.6 * fw)), min(image.shape[0], int(bottom + 0.6 * fh))
        crop = image[cy0:cy1, cx0:cx1]
        crop = cv2.resize(crop, (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale))),
                          interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
        ch, cw = crop.shape[:2]
        cell_w, cell_h = width / per_row, height / n_rows
        x = int(col * cell_w + (cell_w - cw) / 2 + rng.uniform(-0.15, 0.15) * max(0, cell_w - cw))
        y = int(row * cell_h + (cell_h - ch) / 2 + rng.uniform(-0.15, 0.15) * max(0, cell_h - ch))
        x, y = int(np.clip(x, 0, width - cw)), int(np.clip(y, 0, height - ch))
        # Soft elliptical edge so that the paste leaves no sharp rectangle for the detector.
        yy, xx = np.mgrid[0:ch, 0:cw]
        r = ((xx - cw / 2) / (cw / 2)) ** 2 + ((yy - ch / 2) / (ch / 2)) ** 2
        alpha = np.clip((1.0 - r) / 0.25, 0, 1)[..., None].astype(np.float32)
        region = canvas[y:y + ch, x:x + cw]
        canvas[y:y + ch, x:x + cw] = alpha * crop + (1 - alpha) * region
        fx = lambda v: int(round(v))  # noqa: E731
        placed.append(PlacedFace(identity, (
            fx(y + (top - cy0) * scale), fx(x + (right - cx0) * scale),
            fx(y + (bottom - cy0) * scale), fx(x + (left - cx0) * scale))))
    return canvas.astype(np.uint8), placed


def match_boxes(truth: Sequence[PlacedFace], boxes: np.ndarray, min_overlap: float = 0.3) -> dict[int, int]:
    """Pair detected boxes with true faces by overlap: ``{detected index: truth index}``."""
    pairs: dict[int, int] = {}
    used: set[int] = set()
    for i, (t, r, b, l) in enumerate(np.asarray(boxes).reshape(-1, 4)):
        best, best_iou = None, min_overlap
        for j, pf in enumerate(truth):
            if j in used:
                continue
            T, R, B, L = pf.box
            iw = max(0, min(r, R) - max(l, L))
            ih = max(0, min(b, B) - max(t, T))
            inter = iw * ih
            union = (r - l) * (b - t) + (R - L) * (B - T) - inter
            iou = inter / union if union > 0 else 0.0
            if iou > best_iou:
                best, best_iou = j, iou
        if best is not None:
            pairs[i] = best
            used.add(best)
    return pairs
