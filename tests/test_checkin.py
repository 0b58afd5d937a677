"""The door check-in's rules (attendance_core/checkin.py), on synthetic encodings: first seen, late, announced
once, unknown faces counted and not kept, stops after its time or when ended, students without consent."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from attendance_core.checkin import DoorCheckIn
from attendance_core.recognition import PhotoAnalysis
from attendance_core.results import (ABSENT, CONSENT_REFUSED, LATE, PRESENT, TIME_FROM_DOOR, DetectedFaces,
                                     Photo)
from attendance_core.roster import Roster
from attendance_core.session import Session

START = datetime(2026, 3, 2, 8, 0, tzinfo=timezone.utc)
RNG = np.random.default_rng(7)
PEOPLE = {sid: RNG.normal(0, 0.08, 128) for sid in ("Ada_Lovelace", "Alan_Turing", "Grace_Hopper", "A_Stranger")}


def roster(refused: tuple[str, ...] = ()) -> Roster:
    made = Roster.from_encodings({sid: enc for sid, enc in PEOPLE.items() if sid != "A_Stranger"})
    for student in made.students:
        if student.id in refused:
            student.consent = CONSENT_REFUSED
    return Roster(made.folder, made.students)  # the references again, without the refused


def frame(*people: str, name: str = "frame") -> PhotoAnalysis:
    """An analysed frame showing ``people`` side by side (each face a little off its reference encoding)."""
    encodings = np.array([PEOPLE[p] + RNG.normal(0, 0.005, 128) for p in people]).reshape(-1, 128)
    boxes = np.array([[40, 100 + 120 * k, 140, 120 * k] for k in range(len(people))]).reshape(-1, 4)
    return PhotoAnalysis(name, f"{hash(people) & 0xffff:064x}", boxes, encodings, (640, 480))


def at(seconds: float) -> datetime:
    return START + timedelta(seconds=seconds)


def checkin(roster_: Roster | None = None, minutes: float = 30, late_after: float = 5) -> DoorCheckIn:
    session = Session(roster_ or roster(), start=START, late_after_minutes=late_after, keep_images=True)
    return DoorCheckIn(session, minutes, started_at=START - timedelta(minutes=2))


def test_each_student_is_marked_once_at_the_time_first_seen_and_late_after_the_limit():
    door = checkin(late_after=5)
    assert [a.announcement().split(":")[0] for a in door.see(frame("Ada_Lovelace"), at(10)).arrivals] == ["Ada Lovelace"]
    assert door.see(frame("Ada_Lovelace"), at(11)).arrivals == []  # seen again: not news
    second = door.see(frame("Ada_Lovelace", "Alan_Turing"), at(120))
    assert [a.student for a in second.arrivals] == ["Alan_Turing"]
    assert [a.student for a in door.see(frame("Grace_Hopper"), at(6 * 60)).arrivals] == ["Grace_Hopper"]
    assert [(a.student, a.status) for a in door.arrivals] == [
        ("Ada_Lovelace", PRESENT), ("Alan_Turing", PRESENT), ("Grace_Hopper", LATE)]
    result = door.session.result()
    status = {s.id: (s.status, s.first_seen) for s in result.students}
    assert status == {"Ada_Lovelace": (PRESENT, at(10)), "Alan_Turing": (PRESENT, at(120)),
                      "Grace_Hopper": (LATE, at(360))}
    # Only the frames with an arrival are kept, each holding only the faces of those arrivals.
    assert [(p.time_source, len(p.faces)) for p in door.session.photos] == [(TIME_FROM_DOOR, 1)] * 3
    assert door.frames == 4


def test_unknown_faces_are_counted_and_nothing_of_them_is_kept():
    door = checkin()
    report = door.see(frame("A_Stranger", "Ada_Lovelace"), at(5), image=np.full((480, 640, 3), 200, np.uint8))
    assert [sid for _, sid in report.faces] == [None, "Ada_Lovelace"]
    door.see(frame("A_Stranger"), at(6))
    assert door.unknown_sightings == 2
    (photo,) = door.session.photos
    assert len(photo.faces) == 1  # Ada only: the stranger's encoding is not in the session
    assert door.session.result().unknown_faces == []
    # In the copy kept for the review, the stranger's face is blurred (no detail left in its box).
    stranger = photo.image[40:140, 0:100]
    assert stranger.std() < 1.0


def test_a_student_without_consent_is_never_recognised_at_the_door():
    door = checkin(roster(refused=("Alan_Turing",)))
    report = door.see(frame("Alan_Turing"), at(5))
    assert report.arrivals == [] and report.faces[0][1] is None
    assert door.unknown_sightings == 1
    assert {s.id: s.status for s in door.session.result().students}.get("Alan_Turing") in (None, ABSENT)


def test_the_check_in_stops_after_its_time_and_when_ended_and_keeps_what_was_marked():
    door = checkin(minutes=10)  # started two minutes before START: ends at START + 8 min
    door.see(frame("Ada_Lovelace"), at(60))
    late_frame = door.see(frame("Alan_Turing"), at(8 * 60))
    assert not late_frame.running and late_frame.arrivals == [] and door.ended_at == at(8 * 60)
    assert [a.student for a in door.arrivals] == ["Ada_Lovelace"]

    ended = checkin()
    ended.see(frame("Ada_Lovelace"), at(1))
    ended.end(at(2))
    assert ended.see(frame("Grace_Hopper"), at(3)).arrivals == [] and not ended.running
    assert {s.id: s.status for s in ended.session.result().students}["Ada_Lovelace"] == PRESENT


def test_a_student_already_in_a_photo_is_not_announced_again():
    session = Session(roster(), start=START)
    photo = frame("Grace_Hopper", name="class.jpg")
    session.photos.append(Photo(photo.name, DetectedFaces(photo.boxes, photo.encodings), photo.size, photo.sha256,
                                taken_at=at(0)))
    door = DoorCheckIn(session, started_at=START)
    assert door.see(frame("Grace_Hopper", "Ada_Lovelace"), at(30)).arrivals[0].student == "Ada_Lovelace"
    assert len(door.arrivals) == 1


@pytest.mark.parametrize("minutes", [0, -1, 241])
def test_a_check_in_time_out_of_range_is_refused(minutes):
    with pytest.raises(ValueError, match="minutes"):
        checkin(minutes=minutes)
