"""The recognition pool's scale-out: photos per minute with 1, 2 and 3 workers of a standalone cluster.

    nice -n 10 .venv/bin/python benchmarks/bench_pool.py [--photos 24] [--rounds 2]

The cluster is the one a district runs (tests/standalone_pool.py): one `dask scheduler` with TLS and `dask
worker --preload attendance_core.pool` processes of one thread, started by Dask's command-line tools on this
machine. One cluster grows from 1 worker to 3 (a worker added as an autoscaler adds it); at each size, a rush of
``--photos`` teachers' photos (bench_hub's: kit_with_rose.jpg and a 12 MP photo of two_people.jpg, alternately)
is sent at once by teachers of two photos each (a client and a thread per teacher, as each dashboard's kernel), and
the time until the last result is timed. Best of ``--rounds`` rounds per size, after one round that warms the
workers. Printed per size: photos per minute, its ratio to one worker, the workers' core-seconds per photo
(from /proc, every process of each worker) and the workers' resident memory (PSS) after the round. The machine's
cores bound the scale-out: on 2 cores, a third worker has no core of its own.
"""
from __future__ import annotations

import argparse
import io
import os
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from procs import children, cpu_seconds, pss_mb  # noqa: E402
from standalone_pool import START_SECONDS, client_of, standalone_pool  # noqa: E402

#: Photos of one teacher's upload (sent together, as the dashboard sends them).
PER_TEACHER = 2


def teacher_photos() -> list[tuple[str, bytes]]:
    """bench_hub's two photos of a teacher: kit_with_rose.jpg as it is and two_people.jpg enlarged to 12 MP."""
    from PIL import Image

    with Image.open(REPO / "sample_images" / "two_people.jpg") as img:
        big = img.convert("RGB").resize((4000, 3000), Image.BICUBIC)
    out = io.BytesIO()
    big.save(out, "JPEG", quality=92)
    return [("kit_with_rose.jpg", (REPO / "sample_images" / "kit_with_rose.jpg").read_bytes()),
            ("class-12mp.jpg", out.getvalue())]


def worker_pids(cluster) -> list[int]:
    """Every process of the cluster's workers (each `dask worker`: its nanny and the worker)."""
    return [pid for proc in cluster.workers.values() if proc.poll() is None for pid in [proc.pid, *children(proc.pid)]]


def rush(cluster, photos: list[tuple[str, bytes]], count: int) -> tuple[float, float, int]:
    """``count`` photos sent at once by ``count / PER_TEACHER`` teachers (a client each); returns the seconds until
    the last result, the workers' core-seconds used, and how many results were right (their faces found)."""
    from attendance_core.images import PhotoFile
    from attendance_core.pool import PoolRecognizer
    from attendance_core.recognition import AnalysisOptions

    teachers = [PoolRecognizer(cluster.address, cluster.certificate) for _ in range(count // PER_TEACHER)]
    for teacher in teachers:
        teacher.client()  # connected before the rush, as a dashboard's kernel is
    expected = {"kit_with_rose.jpg": 2, "class-12mp.jpg": 2}
    right = []
    start_cpu = sum(cpu_seconds(p) for p in worker_pids(cluster))

    def upload(teacher: PoolRecognizer, k: int) -> None:
        files = [PhotoFile(f"{k}-{name}", data + b"\0" * k) for name, data in photos]  # distinct bytes
        for result in teacher.analyse(files, AnalysisOptions(keep_image=True)):
            right.append(result.error is None and len(result.boxes) == expected[result.name.split("-", 1)[1]])

    threads = [threading.Thread(target=upload, args=(t, k)) for k, t in enumerate(teachers)]
    start = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.monotonic() - start
    used = sum(cpu_seconds(p) for p in worker_pids(cluster)) - start_cpu
    for teacher in teachers:
        teacher.close()
    return seconds, used, sum(right)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=24, help="photos in each rush (default 24: 12 teachers)")
    parser.add_argument("--rounds", type=int, default=2, help="timed rounds per cluster size (default 2)")
    parser.add_argument("--workers", type=int, default=3, help="the largest cluster (default 3)")
    args = parser.parse_args()
    photos = teacher_photos()
    count = max(PER_TEACHER, args.photos - args.photos % PER_TEACHER)
    rows = []
    with standalone_pool(1) as cluster, client_of(cluster) as operator:
        for size in range(1, args.workers + 1):
            if size > 1:
                cluster.start_worker()
                operator.wait_for_workers(size, timeout=START_SECONDS)
            rush(cluster, photos, 2 * size)  # warms the workers (first photo of each)
            best = None
            for _ in range(args.rounds):
                seconds, used, right = rush(cluster, photos, count)
                if best is None or seconds < best[0]:
                    best = (seconds, used, right)
            memory = sum(pss_mb(p) for p in worker_pids(cluster))
            rows.append((size, *best, memory))
    print(f"recognition pool scale-out: a standalone cluster (dask scheduler + dask worker, TLS), {count} photos at "
          f"once ({count // PER_TEACHER} teachers x kit_with_rose.jpg + a 12 MP photo), {os.cpu_count()} CPU cores, "
          f"best of {args.rounds}")
    print(f"{'workers':>8}{'seconds':>10}{'photos/min':>12}{'x 1 worker':>12}{'core-s/photo':>14}"
          f"{'cores busy':>12}{'workers MB':>12}{'right':>8}")
    base = count / rows[0][1] * 60
    wrong = 0
    for size, seconds, used, right, memory in rows:
        rate = count / seconds * 60
        wrong += count - right
        print(f"{size:>8}{seconds:>10.1f}{rate:>12.1f}{rate / base:>12.2f}{used / count:>14.2f}"
              f"{used / seconds:>12.2f}{memory:>12.0f}{f'{right}/{count}':>8}")
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
