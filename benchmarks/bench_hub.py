"""Load test of `attendance hub`: N teachers sign in at once and each marks two photos, one of them 12 MP.

    ATTENDANCE_TEST_POSTGRES_URL=$(bash scripts/start-postgres.sh) nice -n 10 python benchmarks/bench_hub.py

Everything runs on this machine, on 127.0.0.1: a hub with the records on a private PostgreSQL schema,
the demo class as class 7A, N teachers (default 10) and an admin, and Chromium (Playwright) with one
browser context per teacher. First one teacher alone (the baseline), then all N at once. Each teacher
signs in through the login form, lands in their dashboard (their own server and kernel), and uploads
kit_with_rose.jpg and a 12-megapixel photo (two_people.jpg enlarged to 4000x3000): every result must
be right (Barack Obama, Joe Biden, Kit Harington, Rose Leslie present, Alex Lacamoire absent).

Printed: p50/p95 time from sign-in to dashboard and from upload to the right result, the memory of each
teacher (PSS of their server and kernel, MB), and the peak memory of the whole hub (hub, proxy, every
server and kernel), with the ratio of N-at-once to the baseline.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from hub_helpers import lay_out_school, postgres_schema, school_env, start_hub, stop_hub  # noqa: E402

EXPECTED = {"Barack_Obama": "present", "Joe_Biden": "present", "Kit_Harington": "present",
            "Rose_Leslie": "present", "Alex_Lacamoire": "absent"}
PASSWORD = "bench-Teacher-pass-4242"
TIMEOUT_MS = 900_000


def _pss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _children(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        try:
            kids = [int(c) for t in Path(f"/proc/{p}/task").iterdir()
                    for c in (t / "children").read_text().split()]
        except OSError:
            kids = []
        found += kids
        todo += kids
    return found


def _user_of(pid: int) -> str | None:
    try:
        env = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return None
    for item in env:
        if item.startswith(b"JUPYTERHUB_USER="):
            return item.split(b"=", 1)[1].decode()
    return None


class PeakSampler(threading.Thread):
    """Samples the summed PSS of a process tree every ``interval`` seconds; ``peak`` in MB."""

    def __init__(self, root_pid: int, interval: float = 1.0):
        super().__init__(daemon=True)
        self.root_pid, self.interval, self.peak, self._halt = root_pid, interval, 0.0, threading.Event()

    def run(self):
        while not self._halt.is_set():
            total = sum(_pss_mb(p) for p in [self.root_pid, *_children(self.root_pid)])
            self.peak = max(self.peak, total)
            self._halt.wait(self.interval)

    def stop(self):
        self._halt.set()
        self.join()


def per_teacher_mb(hub_pid: int) -> dict[str, float]:
    """PSS (MB) of each teacher's processes (their server and its kernels), by user name."""
    out: dict[str, float] = {}
    for pid in _children(hub_pid):
        user = _user_of(pid)
        if user:
            out[user] = out.get(user, 0.0) + _pss_mb(pid)
    return out


def twelve_megapixel(path: Path) -> Path:
    import cv2

    image = cv2.imread(str(REPO / "sample_images" / "two_people.jpg"))
    cv2.imwrite(str(path), cv2.resize(image, (4000, 3000), interpolation=cv2.INTER_CUBIC), [cv2.IMWRITE_JPEG_QUALITY, 92])
    return path


async def one_teacher(browser, url: str, name: str, photos: list[Path]) -> dict:
    context = await browser.new_context(viewport={"width": 1280, "height": 1400})
    page = await context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    try:
        start = time.monotonic()
        await page.goto(url + "/hub/login")
        await page.fill("#username_input", name)
        await page.fill("#password_input", PASSWORD)
        await page.click("#login_submit", no_wait_after=True)
        await page.wait_for_selector(".sa-upload-photos")
        dashboard = time.monotonic() - start
        async with page.expect_file_chooser() as chooser:
            await page.click(".sa-upload-photos")
        await (await chooser.value).set_files([str(p) for p in photos])
        upload = time.monotonic()
        await page.wait_for_function(
            "expected => Object.entries(expected).every(([sid, want]) => {"
            " const e = document.querySelector('.sa-status-' + sid); return e && e.innerText.trim() === want; })",
            arg=EXPECTED)
        result = time.monotonic() - upload
        shown = {sid: (await page.inner_text(f".sa-status-{sid}")).strip() for sid in EXPECTED}
        return {"name": name, "dashboard_s": dashboard, "result_s": result, "right": shown == EXPECTED}
    finally:
        await context.close()


