"""Another account of the machine probing Voilà's request-info channel (issue 28, item 1), as a script of its own.

    python request_info_probe.py PORT PREFIX SECONDS

Run as another OS user (``nobody``), it does what such a user can: reads the kernels' ids from every process's
command line (``ps``), opens ``ws://127.0.0.1:PORT/PREFIXvoila/query/KERNEL`` for each and prints a JSON line
``{"kernels": [...], "answers": {kernel: HTTP status}}``; then holds every channel that opened until its
standard input ends (or SECONDS pass), and prints ``{..., "received": {kernel: [messages]}}``. Standard library
only: the account need not read the project's files.
"""
from __future__ import annotations

import base64
import json
import os
import re
import select
import socket
import sys
import time


def kernel_ids() -> list[str]:
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as fh:
                    found.update(re.findall(rb"kernel-([0-9a-f-]{36})\.json", fh.read()))
            except OSError:
                continue
    return sorted(k.decode() for k in found)


def open_channel(port: int, path: str) -> tuple[int, socket.socket | None]:
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall((f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
    answer = b""
    while b"\r\n\r\n" not in answer:
        chunk = sock.recv(4096)
        if not chunk:
            break
        answer += chunk
    status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/") else 0
    if status != 101:
        sock.close()
        return status, None
    return status, sock


def main() -> None:
    port, prefix, seconds = int(sys.argv[1]), sys.argv[2], float(sys.argv[3])
    kernels = kernel_ids()
    answers, held, received = {}, {}, {}
    for kernel in kernels:
        status, sock = open_channel(port, f"{prefix}voila/query/{kernel}")
        answers[kernel] = status
        if sock is not None:
            held[sock] = kernel
    print(json.dumps({"kernels": kernels, "answers": answers, "opened": True}), flush=True)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        ready, _, _ = select.select([*held, sys.stdin], [], [], 0.5)
        if sys.stdin in ready and not sys.stdin.readline():
            break  # the caller is done
        for sock in (r for r in ready if r is not sys.stdin):
            data = sock.recv(65536)
            if not data:
                held.pop(sock)
                sock.close()
                continue
            received.setdefault(held[sock], []).append(data[2:].decode("utf-8", "replace"))  # (short frames)
    print(json.dumps({"kernels": kernels, "answers": answers, "received": received}), flush=True)


if __name__ == "__main__":
    main()
