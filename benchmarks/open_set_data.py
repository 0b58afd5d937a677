"""The faces of the open-set benchmark, detected and encoded once and cached (see bench_open_set.py).

Three sources, every face with its true identity:

- *native*: every photo of the labelled development set, encoded as a classroom face (and, apart,
  as a reference photo, for the rosters of the folds);
- *demo*: the demo class's sample photos (``sample_images/``), whole, through detection; Lin-Manuel
  Miranda is a stranger to it;
- *composites*: classroom photos composed (attendance_core.synthetic) from the development set's
  photos and the demo sample portraits at three bands of face width, through the product's detector.

Small faces are also encoded two surer ways: with 10 jittered copies, and upscaled to 100 px before
encoding, so that the decision sweeps can compare them without encoding again.
Everything lands in ``benchmarks/cache/open_set/faces.npz``; the photos themselves are never written.
"""
from __future__ import annotations

import csv
import os
import sys
import time
from collections import defaultdict
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from attendance_core import evaluation as ev  # noqa: E402
from attendance_core.encoding import encode_faces  # noqa: E402
from attendance_core.faces import locate_faces  # noqa: E402
from attendance_core.quality import face_quality  # noqa: E402
from attendance_core.results import DetectedFaces  # noqa: E402
from attendance_core.images import load_image  # noqa: E402
from attendance_core.roster import load_roster  # noqa: E402
from attendance_core.synthetic import make_classroom, match_boxes  # noqa: E402

CACHE = REPO / "benchmarks" / "cache" / "open_set"
#: Bump when what is cached changes (2: YuNet's second opinion and each face's quality reading, issue 27).
VERSION = 2
STRANGER = "Lin_Manuel_Miranda"
#: Face-width bands of the composites (px) and their canvas (width, height).
BANDS = [((30, 45), (1600, 1200)), ((50, 75), (2000, 1500)), ((90, 140), (2800, 2100))]
#: Faces narrower than this are also encoded the surer ways.
SMALL_FACE = 80
UPSCALE_TO = 100
#: Sample photos and who is in them (several names: matched among those names only).
DEMO_PHOTOS = {
    "two_people.jpg": ["Barack_Obama", "Joe_Biden"],
    "obama_and_biden.jpg": ["Barack_Obama", "Joe_Biden"],
    "kit_with_rose.jpg": ["Kit_Harington", "Rose_Leslie"],
    "alex_lacamoire1.jpg": ["Alex_Lacamoire"],
    "alex-lacamoire.png": ["Alex_Lacamoire"],
    "johnsnow_test1.jpg": ["Kit_Harington"],
    "obama1.jpg": ["Barack_Obama"],
    "obama-240p.jpg": ["Barack_Obama"],
    "obama-480p.jpg": ["Barack_Obama"],
    "obama-720p.jpg": ["Barack_Obama"],
    "obama-1080p.jpg": ["Barack_Obama"],
    "obama_small.jpg": ["Barack_Obama"],
    "lin-manuel-miranda.png": [STRANGER],
}
#: Single-face sample photos used as classroom portraits in the composites.
DEMO_PORTRAITS = {
    "Barack_Obama": ["obama1.jpg", "obama-720p.jpg"],
    "Alex_Lacamoire": ["alex_lacamoire1.jpg", "alex-lacamoire.png"],
    "Kit_Harington": ["johnsnow_test1.jpg"],
    STRANGER: ["lin-manuel-miranda.png"],
}


def devdata() -> Path:
    d = Path(os.environ.get("ATTENDANCE_DEVDATA", REPO.parent / "shared" / "devdata"))
    if not (d / "labels.csv").is_file():
        raise SystemExit(f"the labelled development set is missing ({d}); set ATTENDANCE_DEVDATA")
    return d


