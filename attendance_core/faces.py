"""Find faces in a photo (dlib's HOG or CNN detector, with YuNet's and MTCNN's second opinion); each is then
turned into a 128-d encoding by :mod:`encoding`.

Detection is driven by the smallest face to find rather than blind upsampling: the photo is scaled
so that a face of ``min_face_size`` pixels reaches the detector's window, large photos are cut into
overlapping tiles that run in parallel on all cores, and a coarse pass over the whole photo finds
the faces too big for a tile (grid and overlap from a cost model, so that two cores finish together).
Photos whose HOG scan would be large are searched coarse to fine instead: HOG confirms MTCNN's proposals
(:mod:`proposals`). HOG scans grey pixels and confirms its near misses in colour; duplicates are merged.
Models load on first use (never at import) and a missing model is a clear :class:`ModelError`.
"""
from __future__ import annotations

import functools
import math
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from .encoding import REFERENCE_JITTERS, encode_faces
from .models import detector as _detector, model as _model
from .results import DetectedFaces


@dataclass(frozen=True)
class Detector:
    """A face detector. window: width in pixels of the smallest face it finds without scaling the photo
    (HOG finds faces down to about 65 px; the margin keeps recall at the smallest size). tile_side:
    longest side, in detector pixels, of one tile: bounds memory (a 4000-px HOG tile needs about
    125 MB, one per core; the CNN needs far more per pixel)."""

    name: str
    window: int
    tile_side: int
    description: str


#: The detectors, by the name the settings and the command line use; the first is the default.
DETECTORS = {d.name: d for d in (
    Detector("hog", 72, 4500, "fast, on the CPU (default)"),
    Detector("cnn", 45, 1200, "better on turned faces, several times slower"),
)}
DEFAULT_DETECTOR = next(iter(DETECTORS))

#: Under this many detector pixels a photo is searched in one pass: splitting it for more cores
#: would save less than the tiles' overlap and the coarse pass cost.
MIN_TILED_PIXELS = 2_500_000
#: HOG looks at grey pixels; a grey detection scoring between this and 0 is a near miss, confirmed
#: or rejected by colour HOG on a crop around it (grey scores run ~0.1-0.2 below colour ones).
GREY_CANDIDATE_SCORE = -0.5
#: A HOG search costlier than this many detector pixels (a 1080p photo at the default 32 px is 10.5
#: million) is done coarse to fine: see :func:`use_proposals`.
PROPOSAL_MIN_PIXELS = 6_000_000
#: Detector pixels of the coarse HOG pass over the whole photo in a coarse-to-fine search: it finds
#: the faces from the hand-off size up (a 12 MP photo: about 350 px and larger; MTCNN proposes the smaller ones).
COARSE_PIXELS = 500_000
#: A face a little under the coarse pass's hand-off size gets HOG's smallest box, too big (a 114-px face, 146 px:
#: 0.62 from its reference photo instead of 0.37). Coarse boxes under this many hand-offs are found again on a crop.
COARSE_REFINE_BELOW = 1.25
#: Fixed cost of one detector call, in detector pixels (so that needless tiles are not chosen).
_JOB_OVERHEAD = 100_000
#: A face's box, from its 5 landmarks: width in inter-ocular distances (eye centre to eye centre) or in
#: eye-to-nose distances, whichever is larger (a turned head shortens the first, a bowed one the second),
#: and the box centre's offset from the eyes' centre, in box widths. Medians of HOG's boxes on the
#: development set (53 faces: 2.39 and 3.1 distances, offsets 0.037 and 0.242).
BOX_PER_EYE_DISTANCE, BOX_PER_EYE_NOSE, BOX_CENTRE_FROM_EYES = 2.39, 3.1, (0.037, 0.242)
#: Landmark boxes further than this factor from the detector's size keep the detector's box (no face there).
LANDMARK_BOX_RATIO = 2.0
#: A face YuNet found and HOG did not gets a box like HOG's: this many times YuNet's width, centred this far
#: (in box widths) from YuNet's eye centre. Medians of both detectors on the development set (152 faces:
#: 1.07, spread 0.99-1.19; offset 0.035 and 0.26); the landmarks then redraw it as any box (landmark_boxes).
YUNET_BOX_SCALE, YUNET_CENTRE_FROM_EYES = 1.07, (0.035, 0.26)
#: Such a face is kept only when at least this share of its box is inside the photo.
YUNET_MIN_INSIDE = 0.85
#: In a large photo, an MTCNN proposal that HOG does not confirm is still a face from this score up: small
#: faces too blurred for HOG scored 0.93-1.0 on a blurred 12 MP composite, where MTCNN proposed no stray box.
MTCNN_KEEP_SCORE = 0.9
#: Bump when detection or encoding changes, so that cached reference encodings are made again.
DETECTION_VERSION = 6
@dataclass(frozen=True)
class DetectorSettings:
    """How faces are looked for. min_face_size is in pixels of the original photo."""

    model: str = "hog"
    min_face_size: int = 32
    workers: int = 0  # 0 = all cores
    jitters: int = 1

    def key(self) -> str:
        """What cached reference encodings depend on (not the classroom-photo settings above)."""
        return f"landmarks5-resnet_v1-reference_jitters{REFERENCE_JITTERS}-seeded-{DETECTION_VERSION}"


