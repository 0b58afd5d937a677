"""On-disk cache of reference-photo encodings, keyed by file content and model settings.

One JSON file per model setting holds, for every photo content (SHA-256), the faces found in it
(boxes and encodings), plus a stat index (path, size, mtime) so that an unchanged roster is
reloaded without reading or hashing its photos. Writes are atomic (temporary file, fsync, rename)
and merge with what another process may have written meanwhile, under a file lock.
Only reference photos are cached; classroom photos never are.
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .files import write_atomic

FORMAT_VERSION = 1


@dataclass
class CachedFaces:
    """Faces of one photo: boxes (top, right, bottom, left), encodings ``(n, 128)``, or the error that stopped it."""

    boxes: np.ndarray
    encodings: np.ndarray
    error: str | None = None

    def to_json(self) -> dict:
        return {"boxes": self.boxes.astype(int).tolist(), "encodings": np.round(self.encodings, 8).tolist(),
                "error": self.error}

    @classmethod
    def from_json(cls, d: dict) -> "CachedFaces":
        return cls(np.asarray(d["boxes"], dtype=np.int64).reshape(-1, 4),
                   np.asarray(d["encodings"], dtype=np.float64).reshape(-1, 128), d.get("error"))


def file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class EncodingCache:
    """Encodings of reference photos for one model setting ``key``, stored under ``folder``."""

    def __init__(self, folder: Path | str | None, key: str):
        self.key = key
        self.path = None if folder is None else Path(folder) / f"encodings-{hashlib.sha1(key.encode()).hexdigest()[:12]}.json"
        self._faces: dict[str, dict] = {}
        self._stats: dict[str, list] = {}
        self._dirty: set[str] = set()
        self._forgotten: set[str] = set()
        self._read()

    def _read(self) -> None:
        if self.path is None or not self.path.is_file():
            return
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            if data.get("version") != FORMAT_VERSION or data.get("key") != self.key:
                return
            self._faces, self._stats = dict(data["faces"]), dict(data["stats"])
        except (OSError, ValueError, KeyError, TypeError):
            # A damaged cache is only a slower start: it is rebuilt from the photos.
            self._faces, self._stats = {}, {}

    def digest(self, path: Path) -> str:
        """SHA-256 of a photo, from the stat index when the file is unchanged."""
        st = path.stat()
        entry = self._stats.get(str(path.resolve()))
        if entry and entry[0] == st.st_size and entry[1] == st.st_mtime_ns and entry[2] in self._faces:
            return entry[2]
        digest = file_digest(path)
        self._stats[str(path.resolve())] = [st.st_size, st.st_mtime_ns, digest]
        self._dirty.add(digest)
        return digest

    def get(self, digest: str) -> CachedFaces | None:
        entry = self._faces.get(digest)
        return CachedFaces.from_json(entry) if entry is not None else None

    def put(self, digest: str, faces: CachedFaces) -> None:
        self._faces[digest] = faces.to_json()
        self._dirty.add(digest)

    def forget(self, paths: list[Path]) -> int:
        """Remove the entries of these photos (by content, wherever else it is stored); returns how many."""
        digests = set()
        for p in map(Path, paths):
            entry = self._stats.get(str(p.resolve()))
            if entry:
                digests.add(entry[2])
            elif p.is_file():
                digests.add(file_digest(p))
        removed = sum(self._faces.pop(d, None) is not None for d in digests)
        self._stats = {k: v for k, v in self._stats.items() if v[2] not in digests}
        self._forgotten |= digests
        return removed

    @contextlib.contextmanager
    def _locked(self):
        assert self.path is not None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_suffix(".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def save(self) -> None:
        """Write the cache atomically, merged with entries another process saved meanwhile."""
        if self.path is None or not (self._dirty or self._forgotten):
            return
        with self._locked():
            mine_faces, mine_stats = self._faces, self._stats
            self._read()  # what is on disk now
            faces = {k: v for k, v in self._faces.items() if k not in self._forgotten}
            faces.update(mine_faces)
            stats = {k: v for k, v in self._stats.items() if v[2] not in self._forgotten}
            stats.update(mine_stats)
            payload = json.dumps({"version": FORMAT_VERSION, "key": self.key, "faces": faces, "stats": stats},
                                 separators=(",", ":"))
            write_atomic(self.path, payload, private=True)  # encodings are biometric data: owner only
            self._faces, self._stats = faces, stats
            self._dirty.clear()
            self._forgotten.clear()


def forget_everywhere(cache_dir: Path | str | None, paths: list[Path]) -> int:
    """Remove these photos' entries from every cache file under ``cache_dir`` (all model settings).

    Returns how many entries were removed. A cache file that cannot be read (damaged, or written by
    another format version) may still hold the photos' encodings, so it is deleted: it is only a cache.
    """
    if cache_dir is None or not Path(cache_dir).is_dir():
        return 0
    removed = 0
    for file in sorted(Path(cache_dir).glob("encodings-*.json")):
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
            key = data["key"] if data.get("version") == FORMAT_VERSION else None
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            key = None
        if not isinstance(key, str):
            file.unlink(missing_ok=True)
            continue
        cache = EncodingCache(None, key)
        cache.path = file  # the file as found, even if its name is not the one its key would give today
        cache._read()
        removed += cache.forget(paths)
        cache.save()
    return removed
