"""A crowded class for the review and phone tests: a roster of about 20 students and a 12-megapixel
composite of their faces with one stranger matched just inside the tolerance.

Built at test time from the labelled development set and the demo class (nothing is committed).
The tolerance is set just above the stranger's distance, so that the decision rules' check band
(``check_band``) flags the match.
"""
from __future__ import annotations

import csv
import dataclasses
import shutil
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from attendance_core.encoding import encode_faces
from attendance_core.faces import DetectorSettings, detect_faces
from attendance_core.images import load_image
from attendance_core.matching import student_distances
from attendance_core.roster import load_roster
from attendance_core.synthetic import make_classroom

#: The composite's size: a 12-megapixel phone photo.
SIZE = (4000, 3000)
#: Demo students and the sample photo (and face, for a photo of several) their classroom face comes from.
DEMO_FACES = {"Barack_Obama": "obama1.jpg", "Alex_Lacamoire": "alex_lacamoire1.jpg", "Kit_Harington": "johnsnow_test1.jpg",
              "Joe_Biden": "obama_and_biden.jpg", "Rose_Leslie": "kit_with_rose.jpg"}

LIN = "lin-manuel-miranda.png"


@dataclass
class Crowd:
    roster_dir: Path
    photo: Path
    stranger: str
    nearest: str  # the student the stranger is matched to (absent from the photo)
    distance: float
    tolerance: float
    faces: int


def _people(devdata: Path) -> dict[str, list[Path]]:
    people: dict[str, list[Path]] = {}
    with open(devdata / "labels.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            people.setdefault(row["identity"], []).append(devdata / row["path"])
    return {k: sorted(v) for k, v in sorted(people.items())}


def _crop_face(image: np.ndarray, box) -> np.ndarray:
    top, right, bottom, left = (int(v) for v in box)
    w, h = right - left, bottom - top
    y0, y1 = max(0, top - int(1.2 * h)), min(image.shape[0], bottom + h)
    x0, x1 = max(0, left - w), min(image.shape[1], right + w)
    return np.ascontiguousarray(image[y0:y1, x0:x1])


def _encode_all(image: np.ndarray):
    boxes = detect_faces(image, min_face_size=40, workers=1)
    return boxes, encode_faces(image, boxes)


def build_crowd(devdata: Path, known_faces: Path, samples: Path, dest: Path, cache_dir: Path) -> Crowd:
    """Write the roster folder and the composite under ``dest``; the stranger's nearest student is left
    out of the photo, so that "not this student" makes that student absent."""
    people = _people(devdata)
    roster_dir = dest / "known_faces"
    shutil.copytree(known_faces, roster_dir, ignore=shutil.ignore_patterns("README.md"))
    shutil.copy(samples / LIN, roster_dir / "Lin-Manuel_Miranda.png")
    for sid, photos in people.items():
        (roster_dir / sid).mkdir()
        for p in photos[:2]:
            shutil.copy(p, roster_dir / sid / p.name)
    roster = load_roster(roster_dir, DetectorSettings(), cache_dir)
    # The stranger: the person whose nearest student (over the others' references) is clearest of the
    # runner-up, so that the match is a check and not ambiguous.
    best = None
    for candidate, photos in people.items():
        image = load_image(photos[5])
        boxes, enc = _encode_all(image)
        if len(enc) != 1:
            continue
        d = student_distances(enc, roster.reference_encodings, roster.owners, len(roster))[0]
        d[roster.index(candidate)] = np.inf
        order = np.argsort(d)
        gap = d[order[1]] - d[order[0]]
        if best is None or gap > best[0]:
            best = (gap, candidate, roster.students[order[0]].id, float(d[order[0]]), image)
    _, stranger, nearest, distance, stranger_image = best
    shutil.rmtree(roster_dir / stranger)
    portraits = [("stranger", stranger_image)]
    for sid, photos in people.items():
        if sid not in (stranger, nearest):
            portraits.append((sid, load_image(photos[5])))
    for sid, name in DEMO_FACES.items():
        if sid == nearest:
            continue
        image = load_image(samples / name)
        boxes, enc = _encode_all(image)
        refs = roster.student(sid).encodings
        k = int(np.argmin(np.linalg.norm(enc[:, None, :] - refs[None], axis=2).min(axis=1)))
        portraits.append((sid, _crop_face(image, boxes[k])))
    # Lin-Manuel Miranda has one photo: the classroom face is its mirror image.
    portraits.append(("Lin-Manuel_Miranda", np.ascontiguousarray(load_image(samples / LIN)[:, ::-1])))
    composite, placed = make_classroom(portraits, size=SIZE, face_widths=(70, 170), seed=3)
    photo = dest / "class_photo_12mp.jpg"
    cv2.imwrite(str(photo), cv2.cvtColor(composite, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 90])
    return Crowd(roster_dir, photo, stranger, nearest, distance, round(distance + 0.01, 2), len(placed))


def build_thirty(devdata: Path, dest: Path) -> Path:
    """An 8-megapixel composite of 30 faces (some people twice) for the label-overlap checks."""
    photos = [p for ps in _people(devdata).values() for p in ps[3:5]][:30]
    portraits = [(p.parent.name, load_image(p)) for p in photos]
    composite, placed = make_classroom(portraits, size=(3300, 2400), face_widths=(50, 110), seed=11)
    path = dest / "thirty_faces.jpg"
    cv2.imwrite(str(path), cv2.cvtColor(composite, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 90])
    return path


def shared_crowd(devdata: Path, known_faces: Path, samples: Path, tmp_path_factory) -> tuple[Crowd, Path]:
    """The crowd of this test run, built once and shared by the test modules; returns it and its cache."""
    import json

    base = tmp_path_factory.getbasetemp() / "crowd"
    cache = base / "cache"
    saved = base / "crowd.json"
    if saved.is_file():
        data = json.loads(saved.read_text())
        return Crowd(**{**data, "roster_dir": Path(data["roster_dir"]), "photo": Path(data["photo"])}), cache
    base.mkdir(parents=True, exist_ok=True)
    crowd = build_crowd(devdata, known_faces, samples, base, cache)
    saved.write_text(json.dumps({**dataclasses.asdict(crowd), "roster_dir": str(crowd.roster_dir),
                                 "photo": str(crowd.photo)}))
    return crowd, cache
