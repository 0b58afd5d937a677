"""Benchmark inputs made at run time from the demo class and the labelled development set.

Nothing here is committed but code: the roster folder, the classroom composites and their ground
truth are written to a scratch folder for each run, from ``known_faces/`` + ``sample_images/``
(the demo class) and ``$ATTENDANCE_DEVDATA`` (default ``../shared/devdata``) when present.
"""
from __future__ import annotations

import csv
import json
import os
import shutil
from collections import defaultdict
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]

#: Demo people whose classroom portrait comes from a sample photo (never one of their reference photos).
#: The second value picks the face in a photo of several people by its rank from the left.
DEMO_PORTRAITS = {
    "Barack_Obama": ("obama1.jpg", None),
    "Alex_Lacamoire": ("alex_lacamoire1.jpg", None),
    "Kit_Harington": ("johnsnow_test1.jpg", None),
    "Joe_Biden": ("obama_and_biden.jpg", "Joe_Biden"),
    "Rose_Leslie": ("kit_with_rose.jpg", "Rose_Leslie"),
}
#: Reference photos per development-set person in the benchmark roster.
DEV_REFERENCES = 2


def devdata_dir() -> Path | None:
    d = Path(os.environ.get("ATTENDANCE_DEVDATA", REPO.parent / "shared" / "devdata"))
    return d if (d / "labels.csv").is_file() else None


def _dev_people() -> dict[str, list[Path]]:
    d = devdata_dir()
    people: dict[str, list[Path]] = defaultdict(list)
    if d is None:
        return people
    with open(d / "labels.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            people[row["identity"]].append(d / row["path"])
    return {k: sorted(v) for k, v in sorted(people.items())}


def build_roster(dest: Path) -> dict[str, list[Path]]:
    """Write the benchmark class roster to ``dest`` and return the photos left for classroom portraits.

    Demo students keep their ``known_faces/`` entries; each development-set person becomes a
    ``Name/`` folder with their first ``DEV_REFERENCES`` photos. Returns ``{student id: [spare photo paths]}``.
    """
    known = REPO / "known_faces"
    if not known.is_dir() or not [p for p in known.iterdir() if p.name != "README.md"]:
        raise SystemExit("the demo class is missing: run `attendance samples` (or `make samples`) first")
    dest.mkdir(parents=True, exist_ok=True)
    spare: dict[str, list[Path]] = {}
    for entry in sorted(known.iterdir()):
        if entry.name.startswith(".") or entry.name == "README.md":
            continue
        target = dest / entry.name
        if entry.is_dir():
            shutil.copytree(entry, target, dirs_exist_ok=True)
        else:
            shutil.copy2(entry, target)
        sid = entry.stem
        if sid in DEMO_PORTRAITS:
            spare[sid] = [REPO / "sample_images" / DEMO_PORTRAITS[sid][0]]
    for sid, photos in _dev_people().items():
        (dest / sid).mkdir(exist_ok=True)
        for p in photos[:DEV_REFERENCES]:
            shutil.copy2(p, dest / sid / p.name)
        spare[sid] = photos[DEV_REFERENCES:]
    return spare


def _pick_face(image: np.ndarray, student: str, roster_dir: Path) -> np.ndarray:
    """Crop the face of ``student`` out of a photo of several people (the face nearest their references)."""
    from attendance_core.encoding import encode_faces
    from attendance_core.faces import detect_faces
    from attendance_core.images import load_image
    from attendance_core.matching import face_distances

    refs = [load_image(p) for p in sorted((roster_dir / student).iterdir())] if (roster_dir / student).is_dir() \
        else [load_image(next(roster_dir.glob(student + ".*")))]
    ref_enc = np.concatenate([encode_faces(r, detect_faces(r, min_face_size=max(40, min(r.shape[:2]) // 10), workers=1)[:1])
                              for r in refs])
    boxes = detect_faces(image, min_face_size=40, workers=1)
    d = face_distances(encode_faces(image, boxes), ref_enc).min(axis=1)
    top, right, bottom, left = boxes[int(np.argmin(d))]
    w, h = right - left, bottom - top
    y0, y1 = max(0, int(top - 1.2 * h)), min(image.shape[0], int(bottom + 1.0 * h))
    x0, x1 = max(0, int(left - 1.0 * w)), min(image.shape[1], int(right + 1.0 * w))
    return np.ascontiguousarray(image[y0:y1, x0:x1])


def classroom_portraits(spare: dict[str, list[Path]], roster_dir: Path, n_faces: int, seed: int = 0,
                        skip: int = 0):
    """``(identity, RGB portrait)`` for ``n_faces`` faces: every student once, then second photos of some.

    The development set and the demo class hold 20 people; a 25-30 face photo therefore shows some
    of them twice (with a different photo). Attendance recall counts each student once.
    skip: leave out the first ``skip`` photos of that order (those another composite used), so
    that a hold-out photo is made of portraits no other benchmark photo shows.
    """
    from attendance_core.images import load_image

    rng = np.random.default_rng(seed)
    first, extra = [], []
    for sid, photos in spare.items():
        if not photos:
            continue
        for k, p in enumerate(photos):
            (first if k == 0 else extra).append((sid, p))
    order = list(first) + [extra[i] for i in rng.permutation(len(extra))]
    portraits = []
    for sid, path in order[skip:skip + n_faces]:
        image = load_image(path)
        pick = DEMO_PORTRAITS.get(sid, (None, None))[1]
        if pick:
            image = _pick_face(image, pick, roster_dir)
        portraits.append((sid, image))
    return portraits


def write_classroom(path: Path, portraits, size: tuple[int, int], face_widths: tuple[int, int], seed: int = 0) -> dict:
    """Compose a classroom photo, save it as a phone-quality JPEG, and return its ground truth."""
    from attendance_core.synthetic import make_classroom

    image, placed = make_classroom(portraits, size=size, face_widths=face_widths, seed=seed)
    cv2.imwrite(str(path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 90])
    truth = {"photo": str(path), "size": list(size), "face_widths": list(face_widths),
             "faces": [{"identity": f.identity, "box": list(f.box)} for f in placed]}
    path.with_suffix(".json").write_text(json.dumps(truth))
    return truth
