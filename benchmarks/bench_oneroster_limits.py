"""Hostile OneRoster bundles: peak memory of `attendance classes import --oneroster` on a ZIP bomb and a 200 MB file.

    .venv/bin/python benchmarks/bench_oneroster_limits.py             # the 1 GB bomb and a 200 MB users.csv
    .venv/bin/python benchmarks/bench_oneroster_limits.py --users-mb 60 --bomb-mb 64   # seconds

Each import runs as the real command in a process of its own, whose peak resident memory (``ru_maxrss`` of
that child, from ``wait4``) is printed with the command's message:

- **baseline**: the tests' school (40 students, 3 classes), imported into empty records;
- **bomb**: that school in a ZIP whose ``users.csv`` is a bzip2 entry declaring 2,048 bytes and holding 1 GB
  of zeros (a 2.6 KB file; zipfile used to decompress it whole: 2.16 GB, then a traceback);
- **200 MB users.csv**: that school in a folder whose ``users.csv`` is 200 MB of ordinary rows (1.6 million
  users; it used to peak at 2.0 GB, ten times the file), made at run time.

Targets: at most 300 MB for either, each refused with a one-line message naming the file, no traceback.
Exit status 1 when a target fails.
"""
from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "tests"))
from oneroster_bundle import HEADERS_1_1, bundle_entries, bzip2_bomb, school, write_bundle, write_zip  # noqa: E402

TARGET_MB = 300


def run_import(bundle: Path, root: Path) -> tuple[float, float, int, str]:
    """Run `attendance classes import --oneroster bundle`: (peak MB, seconds, exit code, its message)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ATTENDANCE_", "JUPYTER"))}
    env.update(ATTENDANCE_DATA_DIR=str(root / "data"), ATTENDANCE_ROSTER_DIR=str(root / "roster"),
               ATTENDANCE_DATABASE_URL=f"sqlite:///{root / f'records-{bundle.name}.db'}",
               PYTHONPATH=os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p))
    out = root / "out.txt"
    start = time.perf_counter()
    with open(out, "w+") as sink:
        proc = subprocess.Popen([sys.executable, "-m", "attendance_core.cli", "classes", "import", "--oneroster",
                                 str(bundle)], env=env, stdout=sink, stderr=subprocess.STDOUT, cwd=REPO)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        took = time.perf_counter() - start
        sink.seek(0)
        text = sink.read()
    return usage.ru_maxrss / 1024, took, proc.returncode, text.strip()


def write_big_users(folder: Path, megabytes: int) -> int:
    """The school's bundle in ``folder`` with a users.csv of ``megabytes`` MB of ordinary rows; returns the rows."""
    write_bundle(folder, school())
    header = HEADERS_1_1["users.csv"].split(",")
    target, rows = megabytes * 2**20, 0
    with open(folder / "users.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\r\n")
        writer.writerow(header)
        while fh.tell() < target:
            for _ in range(10_000):
                rows += 1
                writer.writerow([f"u-{rows:08d}", "active", "2026-01-05", "true", "org-1", "student", f"u{rows}", "",
                                 f"Given{rows % 997}", f"Family{rows % 1009}", "", "", "", "", "", "", "07", ""])
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users-mb", type=int, default=200, help="size of the big users.csv (default 200)")
    parser.add_argument("--bomb-mb", type=int, default=1024, help="what the bomb's users.csv holds (default 1024)")
    args = parser.parse_args(argv)
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        base_mb, base_s, base_code, _ = run_import(write_bundle(root / "school", school()), root)
        print(f"baseline (the tests' school, 40 students): peak {base_mb:.0f} MB, {base_s:.1f} s, exit {base_code}")

        start = time.perf_counter()
        entries = [e for e in bundle_entries(school()) if e.name != "users.csv"]
        bomb = write_zip(root / "bomb.zip", entries + [bzip2_bomb("users.csv", args.bomb_mb * 2**20)])
        made = time.perf_counter() - start
        cases = [(f"bomb: {bomb.stat().st_size / 1024:.1f} KB ZIP, users.csv declares 2,048 bytes and holds "
                  f"{args.bomb_mb:,} MB (made in {made:.0f} s)", bomb, "users.csv")]
        start = time.perf_counter()
        rows = write_big_users(root / "big", args.users_mb)
        size = (root / "big" / "users.csv").stat().st_size
        cases.append((f"users.csv of {size / 2**20:.0f} MB ({rows:,} rows, made in {time.perf_counter() - start:.0f} s)",
                      root / "big", "users.csv"))
        for title, bundle, named in cases:
            peak, took, code, message = run_import(bundle, root)
            one_line = len(message.splitlines()) == 1 and "Traceback" not in message
            met = peak <= TARGET_MB and code != 0 and one_line and named in message
            ok = ok and met
            print(f"\n{title}\n  peak {peak:.0f} MB ({peak / base_mb:.2f}x the baseline), {took:.1f} s, exit {code}, "
                  f"{'one line' if one_line else f'{len(message.splitlines())} lines'}:\n  {message[:400]}\n"
                  f"  target: at most {TARGET_MB} MB, refused in one line naming {named}: {'met' if met else 'FAILED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
