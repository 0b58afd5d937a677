"""Enrolling a roster folder: conventions, bad reference photos, the encoding cache, forgetting a student."""
import json
import shutil

import numpy as np
import pytest
from PIL import Image

from attendance_core import roster as roster_mod
from attendance_core.roster import display_name, forget_student, load_roster


@pytest.fixture
def class_folder(demo_class, tmp_path):
    """A copy of the demo roster plus problem photos."""
    folder = tmp_path / "known_faces"
    shutil.copytree(demo_class / "known_faces", folder, ignore=shutil.ignore_patterns("README.md"))
    return folder


def test_demo_roster_enrolls_every_student_from_files_and_folders(class_folder, tmp_path):
    r = load_roster(class_folder, cache_dir=tmp_path / "cache")
    assert r.ids == ["Alex_Lacamoire", "Barack_Obama", "Joe_Biden", "Kit_Harington", "Rose_Leslie"]
    assert r.student("Barack_Obama").name == "Barack Obama"
    assert len(r.student("Barack_Obama").photos) == 2  # a folder: every photo is a reference
    assert all(s.usable for s in r.students)
    assert r.problems == []
    assert r.reference_encodings.shape == (9, 128)
    assert list(r.owners).count(r.index("Kit_Harington")) == 2


def test_display_name():
    assert display_name("Mary_Ann_Smith") == "Mary Ann Smith"
    assert display_name("Jo__Lee_") == "Jo Lee"


def test_bad_reference_photos_are_reported_and_not_used(class_folder, demo_class, tmp_path):
    Image.new("RGB", (300, 300), (90, 120, 200)).save(class_folder / "Blank_Wall.jpg")
    (class_folder / "Not_A_Photo.png").write_bytes(b"this is a text file")
    shutil.copy(demo_class / "sample_images" / "two_people.jpg", class_folder / "Two_People.jpg")
    (class_folder / "Empty_Folder").mkdir()
    shutil.copy(demo_class / "sample_images" / "alex_lacamoire1.jpg", class_folder / "Alex_Lacamoire_2.jpg")
    r = load_roster(class_folder, cache_dir=tmp_path / "cache")
    problems = {p.file: p.reason for p in r.problems}
    assert "no face found" in problems["Blank_Wall.jpg"]
    assert "not an image" in problems["Not_A_Photo.png"]
    assert "2 faces of similar size" in problems["Two_People.jpg"]
    assert "has no photos" in problems["Empty_Folder/"]
    for sid in ("Blank_Wall", "Not_A_Photo", "Two_People"):
        assert not r.student(sid).usable
        assert problems[sid] == "no usable reference photo: this student cannot be recognised"
    assert r.student("Alex_Lacamoire_2").usable
    assert len(r.reference_encodings) == 10  # bad photos add no encoding


def test_bystander_in_the_background_does_not_spoil_a_reference_photo(class_folder, demo_class, tmp_path):
    # Paste a small second face into Alex's photo: the big face is used, the bystander is noted.
    alex = Image.open(class_folder / "Alex_Lacamoire.jpg").convert("RGB")
    bystander = Image.open(demo_class / "sample_images" / "obama-480p.jpg").convert("RGB")  # a 115-px face
    canvas = Image.new("RGB", (alex.width + bystander.width, max(alex.height, bystander.height)), "white")
    canvas.paste(alex, (0, 0))
    canvas.paste(bystander, (alex.width, 0))
    canvas.save(class_folder / "Alex_Lacamoire.jpg")
    r = load_roster(class_folder, cache_dir=tmp_path / "cache")
    (photo,) = r.student("Alex_Lacamoire").photos
    assert photo.usable and "used the largest" in photo.note


def test_unchanged_roster_reloads_from_cache_without_running_dlib(class_folder, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    cold = load_roster(class_folder, cache_dir=cache)
    calls = []
    monkeypatch.setattr(roster_mod, "_reference_faces", lambda p: calls.append(p))
    warm = load_roster(class_folder, cache_dir=cache)
    assert calls == []
    assert np.allclose(cold.reference_encodings, warm.reference_encodings, atol=1e-7)
    # The cache holds encodings, not photos, and only its owner may read it.
    (cache_file,) = cache.glob("encodings-*.json")
    assert cache_file.stat().st_mode & 0o077 == 0
    data = json.loads(cache_file.read_text())
    assert len(data["faces"]) == 9


def test_changed_photo_is_encoded_again(class_folder, demo_class, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    load_roster(class_folder, cache_dir=cache)
    shutil.copy(demo_class / "sample_images" / "alex_lacamoire1.jpg", class_folder / "Alex_Lacamoire.jpg")
    seen = []
    real = roster_mod._reference_faces
    monkeypatch.setattr(roster_mod, "_reference_faces", lambda p: seen.append(p.name) or real(p))
    load_roster(class_folder, cache_dir=cache)
    assert seen == ["Alex_Lacamoire.jpg"]


def test_forget_student_deletes_encodings_and_optionally_photos(class_folder, tmp_path):
    cache = tmp_path / "cache"
    load_roster(class_folder, cache_dir=cache)
    (cache_file,) = cache.glob("encodings-*.json")
    digests = set(json.loads(cache_file.read_text())["faces"])
    forget_student(class_folder, "Joe_Biden", cache_dir=cache)
    left = set(json.loads(cache_file.read_text())["faces"])
    assert len(digests - left) == 2 and len(left) == 7
    assert (class_folder / "Joe_Biden").is_dir()  # photos kept unless asked
    forget_student(class_folder, "Joe_Biden", cache_dir=cache, delete_photos=True)
    assert not (class_folder / "Joe_Biden").exists()
    assert "Joe_Biden" not in load_roster(class_folder, cache_dir=cache).ids
    with pytest.raises(KeyError):
        forget_student(class_folder, "Joe_Biden", cache_dir=cache)

