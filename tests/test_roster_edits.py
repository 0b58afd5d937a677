"""Changing a roster folder: enroll a student, add and discard a reference photo (roster.py)."""
from __future__ import annotations

import pytest

from attendance_core.images import ImageError
from attendance_core.roster import (MAX_STUDENT_ID, RosterError, add_reference_photo, check_student_id,
                                    discard_reference_photo, enroll_student, roster_entries)

from conftest import SAMPLE_IMAGES

JPEG = (SAMPLE_IMAGES / "obama-240p.jpg").read_bytes()
PNG = (SAMPLE_IMAGES / "lin-manuel-miranda.png").read_bytes()


def test_enroll_names_photos_by_their_format_and_lists_the_student(tmp_path, demo_class):
    folder = enroll_student(tmp_path, "Ada_Lovelace", [("portrait.jpeg", PNG), ("IMG_1.HEIC", JPEG)])
    assert sorted(p.name for p in folder.iterdir()) == ["IMG_1.jpg", "portrait.png"]
    assert [sid for sid, _ in roster_entries(tmp_path)] == ["Ada_Lovelace"]


def test_enroll_refuses_an_existing_entry_of_any_case(tmp_path, demo_class):
    (tmp_path / "ada_lovelace.jpg").write_bytes(JPEG)
    with pytest.raises(RosterError, match="already has an entry named Ada_Lovelace"):
        enroll_student(tmp_path, "Ada_Lovelace", [("a.jpg", JPEG)])


def test_enroll_checks_every_photo_before_writing(tmp_path, demo_class):
    with pytest.raises(ImageError, match="b.jpg: not an image"):
        enroll_student(tmp_path, "Ada_Lovelace", [("a.jpg", JPEG), ("b.jpg", b"text")])
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("bad", ["", " ", ".hidden", "a/b", "a\\b", "tab\there", "x" * (MAX_STUDENT_ID + 1)])
def test_unusable_student_ids_are_refused(bad):
    with pytest.raises(RosterError):
        check_student_id(bad)


def test_a_photo_added_to_a_one_photo_student_makes_a_folder_and_discarding_it_keeps_the_first(tmp_path, demo_class):
    (tmp_path / "Ada.jpg").write_bytes(JPEG)
    added = add_reference_photo(tmp_path, "Ada", PNG, "added.png")
    assert added == tmp_path / "Ada" / "added.png"
    assert sorted(p.name for p in (tmp_path / "Ada").iterdir()) == ["Ada.jpg", "added.png"]
    assert add_reference_photo(tmp_path, "Ada", PNG, "added.png").name == "added-2.png"
    discard_reference_photo(tmp_path, added)
    assert sorted(p.name for p in (tmp_path / "Ada").iterdir()) == ["Ada.jpg", "added-2.png"]
    with pytest.raises(KeyError):
        add_reference_photo(tmp_path, "Nobody", PNG, "x.png")


def test_discarding_the_only_photo_removes_the_student_folder(tmp_path, demo_class):
    folder = enroll_student(tmp_path, "Ada", [("a.jpg", JPEG)])
    discard_reference_photo(tmp_path, folder / "a.jpg")
    assert list(tmp_path.iterdir()) == []
