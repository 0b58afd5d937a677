"""Consent: a student without it is never encoded, never matched, blurred when drawn, and marked by hand."""
from __future__ import annotations

import numpy as np
import pytest

from attendance_core import annotate
from attendance_core import roster as roster_mod
from attendance_core.faces import DetectorSettings
from attendance_core.results import (ABSENT, DetectedFaces, Photo, CONSENT_GIVEN, CONSENT_NOT_ASKED, CONSENT_REFUSED, MANUAL, PRESENT,
                                     REASSIGNED)
from attendance_core.roster import Enrolment, Roster, load_roster, roster_entries
from attendance_core.session import NO_CONSENT_REASON, Session


def _detail(pixels: np.ndarray) -> float:
    """Mean absolute difference between neighbouring pixels: high for a face, near zero once blurred."""
    return float(np.abs(np.diff(pixels.astype(float), axis=1)).mean())


def _inner(box, shrink: float = 0.2):
    """The inside of a (top, right, bottom, left) box, away from its drawn outline, as array slices."""
    top, right, bottom, left = box
    dy, dx = int((bottom - top) * shrink), int((right - left) * shrink)
    return slice(top + dy, bottom - dy), slice(left + dx, right - dx)


@pytest.fixture
def biden_refused(demo_class, demo_encoding_cache):
    """The demo class with Joe Biden's consent refused and Rose Leslie's never asked."""
    consent = {"Joe_Biden": CONSENT_REFUSED, "Rose_Leslie": CONSENT_NOT_ASKED}
    students = [Enrolment(sid, sid.replace("_", " "), consent.get(sid, CONSENT_GIVEN))
                for sid, _ in roster_entries(demo_class / "known_faces")]
    return load_roster(demo_class / "known_faces", DetectorSettings(), demo_encoding_cache, students=students)


def test_photos_of_a_student_without_consent_are_never_read(demo_class, tmp_path, monkeypatch):
    read = []
    real = roster_mod._reference_faces
    monkeypatch.setattr(roster_mod, "_reference_faces", lambda path: read.append(path.parent.name) or real(path))
    students = [Enrolment("Joe_Biden", "Joe Biden", CONSENT_REFUSED), Enrolment("Kit_Harington", "Kit Harington",
                                                                                 CONSENT_GIVEN)]
    r = load_roster(demo_class / "known_faces", cache_dir=tmp_path / "cache", students=students)
    assert sorted(set(read)) == ["Kit_Harington"]
    assert r.student("Joe_Biden").photos == [] and r.without_consent == ["Joe_Biden"]
    assert r.problems == []  # no consent is not a photo problem
    assert r.reference_encodings.shape == (2, 128)


def test_student_without_consent_stays_unknown_in_a_real_photo_and_is_never_present(biden_refused, demo_class):
    session = Session(biden_refused, keep_images=True)
    session.add_photo(demo_class / "sample_images" / "two_people.jpg")
    result = session.result(tolerance=1.5)  # even at a tolerance that matches anyone to someone
    by_id = {s.id: s for s in result.students}
    assert by_id["Barack_Obama"].status == PRESENT
    assert by_id["Joe_Biden"].status == ABSENT and by_id["Joe_Biden"].automatic_status == ABSENT
    assert by_id["Joe_Biden"].reason == NO_CONSENT_REASON
    assert "Joe_Biden" not in {f.student for f in result.faces} | {f.nearest for f in result.faces}
    assert result.blur_unknown


def test_face_of_a_student_without_consent_is_blurred_in_the_annotated_photo(biden_refused, demo_class):
    session = Session(biden_refused, keep_images=True)
    session.add_photo(demo_class / "sample_images" / "two_people.jpg")
    result = session.result()
    original = result.photos[0].image
    drawn = annotate.annotate_attendance(result, 0, max_side=10_000)  # no scaling: pixels line up
    unknown = [f for f in result.faces if f.student is None]
    obama = [f for f in result.faces if f.student == "Barack_Obama"]
    assert len(unknown) == 1 and len(obama) == 1
    ys, xs = _inner(unknown[0].box)
    assert _detail(original[ys, xs]) > 3.0
    assert _detail(drawn[ys, xs]) < _detail(original[ys, xs]) / 8
    ys, xs = _inner(obama[0].box)
    assert np.array_equal(drawn[ys, xs], original[ys, xs])  # a consenting student's face is left as it is


def test_unknown_faces_are_not_blurred_when_every_student_consented(demo_class, demo_encoding_cache):
    r = load_roster(demo_class / "known_faces", DetectorSettings(), demo_encoding_cache,
                    students=[Enrolment("Barack_Obama", "Barack Obama", CONSENT_GIVEN)])
    session = Session(r, keep_images=True)
    session.add_photo(demo_class / "sample_images" / "two_people.jpg")
    result = session.result()
    assert not result.blur_unknown
    unknown = [f for f in result.faces if f.student is None][0]
    ys, xs = _inner(unknown.box)
    drawn = annotate.annotate_attendance(result, 0, max_side=10_000)
    assert np.array_equal(drawn[ys, xs], result.photos[0].image[ys, xs])


def test_crop_of_an_unknown_face_is_blurred_on_request(biden_refused, demo_class):
    session = Session(biden_refused, keep_images=True)
    session.add_photo(demo_class / "sample_images" / "two_people.jpg")
    face = session.result().unknown_faces[0]
    image = session.photos[0].image
    sharp = annotate.crop_face(image, face.box, 0.3)
    blurred = annotate.crop_face(image, face.box, 0.3, blur=True)
    assert sharp.shape == blurred.shape
    assert _detail(blurred) < _detail(sharp) / 5


def test_student_without_consent_is_marked_by_hand(biden_refused, demo_class):
    session = Session(biden_refused)
    session.add_photo(demo_class / "sample_images" / "two_people.jpg")
    session.correct("Joe_Biden", PRESENT)
    biden = {s.id: s for s in session.result().students}["Joe_Biden"]
    assert (biden.status, biden.source, biden.automatic_status) == (PRESENT, MANUAL, ABSENT)


def test_a_face_cannot_be_named_as_a_student_without_consent(biden_refused, demo_class):
    session = Session(biden_refused)
    session.add_photo(demo_class / "sample_images" / "two_people.jpg")
    unknown = session.result().unknown_faces[0]
    with pytest.raises(ValueError, match="no consent"):
        session.review_face(unknown.photo, unknown.face, REASSIGNED, "Joe_Biden")


def test_encodings_of_a_student_without_consent_are_never_matched():
    rng = np.random.default_rng(3)
    ada, bob = rng.normal(0, 0.1, (2, 128))
    r = Roster(None, [roster_mod.Student("Ada", "Ada", [roster_mod.ReferencePhoto(None, ada)], CONSENT_GIVEN),
                      roster_mod.Student("Bob", "Bob", [roster_mod.ReferencePhoto(None, bob)], CONSENT_REFUSED)])
    assert r.without_consent == ["Bob"]
    session = Session(r)
    session.photos.append(Photo("class.jpg", DetectedFaces(np.array([[0, 50, 50, 0], [0, 150, 50, 100]]),
                                                           np.array([ada, bob]))))
    result = session.result(tolerance=0.6)
    assert [f.student for f in result.faces] == ["Ada", None]
    assert result.absent == ["Bob"]
