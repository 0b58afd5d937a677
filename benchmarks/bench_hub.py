"""Load test of `attendance hub`: teachers signing in and marking their class at once, in one run.

    ATTENDANCE_TEST_POSTGRES_URL=$(bash scripts/start-postgres.sh) nice -n 10 python benchmarks/bench_hub.py
        [--clients protocol|chromium] [--teachers 10] [--beside 30] [--quick]

Everything runs on this machine, on 127.0.0.1: a hub with the records on a private PostgreSQL schema, the demo
class as class 7A, the teachers and an admin. Each teacher signs in through the login form, lands in their
dashboard and uploads kit_with_rose.jpg and a 12-megapixel photo (two_people.jpg enlarged to 4000x3000): every
result must be right (Barack Obama, Joe Biden, Kit Harington, Rose Leslie present, Alex Lacamoire absent).

``--clients protocol`` (the default): the teachers as the server sees them (``hub_teachers.ProtocolTeacher``, as
JupyterHub's hubtraf simulates users: the login form, the dashboard's page, the kernel's websocket, the upload as
the FileUpload widget's comm message, the result read from the table's widget state), with one real Chromium
teacher among them whose page is checked to show the right result: a teacher's browser runs on the teacher's
phone, not on the hub's cores. The hub runs at default settings (the shared dashboard, its preheated kernels, the
recognition pool) twice: for ``--teachers`` at once and for ``--beside`` at once (printed side by side: how it
degrades; no target there). Each time: one teacher alone, then the 12 MP photo alone (a protocol teacher, then
the Chromium one), then all at once. The waiting photos' queue estimates (the page's "about N s") are compared
with the time until the result came.

``--clients chromium``: every teacher in Chromium (one browser context each, on the hub's cores), the hub run
*before* issue 20 (a Jupyter server per teacher, ``ATTENDANCE_HUB_DASHBOARDS=per-teacher``, each kernel analysing
its own photos, ``ATTENDANCE_RECOGNITION_POOL=false``) and *after* (default settings), side by side.

Printed: p50/p95 time from sign-in to dashboard and from upload to the right result, the memory of each teacher
while all pages are open and marked (PSS, MB: their own server and kernel; with the shared dashboard, their kernel
and an N-th of the dashboard server), the pool's workers (PSS, counted once), the peak memory of the whole hub
(hub, proxy, pool, every server and kernel, the preheated ones and their replacements included), where one
teacher's core-seconds go, and the 12 MP photo alone against a warm `attendance mark`-equivalent (a Session in
this process, models and roster loaded), with the targets (met or not on the first column). Where the 12 MP
photo's time goes, as the protocol teacher's page heard it: the upload until the kernel had sent it to the pool,
on the pool and back, the matching until the table showed it; and the same photo on a pool of this process
alone, its display copy sent back by the worker (before) or made by the caller meanwhile (after). ``--quick``: two
teachers beside three, no wait for the preheated kernels' replacements: the code path, no numbers to quote
(tests/test_hub_benchmark.py).
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
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
from hub_teachers import CHROMIUM_ARGS, PASSWORD, ProtocolTeacher, chromium_teacher  # noqa: E402

from attendance_core.hub.dashboard_service import REFILL_SECONDS  # noqa: E402

EXPECTED_12MP = {"Barack_Obama": "present", "Joe_Biden": "present"}
EXPECTED = {"Barack_Obama": "present", "Joe_Biden": "present", "Kit_Harington": "present",
            "Rose_Leslie": "present", "Alex_Lacamoire": "absent"}
#: A queue estimate is right when the wait it announced is within this fraction of the real one.
ESTIMATE_TOLERANCE = 0.30


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
         ("attendance_core.hub.hub_app", "JupyterHub")]


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


async def one_teacher(browser, url: str, name: str, photos: list[Path], expected: dict, gate: Gate) -> dict:
    """One teacher, in Chromium when ``browser`` is given, else at the protocol level; a failure is a wrong result
    (named, with its reason), not the end of the wave."""
    context = teacher = None
    try:
        if browser is not None:
            context = await browser.new_context(viewport={"width": 1280, "height": 1400})
            return await chromium_teacher(context, url, name, PASSWORD, photos, expected)
        teacher = ProtocolTeacher(url, name, PASSWORD)
        dashboard = await teacher.sign_in()
        result = await teacher.upload(photos, expected)
        return {"name": name, "client": "protocol", "dashboard_s": dashboard, "result_s": result,
                "right": teacher.statuses(expected) == expected, "estimates": teacher.queue_estimates(),
                "phases": teacher.phases()}
    except Exception as err:  # noqa: BLE001 - one teacher's failure is reported with the others' results
        return {"name": name, "client": "chromium" if browser else "protocol", "dashboard_s": math.nan,
                "result_s": math.nan, "right": False, "error": f"{type(err).__name__}: {err}"}
    finally:
        await gate.arrive()
        if teacher is not None:
            await teacher.close()
        if context is not None:
            await context.close()


async def wave(url: str, names: list[str], photos: list[Path], expected: dict = EXPECTED, chromium=(),
               measure=lambda: None, hold: float = 0.0) -> tuple[list[dict], object]:
    """Every teacher of ``names`` at once (those in ``chromium`` in Chromium, the others at the protocol level);
    their results, and ``measure()`` taken while every page is open (which stay open ``hold`` seconds more)."""
    gate = Gate(len(names), measure, hold)
    if not chromium:
        results = await asyncio.gather(*(one_teacher(None, url, n, photos, expected, gate) for n in names))
        return results, gate.measured
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            results = await asyncio.gather(*(one_teacher(browser if n in chromium else None, url, n, photos,
                                                         expected, gate) for n in names))
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


def pool_hop_seconds(photo: Path, folder: Path, rounds: int = 3) -> dict[str, float]:
    """The 12 MP photo analysed on a pool of 2 workers started here, with its display copy, best of ``rounds``
    each, alternating: ``before``, the worker makes the copy after the analysis and sends it back (9 MB through
    the scheduler; issue 20's way), ``after``, :class:`PoolRecognizer` makes it here meanwhile; seconds."""
    from attendance_core.images import PhotoFile
    from attendance_core.pool import PHOTO_TASK, PoolRecognizer, _task_key, start_pool
    from attendance_core.recognition import AnalysisOptions, analyse_photo

    cluster = start_pool(2, certificate=folder / "bench-pool.pem")
    recognizer = PoolRecognizer(cluster.scheduler_address, folder / "bench-pool.pem")
    data, options = photo.read_bytes(), AnalysisOptions(keep_image=True)
    best = {"before": math.inf, "after": math.inf}
    try:
        client = recognizer.client()
        for k in range(rounds + 1):  # the first round warms the workers
            start = time.monotonic()
            before = client.submit(analyse_photo, data + b"\0" * (2 * k), photo.name, options,
                                   key=_task_key(PHOTO_TASK), pure=False).result()
            middle = time.monotonic()
            (after,) = recognizer.analyse([PhotoFile(photo.name, data + b"\0" * (2 * k + 1))], options)
            end = time.monotonic()
            assert before.image is not None and after.image is not None and after.error is None
            if k:
                best["before"], best["after"] = min(best["before"], middle - start), min(best["after"], end - middle)
    finally:
        recognizer.close()
        cluster.close()
    return best


def settle(hub_pid: int, timeout: float = 300.0) -> None:
    """Wait until the hub's processes are quiet (under a quarter of a core for 3 s: an idle hub's tree, the pool's
    heartbeats, uses 0.10-0.17; starting, two): started, the pool's models loaded, the preheated kernels ready."""
    deadline = time.monotonic() + timeout
    last, quiet = sum(c for _, c in cpu_by_process(hub_pid).values()), 0
    while time.monotonic() < deadline and quiet < 3:
        time.sleep(1)
        now = sum(c for _, c in cpu_by_process(hub_pid).values())
        quiet = quiet + 1 if now - last < 0.25 else 0
        last = now


def in_chromium(names: list[str], clients: str) -> set[str]:
    """The teachers of a wave who use Chromium: every one with ``--clients chromium``; with protocol clients the
    first only, whose page is checked to show the result."""
    return set(names) if clients == "chromium" else set(names[:1])


def run_hub(root: Path, env: dict[str, str], names: list[str], photos: list[Path], clients: str,
            hold: float) -> dict:
    """One hub at ``env``'s settings: a teacher alone (two photos), the 12 MP photo alone (and, with protocol
    clients, again in Chromium), then every teacher of ``names`` at once (with protocol clients, the first in
    Chromium); times, memory, queue estimates and whether every result was right."""
    browser = {"protocol": (), "chromium": ("solo",)}[clients]
    every = in_chromium(names, clients)
    hub = start_hub(root, env)
    try:
        # A school starts its hub before the morning: the shared dashboard's preheated kernels are ready.
        settle(hub.proc.pid)
        sampler = PeakSampler(hub.proc.pid)
        sampler.start()
        cpu_before = cpu_by_process(hub.proc.pid)
        preheated = [cpu for role, cpu in cpu_before.values() if role == "dashboard kernels"]
        (alone,), cpu_after = asyncio.run(wave(hub.url, ["solo"], photos, chromium=browser,
                                               measure=lambda: cpu_by_process(hub.proc.pid)))
        profile = cpu_profile(cpu_before, cpu_after)
        single = asyncio.run(wave(hub.url, ["solo"], photos[1:], EXPECTED_12MP, chromium=browser))[0][0]
        single_chromium = None
        if clients == "protocol":
            single_chromium = asyncio.run(wave(hub.url, ["solo"], photos[1:], EXPECTED_12MP, chromium={"solo"}))[0][0]
        settle(hub.proc.pid, 120)  # the kernels of the pages closed are gone, the pool is idle
        sampler.peak = 0.0

        def measure():
            memory, shared = per_teacher_mb(hub.proc.pid, hub.log)
            return memory, shared, pool_mb(hub.proc.pid), teachers_with_dlib(hub.proc.pid)

        results, (memory, shared, (pool, workers), with_dlib) = asyncio.run(wave(
            hub.url, names, photos, chromium=every, measure=measure, hold=hold))
        sampler.stop()
    finally:
        stop_hub(hub)
    mem = [memory.get(n, 0.0) + shared / len(names) for n in names]
    done = [r for r in results if not math.isnan(r["result_s"])] or results
    singles = [alone, single] + ([single_chromium] if single_chromium else [])
    return {"alone": alone, "single": single, "single_chromium": single_chromium, "results": results,
            "shared": shared, "profile": profile, "preheat": statistics.median(preheated) if preheated else 0.0,
            "dash": [r["dashboard_s"] for r in done], "res": [r["result_s"] for r in done],
            "estimates": [e for r in results for e in r.get("estimates", ())],
            "mem": mem, "pool": pool, "workers": workers, "peak": sampler.peak, "with_dlib": with_dlib,
            "wrong": [f"{r['name']} ({r['client']}{': ' + r['error'] if r.get('error') else ''})"
                      for r in singles + results if not r["right"]]}


def estimate_errors(estimates: list[tuple[float, float]]) -> list[float]:
    """For each (seconds announced, seconds it took): how far off the announcement was, as a fraction of the wait."""
    return [abs(told - took) / took for told, took in estimates if took > 0]


def report(columns: dict[str, dict], warm: float, hop: dict[str, float], clients: str) -> bool:
    """Print the table (the targets checked on the first column); True when every target is met."""
    first = next(iter(columns))
    width = max(10, *(len(c) + 2 for c in columns))
    row = lambda label, values, target="", met="": print(  # noqa: E731
        f"{label:<50}" + "".join(f"{v:>{width}}" for v in values) + f"{target:>10}  {met:<4}")
    fmt = lambda value, spec=".1f": "-" if value is None or math.isnan(value) else format(value, spec)  # noqa: E731
    row("", list(columns), "target", "met")
    for label, key in (("1 teacher: sign-in to dashboard (s)", "dashboard_s"),
                       ("1 teacher: upload to right result (s)", "result_s")):
        row(label, [fmt(c["alone"][key]) for c in columns.values()])
    ratio = {k: c["single"]["result_s"] / warm for k, c in columns.items()}
    row("1 teacher, 12 MP alone: upload to table (s)", [fmt(c["single"]["result_s"], ".2f") for c in columns.values()])
    met = ratio[first] <= 1.5
    row(f"  ... over a warm mark-equivalent ({warm:.2f} s)", [fmt(r, ".2f") for r in ratio.values()], "<= 1.5",
        "yes" if met else "no")
    row("  ... pool alone: copy sent back / made here (s)",
        [f"{hop['before']:.2f} / {hop['after']:.2f}"] + [""] * (len(columns) - 1))
    if clients == "protocol":  # where the time went, as the page heard it
        for label, key in (("  ... upload, until the kernel sent it to the pool (s)", "sent"),
                           ("  ... on the pool, and back (s)", "pool"),
                           ("  ... matching, until the table showed it (s)", "table")):
            row(label, [fmt(c["single"].get("phases", {}).get(key, math.nan), ".2f") for c in columns.values()])
        row("  ... the same in Chromium, page drawn (s)",
            [fmt(c["single_chromium"]["result_s"], ".2f") for c in columns.values()])
    targets = [
        ("at once: sign-in to dashboard p50 (s)", lambda c: pct(c["dash"], 0.5), None),
        ("at once: sign-in to dashboard p95 (s)", lambda c: pct(c["dash"], 0.95), 10.0),
        ("at once: upload to right result p50 (s)", lambda c: pct(c["res"], 0.5), None),
        ("at once: upload to right result p95 (s)", lambda c: pct(c["res"], 0.95), 20.0),
        ("memory per teacher, median (MB PSS)", lambda c: statistics.median(c["mem"]), None),
        ("  ... of which the shared dashboard server / N", lambda c: c["shared"] / len(c["mem"]), None),
        ("memory per teacher, max (MB PSS)", lambda c: max(c["mem"]), 250.0),
        ("pool workers, counted once (MB PSS)", lambda c: c["pool"], None),
        ("whole hub peak (MB PSS)", lambda c: c["peak"], 3072.0),
    ]
    if clients == "protocol":
        targets[1:1] = [("  ... the Chromium teacher's (s)", lambda c: _chromium(c, "dashboard_s"), None)]
        targets[4:4] = [("  ... the Chromium teacher's (s)", lambda c: _chromium(c, "result_s"), None)]
    for label, value, target in targets:
        values = [value(c) for c in columns.values()]
        ok = target is None or values[0] <= target
        met = met and ok
        row(label, [fmt(v) for v in values], "" if target is None else format(target, ".0f"),
            "" if target is None else ("yes" if ok else "no"))
    if clients == "protocol":
        errors = {k: estimate_errors(c["estimates"]) for k, c in columns.items()}
        row("queue estimates shown (waiting photos' first)", [str(len(e)) for e in errors.values()])
        row(f"  ... within {ESTIMATE_TOLERANCE:.0%} of the wait", [
            f"{sum(x <= ESTIMATE_TOLERANCE for x in e)}/{len(e)}" if e else "-" for e in errors.values()])
        row("  ... median error (% of the wait)", [fmt(100 * statistics.median(e), ".0f") if e else "-"
                                                  for e in errors.values()])
        row("  ... median wait / estimate", [fmt(statistics.median(took / told for told, took in c["estimates"]),
                                                 ".2f") if c["estimates"] else "-" for c in columns.values()])
    print("where one teacher's sign-in and two photos go, core-seconds by process (the page open and marked):")
    roles = sorted({r for c in columns.values() for r in c["profile"]},
                   key=lambda r: -max(c["profile"].get(r, 0.0) for c in columns.values()))
    for role in roles:
        row(f"  {role}", [f"{c['profile'].get(role, 0.0):.2f}" for c in columns.values()])
    row("  total", [f"{sum(c['profile'].values()):.2f}" for c in columns.values()])
    row("  (paid before the sign-in: preheating a kernel)", [f"{c['preheat']:.2f}" if c["preheat"] else ""
                                                            for c in columns.values()])
    print("pool workers: " + ", ".join(f"{k} {c['workers']}" for k, c in columns.items())
          + "; teachers with dlib loaded: " + ", ".join(f"{k} {c['with_dlib']}" for k, c in columns.items()))
    wrong = [w for c in columns.values() for w in c["wrong"]]
    total = sum(len(c["results"]) + (3 if c["single_chromium"] else 2) for c in columns.values())
    print(f"results right: {total - len(wrong)}/{total}" + (f" (wrong: {'; '.join(wrong)})" if wrong else ""))
    return met and not wrong


def _chromium(column: dict, key: str) -> float:
    return next((r[key] for r in column["results"] if r["client"] == "chromium"), math.nan)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", choices=("protocol", "chromium"), default="protocol",
                        help="teachers at the protocol level with one in Chromium (default), or all in Chromium "
                             "against the hub before and after issue 20")
    parser.add_argument("--teachers", type=int, default=10, help="teachers signing in at once (default 10)")
    parser.add_argument("--beside", type=int, default=30,
                        help="protocol clients: teachers at once in the second column (default 30; 0: none)")
    parser.add_argument("--quick", action="store_true",
                        help="2 teachers beside 3, no wait for the preheated kernels' replacements (a test)")
    args = parser.parse_args()
    if args.quick:
        args.teachers, args.beside = 2, 3
    if not os.environ.get("ATTENDANCE_TEST_POSTGRES_URL"):
        print("set ATTENDANCE_TEST_POSTGRES_URL=$(bash scripts/start-postgres.sh)", file=sys.stderr)
        return 2
    sizes = [args.teachers] + ([args.beside] if args.clients == "protocol" and args.beside > 0 else [])
    names = [f"teacher{i:02d}" for i in range(1, max(sizes) + 1)]
    with school("bench-hub-", ["solo", *names]) as (root, database_url):
        env = school_env(root, database_url)
        photos = [REPO / "sample_images" / "kit_with_rose.jpg", twelve_megapixel(root / "class-12mp.jpg")]
        warm = warm_mark_seconds(photos[1], root / "warm-cache")
        hop = pool_hop_seconds(photos[1], root, 1 if args.quick else 3)
        # The whole hub's peak includes the preheated kernels that replace the ones taken (REFILL_SECONDS
        # later): the pages stay open until they have started.
        hold = 0.0 if args.quick else REFILL_SECONDS + 40
        if args.clients == "chromium":
            columns = {"before": run_hub(root, {**env, "ATTENDANCE_RECOGNITION_POOL": "false",
                                                "ATTENDANCE_HUB_DASHBOARDS": "per-teacher"},
                                         names, photos, "chromium", 0.0),
                       "after": run_hub(root, env, names, photos, "chromium", hold)}
        else:
            columns = {f"{n} at once": run_hub(root, env, names[:n], photos, "protocol", hold) for n in sizes}
    if args.clients == "chromium":
        print(f"attendance hub load test: {args.teachers} teachers at once in Chromium, two photos each (one 12 MP), "
              f"{os.cpu_count()} CPU cores; before = a server per teacher, each kernel analysing its photos; after = "
              "default settings (the shared dashboard, preheated kernels, the recognition pool)")
    else:
        print(f"attendance hub load test: {' and '.join(map(str, sizes))} teachers at once, two photos each (one "
              f"12 MP), {os.cpu_count()} CPU cores, default settings (the shared dashboard, preheated kernels, the "
              "recognition pool); teachers as the server sees them (protocol clients), one of each wave in Chromium")
    print(f"load average before the run: {LOAD_BEFORE}; after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0 if report(columns, warm, hop, args.clients) else 1


LOAD_BEFORE = " ".join(f"{x:.2f}" for x in os.getloadavg())

if __name__ == "__main__":
    sys.exit(main())
