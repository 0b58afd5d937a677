"""Load test of `attendance hub`, before and after issue 20 (the shared pool and the shared dashboard), in one run.

    ATTENDANCE_TEST_POSTGRES_URL=$(bash scripts/start-postgres.sh) nice -n 10 python benchmarks/bench_hub.py

Everything runs on this machine, on 127.0.0.1: a hub with the records on a private PostgreSQL schema,
the demo class as class 7A, N teachers (default 10) and an admin, and Chromium (Playwright) with one
browser context per teacher. The hub runs twice: *before*, as it was before issue 20 (a Jupyter server per
teacher, ``ATTENDANCE_HUB_DASHBOARDS=per-teacher``, each teacher's kernel analysing its own photos,
``ATTENDANCE_RECOGNITION_POOL=false``), and *after*, at default settings (the shared dashboard with its
preheated kernels, and the recognition pool). Each time: one teacher alone, then that teacher uploading only
the 12 MP photo, then all N at once. Each teacher signs in through the login form, lands in their dashboard (their
own server and kernel), and uploads kit_with_rose.jpg and a 12-megapixel photo (two_people.jpg enlarged
to 4000x3000): every result must be right (Barack Obama, Joe Biden, Kit Harington, Rose Leslie present,
Alex Lacamoire absent).

Printed: p50/p95 time from sign-in to dashboard and from upload to the right result, the memory of each
teacher while all N pages are open and marked (PSS, MB: their own server and kernel; with the shared
dashboard, their kernel and an N-th of the dashboard server), the pool's workers (PSS, counted once), the
peak memory of the whole hub (hub, proxy, pool, every server and kernel, the preheated ones included), and
the 12 MP photo alone against a warm `attendance mark`-equivalent (a Session in this process, models and
roster loaded), with the targets.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Iterator

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from procs import PeakSampler, children, cmdline, cpu_seconds, pss_mb  # noqa: E402
from hub_helpers import lay_out_school, postgres_schema, school_env, start_hub, stop_hub  # noqa: E402

from attendance_core.hub.dashboard_service import REFILL_SECONDS  # noqa: E402

EXPECTED_12MP = {"Barack_Obama": "present", "Joe_Biden": "present"}
EXPECTED = {"Barack_Obama": "present", "Joe_Biden": "present", "Kit_Harington": "present",
            "Rose_Leslie": "present", "Alex_Lacamoire": "absent"}
PASSWORD = "bench-Teacher-pass-4242"
TIMEOUT_MS = 900_000


def _user_of(pid: int) -> str | None:
    try:
        env = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return None
    for item in env:
        if item.startswith(b"JUPYTERHUB_USER="):
            return item.split(b"=", 1)[1].decode()
    return None


def _page_kernels(log: Path) -> dict[str, str]:
    """Kernel id -> teacher, from the shared dashboard's log lines ("Dashboard page of NAME: kernel ID")."""
    text = log.read_text(errors="replace") if log.exists() else ""
    return {kernel: user for user, kernel in re.findall(r"Dashboard page of (\S+): kernel ([0-9a-f-]{36})", text)}


def per_teacher_mb(hub_pid: int, log: Path) -> tuple[dict[str, float], float]:
    """PSS (MB) of each teacher's own processes by user name (their server and kernels, or their kernels of the
    shared dashboard), and the PSS of the shared dashboard server (0 without one)."""
    out: dict[str, float] = {}
    shared = 0.0
    kernels = _page_kernels(log)
    for pid in children(hub_pid):
        command = cmdline(pid)
        if "attendance_core.hub.dashboard_service" in command:
            shared += pss_mb(pid)
            continue
        found = re.search(r"kernel-([0-9a-f-]{36})\.json", command)
        user = _user_of(pid) or (kernels.get(found.group(1)) if found else None)
        if user:
            out[user] = out.get(user, 0.0) + pss_mb(pid)
    return out, shared


#: What each process of the hub's tree is, by its command line (the first match).
ROLES = [("jupyterhub.singleuser", "a teacher's own Jupyter server"),
         ("attendance_core.hub.dashboard_service", "the shared dashboard server"),
         ("ipykernel_launcher", "dashboard kernels"), ("attendance_core.api", "attendance-api"),
         ("jupyterhub_idle_culler", "idle culler"), ("configurable-http-proxy", "proxy"),
         ("-m jupyterhub", "JupyterHub")]


def _role(pid: int, hub_pid: int) -> str:
    if pid == hub_pid:
        return "attendance hub (the pool's scheduler)"
    command = cmdline(pid)
    for needle, role in ROLES:
        if needle in command:
            return role
    return "recognition pool workers" if _maps_dlib(pid) else "other"