def dev_people() -> dict[str, list[Path]]:
    d = devdata()
    people: dict[str, list[Path]] = defaultdict(list)
    with open(d / "labels.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            people[row["identity"]].append(d / row["path"])
    return {k: sorted(v) for k, v in sorted(people.items())}


def surer_encodings(image: np.ndarray, boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(jittered, upscaled)`` encodings of small faces (faces of SMALL_FACE px or more: NaN rows)."""
    boxes = np.asarray(boxes).reshape(-1, 4)
    jit = np.full((len(boxes), 128), np.nan)
    up = np.full((len(boxes), 128), np.nan)
    for i, (top, right, bottom, left) in enumerate(boxes):
        w = right - left
        if w >= SMALL_FACE:
            continue
        jit[i] = encode_faces(image, boxes[i:i + 1], jitters=10)[0]
        # A crop with room for the landmarks, enlarged so that the face is UPSCALE_TO px wide.
        m = int(w * 0.6)
        y0, x0 = max(0, top - m), max(0, left - m)
        crop = image[y0:min(image.shape[0], bottom + m), x0:min(image.shape[1], right + m)]
        s = UPSCALE_TO / max(1, w)
        big = cv2.resize(crop, (round(crop.shape[1] * s), round(crop.shape[0] * s)), interpolation=cv2.INTER_CUBIC)
        box = np.array([[(top - y0) * s, (right - x0) * s, (bottom - y0) * s, (left - x0) * s]]).round().astype(int)
        up[i] = encode_faces(np.ascontiguousarray(big), box)[0]
    return jit, up


class Table:
    """Rows of faces, built up and saved as arrays."""

    def __init__(self):
        self.rows: dict[str, list] = defaultdict(list)

    def add(self, **row):
        for k, v in row.items():
            self.rows[k].append(v)

    def arrays(self) -> dict[str, np.ndarray]:
        out = {}
        for k, v in self.rows.items():
            out[k] = np.stack(v) if isinstance(v[0], np.ndarray) else np.asarray(v)
        return out


def find_faces(image: np.ndarray) -> tuple[DetectedFaces, list]:
    """The faces of a classroom photo as a session's photo is analysed: boxes, encodings and quality readings."""
    found = locate_faces(image, workers=1)
    return DetectedFaces(found.boxes, encode_faces(image, found.boxes)), face_quality(image, found.boxes, found.confirmed)


def _add_faces(table: Table, image, faces, truth: list[str], source: list[str], kind: str, photo: str,
               session: str, band: int, quality: list):
    jit, up = surer_encodings(image, faces.boxes)
    for i in range(len(faces)):
        top, right, bottom, left = faces.boxes[i]
        q = quality[i]
        table.add(encoding=faces.encodings[i], jittered=jit[i], upscaled=up[i], identity=truth[i],
                  source=source[i], kind=kind, photo=photo, session=session, band=band,
                  width=int(right - left), sharpness=q.sharpness, light=q.light, confirmed=q.confirmed)


def build(log=print) -> dict[str, np.ndarray]:
    """Detect and encode every face of the benchmark (minutes); returns the arrays saved to the cache."""
    CACHE.mkdir(parents=True, exist_ok=True)
    people = dev_people()
    start = time.perf_counter()
    # Development-set photos: as references (roster style) and as classroom faces (session style).
    faces = ev.load_labelled_faces(devdata(), cache_dir=CACHE)
    log(f"development set: {len(faces)} photos encoded ({time.perf_counter() - start:.0f} s); {len(faces.problems)} left out")
    table = Table()
    for i in range(len(faces)):
        q, = face_quality(load_image(faces.paths[i]), faces.boxes[i:i + 1])
        table.add(encoding=faces.probe_encodings[i], jittered=np.full(128, np.nan), upscaled=np.full(128, np.nan),
                  identity=faces.identities[i], source=str(faces.paths[i]), kind="native",
                  photo=str(faces.paths[i]), session=str(faces.paths[i]), band=0,
                  width=int(faces.boxes[i][1] - faces.boxes[i][3]), sharpness=q.sharpness, light=q.light,
                  confirmed=True)
    demo_roster = load_roster(REPO / "known_faces", cache_dir=CACHE)
    samples = REPO / "sample_images"
    for name, who in DEMO_PHOTOS.items():
        image = load_image(samples / name)
        found, quality = find_faces(image)
        truth = [""] * len(found)
        if who == [STRANGER]:
            truth = [STRANGER] * len(found)
        elif len(found):
            from scipy.optimize import linear_sum_assignment

            cols = [demo_roster.index(s) for s in who]
            from attendance_core.matching import student_distances

            d = student_distances(found.encodings, demo_roster.reference_encodings, demo_roster.owners, len(demo_roster))[:, cols]
            for r, c in zip(*linear_sum_assignment(d)):
                truth[r] = who[c]
        _add_faces(table, image, found, truth, [str(samples / name)] * len(found), "demo", name, name, 0, quality)
    log(f"demo class: {len(DEMO_PHOTOS)} sample photos ({time.perf_counter() - start:.0f} s)")
    # Composites: composite k of each band holds photo k (shifted by the band) of every person.
    n = max(len(v) for v in people.values())
    portraits_of = {**{p: paths for p, paths in people.items()},
                    **{p: [samples / f for f in files] for p, files in DEMO_PORTRAITS.items()}}
    for b, ((lo, hi), size) in enumerate(BANDS):
        for k in range(n):
            chosen = [(p, paths[(k + b) % len(paths)]) for p, paths in portraits_of.items()
                      if k < len(paths) or p in DEMO_PORTRAITS]
            portraits = [(p, load_image(path)) for p, path in chosen]
            image, placed = make_classroom(portraits, size, (lo, hi), seed=1000 * b + k)
            found, quality = find_faces(image)
            pairs = match_boxes(placed, found.boxes)
            src = {p: str(path) for p, path in chosen}
            truth = [placed[pairs[i]].identity if i in pairs else "" for i in range(len(found))]
            _add_faces(table, image, found, truth, [src.get(t, "") for t in truth], "composite",
                       f"band{b}-{k}", f"composite-{k}", b + 1, quality)
            log(f"  composite band {lo}-{hi} px #{k}: {len(placed)} placed, {len(found)} found, "
                f"{len(placed) - len(pairs)} missed ({time.perf_counter() - start:.0f} s)")
    arrays = table.arrays()
    refs = dict(ref_encoding=faces.encodings, ref_identity=np.asarray(faces.identities),
                ref_path=np.asarray([str(p) for p in faces.paths]))
    demo_refs = dict(demo_ref_encoding=demo_roster.reference_encodings,
                     demo_ref_owner=np.asarray([demo_roster.students[o].id for o in demo_roster.owners]))
    out = {**arrays, **refs, **demo_refs, "version": np.asarray(VERSION)}
    np.savez_compressed(CACHE / "faces.npz", **out)
    log(f"saved {CACHE / 'faces.npz'}: {len(arrays['identity'])} faces ({time.perf_counter() - start:.0f} s)")
    return out


def load(rebuild: bool = False, log=print) -> dict[str, np.ndarray]:
    """The cached faces, built first when missing, stale or ``rebuild``."""
    path = CACHE / "faces.npz"
    if path.is_file() and not rebuild:
        data = dict(np.load(path, allow_pickle=False))
        if int(data.get("version", -1)) == VERSION:
            return data
    return build(log)


if __name__ == "__main__":
    load(rebuild="--rebuild" in sys.argv)