async def wave(url: str, names: list[str], photos: list[Path]) -> list[dict]:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path="/usr/bin/chromium", args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        try:
            return await asyncio.gather(*(one_teacher(browser, url, n, photos) for n in names))
        finally:
            await browser.close()


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--teachers", type=int, default=10, help="teachers signing in at once (default 10)")
    args = parser.parse_args()
    if not os.environ.get("ATTENDANCE_TEST_POSTGRES_URL"):
        print("set ATTENDANCE_TEST_POSTGRES_URL=$(bash scripts/start-postgres.sh)", file=sys.stderr)
        return 2
    from attendance_core.school.access import ADMIN, TEACHER, Directory
    from attendance_core.config import load_settings
    from attendance_core.faces import DetectorSettings
    from attendance_core.hub.accounts import set_account_password
    from attendance_core.records import Store
    from attendance_core.roster import load_roster

    names = [f"teacher{i:02d}" for i in range(1, args.teachers + 1)]
    with tempfile.TemporaryDirectory(prefix="bench-hub-") as scratch, postgres_schema() as database_url:
        root = Path(scratch)
        cache = root / "warm-cache"
        load_roster(REPO / "known_faces", DetectorSettings(), cache)
        lay_out_school(root, cache)
        env = school_env(root, database_url)
        settings = load_settings(data_dir=root / "attendance_data")
        settings = settings.replace(database_url=database_url)
        with Store(database_url) as store:
            directory = Directory.of(store)
            for name, role in [("boss", ADMIN), ("solo", TEACHER)] + [(n, TEACHER) for n in names]:
                directory.add_user(name, role)
                set_account_password(settings, name, PASSWORD)
                if role == TEACHER:
                    directory.assign("7A", name)
        photos = [REPO / "sample_images" / "kit_with_rose.jpg", twelve_megapixel(root / "class-12mp.jpg")]
        hub = start_hub(root, env)
        try:
            sampler = PeakSampler(hub.proc.pid)
            sampler.start()
            alone = asyncio.run(wave(hub.url, ["solo"], photos))
            base_peak, base_mem = sampler.peak, per_teacher_mb(hub.proc.pid).get("solo", 0.0)
            sampler.peak = 0.0
            results = asyncio.run(wave(hub.url, names, photos))
            memory = per_teacher_mb(hub.proc.pid)
            sampler.stop()
        finally:
            stop_hub(hub)
    wrong = [r["name"] for r in alone + results if not r["right"]]
    dash = [r["dashboard_s"] for r in results]
    res = [r["result_s"] for r in results]
    mem = [memory.get(n, 0.0) for n in names]
    print(f"attendance hub load test: {args.teachers} teachers at once, two photos each (one 12 MP), "
          f"{os.cpu_count()} CPU cores")
    print(f"{'':<34}{'1 teacher':>12}{f'{args.teachers} at once':>14}{'ratio':>8}")
    rows = [("sign-in to dashboard p50 (s)", alone[0]["dashboard_s"], pct(dash, 0.5)),
            ("sign-in to dashboard p95 (s)", alone[0]["dashboard_s"], pct(dash, 0.95)),
            ("upload to right result p50 (s)", alone[0]["result_s"], pct(res, 0.5)),
            ("upload to right result p95 (s)", alone[0]["result_s"], pct(res, 0.95)),
            ("memory per teacher, median (MB)", base_mem, statistics.median(mem)),
            ("memory per teacher, max (MB)", base_mem, max(mem)),
            ("whole hub peak (MB)", base_peak, sampler.peak)]
    for label, one, many in rows:
        print(f"{label:<34}{one:>12.1f}{many:>14.1f}{many / one if one else float('nan'):>8.2f}")
    print(f"results right: {len(alone) + len(results) - len(wrong)}/{len(alone) + len(results)}"
          + (f" (wrong: {', '.join(wrong)})" if wrong else ""))
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
