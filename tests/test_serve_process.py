"""`kill -9` of `attendance serve`: Voilà dies with it, the port is free again, no secret is left on disk.

The login (token, password hash) reaches Voilà through a pipe, never a file; the private config
folder of a server that died is removed when the next one starts. Each server here gets its own
temporary folder (TMPDIR), so that other servers on the machine are not touched.
Ctrl+C, SIGTERM and SIGHUP reach the child server (Voilà, or the hub's JupyterHub) as SIGTERM.
"""
from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import psutil
import pytest

from test_serve import Client, clean_env, kernel_id_of, lay_out_class, start_server, stop_server


def secret_files(folder, secret: str) -> list[str]:
    found = []
    for path in folder.rglob("*"):
        try:
            if path.is_file() and secret.encode() in path.read_bytes():
                found.append(str(path))
        except OSError:
            continue
    return found


def listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def test_kill_9_takes_voila_and_its_kernels_down_and_a_restart_works(demo_class, demo_encoding_cache, tmp_path,
                                                                      request):
    root = lay_out_class(tmp_path / "class", demo_encoding_cache)
    # Short: kernels' Unix sockets live under it, and their paths may not exceed 107 bytes.
    temp = Path(tempfile.mkdtemp(prefix="serve-k9-"))
    request.addfinalizer(lambda: shutil.rmtree(temp, ignore_errors=True))
    # A folder left by a server that died before this fix: its voila.json holds a secret.
    stale = temp / "attendance-serve-4194999-abcd1234"
    stale.mkdir(mode=0o700)
    (stale / "voila.json").write_text('{"Voila": {"token": "old-secret-old-secret"}}')
    token = secrets.token_urlsafe(24)
    env = clean_env(root, ATTENDANCE_TOKEN=token, TMPDIR=str(temp))
    server = start_server(root, env)
    try:
        assert not stale.exists(), "the stale config folder was not removed at start"
        assert secret_files(temp, token) == [], "the token is on disk"
        status, _, page = Client(server.url).request("", headers={"Authorization": f"token {token}"})
        assert status == 200 and kernel_id_of(page)
        family = psutil.Process(server.proc.pid).children(recursive=True)
        assert len(family) >= 2, "no Voilà and kernel under attendance serve"
        server.proc.send_signal(signal.SIGKILL)
        server.proc.wait()
        gone, alive = psutil.wait_procs(family, timeout=30)
        assert alive == [], f"still running after attendance serve was killed: {[p.cmdline() for p in alive]}"
        assert not listening(server.port)
        assert secret_files(temp, token) == [], "the token was left on disk"
    finally:
        stop_server(server.proc)
    # The same port again: free, and served.
    restarted = start_server(root, env, port=server.port)
    try:
        assert Client(restarted.url).request("", headers={"Authorization": "token wrong-token"})[0] == 302
    finally:
        stop_server(restarted.proc)


@pytest.mark.parametrize("stop", ["SIGTERM", "SIGINT", "SIGHUP"])
def test_a_stop_signal_reaches_the_child_as_sigterm_and_our_handler_comes_back(stop):
    """`attendance serve` and `attendance hub` wait for their server this way: Ctrl+C, kill, a closed terminal."""
    from attendance_core.server.foreground import wait_passing_stop_signals

    signum = getattr(signal, stop)
    ours = signal.getsignal(signum)
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    # Sent while the wait is on: the handler is installed right after this call returns.
    timer = threading.Timer(1.0, os.kill, (os.getpid(), signum))
    timer.start()
    try:
        assert wait_passing_stop_signals(child) == -signal.SIGTERM
    finally:
        timer.cancel()
        if child.poll() is None:
            child.kill()
            child.wait()
    assert signal.getsignal(signum) is ours
