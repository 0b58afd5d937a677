"""Reading a OneRoster CSV bundle (a folder or a ZIP file) safely, row by row, and checking each row.

A bundle comes from outside the school's control (an information system's export, an e-mail attachment),
so reading it assumes nothing it declares:

- **a ZIP entry's size is counted while it is decompressed**, never taken from the ZIP's directory: an entry
  that holds more than it declares, or more than :data:`MAX_FILE_BYTES`, is refused as soon as it does, after
  at most a few kilobytes of output (a 2.6 KB ZIP that would decompress to 1 GB costs nothing);
- **only the files the import reads are opened** (``manifest.csv`` and the files it names): other entries are
  never decompressed; one of those names twice in the ZIP (``users.csv`` and ``../users.csv``), a path
  out of the bundle, an encrypted entry, a damaged one (its CRC-32) or an unknown compression method is
  refused with a one-line message naming the file;
- **rows are streamed**: a file is read a line at a time (at most :data:`MAX_LINE_BYTES`), decoded as UTF-8 a
  line at a time, and checked row by row in a first pass that keeps nothing; only a bundle whose every row
  is fine is read a second time, keeping the columns the import uses. Memory is bounded by
  :data:`MAX_ROWS` rows of those columns, never by the size of a file.

Each problem names its file and line (``users.csv line 43: ...``); :class:`OneRosterError` lists them.
"""
from __future__ import annotations

import bz2
import csv
import io
import re
import struct
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Callable, Iterator

from ..errors import AttendanceError
from ..records.schema import unsafe_character
from .classlist import FORMULA

VERSIONS = ("1.1", "1.2")
BULK, DELTA, ABSENT = "bulk", "delta", "absent"
ACTIVE, TO_BE_DELETED = "active", "tobedeleted"
MANIFEST = "manifest.csv"
#: The files read, and the columns each must have (the others are optional or not used).
REQUIRED = {
    "orgs.csv": ("sourcedId", "status", "dateLastModified", "name", "type"),
    "academicSessions.csv": ("sourcedId", "status", "dateLastModified", "title", "type", "startDate", "endDate"),
    "classes.csv": ("sourcedId", "status", "dateLastModified", "title", "schoolSourcedId"),
    "users.csv": ("sourcedId", "status", "dateLastModified", "enabledUser", "username", "givenName", "familyName"),
    "enrollments.csv": ("sourcedId", "status", "dateLastModified", "classSourcedId", "userSourcedId", "role"),
    "roles.csv": ("sourcedId", "status", "dateLastModified", "userSourcedId", "roleType", "role"),
}
#: The columns the import uses, per file: the only cells kept in memory.
USED = {
    MANIFEST: ("propertyName", "value"),
    "orgs.csv": ("sourcedId", "status"),
    "academicSessions.csv": ("sourcedId", "status"),
    "classes.csv": ("sourcedId", "status", "title", "classCode", "schoolSourcedId", "termSourcedIds"),
    "users.csv": ("sourcedId", "status", "role", "givenName", "familyName", "username", "email", "orgSourcedIds"),
    "enrollments.csv": ("sourcedId", "status", "dateLastModified", "classSourcedId", "userSourcedId", "role",
                        "schoolSourcedId", "beginDate", "endDate"),
    "roles.csv": ("sourcedId", "status", "userSourcedId", "roleType", "role"),
}
#: Cells the records keep, checked for spreadsheet formulas and control characters; per file.
KEPT = {
    "classes.csv": ("sourcedId", "title", "classCode"),
    "users.csv": ("sourcedId", "username", "givenName", "familyName"),
    "enrollments.csv": ("sourcedId", "classSourcedId", "userSourcedId"),
}
#: Largest bundle read: rows per file, bytes per file once decompressed, bytes per line (a district's is far smaller).
MAX_ROWS = 500_000
MAX_FILE_BYTES = 256 * 2**20
MAX_LINE_BYTES = 2**20
MAX_MANIFEST_ROWS = 1000
#: A sourcedId longer than this cannot be kept (the records' column).
MAX_ID_CHARS = 255
#: Problems listed before the rest are only counted; a file's check stops after MAX_PROBLEMS.
MAX_SHOWN = 50
MAX_PROBLEMS = 1000
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_CHUNK = 64 * 2**10


