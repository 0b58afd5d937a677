"""What the benchmarks and tests read of running processes, from /proc (Linux): memory (PSS), CPU time, process trees."""
from __future__ import annotations

import os
import threading
from pathlib import Path


def pss_mb(pid: int) -> float:
    """Proportional set size of a process, MB (0 once it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def children(pid: int) -> list[int]:
    """Every descendant of a process (children, theirs...)."""
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


class PeakSampler(threading.Thread):
    """Samples the summed PSS of a process tree every ``interval`` seconds; ``peak`` in MB."""

    def __init__(self, root_pid: int, interval: float = 1.0):
        super().__init__(daemon=True)
        self.root_pid, self.interval, self.peak, self._halt = root_pid, interval, 0.0, threading.Event()

    def run(self):
        while not self._halt.is_set():
            total = sum(pss_mb(p) for p in [self.root_pid, *children(self.root_pid)])
            self.peak = max(self.peak, total)
            self._halt.wait(self.interval)

    def stop(self):
        self._halt.set()
        self.join()


def cmdline(pid: int) -> str:
    """A process's command line, its arguments separated by spaces."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process has used so far, seconds."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def maps(pid: int) -> str:
    """A process's memory map (which libraries it has loaded); "" once it is gone."""
    try:
        return Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return ""


def environ(pid: int) -> dict[str, str]:
    """A process's environment, as it was when it started."""
    items = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(i.decode(errors="replace").split("=", 1) for i in items if b"=" in i)
