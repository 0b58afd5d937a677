"""The instructor's review of single faces: right, not this student, it is X (synthetic encodings)."""
import numpy as np
import pytest

from attendance_core.results import ABSENT, AUTOMATIC, CONFIRMED, MANUAL, PRESENT, REASSIGNED, REJECTED, DetectedFaces, Photo
from attendance_core.roster import Roster
from attendance_core.session import Session


@pytest.fixture
def session():
    """Ada is clearly in photo 0; photo 1 holds Alan's face and a stranger close to Grace."""
    rng = np.random.default_rng(7)
    refs = rng.normal(size=(3, 128))
    refs = refs / np.linalg.norm(refs, axis=1, keepdims=True) * 0.5
    roster = Roster.from_encodings({"Ada_Lovelace": refs[0], "Alan_Turing": refs[1], "Grace_Hopper": refs[2]})
    s = Session(roster, tolerance=0.3)
    box = np.array([[0, 10, 10, 0]])
    s.photos.append(Photo("front.jpg", DetectedFaces(box, (refs[0] + 0.005)[None])))
    stranger = refs[2] + 0.02  # 0.02 * sqrt(128) = 0.23 from Grace: inside the tolerance
    s.photos.append(Photo("back.jpg", DetectedFaces(np.array([[0, 10, 10, 0], [0, 30, 10, 20]]),
                                                    np.stack([refs[1] + 0.005, stranger]))))
    return s


def students(result):
    return {s.id: s for s in result.students}


def test_not_this_student_makes_the_face_unknown_and_the_student_absent(session):
    assert students(session.result())["Grace_Hopper"].status == PRESENT
    session.review_face(1, 1, REJECTED)
    result = session.result()
    grace = students(result)["Grace_Hopper"]
    assert grace.status == ABSENT and grace.automatic_status == PRESENT and grace.source == MANUAL
    face = next(f for f in result.faces if (f.photo, f.face) == (1, 1))
    assert face.student is None and face.review == REJECTED and face.nearest == "Grace_Hopper"
    assert [(r.photo, r.face, r.decision, r.student, r.photo_name) for r in result.reviews] == [
        (1, 1, REJECTED, "Grace_Hopper", "back.jpg")]


def test_it_is_another_student_names_them_present_at_any_tolerance(session):
    session.review_face(1, 1, REASSIGNED, "Ada_Lovelace")
    result = session.result(tolerance=0.01)  # far stricter than the face's distance to Ada
    by_id = students(result)
    assert by_id["Ada_Lovelace"].status == PRESENT and by_id["Ada_Lovelace"].photo in ("front.jpg", "back.jpg")
    assert by_id["Grace_Hopper"].status == ABSENT
    face = next(f for f in result.faces if (f.photo, f.face) == (1, 1))
    assert face.student == "Ada_Lovelace" and face.review == REASSIGNED


def test_confirmed_face_keeps_its_student_and_is_not_a_correction(session):
    session.review_face(1, 1, CONFIRMED)
    grace = students(session.result())["Grace_Hopper"]
    assert grace.status == PRESENT and grace.source == AUTOMATIC
    assert session.result().reviews[0].student == "Grace_Hopper"


def test_taking_a_decision_back_restores_the_automatic_match(session):
    session.review_face(1, 1, REJECTED)
    session.review_face(1, 1, None)
    assert students(session.result())["Grace_Hopper"].status == PRESENT
    assert session.result().reviews == []


def test_removing_a_photo_drops_its_decisions_and_keeps_the_others_on_their_faces(session):
    session.review_face(0, 0, CONFIRMED)
    session.review_face(1, 1, REJECTED)
    session.remove_photo(0)
    (review,) = session.result().reviews
    assert (review.photo, review.face, review.decision, review.photo_name) == (0, 1, REJECTED, "back.jpg")
    assert students(session.result())["Grace_Hopper"].status == ABSENT


def test_bad_review_requests_are_refused(session):
    with pytest.raises(ValueError):
        session.review_face(5, 0, CONFIRMED)
    with pytest.raises(ValueError):
        session.review_face(1, 1, "maybe")
    with pytest.raises(ValueError):
        session.review_face(1, 1, REASSIGNED)
    with pytest.raises(KeyError):
        session.review_face(1, 1, REASSIGNED, "Nobody")
