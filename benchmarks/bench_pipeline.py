"""Speed, recall and memory of marking classroom photos, against the seed's naive flow in the same run.

    .venv/bin/python benchmarks/bench_pipeline.py            # full run (a few minutes on 2 cores)
    .venv/bin/python benchmarks/bench_pipeline.py --quick    # the 12 MP photo only, no 500-student roster
    .venv/bin/python benchmarks/bench_pipeline.py --tiny     # seconds: proves the script works, checks nothing

Inputs are made at run time (never committed): a roster of the demo class plus the development
set's people, a 12-megapixel classroom-like composite with 28 faces 60-160 px wide and a 1080p one
with 35-50 px faces (see ``inputs.py``). Every measured phase runs in its own process, so its peak
memory is that process's high-water resident size (``VmHWM``, native memory included). Model loading is excluded from
every timing, ours and the baseline's.

The naive baseline follows the seed: for every photo, reload and encode the whole roster,
HOG with one upsample on the full photo, compare each face in a Python loop, first match wins.
Exit status: 0 when every target passes, 1 when one fails (``--tiny`` checks no target).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

#: Targets of issue 6.
TARGET_SPEEDUP = 6.0
TARGET_PEAK_MB = 1500.0
TOLERANCE = 0.6


# --- phases, each run in a child process ---------------------------------------------------------


def _cpu_s() -> float:
    """CPU seconds used by this process so far, all threads: unlike wall time, not inflated by other
    processes on a shared machine."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _peak_mb() -> float:
    """This process's peak resident memory, native allocations included.

    ``VmHWM`` rather than ``ru_maxrss``: Linux carries a parent's peak over fork and exec into the
    child's ``ru_maxrss``, so a child started by a big parent would report the parent's size.
    """
    try:
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def phase_enroll(spec: dict) -> dict:
    from attendance_core.faces import DetectorSettings, check_models
    from attendance_core.roster import load_roster

    check_models("hog")
    t = time.perf_counter()
    roster = load_roster(spec["roster"], DetectorSettings(), cache_dir=spec["cache"])
    return {"seconds": time.perf_counter() - t, "students": len(roster),
            "photos": sum(len(s.photos) for s in roster.students), "problems": len(roster.problems)}


def phase_ours(spec: dict) -> dict:
    """Our pipeline on one photo: warm roster reload, load, detect (tiled, threaded), batch encode, match."""
    from attendance_core.faces import DetectorSettings, check_models, detect_faces, encode_faces
    from attendance_core.images import load_image
    from attendance_core.matching import assign, student_distances
    from attendance_core.roster import load_roster

    check_models(spec["model"])
    settings = DetectorSettings(model=spec["model"], min_face_size=spec["min_face"])
    runs = []
    for _ in range(spec["repeat"]):
        c0, t0 = _cpu_s(), time.perf_counter()
        roster = load_roster(spec["roster"], settings, cache_dir=spec["cache"])
        t1 = time.perf_counter()
        image = load_image(Path(spec["photo"]).read_bytes(), "photo")
        t2 = time.perf_counter()
        boxes = detect_faces(image, settings.model, settings.min_face_size, settings.workers)
        t3 = time.perf_counter()
        encodings = encode_faces(image, boxes, settings.jitters)
        t4 = time.perf_counter()
        matches = assign(student_distances(encodings, roster.reference_encodings, roster.owners, len(roster)), TOLERANCE)
        t5 = time.perf_counter()
        del image
        runs.append({"roster": t1 - t0, "load": t2 - t1, "detect": t3 - t2, "encode": t4 - t3, "match": t5 - t4,
                     "total": t5 - t0, "cpu": _cpu_s() - c0})
    names = [roster.students[m.student].id if m.student is not None else None for m in matches]
    return {"runs": runs, "boxes": boxes.tolist(), "names": names}