class OneRosterError(AttendanceError, ValueError):
    """A bundle that cannot be imported; ``problems`` lists each ``file line N: what``; nothing was imported."""

    def __init__(self, source: str, problems: list[str]):
        self.source, self.problems = source, problems
        if len(problems) == 1:  # one line: what a script's log or a terminal shows at once
            super().__init__(f"{source}: not imported, nothing was changed: {problems[0]}")
            return
        shown = problems[:MAX_SHOWN]
        more = f"\n  ... and {len(problems) - MAX_SHOWN} more" if len(problems) > MAX_SHOWN else ""
        super().__init__(f"{source}: not imported, nothing was changed ({len(problems)} problems):\n"
                         + "\n".join(f"  {p}" for p in shown) + more)


@dataclass(slots=True)
class Row:
    """One CSV row: its ``line`` in ``file`` and its cells by column name (the columns the import uses)."""

    file: str
    line: int
    cells: dict[str, str]

    def __getitem__(self, column: str) -> str:
        return self.cells.get(column, "")

    def where(self) -> str:
        return f"{self.file} line {self.line}"


@dataclass
class Bundle:
    """A bundle read and checked: the manifest's version, each file's mode, and the rows of each file."""

    source: str
    version: str
    modes: dict[str, str]
    rows: dict[str, list[Row]] = field(default_factory=dict)

    def mode(self, name: str) -> str:
        return self.modes.get(name, ABSENT)


# --- A ZIP entry, its size counted while it is decompressed ------------------------------------------

class _Refused(Exception):
    """A file of the bundle that cannot be read; the message says why (without the file's name)."""


_LOCAL_HEADER = struct.Struct("<4s22xHH")  # signature ... file name length, extra field length
_METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate", zipfile.ZIP_BZIP2: "bzip2"}


class _ZipEntry(io.RawIOBase):
    """The bytes of one ZIP entry, decompressed a bounded chunk at a time, counted and CRC-checked.

    zipfile trusts the sizes of the ZIP's directory and decompresses a bzip2 block whole, so a few
    kilobytes can become a gigabyte in one call; here every call gives at most the bytes asked for, and
    output beyond the declared size (or :data:`MAX_FILE_BYTES`) raises :class:`_Refused` at once.
    """

    def __init__(self, path: Path, info: zipfile.ZipInfo):
        super().__init__()
        self._fp = None
        self._fp = open(path, "rb")
        try:
            self._fp.seek(info.header_offset)
            header = self._fp.read(_LOCAL_HEADER.size)
            if len(header) != _LOCAL_HEADER.size or header[:4] != b"PK\x03\x04":
                raise _Refused("damaged ZIP entry (no local header where the directory says)")
            name_length, extra_length = _LOCAL_HEADER.unpack(header)[1:]
            self._fp.seek(info.header_offset + _LOCAL_HEADER.size + name_length + extra_length)
        except (OSError, _Refused):
            self._fp.close()
            raise
        self._method, self._compressed_left = info.compress_type, info.compress_size
        self._declared, self._expected_crc = info.file_size, info.CRC
        self._inflate = zlib.decompressobj(-zlib.MAX_WBITS) if self._method == zipfile.ZIP_DEFLATED else None
        self._bunzip = bz2.BZ2Decompressor() if self._method == zipfile.ZIP_BZIP2 else None
        self._tail = b""  # deflate's input not consumed yet
        self._out, self._crc, self._done = 0, 0, False

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        if self._fp is not None:
            self._fp.close()
        super().close()

    def _compressed(self) -> bytes:
        data = self._fp.read(min(_CHUNK, self._compressed_left))
        self._compressed_left -= len(data)
        if not data:
            raise _Refused("damaged ZIP entry (its data ends early)")
        return data

    def _next(self, size: int) -> tuple[bytes, bool]:
        """Up to ``size`` decompressed bytes, and whether the entry is complete."""
        if self._method == zipfile.ZIP_STORED:
            data = self._compressed() if self._compressed_left else b""
            return data, not self._compressed_left
        if self._inflate is not None:
            if not self._tail and self._compressed_left:
                self._tail = self._compressed()
            data = self._inflate.decompress(self._tail, size)
            self._tail = self._inflate.unconsumed_tail
            if not data and not self._inflate.eof and not self._tail and not self._compressed_left:
                raise _Refused("damaged ZIP entry (its data ends early)")
            return data, self._inflate.eof
        if self._bunzip.needs_input:
            if not self._compressed_left:
                raise _Refused("damaged ZIP entry (its data ends early)")
            data = self._bunzip.decompress(self._compressed(), size)
        else:
            data = self._bunzip.decompress(b"", size)
        return data, self._bunzip.eof

    def readinto(self, buffer) -> int:
        while not self._done:
            try:
                data, self._done = self._next(len(buffer))
            except (zlib.error, OSError, EOFError, ValueError) as err:
                raise _Refused(f"damaged ZIP entry ({err})") from None
            self._out += len(data)
            if self._out > self._declared:  # (at most MAX_FILE_BYTES: larger declared sizes are refused unread)
                raise _Refused(f"holds more than the {self._declared:,} bytes the ZIP's directory declares for it "
                               "(a damaged or crafted ZIP); export the bundle again")
            self._crc = zlib.crc32(data, self._crc)
            if self._done and (self._out != self._declared or self._crc != self._expected_crc):
                raise _Refused("damaged ZIP entry (its size or CRC-32 check does not match: export the bundle "
                               "again)")
            if data:
                buffer[:len(data)] = data
                return len(data)
        return 0


