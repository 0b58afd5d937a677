"""OneRoster CSV bundles written from the specification, for the tests.

The column lists are OneRoster 1.1's CSV tables (IMS Global, "OneRoster 1.1 CSV Tables", section 3), in
the order the specification gives them; 1.2 moves ``role`` and ``orgSourcedIds`` out of users.csv into
roles.csv. The school: one org, one term, 3 classes, 2 teachers, 40 students, two of them named Kit Harington.
"""
from __future__ import annotations

import bz2
import csv
import io
import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

HEADERS_1_1 = {
    "orgs.csv": "sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId",
    "academicSessions.csv": "sourcedId,status,dateLastModified,title,type,startDate,endDate,parentSourcedId,"
                            "schoolYear",
    "classes.csv": "sourcedId,status,dateLastModified,title,grades,courseSourcedId,classCode,classType,location,"
                   "schoolSourcedId,termSourcedIds,subjects,subjectCodes,periods",
    "users.csv": "sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,userIds,givenName,"
                 "familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,password",
    "enrollments.csv": "sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,"
                       "primary,beginDate,endDate",
}
HEADERS_1_2 = dict(HEADERS_1_1)
HEADERS_1_2["users.csv"] = ("sourcedId,status,dateLastModified,enabledUser,username,userIds,givenName,familyName,"
                            "middleName,identifier,email,sms,phone,agentSourcedIds,grades,password,"
                            "userMasterIdentifier,resourceSourcedIds,preferredGivenName,preferredMiddleName,"
                            "preferredFamilyName,primaryOrgSourcedId,pronouns")
HEADERS_1_2["roles.csv"] = ("sourcedId,status,dateLastModified,userSourcedId,roleType,role,beginDate,endDate,"
                            "orgSourcedId,userProfileSourcedId")
#: Every file a 1.1 manifest names (those we do not write are "absent").
MANIFEST_FILES = ["academicSessions", "categories", "classes", "classResources", "courses", "courseResources",
                  "demographics", "enrollments", "lineItems", "orgs", "resources", "results", "users"]

GIVEN = ["Ada", "Alan", "Grace", "Edsger", "Barbara", "Donald", "Frances", "John", "Margaret", "Ken"]
FAMILY = ["Lovelace", "Turing", "Hopper", "Dijkstra", "Liskov", "Knuth", "Allen", "Backus", "Hamilton", "Thompson"]
CLASSES = {"cls-7a": ("7A Maths", "7A-MA"), "cls-7b": ("7B Maths", "7B-MA"), "cls-8a": ("8A Science", "8A-SC")}
TEACHERS = {"t-ana": ("ana", "Ana", "Silva", ["cls-7a", "cls-8a"]), "t-ben": ("ben", "Ben", "Okafor", ["cls-7b"])}
#: The two students who share a name.
SAME_NAME = ("s-007", "s-031")
STAMP = "2026-01-05T08:00:00.000Z"


def student_ids() -> list[str]:
    return [f"s-{n:03d}" for n in range(1, 41)]


def student_name(sid: str) -> tuple[str, str]:
    """(givenName, familyName): every student a different name, except the two of :data:`SAME_NAME`."""
    if sid in SAME_NAME:
        return "Kit", "Harington"
    n = int(sid[2:])
    return GIVEN[n % 10], FAMILY[n // 10 % 10] + ("" if n < 10 else f"-{n}")


def student_classes(sid: str) -> list[str]:
    """Students 1-15 are in 7A, 16-30 in 7B, 31-40 in 8A; 1-5 also take 8A Science."""
    n = int(sid[2:])
    out = ["cls-7a" if n <= 15 else "cls-7b" if n <= 30 else "cls-8a"]
    return out + (["cls-8a"] if n <= 5 else [])


def school(version: str = "1.1") -> dict[str, list[dict[str, str]]]:
    """The rows of each file of the school's bulk bundle."""
    orgs = [{"sourcedId": "org-1", "name": "Hillside School", "type": "school", "identifier": "HS"}]
    terms = [{"sourcedId": "term-2026", "title": "Spring 2026", "type": "term", "startDate": "2026-01-05",
              "endDate": "2026-07-15", "schoolYear": "2026"}]
    classes = [{"sourcedId": sid, "title": title, "classCode": code, "classType": "scheduled",
                "schoolSourcedId": "org-1", "termSourcedIds": "term-2026", "courseSourcedId": f"course-{code}"}
               for sid, (title, code) in CLASSES.items()]
    users, enrollments, roles = [], [], []
    for sid, (login, given, family, _) in TEACHERS.items():
        users.append({"sourcedId": sid, "enabledUser": "true", "orgSourcedIds": "org-1", "role": "teacher",
                      "username": login, "givenName": given, "familyName": family, "email": f"{login}@hs.example"})
    for sid in student_ids():
        given, family = student_name(sid)
        users.append({"sourcedId": sid, "enabledUser": "true", "orgSourcedIds": "org-1", "role": "student",
                      "username": sid, "givenName": given, "familyName": family, "grades": "07"})
    for sid, (_, _, _, taught) in TEACHERS.items():
        for cls in taught:
            enrollments.append({"sourcedId": f"e-{cls}-{sid}", "classSourcedId": cls, "schoolSourcedId": "org-1",
                                "userSourcedId": sid, "role": "teacher", "primary": "true",
                                "beginDate": "2026-01-05"})
    for sid in student_ids():
        for cls in student_classes(sid):
            enrollments.append({"sourcedId": f"e-{cls}-{sid}", "classSourcedId": cls, "schoolSourcedId": "org-1",
                                "userSourcedId": sid, "role": "student", "beginDate": "2026-01-05"})
    rows = {"orgs.csv": orgs, "academicSessions.csv": terms, "classes.csv": classes, "users.csv": users,
            "enrollments.csv": enrollments}
    if version == "1.2":
        for user in users:
            roles.append({"sourcedId": f"r-{user['sourcedId']}", "userSourcedId": user["sourcedId"],
                          "roleType": "primary", "role": user["role"], "orgSourcedId": "org-1"})
            user["primaryOrgSourcedId"] = "org-1"
        rows["roles.csv"] = roles
    return rows


def csv_text(name: str, rows: list[dict[str, str]], version: str = "1.1") -> str:
    """A file of the bundle: the specification's header, then the rows (unknown columns are an error)."""
    header = (HEADERS_1_2 if version == "1.2" else HEADERS_1_1)[name].split(",")
    out = io.StringIO()
    writer = csv.DictWriter(out, header, lineterminator="\r\n", extrasaction="raise", restval="")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: v for k, v in row.items() if k in header or version == "1.1"})
    return out.getvalue()