def phase_naive(spec: dict) -> dict:
    """The seed's flow, with the face_recognition API it used."""
    import face_recognition  # loads every model at import: outside the timing, as for ours

    from attendance_core.roster import roster_entries

    runs = []
    for _ in range(spec["repeat"]):
        c0, t0 = _cpu_s(), time.perf_counter()
        known_ids, known = [], []
        for sid, paths in roster_entries(Path(spec["roster"])):
            for p in paths:
                encs = face_recognition.face_encodings(face_recognition.load_image_file(p))
                if encs:
                    known_ids.append(sid)
                    known.append(encs[0])
        t1 = time.perf_counter()
        image = face_recognition.load_image_file(spec["photo"])
        t2 = time.perf_counter()
        locations = face_recognition.face_locations(image, number_of_times_to_upsample=1)
        t3 = time.perf_counter()
        encodings = face_recognition.face_encodings(image, locations)
        t4 = time.perf_counter()
        names = []
        for enc in encodings:
            name = None
            for sid, ref in zip(known_ids, known):
                if face_recognition.compare_faces([ref], enc, tolerance=TOLERANCE)[0]:
                    name = sid
                    break
            names.append(name)
        t5 = time.perf_counter()
        del image
        runs.append({"roster": t1 - t0, "load": t2 - t1, "detect": t3 - t2, "encode": t4 - t3, "match": t5 - t4,
                     "total": t5 - t0, "cpu": _cpu_s() - c0})
    return {"runs": runs, "boxes": [list(b) for b in locations], "names": names}


PHASES = {"enroll": phase_enroll, "ours": phase_ours, "naive": phase_naive}