# --- The files of a bundle ---------------------------------------------------------------------------

Opener = Callable[[], BinaryIO]


def _folder_files(source: Path, problems: list[str]) -> dict[str, Opener]:
    files: dict[str, Opener] = {}
    for name in (MANIFEST, *REQUIRED):
        path = source / name
        if not path.is_file():
            continue
        if path.stat().st_size > MAX_FILE_BYTES:
            problems.append(f"{name}: larger than {MAX_FILE_BYTES // 2**20} MB")
            continue
        files[name] = lambda path=path: open(path, "rb")
    return files


def _zip_files(source: Path, problems: list[str]) -> dict[str, Opener]:
    """The bundle's files in a ZIP (at its top, or in one folder): openers of their bytes; problems of the entries."""
    try:
        with zipfile.ZipFile(source) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as err:
        raise OneRosterError(str(source), [f"not a folder or a ZIP file ({err})"]) from None
    found: dict[str, list[zipfile.ZipInfo]] = {}
    for info in entries:
        path = PurePosixPath(info.filename.replace("\\", "/"))
        if not info.is_dir() and (path.name == MANIFEST or path.name in REQUIRED):
            found.setdefault(path.name, []).append(info)
    files: dict[str, Opener] = {}
    for name, infos in found.items():
        info = infos[0]
        path = PurePosixPath(info.filename.replace("\\", "/"))
        if len(infos) > 1:
            problems.append(f"{name}: the ZIP holds it {len(infos)} times ("
                            + ", ".join(repr(i.filename) for i in infos) + "); export the bundle again")
        elif path.is_absolute() or ".." in path.parts:
            problems.append(f"{name}: its path {info.filename!r} leads out of the bundle")
        elif info.flag_bits & 0x1:
            problems.append(f"{name}: encrypted (a password-protected ZIP); export the bundle without a password")
        elif info.compress_type not in _METHODS:
            problems.append(f"{name}: compressed with ZIP method {info.compress_type}, which is not read here; "
                            f"export the bundle with {', '.join(_METHODS.values())}")
        elif info.file_size > MAX_FILE_BYTES:
            problems.append(f"{name}: larger than {MAX_FILE_BYTES // 2**20} MB")
        else:
            files[name] = lambda info=info: io.BufferedReader(_ZipEntry(source, info), _CHUNK)
    return files