def cpu_by_process(hub_pid: int) -> dict[int, tuple[str, float]]:
    """CPU seconds used so far by every process of the hub's tree, with what the process is."""
    return {pid: (_role(pid, hub_pid), cpu_seconds(pid)) for pid in [hub_pid, *children(hub_pid)]}


def cpu_profile(start: dict[int, tuple[str, float]], end: dict[int, tuple[str, float]]) -> dict[str, float]:
    """Core-seconds by role between two :func:`cpu_by_process` readings (processes started between count whole)."""
    out: dict[str, float] = {}
    for pid, (role, cpu) in end.items():
        out[role] = out.get(role, 0.0) + cpu - start.get(pid, (role, 0.0))[1]
    return out


class Gate:
    """Holds every teacher's page open, marked, until all are: then reads the memory once (``measure``), and
    keeps the pages open ``hold`` seconds more (while the shared dashboard replaces its preheated kernels)."""

    def __init__(self, teachers: int, measure, hold: float = 0.0):
        self.left, self.measure, self.hold, self.measured, self._open = teachers, measure, hold, None, asyncio.Event()

    async def arrive(self) -> None:
        self.left -= 1
        if self.left == 0:
            self.measured = self.measure()
            await asyncio.sleep(self.hold)
            self._open.set()
        await self._open.wait()


def _maps_dlib(pid: int) -> bool:
    try:
        return "_dlib_pybind11" in Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return False


def pool_mb(hub_pid: int) -> tuple[float, int]:
    """PSS (MB) of the pool's workers (processes of no teacher that loaded dlib), and how many there are."""
    workers = [p for p in children(hub_pid) if not _user_of(p) and _maps_dlib(p)]
    return sum(pss_mb(p) for p in workers), len(workers)


def teachers_with_dlib(hub_pid: int) -> int:
    """How many teachers have a process with dlib loaded (0 with the pool)."""
    return len({_user_of(p) for p in children(hub_pid) if _user_of(p) and _maps_dlib(p)})


def twelve_megapixel(path: Path) -> Path:
    import cv2

    image = cv2.imread(str(REPO / "sample_images" / "two_people.jpg"))
    cv2.imwrite(str(path), cv2.resize(image, (4000, 3000), interpolation=cv2.INTER_CUBIC), [cv2.IMWRITE_JPEG_QUALITY, 92])
    return path


async def sign_in(page, url: str, name: str) -> None:
    """Sign in to the hub at ``url`` as teacher ``name`` through the login form, until their dashboard shows."""
    await page.goto(url + "/hub/login")
    await page.fill("#username_input", name)
    await page.fill("#password_input", PASSWORD)
    await page.click("#login_submit", no_wait_after=True)
    await page.wait_for_selector(".sa-upload-photos")


async def one_teacher(browser, url: str, name: str, photos: list[Path], expected: dict, gate: Gate) -> dict:
    context = await browser.new_context(viewport={"width": 1280, "height": 1400})
    page = await context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    try:
        start = time.monotonic()
        await sign_in(page, url, name)
        dashboard = time.monotonic() - start
        async with page.expect_file_chooser() as chooser:
            await page.click(".sa-upload-photos")
        await (await chooser.value).set_files([str(p) for p in photos])
        upload = time.monotonic()
        await page.wait_for_function(
            "expected => Object.entries(expected).every(([sid, want]) => {"
            " const e = document.querySelector('.sa-status-' + sid); return e && e.innerText.trim() === want; })",
            arg=expected)
        result = time.monotonic() - upload
        shown = {sid: (await page.inner_text(f".sa-status-{sid}")).strip() for sid in expected}
        return {"name": name, "dashboard_s": dashboard, "result_s": result, "right": shown == expected}
    finally:
        await gate.arrive()
        await context.close()


async def wave(url: str, names: list[str], photos: list[Path], expected: dict = EXPECTED,
               measure=lambda: None, hold: float = 0.0) -> tuple[list[dict], object]:
    """Every teacher of ``names`` at once; their results, and ``measure()`` taken while every page is open
    (which stay open ``hold`` seconds more)."""
    from playwright.async_api import async_playwright

    gate = Gate(len(names), measure, hold)

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path="/usr/bin/chromium", args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        try:
            results = await asyncio.gather(*(one_teacher(browser, url, n, photos, expected, gate) for n in names))
            return results, gate.measured
        finally:
            await browser.close()


@contextlib.contextmanager
def school(prefix: str, teachers: list[str]) -> Iterator[tuple[Path, str]]:
    """A school for a hub in a new temporary folder (removed on exit): the demo class as 7A with a warm encoding
    cache (``root/warm-cache``), the records on a private PostgreSQL schema, an admin and ``teachers`` of 7A
    (:func:`add_users`). Yields the folder and the database URL."""
    from attendance_core.faces import DetectorSettings
    from attendance_core.roster import load_roster

    with tempfile.TemporaryDirectory(prefix=prefix) as scratch, postgres_schema() as database_url:
        root = Path(scratch)
        load_roster(REPO / "known_faces", DetectorSettings(), root / "warm-cache")
        lay_out_school(root, root / "warm-cache")
        add_users(root, database_url, teachers)
        yield root, database_url


