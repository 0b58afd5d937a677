"""A class session: photos read once, faces kept per photo, present if found in any photo, corrections."""
import hashlib
import os

import numpy as np
import pytest

from attendance_core.images import read_photo
from attendance_core.results import DetectedFaces, Photo
from attendance_core.roster import Roster
from attendance_core.session import Session


def test_session_marks_present_if_found_in_any_photo():
    rng = np.random.default_rng(3)
    refs = rng.normal(size=(3, 128))
    refs *= 0.5 / np.linalg.norm(refs, axis=1, keepdims=True)
    roster = Roster.from_encodings({"Ada_Lovelace": refs[0], "Alan_Turing": refs[1], "Grace_Hopper": refs[2]})
    session = Session(roster, tolerance=0.3)
    near = lambda i: refs[i] + 0.01  # noqa: E731
    session.photos.append(Photo("front.jpg", DetectedFaces(np.array([[0, 10, 10, 0]]), near(0)[None])))
    session.photos.append(Photo("back.jpg", DetectedFaces(np.array([[0, 10, 10, 0], [0, 30, 10, 20]]),
                                                          np.stack([near(1), rng.normal(size=128)]))))
    session.photos.append(Photo("broken.jpg", DetectedFaces.empty(), error="broken.jpg: not an image"))
    result = session.result()
    assert result.present == ["Ada_Lovelace", "Alan_Turing"]
    assert result.absent == ["Grace_Hopper"]
    assert len(result.unknown_faces) == 1
    assert result.to_dict()["photos"][2]["error"] == "broken.jpg: not an image"
    # A correction by hand wins over the automatic result and says so.
    session.correct("Grace_Hopper", "excused")
    graced = {s.id: s for s in session.result().students}["Grace_Hopper"]
    assert graced.status == "excused" and graced.source == "manual" and graced.automatic_status == "absent"
    # A stricter tolerance re-matches without detection: nobody is close enough any more.
    assert session.result(tolerance=0.001).present == []
    with pytest.raises(KeyError):
        session.correct("Nobody", "present")
    with pytest.raises(ValueError):
        session.correct("Ada_Lovelace", "asleep")  # "late" is a status since issue 15


def test_session_refuses_an_oversized_photo_before_reading_it(tmp_path, opened):
    big = tmp_path / "big.jpg"
    big.touch()
    os.truncate(big, 3 * 2**20)  # sparse: 3 MB that take no room, and not opened by open()
    session = Session(Roster.from_encodings({}), max_bytes=2 * 2**20)
    photo = session.add_photo(big)
    assert (photo.name, photo.error) == ("big.jpg", "big.jpg: file too large (3.0 MB, the limit is 2 MB)")
    assert opened == []


@pytest.mark.parametrize("source, error", [
    ("missing.jpg", "missing.jpg: file not found"),
    ("folder", "folder: is a folder, not a photo"),
    ("notes.jpg", "notes.jpg: not an image, or a format that cannot be read"),
])
def test_a_photo_that_cannot_be_read_is_kept_with_the_reason(tmp_path, source, error):
    (tmp_path / "folder").mkdir()
    (tmp_path / "notes.jpg").write_text("not a photo")
    stages = []
    photo = Session(Roster.from_encodings({})).add_photo(tmp_path / source,
                                                         progress=lambda name, stage, f: stages.append((name, stage)))
    assert (photo.name, photo.error) == (source, error)
    assert stages[-1] == (source, "done")


def test_session_reads_each_photo_once_and_keeps_its_sha256(demo_class, opened):
    path = demo_class / "sample_images" / "two_people.jpg"
    file = read_photo(path)
    session = Session(Roster.from_encodings({}))
    from_file, from_path = session.add_photos([file, path])
    assert opened == ["two_people.jpg", "two_people.jpg"]  # read_photo's, then add_photos' for the path
    assert from_file.sha256 == from_path.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert len(from_file.faces) == len(from_path.faces) == 2
