"""Writing files so that a crash or a full disk never leaves a half-written one behind, and keeping uploads."""
from __future__ import annotations

import contextlib
import os
import re
import tempfile
from datetime import datetime
from pathlib import Path


def write_atomic(path: Path | str, data: bytes | str, private: bool = False) -> Path:
    """Replace ``path`` with ``data`` in one step: the file is either the old one or the new one.

    The data goes to a temporary file in the same folder, is flushed to disk, then renamed over
    ``path``; on any failure the temporary file is removed and ``path`` is left as it was.
    private: make the file readable and writable by its owner only (encodings, password hashes).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(raw)
            fh.flush()
            os.fsync(fh.fileno())
        # mkstemp makes the file 0600; a public file gets the usual permissions of a new file.
        if not private:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path


def write_new_private(path: Path | str, text: str) -> Path:
    """Write ``text`` to a new file (never an existing one) readable and writable by its owner only: from its
    first byte, unlike a file made then chmod-ed (keys, the servers' private configuration)."""
    path = Path(path)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    return path


def save_upload(folder: Path | str, name: str, content: bytes, now: datetime | None = None) -> Path:
    """Keep a copy of an uploaded photo as ``folder/<YYYY-MM-DD>/<HHMMSS>-<safe name>``, owner-only.

    Folders are made 0700 and the file 0600 (classroom photos are biometric data); the name is the
    upload's last path part reduced to letters, digits, ``.``, ``-`` and ``_``; an existing file is never
    replaced (``-2``, ``-3``... are added). Returns the path written.
    """
    now = now or datetime.now()
    folder = Path(folder)
    day = folder / f"{now:%Y-%m-%d}"
    for d in (folder.parent, folder, day):
        d.mkdir(mode=0o700, exist_ok=True)
    for d in (folder, day):
        os.chmod(d, 0o700)
    base = str(name).replace("\\", "/").rsplit("/", 1)[-1]
    safe = re.sub(r"[^\w.-]+", "_", base).lstrip(".")[:100] or "photo"
    path = day / f"{now:%H%M%S}-{safe}"
    k = 2
    while True:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            break
        except FileExistsError:
            path = day / f"{now:%H%M%S}-{Path(safe).stem}-{k}{Path(safe).suffix}"
            k += 1
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(content)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(path)
        raise
    os.chmod(path, 0o600)
    return path
