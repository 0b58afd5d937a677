"""Lay out the demo class: ``known_faces/`` (5 students) and ``sample_images/`` (classroom photos).

The photos are the MIT-licensed examples of the face_recognition project. Each is downloaded from
the URL pinned in ``data/SOURCES.csv`` and checked against its SHA-256; on a machine without
internet, ``mirror`` names a folder holding the same files (``file`` column) to copy from instead.
"""
from __future__ import annotations

import csv
import hashlib
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from .errors import AttendanceError
from .files import write_atomic

MANIFEST = "SOURCES.csv"


class SampleError(AttendanceError, RuntimeError):
    """Some sample files could not be fetched or failed their checksum."""


@dataclass(frozen=True)
class SampleFile:
    target: str  # where it goes, relative to the project folder
    file: str  # its path in a mirror folder
    url: str
    sha256: str


def manifest() -> list[SampleFile]:
    """Every demo-class file with its download URL and checksum."""
    text = resources.files("attendance_core.data").joinpath(MANIFEST).read_text(encoding="utf-8")
    return [SampleFile(**row) for row in csv.DictReader(text.splitlines())]


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _download(url: str, attempts: int = 3, timeout: float = 30.0) -> bytes:
    last: Exception | None = None
    for attempt in range(attempts):
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:
                return response.read()
        except (urllib.error.URLError, TimeoutError, ConnectionError) as err:
            last = err
            if isinstance(err, urllib.error.HTTPError) and err.code < 500:
                break  # not found or forbidden: asking again will not help
            if attempt + 1 < attempts:
                time.sleep(1.5 * (attempt + 1))
    raise SampleError(f"download failed: {url} ({last})")


def fetch_samples(dest: Path | str = ".", mirror: Path | str | None = None, log=print,
                  items: list[SampleFile] | None = None) -> list[Path]:
    """Download (or copy from ``mirror``) the demo class into ``dest``; returns the files laid out.

    items: which files (default: the whole manifest). Files already present with the right checksum are kept. Every file is verified; a download or
    checksum failure is reported for that file and the others are still fetched, then
    :class:`SampleError` lists the failures.
    """
    dest = Path(dest)
    done: list[Path] = []
    failures: list[str] = []
    for item in manifest() if items is None else items:
        target = dest / item.target
        if target.is_file() and _sha256(target.read_bytes()) == item.sha256:
            done.append(target)
            continue
        try:
            if mirror is not None:
                source = Path(mirror) / item.file
                if not source.is_file():
                    raise SampleError(f"not in the mirror folder: {source}")
                data = source.read_bytes()
            else:
                data = _download(item.url)
            digest = _sha256(data)
            if digest != item.sha256:
                raise SampleError(f"checksum mismatch for {item.file}: expected {item.sha256}, got {digest}")
            write_atomic(target, data)
            done.append(target)
            log(f"  {item.target}")
        except (SampleError, OSError) as err:
            failures.append(f"{item.target}: {err}")
    if failures:
        raise SampleError("some sample files could not be fetched:\n  " + "\n  ".join(failures))
    return done
