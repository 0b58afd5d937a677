"""Writing files so that a crash or a full disk never leaves a half-written one behind."""
from __future__ import annotations

import contextlib
import os
import tempfile
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