def add_users(root: Path, database_url: str, teachers: list[str]) -> None:
    """An admin (boss) and ``teachers`` on the hub laid out in ``root``, each teaching 7A, password PASSWORD."""
    from attendance_core.config import load_settings
    from attendance_core.hub.accounts import set_account_password
    from attendance_core.records import Store
    from attendance_core.school.access import ADMIN, TEACHER, Directory

    settings = load_settings(data_dir=root / "attendance_data").replace(database_url=database_url)
    with Store(database_url) as store:
        directory = Directory.of(store)
        for name, role in [("boss", ADMIN)] + [(n, TEACHER) for n in teachers]:
            directory.add_user(name, role)
            set_account_password(settings, name, PASSWORD)
            if role == TEACHER:
                directory.assign("7A", name)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def warm_mark_seconds(photo: Path, cache: Path, rounds: int = 3) -> float:
    """The 12 MP photo marked by a warm `attendance mark`-equivalent: a Session in this process, models and
    roster loaded (one round first to warm them), best of ``rounds``; seconds."""
    from attendance_core.roster import load_roster
    from attendance_core.session import Session

    roster = load_roster(REPO / "known_faces", cache_dir=cache)
    data = photo.read_bytes()
    best = float("inf")
    for k in range(rounds + 1):
        start = time.monotonic()
        session = Session(roster)
        session.add_photo(data, photo.name)
        session.result()
        if k:
            best = min(best, time.monotonic() - start)
    return best


def settle(hub_pid: int, timeout: float = 300.0) -> None:
    """Wait until the hub's processes are quiet (under a tenth of a core for 3 s): started, the pool's models
    loaded, the preheated kernels ready."""
    deadline = time.monotonic() + timeout
    last, quiet = sum(c for _, c in cpu_by_process(hub_pid).values()), 0
    while time.monotonic() < deadline and quiet < 3:
        time.sleep(1)
        now = sum(c for _, c in cpu_by_process(hub_pid).values())
        quiet = quiet + 1 if now - last < 0.1 else 0
        last = now


