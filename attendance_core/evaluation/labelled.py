"""Labelled photos (one person each): where they are, reading them, encoding them, and a class made of them."""
from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np

from ..encoding_cache import CachedFaces, EncodingCache
from ..encoding import encode_faces
from ..faces import DetectorSettings
from ..images import load_image
from ..roster import ReferencePhoto, Roster, Student, display_name, roster_entries

__all__ = ["project_root", "devdata_dir", "LabelledPhoto", "read_labelled_photos", "LabelledFaces",
           "encode_labelled_photos", "load_labelled_faces", "LabelledClass", "split_class", "LABELS_FILE"]

LABELS_FILE = "labels.csv"


# --- where the data is -----------------------------------------------------------------------


def project_root(start: Path | str | None = None) -> Path:
    """The project folder: the first folder from ``start`` (default: here) upwards holding ``attendance_core/``."""
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "attendance_core").is_dir() and (folder / "pyproject.toml").is_file():
            return folder
    return Path(__file__).resolve().parents[2]


def devdata_dir(root: Path | str | None = None) -> Path | None:
    """The labelled development set: ``$ATTENDANCE_DEVDATA``, else ``../shared/devdata`` beside the project; None if absent."""
    env = os.environ.get("ATTENDANCE_DEVDATA")
    path = Path(env) if env else project_root(root).parent / "shared" / "devdata"
    return path if path.is_dir() else None


# --- labelled photos -------------------------------------------------------------------------


@dataclass(frozen=True)
class LabelledPhoto:
    """A photo of one person, and who it is."""

    path: Path
    identity: str


