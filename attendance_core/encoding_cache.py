"""On-disk cache of reference-photo encodings, keyed by file content and model settings.

One JSON file per model setting holds, for every photo content (SHA-256), the faces found in it
(boxes and encodings), plus a stat index (path, size, mtime) so that an unchanged roster is
reloaded without reading or hashing its photos. Writes are atomic (temporary file, fsync, rename)
and merge with what another process may have written meanwhile, under a file lock.
Only reference photos are cached; classroom photos never are.

The cache is optional: a damaged file, or an entry of the wrong shape, is ignored with a warning
(logged, naming the file) and its photos are encoded again; a write that fails (a full disk, a
read-only folder) is a warning too, and only costs the next start its speed.
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .files import write_atomic

FORMAT_VERSION = 1
ENCODING_SIZE = 128

log = logging.getLogger(__name__)


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


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _array(values: list, kinds: str, columns: int) -> bool:
    """True when ``values`` is a list of rows of ``columns`` finite numbers of the numpy kinds ``kinds``."""
    if not values:
        return True
    try:
        arr = np.asarray(values)
    except ValueError:  # rows of different lengths
        return False
    return arr.dtype.kind in kinds and arr.shape == (len(values), columns) and bool(np.isfinite(arr).all())


def _valid_faces(entry) -> bool:
    """True for ``{"boxes": [[4 ints], ...], "encodings": [[128 numbers], ...], "error": str | None}``, one
    encoding per box: what :meth:`CachedFaces.to_json` writes."""
    if not isinstance(entry, dict):
        return False
    boxes, encodings, error = entry.get("boxes"), entry.get("encodings"), entry.get("error")
    return (isinstance(boxes, list) and isinstance(encodings, list) and len(boxes) == len(encodings)
            and (error is None or isinstance(error, str))
            and _array(boxes, "i", 4) and _array(encodings, "if", ENCODING_SIZE))


def _valid_stat(entry) -> bool:
    """True for ``[size in bytes, mtime in ns, SHA-256 hex]``."""
    return (isinstance(entry, list) and len(entry) == 3 and _is_int(entry[0]) and _is_int(entry[1])
            and isinstance(entry[2], str))


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
        self._warned: set[tuple] = set()
        self._read()

    def _read(self) -> None:
        """Load the file's entries, keeping the good ones: a damaged cache is only a slower start."""
        self._faces, self._stats = {}, {}
        if self.path is None or not self.path.is_file():
            return
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except OSError as err:
            self._warn(f"the encoding cache cannot be read ({err.strerror or err})")
            return
        except (ValueError, RecursionError) as err:
            self._warn(f"damaged encoding cache (not JSON: {err})")
            return
        if isinstance(data, dict) and "version" in data and data["version"] != FORMAT_VERSION:
            return  # another format version: rebuilt in this one
        if not (isinstance(data, dict) and isinstance(data.get("key"), str) and isinstance(data.get("faces"), dict)
                and isinstance(data.get("stats"), dict)):
            self._warn("damaged encoding cache (not the cache's layout)")
            return
        if data["key"] != self.key:
            return  # another model setting's file (not under its usual name)
        faces = {k: v for k, v in data["faces"].items() if _valid_faces(v)}
        stats = {k: v for k, v in data["stats"].items() if _valid_stat(v)}
        bad = len(data["faces"]) - len(faces) + len(data["stats"]) - len(stats)
        if bad:
            self._warn(f"{bad} damaged {'entry' if bad == 1 else 'entries'} in the encoding cache")
        self._faces, self._stats = faces, stats

    def _warn(self, problem: str) -> None:
        # Once per file and problem: save() reads the file again before merging.
        if (problem, self.path) not in self._warned:
            self._warned.add((problem, self.path))
            log.warning("%s: %s; ignored, the reference photos concerned are encoded again", self.path, problem)

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

    def save(self) -> bool:
        """Write the cache atomically, merged with entries another process saved meanwhile.

        Returns whether it was written: a failed write (full disk, read-only folder) is logged as a
        warning, not raised, since the cache only saves time; the entries stay in memory.
        """
        if self.path is None or not (self._dirty or self._forgotten):
            return False
        try:
            self._write()
        except OSError as err:
            log.warning("%s: the encoding cache could not be saved (%s); the reference photos will be encoded "
                        "again next time", self.path, err.strerror or err)
            return False
        return True

    def _write(self) -> None:
        """Merge with the file on disk and replace it; raises OSError when it cannot be written."""
        with self._locked():
            mine_faces, mine_stats = self._faces, self._stats
            self._read()  # what is on disk now
            faces = {k: v for k, v in self._faces.items() if k not in self._forgotten}
            faces.update(mine_faces)
            stats = {k: v for k, v in self._stats.items() if v[2] not in self._forgotten}
            stats.update(mine_stats)
            # Kept in memory even if the write below fails: the merge holds every entry of both.
            self._faces, self._stats = faces, stats
            payload = json.dumps({"version": FORMAT_VERSION, "key": self.key, "faces": faces, "stats": stats},
                                 separators=(",", ":"))
            write_atomic(self.path, payload, private=True)  # encodings are biometric data: owner only
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
        except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError):
            key = None
        if not isinstance(key, str):
            file.unlink(missing_ok=True)
            continue
        cache = EncodingCache(None, key)
        cache.path = file  # the file as found, even if its name is not the one its key would give today
        cache._read()
        removed += cache.forget(paths)
        try:
            cache._write()
        except OSError:
            # Not rewritten without the forgotten photos (a full disk?): delete it, it is only a cache.
            file.unlink(missing_ok=True)
    return removed