def run_hub(root: Path, env: dict[str, str], names: list[str], photos: list[Path]) -> dict:
    """One hub at ``env``'s settings: a teacher alone (two photos), the same teacher with the 12 MP photo
    alone, then every teacher of ``names`` at once; times, memory and whether every result was right."""
    hub = start_hub(root, env)
    try:
        # A school starts its hub before the morning: the shared dashboard's preheated kernels are ready.
        settle(hub.proc.pid)
        sampler = PeakSampler(hub.proc.pid)
        sampler.start()
        cpu_before = cpu_by_process(hub.proc.pid)
        preheated = [cpu for role, cpu in cpu_before.values() if role == "dashboard kernels"]
        (alone,), cpu_after = asyncio.run(wave(hub.url, ["solo"], photos, measure=lambda: cpu_by_process(hub.proc.pid)))
        profile = cpu_profile(cpu_before, cpu_after)
        single = asyncio.run(wave(hub.url, ["solo"], photos[1:], EXPECTED_12MP))[0][0]
        sampler.peak = 0.0

        def measure():
            memory, shared = per_teacher_mb(hub.proc.pid, hub.log)
            return memory, shared, pool_mb(hub.proc.pid), teachers_with_dlib(hub.proc.pid)

        # The whole hub's peak includes the preheated kernels that replace the ones taken (REFILL_SECONDS
        # later): the pages stay open until they have started.
        hold = 0.0 if env.get("ATTENDANCE_HUB_DASHBOARDS") == "per-teacher" else REFILL_SECONDS + 40
        results, (memory, shared, (pool, workers), with_dlib) = asyncio.run(wave(hub.url, names, photos,
                                                                                 measure=measure, hold=hold))
        sampler.stop()
    finally:
        stop_hub(hub)
    mem = [memory.get(n, 0.0) + shared / len(names) for n in names]
    return {"alone": alone, "single": single, "results": results, "shared": shared, "profile": profile,
            "preheat": statistics.median(preheated) if preheated else 0.0,
            "dash": [r["dashboard_s"] for r in results], "res": [r["result_s"] for r in results],
            "mem": mem, "pool": pool, "workers": workers, "peak": sampler.peak, "with_dlib": with_dlib,
            "wrong": [r["name"] for r in [alone, single, *results] if not r["right"]]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--teachers", type=int, default=10, help="teachers signing in at once (default 10)")
    args = parser.parse_args()
    if not os.environ.get("ATTENDANCE_TEST_POSTGRES_URL"):
        print("set ATTENDANCE_TEST_POSTGRES_URL=$(bash scripts/start-postgres.sh)", file=sys.stderr)
        return 2
    names = [f"teacher{i:02d}" for i in range(1, args.teachers + 1)]
    with school("bench-hub-", ["solo", *names]) as (root, database_url):
        cache = root / "warm-cache"
        env = school_env(root, database_url)
        photos = [REPO / "sample_images" / "kit_with_rose.jpg", twelve_megapixel(root / "class-12mp.jpg")]
        warm = warm_mark_seconds(photos[1], cache)
        before = run_hub(root, {**env, "ATTENDANCE_RECOGNITION_POOL": "false", "ATTENDANCE_HUB_DASHBOARDS": "per-teacher"},
                         names, photos)
        after = run_hub(root, env, names, photos)
    n = args.teachers
    print(f"attendance hub load test: {n} teachers at once, two photos each (one 12 MP), {os.cpu_count()} CPU cores; "
          "before = a server per teacher, each kernel analysing its photos; after = default settings (the shared "
          "dashboard, preheated kernels, the recognition pool)")
    print(f"{'':<46}{'before':>10}{'after':>10}{'target':>10}  {'met':<4}")
    rows = [
        ("1 teacher: sign-in to dashboard (s)", "dashboard_s", None),
        ("1 teacher: upload to right result (s)", "result_s", None),
    ]
    for label, key, _ in rows:
        print(f"{label:<46}{before['alone'][key]:>10.1f}{after['alone'][key]:>10.1f}")
    ratio = {k: v["single"]["result_s"] / warm for k, v in (("before", before), ("after", after))}
    print(f"{'1 teacher, 12 MP alone: upload to table (s)':<46}{before['single']['result_s']:>10.1f}"
          f"{after['single']['result_s']:>10.1f}")
    print(f"{'  ... over a warm mark-equivalent (' + format(warm, '.2f') + ' s)':<46}{ratio['before']:>10.2f}"
          f"{ratio['after']:>10.2f}{'<= 1.5':>10}  {'yes' if ratio['after'] <= 1.5 else 'no'}")
    targets = [
        (f"{n} at once: sign-in to dashboard p50 (s)", lambda r: pct(r["dash"], 0.5), None),
        (f"{n} at once: sign-in to dashboard p95 (s)", lambda r: pct(r["dash"], 0.95), 10.0),
        (f"{n} at once: upload to right result p50 (s)", lambda r: pct(r["res"], 0.5), None),
        (f"{n} at once: upload to right result p95 (s)", lambda r: pct(r["res"], 0.95), 20.0),
        ("memory per teacher, median (MB PSS)", lambda r: statistics.median(r["mem"]), None),
        ("  ... of which the shared dashboard server / N", lambda r: r["shared"] / n, None),
        ("memory per teacher, max (MB PSS)", lambda r: max(r["mem"]), 250.0),
        ("pool workers, counted once (MB PSS)", lambda r: r["pool"], None),
        ("whole hub peak (MB PSS)", lambda r: r["peak"], 3072.0),
    ]
    met = ratio["after"] <= 1.5
    for label, value, target in targets:
        b, a = value(before), value(after)
        ok = target is None or a <= target
        met = met and ok
        print(f"{label:<46}{b:>10.1f}{a:>10.1f}{'' if target is None else format(target, '.0f'):>10}  "
              f"{'' if target is None else ('yes' if ok else 'no')}")
    print("where one teacher's sign-in and two photos go, core-seconds by process (the page open and marked):")
    roles = sorted(set(before["profile"]) | set(after["profile"]),
                   key=lambda r: -max(before["profile"].get(r, 0.0), after["profile"].get(r, 0.0)))
    for role in roles:
        print(f"  {role:<44}{before['profile'].get(role, 0.0):>10.2f}{after['profile'].get(role, 0.0):>10.2f}")
    print(f"  {'total':<44}{sum(before['profile'].values()):>10.2f}{sum(after['profile'].values()):>10.2f}")
    print(f"  {'(paid before the sign-in: preheating a kernel)':<44}{'':>10}{after['preheat']:>10.2f}")
    print(f"pool workers: {after['workers']}; teachers with dlib loaded: before {before['with_dlib']}, "
          f"after {after['with_dlib']}")
    wrong = before["wrong"] + after["wrong"]
    total = 2 * (args.teachers + 2)
    print(f"results right: {total - len(wrong)}/{total}" + (f" (wrong: {', '.join(wrong)})" if wrong else ""))
    return 1 if wrong or not met else 0


if __name__ == "__main__":
    sys.exit(main())
