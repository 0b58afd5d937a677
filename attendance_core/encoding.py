"""Turn each face of a photo into dlib's 128-number encoding (face_recognition's ResNet model).

The encoder sees every face as a 150-px chip aligned by its five landmarks; two encodings a small distance
apart are the same person (:mod:`matching`). Models load on first use (:mod:`models`).
"""
from __future__ import annotations

import numpy as np

from .models import model as _model
from .results import ENCODING_SIZE

#: Reference photos are encoded once, then cached, averaging this many jittered copies: it raised
#: attendance recall at tolerance 0.6 on 12 MP classroom composites from 0.983 to 0.989-1.0
#: (README, "How the tolerance was chosen").
REFERENCE_JITTERS = 10
#: Faces encoded per call of dlib's network (see encode_faces).
ENCODE_BATCH = 8


def _jittered_chips(chip: np.ndarray, count: int, rng: np.random.Generator) -> list[np.ndarray]:
    """``count`` moved copies of an aligned 150x150 face chip, as dlib's jitter makes them (rotation within 3
    degrees, scale 3 %, shift 2 %, mirrored half the time), seeded: dlib's jitter draws from one process-wide
    random state, so a photo's encoding would depend on what was encoded before it."""
    import cv2

    size = chip.shape[0]
    out = []
    for _ in range(count):
        angle = rng.uniform(-3.0, 3.0)
        scale = rng.uniform(0.97, 1.03)
        shift = rng.uniform(-0.02, 0.02, size=2) * size
        m = cv2.getRotationMatrix2D((size / 2, size / 2), angle, scale)
        m[:, 2] += shift
        moved = cv2.warpAffine(chip, m, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        out.append(np.ascontiguousarray(moved[:, ::-1] if rng.random() < 0.5 else moved))
    return out


def encode_faces(image: np.ndarray, boxes: np.ndarray, jitters: int = 1) -> np.ndarray:
    """128-d encodings ``(n, 128)`` of the faces at ``boxes`` (top, right, bottom, left), in one batch.

    jitters: how many slightly moved copies of each face to average (1 = none; 10 is ~10x slower and
    more robust, used for reference photos). The same face always gets the same encoding.
    """
    import dlib

    boxes = np.asarray(boxes).reshape(-1, 4)
    if len(boxes) == 0:
        return np.zeros((0, ENCODING_SIZE))
    predictor = _model("landmarks")
    shapes = dlib.full_object_detections()
    for top, right, bottom, left in boxes:
        shapes.append(predictor(image, dlib.rectangle(int(left), int(top), int(right), int(bottom))))
    encoder = _model("encoder")
    if jitters <= 1:
        # In batches: dlib's network keeps working memory for its largest batch (a 28-face batch left
        # 62 MB in the process, batches of 8 left 32 MB) and takes no less time per face for larger ones.
        descriptors = []
        for k in range(0, len(shapes), ENCODE_BATCH):
            batch = dlib.full_object_detections()
            for shape in list(shapes)[k:k + ENCODE_BATCH]:
                batch.append(shape)
            descriptors.extend(encoder.compute_face_descriptor(image, batch, 0))
        return np.array([np.array(d) for d in descriptors], dtype=np.float64).reshape(-1, ENCODING_SIZE)
    out = np.zeros((len(boxes), ENCODING_SIZE))
    for i, chip in enumerate(dlib.get_face_chips(image, shapes, size=150, padding=0.25)):
        chips = [np.asarray(chip)] + _jittered_chips(np.asarray(chip), int(jitters) - 1, np.random.default_rng(0))
        out[i] = np.mean([np.array(d) for d in encoder.compute_face_descriptor(chips, 0)], axis=0)
    return out