def manifest(modes: dict[str, str], version: str = "1.1") -> str:
    """manifest.csv: the version and every file's mode (``bulk``, ``delta``; the others ``absent``)."""
    lines = ["propertyName,value", "manifest.version,1.0", f"oneroster.version,{version}"]
    names = MANIFEST_FILES + (["roles", "userProfiles"] if version == "1.2" else [])
    lines += [f"file.{name},{modes.get(name + '.csv', 'absent')}" for name in names]
    lines += ["source.systemName,Test SIS", "source.systemCode,test"]
    return "\r\n".join(lines) + "\r\n"


def write_bundle(folder: Path, files: dict[str, list[dict[str, str]]], mode: str = "bulk", version: str = "1.1",
                 as_zip: bool = False) -> Path:
    """Write a bundle of ``files`` (name -> rows), every file in ``mode``; a folder, or ``folder.zip``."""
    texts = {name: csv_text(name, rows, version) for name, rows in files.items()}
    texts["manifest.csv"] = manifest({name: mode for name in files}, version)
    if as_zip:
        path = folder.with_suffix(".zip")
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, text in texts.items():
                archive.writestr(name, text)
        return path
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in texts.items():
        (folder / name).write_text(text, encoding="utf-8", newline="")
    return folder


# --- ZIP files that lie: written byte by byte, so that what the ZIP's directory declares need not be true ---

@dataclass
class ZipEntry:
    """One entry as it is written: its compressed bytes, and what the directory says of it (which may be false)."""

    name: str
    compressed: bytes
    method: int
    size: int  # the uncompressed size declared
    crc: int
    flags: int = 0


def zip_entry(name: str, data: bytes, method: int = zipfile.ZIP_DEFLATED, **lies) -> ZipEntry:
    """An honest entry holding ``data``; ``lies`` (size=, crc=, flags=) replace what the directory declares."""
    if method == zipfile.ZIP_DEFLATED:
        packer = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
        compressed = packer.compress(data) + packer.flush()
    elif method == zipfile.ZIP_BZIP2:
        compressed = bz2.compress(data)
    else:
        compressed = data
    entry = ZipEntry(name, compressed, method, len(data), zlib.crc32(data))
    for field_name, value in lies.items():
        setattr(entry, field_name, value)
    return entry


def bzip2_bomb(name: str, real_bytes: int, declared: int = 2048) -> ZipEntry:
    """A bzip2 entry holding ``real_bytes`` zero bytes whose directory declares ``declared`` (compressed a
    megabyte at a time: 1 GB gives about 700 bytes)."""
    packer, chunk, parts = bz2.BZ2Compressor(9), bytes(2**20), []
    for _ in range(real_bytes // len(chunk)):
        parts.append(packer.compress(chunk))
    parts.append(packer.compress(bytes(real_bytes % len(chunk))))
    parts.append(packer.flush())
    return ZipEntry(name, b"".join(parts), zipfile.ZIP_BZIP2, declared, zlib.crc32(bytes(declared)))


def write_zip(path: Path, entries: list[ZipEntry]) -> Path:
    """A ZIP file of ``entries`` (local headers, data, central directory), exactly as declared."""
    local, central = io.BytesIO(), io.BytesIO()
    for entry in entries:
        name = entry.name.encode()
        version = 46 if entry.method == zipfile.ZIP_BZIP2 else 20
        offset = local.tell()
        local.write(struct.pack("<4s2B4HL2L2H", b"PK\x03\x04", version, 0, entry.flags, entry.method, 0, 0x21,
                                entry.crc, len(entry.compressed), entry.size, len(name), 0))
        local.write(name + entry.compressed)
        central.write(struct.pack("<4s4B4HL2L5H2L", b"PK\x01\x02", version, 3, version, 0, entry.flags,
                                  entry.method, 0, 0x21, entry.crc, len(entry.compressed), entry.size, len(name),
                                  0, 0, 0, 0, 0o644 << 16, offset))
        central.write(name)
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(entries), len(entries), central.tell(), local.tell(), 0)
    path.write_bytes(local.getvalue() + central.getvalue() + end)
    return path


def bundle_entries(files: dict[str, list[dict[str, str]]], mode: str = "bulk", version: str = "1.1") -> list[ZipEntry]:
    """The honest entries of a bundle of ``files`` (name -> rows), the manifest first."""
    texts = {"manifest.csv": manifest({name: mode for name in files}, version)}
    texts.update({name: csv_text(name, rows, version) for name, rows in files.items()})
    return [zip_entry(name, text.encode()) for name, text in texts.items()]
