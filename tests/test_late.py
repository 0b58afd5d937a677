"""Late arrivals: photo times from EXIF DateTimeOriginal (or the upload), and the late status."""
from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from attendance_core.faces import DetectorSettings
from attendance_core.images import photo_time
from attendance_core.results import (ABSENT, LATE, MANUAL, PRESENT, TIME_FROM_EXIF, TIME_FROM_UPLOAD, DetectedFaces,
                                     Photo)
from attendance_core.roster import Roster, load_roster
from attendance_core.session import Session

START = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


def with_exif_time(path: Path, moment: datetime | None, offset: str | None = "+00:00") -> bytes:
    """The photo at ``path`` as JPEG bytes whose EXIF DateTimeOriginal is ``moment`` (None: no EXIF time)."""
    exif = Image.Exif()
    if moment is not None:
        exif.get_ifd(0x8769)[36867] = moment.strftime("%Y:%m:%d %H:%M:%S")
        if offset:
            exif.get_ifd(0x8769)[36881] = offset
    buf = io.BytesIO()
    Image.open(path).convert("RGB").save(buf, "JPEG", quality=95, exif=exif)
    return buf.getvalue()


@pytest.fixture(scope="module")
def demo_roster(demo_class, demo_encoding_cache):
    return load_roster(demo_class / "known_faces", DetectorSettings(), demo_encoding_cache)


def test_photo_time_reads_exif_date_time_original_with_its_offset(demo_class):
    data = with_exif_time(demo_class / "sample_images" / "two_people.jpg", datetime(2026, 3, 2, 10, 20, 5), "+01:00")
    assert photo_time(data) == datetime(2026, 3, 2, 9, 20, 5, tzinfo=timezone.utc)


def test_photo_time_without_offset_is_local_time(demo_class):
    data = with_exif_time(demo_class / "sample_images" / "two_people.jpg", datetime(2026, 3, 2, 10, 20), None)
    assert photo_time(data) == datetime(2026, 3, 2, 10, 20).astimezone()


def test_photo_time_is_none_without_exif_or_for_a_bad_tag(demo_class):
    assert photo_time(with_exif_time(demo_class / "sample_images" / "two_people.jpg", None)) is None
    exif = Image.Exif()
    exif.get_ifd(0x8769)[36867] = "2026:13:45 99:00:00"
    buf = io.BytesIO()
    Image.new("RGB", (20, 20)).save(buf, "JPEG", exif=exif)
    assert photo_time(buf.getvalue()) is None
    assert photo_time(b"not a photo") is None


def test_second_photo_twenty_minutes_after_the_start_marks_newly_seen_students_late(demo_roster, demo_class):
    images = demo_class / "sample_images"
    session = Session(demo_roster, start=START, late_after_minutes=10)
    session.add_photo(with_exif_time(images / "obama1.jpg", START + timedelta(minutes=2)), "first.jpg")
    session.add_photo(with_exif_time(images / "two_people.jpg", START + timedelta(minutes=20)), "second.jpg")
    result = session.result()
    status = {s.id: s.status for s in result.students}
    assert status == {"Alex_Lacamoire": ABSENT, "Barack_Obama": PRESENT, "Joe_Biden": LATE,
                      "Kit_Harington": ABSENT, "Rose_Leslie": ABSENT}
    biden = {s.id: s for s in result.students}["Joe_Biden"]
    assert biden.first_seen == START + timedelta(minutes=20) and biden.automatic_status == LATE
    assert [p.time_source for p in result.photos] == [TIME_FROM_EXIF, TIME_FROM_EXIF]
    assert result.late == ["Joe_Biden"]
    assert result.to_dict()["late"] == ["Joe_Biden"]


def test_without_a_start_nobody_is_late(demo_roster, demo_class):
    images = demo_class / "sample_images"
    session = Session(demo_roster)
    session.add_photo(with_exif_time(images / "obama1.jpg", START), "first.jpg")
    session.add_photo(with_exif_time(images / "two_people.jpg", START + timedelta(hours=2)), "second.jpg")
    assert session.result().late == []


def test_photo_without_exif_time_gets_its_upload_time(demo_roster, demo_class):
    session = Session(demo_roster, start=START, late_after_minutes=10)
    uploaded = START + timedelta(minutes=25)
    photo = session.add_photo(with_exif_time(demo_class / "sample_images" / "two_people.jpg", None), "upload.jpg",
                              uploaded_at=uploaded)
    assert (photo.taken_at, photo.time_source) == (uploaded, TIME_FROM_UPLOAD)
    assert sorted(session.result().late) == ["Barack_Obama", "Joe_Biden"]


def _synthetic_session(minutes_after_start: float, start=START) -> Session:
    rng = np.random.default_rng(7)
    ada = rng.normal(0, 0.1, 128)
    session = Session(Roster.from_encodings({"Ada": ada[None]}), start=start, late_after_minutes=10)
    session.photos.append(Photo("p.jpg", DetectedFaces(np.array([[0, 50, 50, 0]]), ada[None]),
                                taken_at=START + timedelta(minutes=minutes_after_start), time_source=TIME_FROM_EXIF))
    return session


@pytest.mark.parametrize("minutes, status", [(-5, PRESENT), (10, PRESENT), (10.02, LATE), (45, LATE)])
def test_late_means_first_seen_more_than_the_limit_after_the_start(minutes, status):
    assert _synthetic_session(minutes).result().students[0].status == status


def test_a_naive_start_is_local_time():
    local_start = START.astimezone().replace(tzinfo=None)
    assert _synthetic_session(15, start=local_start).result().students[0].status == LATE


def test_late_can_be_corrected_by_hand():
    session = _synthetic_session(30)
    session.correct("Ada", PRESENT)
    ada = session.result().students[0]
    assert (ada.status, ada.source, ada.automatic_status) == (PRESENT, MANUAL, LATE)
