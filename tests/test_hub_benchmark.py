"""benchmarks/bench_hub.py runs end to end with one teacher at a time (no timing is checked here)."""
import os
import subprocess
import sys
from pathlib import Path

from hub_helpers import postgres_base_url

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_hub.py"


def test_hub_load_test_runs_and_prints_its_table(demo_class, browser):
    env = {**os.environ, "ATTENDANCE_TEST_POSTGRES_URL": postgres_base_url()}
    out = subprocess.run([sys.executable, str(BENCH), "--teachers", "1"], capture_output=True, text=True,
                         timeout=1200, env=env)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-3000:]
    for expected in ("upload to right result p95 (s)", "memory per teacher, median (MB)", "whole hub peak (MB)",
                     "results right: 2/2"):
        assert expected in out.stdout, out.stdout
