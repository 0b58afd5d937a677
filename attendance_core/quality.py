"""How good a view of each face a photo gives: sharpness, light and size, measured beside detection.

A plain measurement of the pixels in each face's box, made where the photo is analysed (in process or
on the pool's workers), so that the photo itself need not travel or be kept. What a reading means for
the teacher ("too blurred to recognise: take another photo") is the results vocabulary's
(:class:`results.FaceQuality`), so that the command line, the dashboard and the notebooks say the same.

- *sharpness*: the energy of the face's fine detail against its contrast (variance of the Laplacian over
  the variance of the grey levels) on the face scaled to :data:`SIDE` pixels. Blur relative to the face's
  size is what the encoder suffers from (it sees every face as a 150-px chip), so the face is scaled
  first; dividing by the contrast keeps a dim but sharp face sharp.
- *light*: the face's median grey level (0-255) before any brightening.
- *size*: the face's width in pixels of the photo;
- whether the face detector itself found the face, or only YuNet's second opinion did (:func:`faces.locate_faces`).
"""
from __future__ import annotations

import numpy as np

from .results import FaceQuality

#: Side, in pixels, the inner face is scaled to before its sharpness is read.
SIDE = 64
#: The inner face: the box shrunk by this share of its side on every edge (hair and background left out).
INNER = 0.15


def face_quality(image: np.ndarray, boxes: np.ndarray, confirmed: np.ndarray | None = None) -> list[FaceQuality]:
    """One :class:`FaceQuality` per face box ``(n, 4)`` (top, right, bottom, left) of an RGB photo; confirmed:
    per face, whether the face detector found it (default: all)."""
    import cv2

    boxes = np.asarray(boxes).reshape(-1, 4)
    confirmed = np.ones(len(boxes), dtype=bool) if confirmed is None else np.asarray(confirmed, dtype=bool)
    out = []
    height, width = image.shape[:2]
    for (top, right, bottom, left), seen in zip(boxes, confirmed):
        side = max(1, int(right) - int(left))
        m = int(round(INNER * side))
        y0, y1 = max(0, int(top) + m), min(height, int(bottom) - m)
        x0, x1 = max(0, int(left) + m), min(width, int(right) - m)
        if y1 - y0 < 4 or x1 - x0 < 4:
            out.append(FaceQuality(0.0, 0.0, side, bool(seen)))
            continue
        crop = image[y0:y1, x0:x1]
        grey = cv2.cvtColor(np.ascontiguousarray(crop), cv2.COLOR_RGB2GRAY) if crop.ndim == 3 else crop
        light = float(np.median(grey))
        interp = cv2.INTER_AREA if grey.shape[1] > SIDE else cv2.INTER_CUBIC
        small = cv2.resize(grey, (SIDE, SIDE), interpolation=interp).astype(np.float32)
        contrast = float(small.var())
        detail = float(cv2.Laplacian(small, cv2.CV_32F, ksize=3).var())
        out.append(FaceQuality(round(detail / contrast, 4) if contrast > 1.0 else 0.0, round(light, 1), side,
                               bool(seen)))
    return out