def run_phase(name: str, **spec) -> dict:
    """Run one phase in a fresh interpreter; returns its result plus ``peak_mb`` (ru_maxrss)."""
    out = subprocess.run([sys.executable, __file__, "--phase", name, json.dumps(spec)],
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"phase {name} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# --- scoring -------------------------------------------------------------------------------------


def score(truth: dict, result: dict) -> dict:
    """Detection recall (faces), attendance recall (students pictured and marked present), wrong names."""
    from attendance_core.synthetic import PlacedFace, match_boxes

    placed = [PlacedFace(f["identity"], tuple(f["box"])) for f in truth["faces"]]
    pairs = match_boxes(placed, result["boxes"])
    pictured = {f.identity for f in placed}
    present = {n for n in result["names"] if n}
    wrong = sum(1 for i, n in enumerate(result["names"]) if n and (i not in pairs or placed[pairs[i]].identity != n))
    return {"faces": len(placed), "found": len(pairs), "det_recall": len(pairs) / max(1, len(placed)),
            "students": len(pictured), "present": len(present & pictured),
            "att_recall": len(present & pictured) / max(1, len(pictured)),
            "false_present": len(present - pictured), "wrong_names": wrong}


def _best(runs: list[dict], key: str) -> float:
    """``key`` of the fastest run (the one least disturbed by other processes); the least CPU time for "cpu"."""
    if key == "cpu":
        return min(r["cpu"] for r in runs)
    return min(runs, key=lambda r: r["total"])[key]


# --- the report ----------------------------------------------------------------------------------


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Speed, recall and memory of marking classroom photos vs the naive flow.")
    ap.add_argument("--quick", action="store_true", help="12 MP photo only (ours at the chosen and default sizes, "
                    "baseline); no 1080p photo, no 500-student roster")
    ap.add_argument("--tiny", action="store_true", help="a small photo and roster (under a minute); checks no target")
    ap.add_argument("--min-face", type=int, default=60, help="smallest face to find in the 12 MP photo, px (default 60: "
                    "its faces are 60-160 px)")
    ap.add_argument("--repeat", type=int, default=3, help="rounds of runs, ours and baseline alternating (best reported)")
    ap.add_argument("--workdir", help="keep the generated inputs here (default: a temporary folder)")
    ap.add_argument("--phase", nargs=2, metavar=("NAME", "SPEC"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.phase:
        result = PHASES[args.phase[0]](json.loads(args.phase[1]))
        result["peak_mb"] = _peak_mb()
        print(json.dumps(result))
        return 0

    if args.workdir:
        work = Path(args.workdir)
        work.mkdir(parents=True, exist_ok=True)
        return _run(args, work)
    with tempfile.TemporaryDirectory(prefix="bench-pipeline-") as tmp:
        return _run(args, Path(tmp))


def _machine() -> str:
    model = "unknown CPU"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import dlib

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (f"{cores} cores, {model}, no GPU; dlib {dlib.__version__} "
            f"(BLAS {'on' if dlib.DLIB_USE_BLAS else 'off'}, AVX {'on' if dlib.USE_AVX_INSTRUCTIONS else 'off'})")


def _run(args, work: Path) -> int:
    import inputs

    t_setup = time.perf_counter()
    roster_dir = work / "roster"
    spare = inputs.build_roster(roster_dir)
    big_size, big_faces = ((1600, 1200), 10) if args.tiny else ((4000, 3000), 28)
    small_size, small_faces = ((960, 540), 8) if args.tiny else ((1920, 1080), 24)
    portraits = inputs.classroom_portraits(spare, roster_dir, max(big_faces, small_faces))
    photos = {"12mp": inputs.write_classroom(work / "classroom_12mp.jpg", portraits[:big_faces], big_size, (60, 160), seed=1)}
    if not args.quick and not args.tiny:
        photos["1080p"] = inputs.write_classroom(work / "classroom_1080p.jpg", portraits[:small_faces], small_size,
                                                 (35, 50), seed=2)
    print(f"inputs: roster of {len(spare)} students, photos "
          + ", ".join(f"{k} {v['size'][0]}x{v['size'][1]} with {len(v['faces'])} faces {v['face_widths'][0]}-{v['face_widths'][1]} px"
                      for k, v in photos.items())
          + f" (made in {time.perf_counter() - t_setup:.0f} s)", flush=True)

    cache = str(work / "cache")
    checks = []
    cold = run_phase("enroll", roster=str(roster_dir), cache=cache)
    warm = run_phase("enroll", roster=str(roster_dir), cache=cache)

    def run(photo: str, who: str, min_face: int | None) -> dict:
        if who == "ours":
            r = run_phase("ours", roster=str(roster_dir), cache=cache, photo=photos[photo]["photo"], model="hog",
                          min_face=min_face, repeat=1)
        else:
            r = run_phase("naive", roster=str(roster_dir), photo=photos[photo]["photo"], repeat=1)
        r["score"] = score(photos[photo], r)
        return r

    # Rounds alternate ours and the baseline, so that both see the same load on a shared machine;
    # the best round of each is reported (the least disturbed by other processes).
    results: dict = {}
    plan = [("12mp", "ours", args.min_face), ("12mp", "naive", None), ("12mp", "ours", 32)]
    if not args.quick and not args.tiny:
        plan += [("1080p", "ours", 32), ("1080p", "naive", None)]
    repeat = 1 if args.tiny else args.repeat
    for k in range(repeat):
        print(f"round {k + 1} of {repeat}: " + ", ".join(f"{who} on {photo}" + (f" (min_face_size={mf})" if mf else "")
                                                      for photo, who, mf in plan), flush=True)
        for key in plan:
            r = run(*key)
            if key in results:
                results[key]["runs"] += r["runs"]
                results[key]["peak_mb"] = max(results[key]["peak_mb"], r["peak_mb"])
            else:
                results[key] = r

    print()
    print(f"machine: {_machine()}")
    print(f"{'photo':6} {'pipeline':24} {'roster':>7} {'load':>6} {'detect':>7} {'encode':>7} {'match':>7} "
          f"{'total':>7} {'vs naive':>8} {'cpu':>6} {'vs naive':>8} {'faces':>7} {'det.rec':>7} {'att.rec':>7} {'wrong':>5} {'peak MB':>8}")
    order = sorted(results, key=lambda k: (k[0] != "12mp", k[1] == "naive", -(k[2] or 0)))
    for (photo, who, min_face) in order:
        r = results[(photo, who, min_face)]
        base = results[(photo, "naive", None)]
        ratio = _best(base["runs"], "total") / _best(r["runs"], "total")
        cpu_ratio = _best(base["runs"], "cpu") / _best(r["runs"], "cpu")
        s = r["score"]
        label = f"ours, min_face={min_face}" if who == "ours" else "naive (seed flow)"
        print(f"{photo:6} {label:24} " + " ".join(f"{_best(r['runs'], k):{w}.2f}" for k, w in
              (("roster", 7), ("load", 6), ("detect", 7), ("encode", 7), ("match", 7), ("total", 7)))
              + f" {ratio:7.1f}x {_best(r['runs'], 'cpu'):6.2f} {cpu_ratio:7.1f}x {s['found']:>3}/{s['faces']:<3}"
              f" {s['det_recall']:7.0%} {s['att_recall']:7.0%} {s['wrong_names'] + s['false_present']:>5}"
              f" {r['peak_mb']:8.0f}")
    print(f"times in seconds, best of {repeat} rounds; total = warm roster reload + load + detect + encode + match "
          "(naive: re-encode the roster instead); cpu = CPU seconds of that run, all threads; det.rec = faces found; att.rec = students pictured and marked present; "
          "wrong = faces named as someone else + students present who are not pictured")
    print(f"roster enrollment ({cold['students']} students, {cold['photos']} photos): cold {cold['seconds']:.2f} s "
          f"(peak {cold['peak_mb']:.0f} MB), warm {warm['seconds']:.3f} s (peak {warm['peak_mb']:.0f} MB)")

    big, base, default = results[("12mp", "ours", args.min_face)], results[("12mp", "naive", None)], results[("12mp", "ours", 32)]
    speedup = _best(base["runs"], "total") / _best(big["runs"], "total")
    cpu_speedup = _best(base["runs"], "cpu") / _best(big["runs"], "cpu")
    checks.append((f"12 MP end to end >= {TARGET_SPEEDUP:.0f}x faster than naive (min_face_size={args.min_face})",
                   f"{speedup:.1f}x wall time ({cpu_speedup:.1f}x less CPU time)", speedup >= TARGET_SPEEDUP))
    checks.append(("12 MP recall >= naive (faces found, students present)",
                   f"{big['score']['det_recall']:.0%}/{big['score']['att_recall']:.0%} vs "
                   f"{base['score']['det_recall']:.0%}/{base['score']['att_recall']:.0%}",
                   big["score"]["det_recall"] >= base["score"]["det_recall"]
                   and big["score"]["att_recall"] >= base["score"]["att_recall"]))
    checks.append((f"12 MP peak memory < {TARGET_PEAK_MB:.0f} MB on the default path (min_face_size=32)",
                   f"{default['peak_mb']:.0f} MB", default["peak_mb"] < TARGET_PEAK_MB))
    if not args.quick and not args.tiny:
        small, small_base = results[("1080p", "ours", 32)], results[("1080p", "naive", None)]
        checks.append(("1080p recall >= naive (35-50 px faces)",
                       f"{small['score']['det_recall']:.0%}/{small['score']['att_recall']:.0%} vs "
                       f"{small_base['score']['det_recall']:.0%}/{small_base['score']['att_recall']:.0%}",
                       small["score"]["det_recall"] >= small_base["score"]["det_recall"]
                       and small["score"]["att_recall"] >= small_base["score"]["att_recall"]))
    if not args.quick:
        roster_cmd = [sys.executable, str(HERE / "bench_roster.py"), "--print-check"]
        if args.tiny:
            roster_cmd += ["--students", "20", "--warm-runs", "1"]
        out = subprocess.run(roster_cmd, capture_output=True, text=True)
        if out.returncode not in (0, 1):
            raise SystemExit(f"bench_roster.py failed:\n{out.stderr[-3000:]}")
        check = json.loads(out.stdout.strip().splitlines()[-1])
        print(check["summary"])
        checks.append((check["name"], check["value"], check["passed"]))

    print()
    for name, value, passed in checks:
        print(f"{'PASS' if passed else 'FAIL'}  {name}: {value}")
    if args.tiny:
        print("(tiny mode: inputs too small for the targets; nothing is checked)")
        return 0
    return 0 if all(p for _, _, p in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