def check_models(model: str = "hog") -> None:
    """Load the models needed for ``model`` now, raising :class:`ModelError` if any is missing, and each
    detection thread's own detector, so that the first photo does not pay for it."""
    for kind in (model, "landmarks", "encoder"):
        _model(kind)
    n = _worker_count(0)
    if n > 1:
        # One task per thread: each waits at the barrier until all have their detector.
        barrier = threading.Barrier(n)
        list(_pool(n).map(lambda _: (_detector(model), barrier.wait(timeout=60)), range(n)))


# --- detection -------------------------------------------------------------------------------


def _detect_plain(image: np.ndarray, model: str, upsample: int = 0,
                  threshold: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Boxes (left, top, right, bottom) and scores of one detector call on a whole RGB (or grey, for HOG) array."""
    if model == "hog":
        rects, scores, _ = _detector("hog").run(image, upsample, threshold)
        boxes = [(r.left(), r.top(), r.right(), r.bottom()) for r in rects]
        scores = list(scores)
    else:
        found = _detector("cnn")(image, upsample)
        boxes = [(d.rect.left(), d.rect.top(), d.rect.right(), d.rect.bottom()) for d in found]
        scores = [d.confidence for d in found]
    return np.asarray(boxes, dtype=np.float64).reshape(-1, 4), np.asarray(scores, dtype=np.float64)


def _scaled(pixels: np.ndarray, tile: tuple[int, int, int, int], scale: float) -> np.ndarray:
    x0, y0, x1, y1 = tile
    crop = pixels[y0:y1, x0:x1]
    if scale != 1.0:
        import cv2

        interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
        crop = cv2.resize(crop, (max(1, round((x1 - x0) * scale)), max(1, round((y1 - y0) * scale))),
                          interpolation=interp)
    return np.ascontiguousarray(crop)


def _confirm_in_colour(image: np.ndarray, box: np.ndarray, scale: float) -> tuple[np.ndarray, float] | None:
    """The face colour HOG finds at ``box`` (left, top, right, bottom), looked for in a small crop around it."""
    left, top, right, bottom = box
    margin = right - left
    tile = (max(0, int(left - margin)), max(0, int(top - margin)),
            min(image.shape[1], int(right + margin) + 1), min(image.shape[0], int(bottom + margin) + 1))
    boxes, scores = _detect_plain(_scaled(image, tile, scale), "hog")
    boxes = boxes / scale + np.array(tile[:2] * 2, dtype=np.float64)
    for b, score in zip(boxes, scores):
        ix = max(0.0, min(b[2], right) - max(b[0], left))
        iy = max(0.0, min(b[3], bottom) - max(b[1], top))
        if ix * iy > 0.5 * min((b[2] - b[0]) * (b[3] - b[1]), (right - left) * (bottom - top)):
            return b, float(score)
    return None


def _detect_job(job):
    """Detect in one tile: crop, scale, detect, map boxes back to photo pixels.

    HOG runs on grey pixels: a third of the gradient work of colour. Grey scores run a little lower
    than colour ones, so near misses (grey score in ``[GREY_CANDIDATE_SCORE, 0)``) are looked at
    again in colour on a small crop, and kept when colour HOG finds the face there.
    """
    image, grey, tile, scale, model = job
    if model != "hog":
        boxes, scores = _detect_plain(_scaled(image, tile, scale), model)
        return boxes / scale + np.array(tile[:2] * 2, dtype=np.float64), scores
    boxes, scores = _detect_plain(_scaled(grey, tile, scale), model, threshold=GREY_CANDIDATE_SCORE)
    boxes = boxes / scale + np.array(tile[:2] * 2, dtype=np.float64)
    keep = scores >= 0
    for i in np.flatnonzero(~keep):
        colour = _confirm_in_colour(image, boxes[i], scale)
        if colour is not None:
            keep[i] = True
            boxes[i], scores[i] = colour
    return boxes[keep], scores[keep]


def _spans(length: int, n: int, overlap: int) -> list[tuple[int, int]] | None:
    """``n`` spans covering ``length`` pixels, neighbours sharing ``overlap`` pixels (None if impossible)."""
    if n == 1:
        return [(0, length)]
    size = math.ceil((length + (n - 1) * overlap) / n)  # as small as n spans allow
    step = size - overlap
    if step <= 0 or size >= length:
        return None
    return [(min(i * step, length - size), min(i * step, length - size) + size) for i in range(n)]


def _makespan(costs: list[float], workers: int) -> float:
    """Time, in cost units, for ``workers`` threads taking the largest job first."""
    loads = [0.0] * max(1, workers)
    for c in sorted(costs, reverse=True):
        loads[loads.index(min(loads))] += c + _JOB_OVERHEAD
    return max(loads)


def plan_detection(width: int, height: int, model: str = "hog", min_face_size: int = 32,
                   workers: int = 1) -> list[tuple[tuple[int, int, int, int], float]]:
    """The detector passes for a photo: a list of ``(tile, scale)`` with tile = (x0, y0, x1, y1).

    The fine pass scales the photo so that a ``min_face_size`` face fills the detector window
    (shrinking it when faces are large). A photo too big for one tile, or big enough to be worth
    splitting across ``workers`` threads, is cut into tiles; faces up to a hand-off size are found
    in the tiles, which overlap by twice that size so that such a face lies inside a tile with
    context around it, and a coarse pass over the whole photo (never upsampled) finds the larger
    ones. Grid and hand-off size are chosen to finish soonest on ``workers`` threads.
    """
    window = DETECTORS[model].window
    scale = window / float(min_face_size)
    side_px = DETECTORS[model].tile_side
    whole = [((0, 0, width, height), scale)]
    fits = max(width, height) * scale <= side_px
    if fits and (workers <= 1 or width * height * scale ** 2 <= MIN_TILED_PIXELS):
        return whole
    best = whole if fits else None
    best_time = _makespan([width * height * scale ** 2], workers) if fits else math.inf
    side = side_px / scale  # longest tile side in photo pixels
    handoffs = sorted({max(window, k * min_face_size) for k in (2, 3, 4, 6, 8)})
    for handoff in handoffs:
        overlap, coarse = 2 * handoff, window / float(handoff)
        if overlap >= side or max(width, height) * coarse > side_px:
            continue
        n_min = [max(1, math.ceil((length - overlap) / (side - overlap))) for length in (width, height)]
        for nx in range(n_min[0], n_min[0] + 4):
            for ny in range(n_min[1], n_min[1] + 4):
                xs, ys = _spans(width, nx, overlap), _spans(height, ny, overlap)
                if xs is None or ys is None or nx * ny == 1:
                    continue
                if max(xs[0][1] - xs[0][0], ys[0][1] - ys[0][0]) * scale > side_px:
                    continue
                tiles = [(x0, y0, x1, y1) for y0, y1 in ys for x0, x1 in xs]
                costs = [(x1 - x0) * (y1 - y0) * scale ** 2 for x0, y0, x1, y1 in tiles]
                costs.append(width * height * coarse ** 2)
                t = _makespan(costs, workers)
                if t < best_time:
                    best_time = t
                    best = [(tile, scale) for tile in tiles] + [((0, 0, width, height), coarse)]
    if best is None:  # a photo too large for any grid considered: fall back to small tiles
        overlap = 2 * max(window, 2 * min_face_size)
        xs = _spans(width, max(1, math.ceil((width - overlap) / (side - overlap))), overlap) or [(0, width)]
        ys = _spans(height, max(1, math.ceil((height - overlap) / (side - overlap))), overlap) or [(0, height)]
        best = [((x0, y0, x1, y1), scale) for y0, y1 in ys for x0, x1 in xs]
        best.append(((0, 0, width, height), window / float(overlap / 2)))
    return best


def _merge(boxes: np.ndarray, scores: np.ndarray, overlap: float = 0.5) -> np.ndarray:
    """Non-maximum suppression: keep the best-scored box of each group of boxes of one face."""
    if len(boxes) == 0:
        return boxes
    order = np.argsort(-scores, kind="stable")
    keep: list[int] = []
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    for i in order:
        duplicate = False
        for j in keep:
            ix = max(0.0, min(boxes[i, 2], boxes[j, 2]) - max(boxes[i, 0], boxes[j, 0]))
            iy = max(0.0, min(boxes[i, 3], boxes[j, 3]) - max(boxes[i, 1], boxes[j, 1]))
            inter = ix * iy
            # Intersection over the smaller box: a box half inside a bigger one is the same face.
            if inter > overlap * min(areas[i], areas[j]):
                duplicate = True
                break
        if not duplicate:
            keep.append(int(i))
    return boxes[sorted(keep, key=lambda k: (boxes[k, 1], boxes[k, 0]))]


@functools.lru_cache(maxsize=4)
def _pool(workers: int) -> ThreadPoolExecutor:
    # dlib releases the GIL while it detects, so threads use every core without copying the photo.
    return ThreadPoolExecutor(max_workers=workers, thread_name_prefix="detect")


def _worker_count(requested: int) -> int:
    return requested if requested > 0 else max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


def _run_jobs(jobs: list, workers: int) -> tuple[np.ndarray, np.ndarray]:
    """Boxes (left, top, right, bottom) and scores of detector jobs, run largest first on ``workers`` threads."""
    jobs = sorted(jobs, key=lambda job: -(job[2][2] - job[2][0]) * (job[2][3] - job[2][1]) * job[3] ** 2)
    n = min(workers, len(jobs))
    results = list(_pool(n).map(_detect_job, jobs)) if n > 1 else [_detect_job(job) for job in jobs]
    boxes = np.concatenate([b for b, _ in results]) if results else np.zeros((0, 4))
    scores = np.concatenate([s for _, s in results]) if results else np.zeros(0)
    return boxes, scores


def use_proposals(width: int, height: int, model: str = "hog", min_face_size: int = 32) -> bool:
    """Whether a photo is searched coarse to fine (HOG only, when a full fine scan would exceed
    :data:`PROPOSAL_MIN_PIXELS` detector pixels and the proposal networks are installed)."""
    from . import proposals

    scale = DETECTORS[model].window / float(min_face_size)
    return model == "hog" and width * height * scale ** 2 > PROPOSAL_MIN_PIXELS and proposals.available()


def _coarse_to_fine(image: np.ndarray, grey: np.ndarray, min_face_size: int, workers: int, second_opinion: bool):
    """Boxes and scores of a coarse HOG pass (faces from the hand-off size up, :data:`COARSE_PIXELS`)
    plus HOG on a small crop around each MTCNN proposal: a face is confirmed only if HOG finds it, with HOG's
    box. With ``second_opinion``, also returns the faces HOG did not confirm: the proposals MTCNN is sure of
    (:data:`MTCNN_KEEP_SCORE`) and YuNet's sure faces, as boxes (left, top, right, bottom) the size of HOG's."""
    from . import proposals

    height, width = image.shape[:2]
    window = DETECTORS["hog"].window
    fine = window / float(min_face_size)
    handoff = max(2.0 * min_face_size, window * math.sqrt(width * height / COARSE_PIXELS))
    coarse_jobs = [(image, grey, (0, 0, width, height), window / handoff, "hog")]
    # The coarse pass runs on a second thread while MTCNN proposes on this one.
    pending = _pool(max(2, workers)).submit(_run_jobs, coarse_jobs, 1) if workers > 1 else None
    # MTCNN's boxes are about 1.2x HOG's (brow to chin: 35-px HOG faces had 41-43 px proposals), so
    # looking from 1.1 x min_face_size up keeps a margin and saves a fifth of the first network's work.
    found, found_scores = proposals.propose_faces(image, 1.1 * min_face_size, handoff / proposals.SIZE_MARGIN)
    yunet = _sure_yunet_faces(image, min_face_size) if second_opinion else np.zeros((0, 4))
    coarse, coarse_scores = pending.result() if pending else _run_jobs(coarse_jobs, 1)
    small = (coarse[:, 2] - coarse[:, 0]) < COARSE_REFINE_BELOW * handoff
    jobs = [_crop_job(image, grey, box, fine) for box in coarse[small]]
    jobs += [_crop_job(image, grey, box, fine) for box in found if not (len(coarse) and _covered(box, coarse))]
    boxes, scores = _run_jobs(jobs, workers)
    # A small coarse face not found again on its crop keeps its coarse box: a found face is not dropped.
    lost = [i for i in np.flatnonzero(small) if not (len(boxes) and _covered(coarse[i], boxes))]
    keep = ~small
    keep[lost] = True
    confirmed = np.concatenate([coarse[keep], boxes])
    sure = [b for b, score in zip(found, found_scores) if second_opinion and score >= MTCNN_KEEP_SCORE
            and (b[2] - b[0]) / 1.2 >= 0.8 * min_face_size and not (len(confirmed) and _covered(b, confirmed))]
    # MTCNN's boxes run brow to chin, about 1.2x HOG's: brought to HOG's size about their centre.
    sure = np.array([[(x0 + x1) / 2 - (x1 - x0) / 2.4, (y0 + y1) / 2 - (y1 - y0) / 2.4,
                      (x0 + x1) / 2 + (x1 - x0) / 2.4, (y0 + y1) / 2 + (y1 - y0) / 2.4] for x0, y0, x1, y1 in sure])
    return confirmed, np.concatenate([coarse_scores[keep], scores]), np.concatenate([yunet, sure.reshape(-1, 4)])


def _crop_job(image: np.ndarray, grey: np.ndarray, box, fine: float):
    """A HOG job on a crop around ``box`` (left, top, right, bottom), the box scaled to ``proposals.CROP_FIT`` px."""
    from . import proposals

    height, width = image.shape[:2]
    x0, y0, x1, y1 = box
    side = max(x1 - x0, y1 - y0)
    pad = proposals.CROP_MARGIN * side
    tile = (max(0, int(x0 - pad)), max(0, int(y0 - pad)),
            min(width, int(x1 + pad) + 1), min(height, int(y1 + pad) + 1))
    return image, grey, tile, min(fine, proposals.CROP_FIT / side), "hog"


def _covered(box, boxes: np.ndarray) -> bool:
    """Whether most of ``box`` (left, top, right, bottom) lies inside one of ``boxes``."""
    ix = np.clip(np.minimum(boxes[:, 2], box[2]) - np.maximum(boxes[:, 0], box[0]), 0, None)
    iy = np.clip(np.minimum(boxes[:, 3], box[3]) - np.maximum(boxes[:, 1], box[1]), 0, None)
    area = min((box[2] - box[0]) * (box[3] - box[1]), 1e9)
    small = np.minimum((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]), area)
    return bool(np.any(ix * iy > 0.5 * small))


@dataclass
class FoundFaces:
    """Where the faces of a photo are: ``boxes`` ``(n, 4)`` (top, right, bottom, left) and, per face, whether
    the detector itself found it (``confirmed``) or only YuNet's second opinion did (a blurred, dark,
    tilted or half-covered face: see :func:`locate_faces`)."""

    boxes: np.ndarray
    confirmed: np.ndarray

    def __len__(self) -> int:
        return len(self.boxes)


def detect_faces(image: np.ndarray, model: str = "hog", min_face_size: int = 32, workers: int = 0,
                 full_scan: bool = False, second_opinion: bool = True) -> np.ndarray:
    """Face boxes ``(n, 4)`` as (top, right, bottom, left) pixel coordinates in ``image``.

    model: a name from :data:`DETECTORS` ("hog", the default, or "cnn"); min_face_size: width in
    pixels of the smallest face to find (smaller finds back rows but costs time); workers: threads
    for tiled photos (0 = all cores); full_scan: HOG over every tile at the fine scale even where
    :func:`use_proposals` would search coarse to fine (slower; for comparison); second_opinion: also
    keep the faces YuNet is sure of that the detector missed (see :func:`locate_faces`; False: the
    detector's faces only, as before, for comparison).
    """
    return locate_faces(image, model, min_face_size, workers, full_scan, second_opinion).boxes


def locate_faces(image: np.ndarray, model: str = "hog", min_face_size: int = 32, workers: int = 0,
                 full_scan: bool = False, second_opinion: bool = True) -> FoundFaces:
    """:func:`detect_faces`, saying which faces the detector confirmed.

    The detector (HOG by default) misses faces that are blurred, dark, tilted or have the mouth covered;
    YuNet (:func:`proposals.yunet_faces`) looks at the whole photo once, on a thread of its own, and the
    faces it is sure of (:data:`proposals.YUNET_KEEP_SCORE`) that the detector did not find are kept too,
    unconfirmed, as are, in a large photo searched coarse to fine, the small faces MTCNN is sure of
    (:data:`MTCNN_KEEP_SCORE`). Every box is then redrawn from the face's landmarks (:func:`landmark_boxes`).
    """
    if model not in DETECTORS:
        raise ValueError(f"unknown detector {model!r}: use {' or '.join(map(repr, DETECTORS))}")
    height, width = image.shape[:2]
    n = _worker_count(workers)
    _model(model)  # load once, before the threads need it
    import cv2  # here, not at import: a dashboard using the shared pool never loads OpenCV

    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY) if model == "hog" and image.ndim == 3 else image
    # YuNet runs on this thread (OpenCV keeps a thread's working memory as long as the thread lives: on a
    # detection thread, 40 MB more stayed after each photo), while the coarse HOG pass runs, or after HOG.
    if not full_scan and use_proposals(width, height, model, min_face_size):
        boxes, scores, extra = _coarse_to_fine(image, grey, min_face_size, n, second_opinion)
    else:
        plan = plan_detection(width, height, model, min_face_size, n)
        boxes, scores = _run_jobs([(image, grey, tile, scale, model) for tile, scale in plan], n)
        extra = _sure_yunet_faces(image, min_face_size) if second_opinion else np.zeros((0, 4))
    del grey
    boxes = _merge(boxes, scores)
    confirmed = np.ones(len(boxes), dtype=bool)
    if len(extra):
        extra = _merge(extra, np.zeros(len(extra)))  # YuNet and MTCNN may both have seen it
        extra = np.array([b for b in extra if not (len(boxes) and _covered(b, boxes))]).reshape(-1, 4)
        if len(extra):
            boxes = np.concatenate([boxes.reshape(-1, 4), extra])
            confirmed = np.concatenate([confirmed, np.zeros(len(extra), dtype=bool)])
            order = np.lexsort((boxes[:, 0], boxes[:, 1]))  # top to bottom, then left to right, as _merge
            boxes, confirmed = boxes[order], confirmed[order]
    if len(boxes) == 0:
        return FoundFaces(np.zeros((0, 4), dtype=np.int64), np.zeros(0, dtype=bool))
    left, top, right, bottom = boxes.T
    css = np.stack([top, right, bottom, left], axis=1).round()
    css = np.clip(css, 0, [height - 1, width - 1, height - 1, width - 1])
    return FoundFaces(landmark_boxes(image, css.astype(np.int64)), confirmed)


def _sure_yunet_faces(image: np.ndarray, min_face_size: int) -> np.ndarray:
    """The faces YuNet is sure of (score from :data:`proposals.YUNET_KEEP_SCORE`), as HOG-like boxes (left, top,
    right, bottom) drawn from YuNet's eyes and width (see :data:`YUNET_BOX_SCALE`)."""
    from . import proposals

    boxes, scores, marks = proposals.yunet_faces(image, min_face_size)
    # Sure, and not smaller than the smallest face asked for (with the margin HOG's own boxes have).
    sure = (scores >= proposals.YUNET_KEEP_SCORE) & (YUNET_BOX_SCALE * (boxes[:, 2] - boxes[:, 0]) >= 0.8 * min_face_size)
    side = YUNET_BOX_SCALE * (boxes[sure, 2] - boxes[sure, 0])
    eyes = marks[sure, 0:2].mean(axis=1)
    cx = eyes[:, 0] + YUNET_CENTRE_FROM_EYES[0] * side
    cy = eyes[:, 1] + YUNET_CENTRE_FROM_EYES[1] * side
    out = np.column_stack([cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2])
    # A face cut by the photo's edge (a neighbour half in the picture) cannot be recognised: left out.
    height, width = image.shape[:2]
    inside = (np.clip(out[:, 2], 0, width) - np.clip(out[:, 0], 0, width)) * \
             (np.clip(out[:, 3], 0, height) - np.clip(out[:, 1], 0, height))
    return out[inside >= YUNET_MIN_INSIDE * side ** 2]


def landmark_boxes(image: np.ndarray, boxes: np.ndarray, rounds: int = 2) -> np.ndarray:
    """Each detector box ``(top, right, bottom, left)`` replaced by one drawn from the face's own 5 landmarks.

    Why: HOG scores a face at several sizes of its image pyramid (steps of 1.2x) and keeps the best; when
    two sizes score almost alike, which wins depends on the last bits of floating-point arithmetic, so
    another build of dlib, another CPU or another crop of the photo could pick a box 1.2-1.4x larger, and
    the encoding moves with it. The landmarks found in either box agree, and a box drawn from them
    (:data:`BOX_PER_EYE_DISTANCE`) does not depend on which size won. ``rounds``: landmarks, box,
    landmarks again (one round settles within a pixel). A box whose landmarks make no face-sized box keeps
    the detector's box.
    """
    import dlib

    boxes = np.asarray(boxes, dtype=np.int64).reshape(-1, 4)
    if len(boxes) == 0:
        return boxes
    predictor = _model("landmarks")
    height, width = image.shape[:2]
    out = boxes.copy()
    for i, detected in enumerate(boxes):
        box = detected.astype(np.float64)
        for _ in range(rounds):
            top, right, bottom, left = np.round(box).astype(int)
            shape = predictor(image, dlib.rectangle(int(left), int(top), int(right), int(bottom)))
            p = np.array([(shape.part(k).x, shape.part(k).y) for k in range(5)], dtype=np.float64)
            # 5-point model: 0-1 one eye's corners, 2-3 the other's, 4 below the nose.
            eye_a, eye_b, eyes = p[0:2].mean(axis=0), p[2:4].mean(axis=0), p[0:4].mean(axis=0)
            side = max(BOX_PER_EYE_DISTANCE * np.linalg.norm(eye_a - eye_b),
                       BOX_PER_EYE_NOSE * np.linalg.norm(p[4] - eyes))
            cx, cy = eyes + side * np.array(BOX_CENTRE_FROM_EYES)
            box = np.array([cy - side / 2, cx + side / 2, cy + side / 2, cx - side / 2])
        detected_side = detected[1] - detected[3]
        if detected_side > 0 and 1 / LANDMARK_BOX_RATIO <= side / detected_side <= LANDMARK_BOX_RATIO:
            out[i] = np.clip(np.round(box), 0, [height - 1, width - 1, height - 1, width - 1]).astype(np.int64)
    return out


def release_memory() -> None:
    """Give freed native memory back to the system: the proposal networks' working memory, then glibc's
    ``malloc_trim`` (glibc keeps freed pages: 195 MB of 581 MB came back only after ``malloc_trim(0)``)."""
    from . import proposals

    proposals.release()
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def find_faces(image: np.ndarray, settings: DetectorSettings = DetectorSettings()) -> DetectedFaces:
    """Detect and encode every face of an RGB photo."""
    boxes = detect_faces(image, settings.model, settings.min_face_size, settings.workers)
    return DetectedFaces(boxes, encode_faces(image, boxes, settings.jitters))
