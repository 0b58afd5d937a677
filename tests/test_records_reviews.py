"""An instructor's face decisions (confirmed, not this student, it is X) land in the audit trail when a
session is saved, on SQLite and PostgreSQL, with synthetic results (no dlib)."""
from __future__ import annotations

import dataclasses

import pytest

from attendance_core.records import RecordsError
from attendance_core.results import ABSENT, CONFIRMED, PRESENT, REASSIGNED, REJECTED, FaceReview

try:
    from test_records import CLASS, all_present, attendance, count_rows, store, store_url  # noqa: F401
except ImportError:  # tests/ imported as a package
    from tests.test_records import CLASS, all_present, attendance, count_rows, store, store_url  # noqa: F401

ADA, ALAN, GRACE, EDSGER = CLASS


def reviewed(statuses, automatic, reviews):
    """A synthetic result of photo class.jpg with these statuses, automatic statuses and face decisions."""
    att = attendance(statuses, photos=("class",), automatic=automatic)
    return dataclasses.replace(att, reviews=reviews)


def trail(store, sid):
    rows = store.corrections(sid).sort_values("id")
    return rows[["student_id", "old_status", "new_status", "note", "corrected_by"]].values.tolist()


def test_each_review_decision_is_a_line_of_the_audit_trail_for_its_student(store):
    # Matching found Ada, Alan and Grace; the instructor confirmed Ada (face 1), said face 2 is not Alan,
    # and that face 3, matched to Grace, is Edsger.
    att = reviewed(all_present(Alan_Turing=ABSENT, Grace_Hopper=ABSENT),
                   automatic=all_present(Edsger_Dijkstra=ABSENT),
                   reviews=[FaceReview(0, 0, CONFIRMED, ADA, "class.jpg"),
                            FaceReview(0, 1, REJECTED, ALAN, "class.jpg"),
                            FaceReview(0, 2, REASSIGNED, EDSGER, "class.jpg")])
    sid = store.save_session(att, class_name="demo", marked_by="ms.k")
    assert trail(store, sid) == [
        [ADA, PRESENT, PRESENT, "review: face 1 in class.jpg confirmed as this student", "ms.k"],
        [ALAN, PRESENT, ABSENT, "review: face 2 in class.jpg is not this student", "ms.k"],
        [EDSGER, ABSENT, PRESENT, "review: face 3 in class.jpg reassigned to this student", "ms.k"],
        # Grace lost her face to Edsger without a decision of her own: a change by hand, said so.
        [GRACE, PRESENT, ABSENT, "corrected before saving", "ms.k"],
    ]
    marks = store.session_marks(sid).set_index("student_id")
    assert marks.loc[ALAN, ["status", "automatic_status", "source"]].tolist() == [ABSENT, PRESENT, "manual"]
    assert marks.loc[ADA, "source"] == "automatic"


def test_a_rejected_student_seen_in_another_photo_keeps_their_status_in_the_line(store):
    att = reviewed(all_present(), automatic=all_present(),
                   reviews=[FaceReview(0, 4, REJECTED, GRACE, "back row.jpg")])
    sid = store.save_session(att, class_name="demo", marked_by="ms.k")
    assert trail(store, sid) == [[GRACE, PRESENT, PRESENT, "review: face 5 in back row.jpg is not this student",
                                  "ms.k"]]


def test_a_review_without_a_photo_name_names_the_session_photo(store):
    att = reviewed(all_present(), automatic=all_present(), reviews=[FaceReview(0, 0, CONFIRMED, ADA)])
    sid = store.save_session(att, class_name="demo", marked_by="ms.k")
    assert trail(store, sid)[0][3] == "review: face 1 in class.jpg confirmed as this student"


@pytest.mark.parametrize("review, problem", [
    (FaceReview(0, 0, REASSIGNED, "Nobody_Here", "class.jpg"), "names 'Nobody_Here', who is not in"),
    (FaceReview(0, 0, "maybe", ADA, "class.jpg"), "review decision must be one of"),
])
def test_a_review_the_attendance_cannot_explain_is_refused_before_writing(store, review, problem):
    before = count_rows(store.url)
    with pytest.raises(RecordsError, match=problem):
        store.save_session(reviewed(all_present(), all_present(), [review]), class_name="demo")
    assert count_rows(store.url) == before


def test_forgetting_a_student_clears_their_review_notes(store):
    att = reviewed(all_present(Alan_Turing=ABSENT), automatic=all_present(),
                   reviews=[FaceReview(0, 1, REJECTED, ALAN, "class.jpg")])
    sid = store.save_session(att, class_name="demo")
    store.forget_student(ALAN)
    lines = store.corrections(sid)
    assert lines["note"].tolist() == [""] and lines["new_status"].tolist() == [ABSENT]