def read_labelled_photos(folder: Path | str) -> list[LabelledPhoto]:
    """The labelled photos of a folder: from its ``labels.csv`` (``path,identity``), else one folder (or file) per person."""
    folder = Path(folder)
    labels = folder / LABELS_FILE
    if labels.is_file():
        with open(labels, newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
        if rows and not {"path", "identity"} <= set(rows[0]):
            raise ValueError(f"{labels}: the header must be 'path,identity'")
        return [LabelledPhoto(folder / r["path"], r["identity"].strip()) for r in rows if r["path"].strip()]
    return [LabelledPhoto(p, sid) for sid, paths in roster_entries(folder) for p in paths]


@dataclass
class LabelledFaces:
    """Encodings of labelled photos, with ``identities``, ``paths`` and face ``boxes`` ``(n, 4)``.

    encodings ``(n, 128)``: each photo encoded as a reference photo is (the roster's way, jittered);
    probe_encodings ``(n, 128)``: the same face encoded as a classroom face is (the session's way);
    problems: photos left out and why (no face, several faces, unreadable, a duplicate of another photo).
    """

    identities: list[str]
    encodings: np.ndarray
    paths: list[Path]
    boxes: np.ndarray
    problems: list[str] = field(default_factory=list)
    probe_encodings: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.probe_encodings is None:
            self.probe_encodings = self.encodings

    def __len__(self) -> int:
        return len(self.identities)

    @property
    def people(self) -> list[str]:
        """The identities, sorted, each once."""
        return sorted(set(self.identities))

    def select(self, indices: Iterable[int]) -> "LabelledFaces":
        idx = list(indices)
        return LabelledFaces([self.identities[i] for i in idx], self.encodings[idx].reshape(-1, 128),
                             [self.paths[i] for i in idx], self.boxes[idx].reshape(-1, 4), list(self.problems),
                             self.probe_encodings[idx].reshape(-1, 128))


def encode_labelled_photos(photos: Sequence[LabelledPhoto], settings: DetectorSettings = DetectorSettings(),
                           cache_dir: Path | str | None = None,
                           progress: Callable[[int, int, str], None] | None = None) -> LabelledFaces:
    """Encode labelled photos as the roster encodes reference photos (same face choice, same encoding
    cache), and the chosen face again as a session encodes a classroom face (``settings.jitters``).

    A photo with the same content as an earlier one is left out: an identical copy would be a
    same-person pair at distance 0 and flatter the numbers.
    """
    from ..roster import _choose_face, _reference_faces

    cache = EncodingCache(cache_dir, settings.key())
    # Classroom-style encodings of labelled photos are cached apart from the roster's, under their own key.
    probe_cache = EncodingCache(cache_dir, f"evaluation-probe-{settings.key()}-jitters{settings.jitters}")
    identities, encodings, paths, boxes, problems, probes = [], [], [], [], [], []
    seen: dict[str, Path] = {}
    for k, photo in enumerate(photos):
        try:
            digest = cache.digest(photo.path)
        except OSError as err:
            problems.append(f"{photo.path}: cannot be read ({err.strerror or err})")
            continue
        if digest in seen:
            problems.append(f"{photo.path}: same photo as {seen[digest].name}, left out")
            continue
        seen[digest] = photo.path
        faces = cache.get(digest)
        if faces is None:
            faces = _reference_faces(photo.path)
            cache.put(digest, faces)
        index, problem, _ = _choose_face(faces)
        if index is None:
            problems.append(f"{photo.path}: {problem}")
        else:
            box = faces.boxes[index]
            probe = probe_cache.get(digest)
            if probe is None or len(probe.boxes) != 1 or not np.array_equal(probe.boxes[0], box):
                probe = CachedFaces(box.reshape(1, 4), encode_faces(load_image(photo.path), box.reshape(1, 4), settings.jitters))
                probe_cache.put(digest, probe)
            identities.append(photo.identity)
            encodings.append(faces.encodings[index])
            probes.append(probe.encodings[0])
            paths.append(photo.path)
            boxes.append(box)
        if progress:
            progress(k + 1, len(photos), str(photo.path))
    cache.save()
    probe_cache.save()
    return LabelledFaces(identities, np.array(encodings).reshape(-1, 128), paths,
                         np.array(boxes, dtype=np.int64).reshape(-1, 4), problems, np.array(probes).reshape(-1, 128))


def load_labelled_faces(*folders: Path | str, settings: DetectorSettings = DetectorSettings(),
                        cache_dir: Path | str | None = None) -> LabelledFaces:
    """Read and encode the labelled photos of one or more folders (see :func:`read_labelled_photos`)."""
    photos = [p for folder in folders for p in read_labelled_photos(folder)]
    return encode_labelled_photos(photos, settings, cache_dir)


# --- a labelled class: roster, probe photos, strangers ----------------------------------------


@dataclass
class LabelledClass:
    """A roster built from labelled photos (one reference photo per student), the students' other photos, and strangers."""

    roster: Roster
    probes: LabelledFaces  # other photos of enrolled students
    strangers: LabelledFaces  # photos of people held out of the roster


def split_class(faces: LabelledFaces, strangers: int = 3, keep: Iterable[str] = (), seed: int = 0) -> LabelledClass:
    """Enroll each person with their first photo (by path) and keep the rest as probes; hold ``strangers`` people out.

    keep: identities never held out (e.g. the demo class); the strangers are drawn, with ``seed``,
    from the people with at least two photos. Deterministic for the same faces.
    """
    keep = set(keep)
    by_person: dict[str, list[int]] = {}
    for i in sorted(range(len(faces)), key=lambda i: (faces.identities[i], str(faces.paths[i]))):
        by_person.setdefault(faces.identities[i], []).append(i)
    candidates = sorted(p for p, idx in by_person.items() if p not in keep and len(idx) >= 2)
    rng = np.random.default_rng(seed)
    held = set(rng.choice(candidates, size=min(strangers, len(candidates)), replace=False).tolist()) if candidates else set()
    students, probes, outsiders = [], [], []
    for person in sorted(by_person):
        idx = by_person[person]
        if person in held:
            outsiders.extend(idx)
            continue
        ref = idx[0]
        students.append(Student(person, display_name(person), [ReferencePhoto(
            faces.paths[ref], faces.encodings[ref], tuple(int(v) for v in faces.boxes[ref]))]))
        probes.extend(idx[1:])
    return LabelledClass(Roster(None, students), faces.select(probes), faces.select(outsiders))
