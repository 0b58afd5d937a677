"""A server run as a child in the foreground: the stop signals we get are passed on, and it never outlives us.

Both ``attendance serve`` (Voilà) and ``attendance hub`` (JupyterHub) start their server as a child
process and wait for it; Ctrl+C, ``kill`` or a closed terminal must stop the child cleanly (its own
shutdown stops its kernels or teacher servers), not leave it running.
"""
from __future__ import annotations

import signal
import subprocess

#: The signals that stop the command, and are passed on to the child as SIGTERM.
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


def wait_passing_stop_signals(proc: subprocess.Popen) -> int:
    """Wait for ``proc`` to exit and return its exit code; SIGTERM, SIGINT and SIGHUP reach it as SIGTERM.

    Our own handlers for those signals are put back afterwards. Should the wait end any other way
    (an exception), the child is terminated and waited for, so that it is never left running.
    """
    def forward(signum, frame):
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)

    previous = {s: signal.signal(s, forward) for s in STOP_SIGNALS}
    try:
        return proc.wait()
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        if proc.poll() is None:
            proc.terminate()
            proc.wait()
