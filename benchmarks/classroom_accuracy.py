"""Attendance accuracy on 12-megapixel classroom photos, run as a new user would run the CLI.

Builds a roster from the labelled dev set (first photo of each person) and the demo class, composes
a dozen 4000x3000 classroom photos from *other* photos of them (faces 35-160 px wide, 11-18 people
each, one stranger who is not enrolled, one photo stored sideways with an EXIF orientation tag), then
runs `attendance mark PHOTO --roster ROSTER --format json` on each and prints the precision and
recall of "present" at default settings, and how many marks are flagged for a check.

    .venv/bin/python benchmarks/classroom_accuracy.py [--devdata DIR] [--work DIR] [--photos 12]
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from attendance_core.synthetic import make_classroom  # noqa: E402

STRANGER = "Lin_Manuel_Miranda"


def build(devdata: Path, work: Path, n_photos: int) -> dict[str, list[str]]:
    people: dict[str, list[Path]] = {}
    for row in csv.DictReader(open(devdata / "labels.csv")):
        people.setdefault(row["identity"], []).append(devdata / row["path"])
    roster = work / "roster"
    shutil.rmtree(roster, ignore_errors=True)
    shutil.copytree(REPO / "known_faces", roster, ignore=shutil.ignore_patterns("README.md"))
    for name, paths in people.items():
        shutil.copy(sorted(paths)[0], roster / f"{name}.jpg")
    samples = REPO / "sample_images"
    pool = {name: sorted(paths)[1:] for name, paths in people.items()}
    pool.update({
        "Alex_Lacamoire": [samples / "alex_lacamoire1.jpg", samples / "alex-lacamoire.png"],
        "Barack_Obama": [samples / "obama1.jpg", samples / "obama-720p.jpg"],
        "Kit_Harington": [samples / "johnsnow_test1.jpg"],
        STRANGER: [samples / "lin-manuel-miranda.png"],
    })
    rng = random.Random(0)
    photos = work / "photos"
    shutil.rmtree(photos, ignore_errors=True)
    photos.mkdir(parents=True)
    truth = {}
    for k in range(n_photos):
        names = rng.sample(sorted(pool), rng.randint(12, 18))
        image, placed = make_classroom([(n, rng.choice(pool[n])) for n in names], (4000, 3000), (35, 160), seed=100 + k)
        photo = Image.fromarray(image)
        path = photos / f"class_{k:02d}.jpg"
        if k == 3:  # a phone photo stored sideways, upright only through its EXIF tag
            exif = Image.Exif()
            exif[0x0112] = 6
            photo.rotate(90, expand=True).save(path, quality=90, exif=exif.tobytes())
        else:
            photo.save(path, quality=90)
        truth[path.name] = sorted({p.identity for p in placed} - {STRANGER})
    return truth


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devdata", type=Path, default=Path(os.environ.get("ATTENDANCE_DEVDATA", REPO.parent / "shared" / "devdata")))
    parser.add_argument("--work", type=Path, default=None, help="folder for the roster and photos (default: a temporary one)")
    parser.add_argument("--photos", type=int, default=12)
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="attendance-accuracy-"))
    truth = build(args.devdata, work, args.photos)
    roster_size = len([p for p in (work / "roster").iterdir()])
    exe = Path(sys.executable).parent / "attendance"
    env = dict(os.environ, ATTENDANCE_DATA_DIR=str(work / "data"))
    tp = fp = fn = flagged = unflagged_false = 0
    start = time.perf_counter()
    print(f"roster: {roster_size} students; {len(truth)} photos of 4000x3000; work folder {work}")
    for name, expected in truth.items():
        proc = subprocess.run([str(exe), "mark", str(work / "photos" / name), "--roster", str(work / "roster"),
                               "--format", "json"], capture_output=True, text=True, env=env)
        if proc.returncode != 0:
            print(f"{name}: exit {proc.returncode}: {proc.stderr.strip()}")
            return 1
        result = json.loads(proc.stdout)
        present, to_check = set(result["present"]), {c["student"] for c in result["to_check"]}
        want = set(expected)
        tp, fp, fn = tp + len(present & want), fp + len(present - want), fn + len(want - present)
        flagged, unflagged_false = flagged + len(to_check), unflagged_false + len(present - want - to_check)
        print(f"  {name}: {len(want)} present; false present {sorted(present - want)}; missed {sorted(want - present)}; "
              f"to check {sorted(to_check)}")
    precision, recall = tp / max(1, tp + fp), tp / max(1, tp + fn)
    print(f"precision {precision:.4f}  recall {recall:.4f}  (true {tp}, false {fp}, missed {fn}); "
          f"{time.perf_counter() - start:.0f} s in all")
    print(f"flagged for a check: {flagged} of {tp + fp} marked present; false presents not flagged: {unflagged_false}")
    return 0 if precision >= 0.99 and recall >= 0.98 else 1


if __name__ == "__main__":
    sys.exit(main())