def bundle_files(source: Path, problems: list[str]) -> dict[str, Opener]:
    """The files of a bundle (folder or ZIP) the import reads: name -> a function opening its bytes."""
    if source.is_dir():
        return _folder_files(source, problems)
    return _zip_files(source, problems)


# --- Rows, streamed ----------------------------------------------------------------------------------

def _lines(name: str, stream: BinaryIO, problems: list[str]) -> Iterator[str]:
    """The lines of a file as text, one at a time; the first one that is not UTF-8 (or too long) is a problem."""
    number = 0
    while True:
        raw = stream.readline(MAX_LINE_BYTES + 1)
        if not raw:
            return
        number += 1
        if len(raw) > MAX_LINE_BYTES:
            problems.append(f"{name} line {number}: longer than {MAX_LINE_BYTES // 2**20} MB")
            return
        try:
            yield raw.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError as err:
            problems.append(f"{name} line {number}: not UTF-8 (byte 0x{raw[err.start]:02x}); export the bundle "
                            "as UTF-8")
            return


def csv_rows(name: str, opener: Opener, problems: list[str], max_rows: int | None = None
             ) -> Iterator[tuple[int, list[str]]]:
    """``(line, cells)`` of a file's header (first, its cells stripped) and of each of its rows, streamed. Rows
    of the wrong length, too many rows and unreadable bytes are problems (the file's reading stops at the
    last two)."""
    line, max_rows = 1, MAX_ROWS if max_rows is None else max_rows
    try:
        with opener() as stream:
            reader = csv.reader(_lines(name, stream, problems))
            header = next(reader, None)
            if header is None:
                if not problems or not problems[-1].startswith(name):
                    problems.append(f"{name} line 1: empty file (no header)")
                return
            header = [c.strip() for c in header]
            line = reader.line_num
            yield 1, header
            count = 0
            for cells in reader:
                first, line = line + 1, reader.line_num
                if not any(c.strip() for c in cells):
                    continue
                if len(cells) != len(header):
                    more = "more" if len(cells) > len(header) else "fewer"
                    problems.append(f"{name} line {first}: {len(cells)} fields, {more} than the header's "
                                    f"{len(header)} (an unquoted comma?)")
                    continue
                count += 1
                if count > max_rows:
                    problems.append(f"{name} line {first}: more than {max_rows} rows; split the bundle")
                    return
                yield first, cells
    except csv.Error as err:
        problems.append(f"{name} line {line + 1}: not CSV ({err})")
    except _Refused as err:
        problems.append(f"{name}: {err}")
    except OSError as err:
        problems.append(f"{name}: cannot be read ({err.strerror or err})")


def _check_cells(name: str, line: int, cells: dict[str, str], mode: str, problems: list[str]) -> None:
    """The checks of one row that need no other row: sourcedId, status, formulas, control characters, dates."""
    where = f"{name} line {line}"
    sid = cells.get("sourcedId", "")
    if not sid:
        problems.append(f"{where}: no sourcedId")
    elif len(sid) > MAX_ID_CHARS:
        problems.append(f"{where}: sourcedId is {len(sid)} characters long, more than {MAX_ID_CHARS}")
    status = cells.get("status", "").lower()
    if status not in ("", ACTIVE, TO_BE_DELETED):
        problems.append(f"{where}: status {cells['status'][:40]!r} is neither active nor tobedeleted")
    elif mode == DELTA and not status:
        problems.append(f"{where}: a delta file needs a status (active or tobedeleted)")
    for column in KEPT.get(name, ()):
        value = cells.get(column, "")
        if FORMULA.match(value):
            problems.append(f"{where}: {column} {value[:40]!r} starts like a spreadsheet formula")
        bad = unsafe_character(value)
        if bad:
            problems.append(f"{where}: {column} holds {bad}, which is refused in names (it could rewrite a "
                            "terminal or reorder the text shown)")
    for column in ("beginDate", "endDate"):
        if cells.get(column) and not _DATE.match(cells[column]):
            problems.append(f"{where}: {column} {cells[column][:40]!r} is not a date (YYYY-MM-DD)")
    if cells.get("dateLastModified") and not _DATE.match(cells["dateLastModified"]):
        problems.append(f"{where}: dateLastModified {cells['dateLastModified'][:40]!r} is not a date-time")


