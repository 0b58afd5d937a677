"""What the commands ask of the person at the terminal (``attendance serve`` and the hub's ``users add``)."""
from __future__ import annotations

import sys


def read_new_password(prompt: str = "New dashboard password: ") -> str:
    """A new password: asked twice on a terminal, or one line from standard input (scripts)."""
    import getpass

    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass(prompt)
    if getpass.getpass("Same password again: ") != first:
        raise ValueError("the two passwords differ; nothing was stored")
    return first
