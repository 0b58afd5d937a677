"""The benchmark scripts run end to end (tiny inputs; no timing is checked here, see benchmarks/)."""
import subprocess
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def test_pipeline_benchmark_runs_in_tiny_mode_and_prints_its_table(demo_class, devdata):
    out = subprocess.run([sys.executable, str(BENCHMARKS / "bench_pipeline.py"), "--tiny"],
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    for expected in ("naive (seed flow)", "ours, min_face=32", "ours, full scan (issue 14)", "ours before issue 27",
                     "vs naive", "peak MB",
                     "`attendance mark`, process", "naive, process", "holdout", "memory left in the process",
                     "roster enrollment", "warm reload of 500 students"):
        assert expected in out.stdout, out.stdout


def test_oneroster_benchmark_runs_on_a_small_bundle_and_prints_its_numbers():
    out = subprocess.run([sys.executable, str(BENCHMARKS / "bench_oneroster.py"), "--users", "400"],
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    for expected in ("bundle: 400 users", "first import:", "peak memory", "same bundle again:", "changed: False",
                     "target: first import of 400 users under 60 s: met"):
        assert expected in out.stdout, out.stdout


def test_conditions_benchmark_runs_on_a_few_people_and_prints_before_and_after(devdata):
    out = subprocess.run([sys.executable, str(BENCHMARKS / "bench_conditions.py"), "--people", "5", "--per-person", "1",
                          "--tiny"], capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stderr[-2000:]
    for expected in ("15 photos x 11 conditions", "before after", "a mask over mouth and chin",
                     "defocus, sigma 3% of the face", "FP/1000 strangers", "ms a photo before"):
        assert expected in out.stdout, out.stdout


def test_oneroster_limits_benchmark_refuses_a_small_bomb_and_a_big_users_file_in_one_line():
    out = subprocess.run([sys.executable, str(BENCHMARKS / "bench_oneroster_limits.py"), "--users-mb", "60",
                          "--bomb-mb", "64"], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    for expected in ("baseline (the tests' school", "declares 2,048 bytes and holds 64 MB", "users.csv of 60 MB",
                     "more than 500000 rows", "peak", "x the baseline", "refused in one line naming users.csv: met"):
        assert expected in out.stdout, out.stdout
