"""Import of a district-sized OneRoster bundle: 50,000 users (students and their teachers), time and peak memory.

    .venv/bin/python benchmarks/bench_oneroster.py                    # 50,000 users, SQLite
    .venv/bin/python benchmarks/bench_oneroster.py --users 2000       # seconds
    .venv/bin/python benchmarks/bench_oneroster.py --database-url postgresql+psycopg://...

The bundle (OneRoster 1.1, bulk) is written at run time: one org, one term, a class per 25 students
(each student in their homeroom and one subject class), a teacher per 40 users. Timed: the first
import into an empty database (everything new) and the same bundle again (nothing changes). Peak
memory is the process's maximum resident size (``ru_maxrss``) after each step. Target: the first
import under 60 s. Exit status 1 when the target fails.
"""
from __future__ import annotations

import argparse
import csv
import resource
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

TARGET_S = 60.0
# The OneRoster 1.1 columns, as the tests write them (tests/oneroster_bundle.py: from the specification).
sys.path.insert(0, str(HERE.parent / "tests"))
from oneroster_bundle import HEADERS_1_1 as HEADERS  # noqa: E402


def write_bundle(folder: Path, users: int) -> dict[str, int]:
    """A bulk OneRoster 1.1 bundle of ``users`` users in ``folder``; returns the counts written."""
    folder.mkdir(parents=True, exist_ok=True)
    teachers = max(1, users // 40)
    students = users - teachers
    homerooms = max(1, students // 25)
    subjects = max(1, homerooms // 2)
    rows: dict[str, list[list[str]]] = {name: [] for name in HEADERS}
    rows["orgs.csv"].append(["org-1", "active", "", "District School", "school", "DS", ""])
    rows["academicSessions.csv"].append(["term-1", "active", "", "2026", "schoolYear", "2025-09-01", "2026-07-15",
                                         "", "2026"])
    classes = [f"h-{n:05d}" for n in range(homerooms)] + [f"x-{n:05d}" for n in range(subjects)]
    for sid in classes:
        rows["classes.csv"].append([sid, "active", "", f"Class {sid}", "07", "course-1", sid, "scheduled", "",
                                    "org-1", "term-1", "", "", "1"])
    for n in range(teachers):
        sid = f"t-{n:05d}"
        rows["users.csv"].append([sid, "active", "", "true", "org-1", "teacher", f"teacher{n}", "", "Teacher",
                                  f"Number{n}", "", "", "", "", "", "", "", ""])
        for cls in (classes[n % len(classes)], classes[(n + teachers) % len(classes)]):
            rows["enrollments.csv"].append([f"e-{cls}-{sid}", "active", "", cls, "org-1", sid, "teacher", "true",
                                            "", ""])
    for n in range(students):
        sid = f"s-{n:06d}"
        rows["users.csv"].append([sid, "active", "", "true", "org-1", "student", sid, "", f"Given{n % 997}",
                                  f"Family{n % 1009}", "", "", "", "", "", "", "07", ""])
        for cls in (f"h-{n % homerooms:05d}", f"x-{n % subjects:05d}"):
            rows["enrollments.csv"].append([f"e-{cls}-{sid}", "active", "", cls, "org-1", sid, "student", "false",
                                            "", ""])
    for name, header in HEADERS.items():
        with open(folder / name, "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh, lineterminator="\r\n")
            writer.writerow(header.split(","))
            writer.writerows(rows[name])
    manifest = ["propertyName,value", "manifest.version,1.0", "oneroster.version,1.1"]
    manifest += [f"file.{name[:-4]},bulk" for name in HEADERS]
    (folder / "manifest.csv").write_text("\r\n".join(manifest) + "\r\n", encoding="utf-8")
    return {"users": users, "students": students, "teachers": teachers, "classes": len(classes),
            "enrollments": len(rows["enrollments.csv"])}


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50_000)
    parser.add_argument("--database-url", help="default: an SQLite file in a temporary folder")
    args = parser.parse_args(argv)
    from attendance_core.config import load_settings
    from attendance_core.school.oneroster import import_oneroster

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        start = time.perf_counter()
        counts = write_bundle(root / "bundle", args.users)
        written = time.perf_counter() - start
        url = args.database_url or f"sqlite:///{root / 'records.db'}"
        settings = load_settings(roster_dir=root / "roster", data_dir=root / "data", database_url=url)
        print(f"bundle: {counts['users']} users ({counts['students']} students, {counts['teachers']} teachers), "
              f"{counts['classes']} classes, {counts['enrollments']} enrollments; written in {written:.1f} s")
        print(f"database: {url.split('://')[0]}; peak memory before importing {peak_mb():.0f} MB")
        start = time.perf_counter()
        first = import_oneroster(root / "bundle", settings, by="bench")
        took = time.perf_counter() - start
        print(f"first import: {took:.1f} s, {len(first.added)} students added, {len(first.classes)} classes; "
              f"peak memory {peak_mb():.0f} MB")
        start = time.perf_counter()
        again = import_oneroster(root / "bundle", settings, by="bench")
        print(f"same bundle again: {time.perf_counter() - start:.1f} s, changed: {again.changed}; "
              f"peak memory {peak_mb():.0f} MB")
    ok = took < TARGET_S and not again.changed
    print(f"target: first import of {args.users} users under {TARGET_S:.0f} s: {'met' if ok else 'FAILED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