def _check_file(name: str, opener: Opener, mode: str, version: str, problems: list[str]) -> None:
    """First pass over a file: its columns and every row checked, nothing kept."""
    start = len(problems)
    rows = csv_rows(name, opener, problems)
    _, header = next(rows, (0, None))
    if header is None:
        return
    missing = [c for c in REQUIRED[name] if c not in header]
    if version == "1.1" and name == "users.csv" and "role" not in header:
        missing.append("role")
    if missing:
        rows.close()
        problems.append(f"{name} line 1: missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)}")
        return
    for line, cells in rows:
        _check_cells(name, line, dict(zip(header, (c.strip() for c in cells))), mode, problems)
        if len(problems) - start >= MAX_PROBLEMS:
            rows.close()
            problems.append(f"{name}: checking stopped after {MAX_PROBLEMS} problems")
            return


def _load_file(name: str, opener: Opener, problems: list[str]) -> tuple[list[str], list[Row]]:
    """Second pass over a checked file: its header and rows, with the used columns only, status made
    explicit; and each sourcedId once."""
    rows: list[Row] = []
    seen: dict[str, int] = {}
    used = USED[name]
    lines = csv_rows(name, opener, problems, MAX_MANIFEST_ROWS if name == MANIFEST else None)
    _, header = next(lines, (0, []))
    for line, cells in lines:
        kept = {h: c.strip() for h, c in zip(header, cells) if h in used}
        if name != MANIFEST:
            sid = kept["sourcedId"]
            if sid in seen:
                problems.append(f"{name} line {line}: sourcedId {sid!r} again (first on line {seen[sid]})")
            else:
                seen[sid] = line
            kept["status"] = kept["status"].lower() or ACTIVE
        rows.append(Row(name, line, kept))
    return header, rows


def read_bundle(source: Path | str) -> Bundle:
    """Read and check the CSV files of a bundle (folder or ZIP); raises :class:`OneRosterError` listing every problem."""
    source = Path(source)
    if not source.exists():
        raise OneRosterError(str(source), ["no such folder or ZIP file"])
    problems: list[str] = []
    files = bundle_files(source, problems)
    if MANIFEST not in files:
        if not problems:
            problems.append(f"{MANIFEST}: missing (a OneRoster bundle starts with its manifest)")
        raise OneRosterError(str(source), problems)
    header, manifest_rows = _load_file(MANIFEST, files[MANIFEST], problems)
    if header[:2] != ["propertyName", "value"]:
        problems.append(f"{MANIFEST} line 1: the header must be propertyName,value, not {','.join(header)[:80]}")
    manifest = {r["propertyName"]: r["value"] for r in manifest_rows}
    version = manifest.get("oneroster.version", "")
    if version not in VERSIONS:
        problems.append(f"{MANIFEST}: oneroster.version is {version[:20]!r}; this reads {' and '.join(VERSIONS)}")
    modes = {}
    for name in REQUIRED:
        mode = manifest.get(f"file.{name[:-4]}", ABSENT).strip().lower() or ABSENT
        if mode not in (BULK, DELTA, ABSENT):
            problems.append(f"{MANIFEST}: file.{name[:-4]} is {mode[:20]!r}, not bulk, delta or absent")
        elif mode != ABSENT and name not in files:
            if not any(p.startswith(f"{name}:") for p in problems):
                problems.append(f"{name}: missing, but {MANIFEST} says file.{name[:-4]}={mode}")
        elif mode == ABSENT and name in files:
            problems.append(f"{name}: present, but {MANIFEST} says file.{name[:-4]}=absent")
        elif mode != ABSENT:
            modes[name] = mode
    for name, mode in modes.items():
        _check_file(name, files[name], mode, version, problems)
    if problems:
        raise OneRosterError(str(source), problems)
    bundle = Bundle(str(source), version, modes)
    for name in modes:
        bundle.rows[name] = _load_file(name, files[name], problems)[1]
    if problems:
        raise OneRosterError(str(source), problems)
    return bundle
