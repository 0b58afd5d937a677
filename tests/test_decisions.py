"""Decisions on matches: the check band, an almost-as-close runner-up, agreement across photos (synthetic encodings)."""
import json

import numpy as np
import pytest

from attendance_core.config import ConfigError, load_settings
from attendance_core.decisions import DecisionRules, check_reason
from attendance_core.results import ABSENT, CONFIRMED, PRESENT, DetectedFaces, Photo
from attendance_core.roster import Roster
from attendance_core.session import Session

TOLERANCE = 0.58


def axis(k, length=1.0):
    v = np.zeros(128)
    v[k] = length
    return v


@pytest.fixture
def roster():
    """Ada and Alan 0.4 apart; Grace far from both."""
    return Roster.from_encodings({"Ada_Lovelace": axis(0, 0.2), "Alan_Turing": axis(0, -0.2), "Grace_Hopper": axis(1, 1.0)})


def face_at(ref, distance, direction=50):
    """A face ``distance`` from ``ref``, away from every other reference (an unused axis)."""
    return ref + axis(direction, distance)


def session_of(roster, *photos, check_band=0.04):
    s = Session(roster, tolerance=TOLERANCE, check_band=check_band)
    for k, encodings in enumerate(photos):
        enc = np.array(encodings).reshape(-1, 128)
        boxes = np.array([[0, 10 * (i + 1), 10, 10 * i] for i in range(len(enc))]).reshape(-1, 4)
        s.photos.append(Photo(f"photo{k + 1}.jpg", DetectedFaces(boxes, enc)))
    return s


def student(result, sid):
    return next(s for s in result.students if s.id == sid)


def test_match_just_inside_the_tolerance_is_present_but_flagged_close_to_the_limit(roster):
    grace = axis(1, 1.0)
    result = session_of(roster, [face_at(grace, 0.565), face_at(axis(0, 0.2), 0.1, 51)]).result()
    doubtful, clear = result.faces
    assert doubtful.student == "Grace_Hopper" and doubtful.check
    assert doubtful.reason == "close to the limit: 0.56 (tolerance 0.58)"
    assert clear.student == "Ada_Lovelace" and not clear.check and clear.reason is None
    assert student(result, "Grace_Hopper").status == PRESENT and student(result, "Grace_Hopper").check
    assert [s.id for s in result.to_check] == ["Grace_Hopper"]


def test_check_band_width_decides_which_matches_are_flagged(roster):
    face = face_at(axis(1, 1.0), 0.52)
    assert not session_of(roster, [face], check_band=0.04).result().faces[0].check
    assert session_of(roster, [face], check_band=0.08).result().faces[0].check
    assert not session_of(roster, [face], check_band=0.0).result().faces[0].check


def test_runner_up_almost_as_close_is_named_in_the_reason(roster):
    face = axis(0, 0.01) + axis(2, 0.3)  # 0.355 from Ada, 0.366 from Alan
    (f,) = session_of(roster, [face]).result().faces
    assert f.student == "Ada_Lovelace" and f.runner_up == "Alan_Turing"
    assert f.runner_up_distance == pytest.approx(np.hypot(0.21, 0.3))
    assert f.check and f.reason == "Alan Turing is almost as close (0.37)"


def test_student_found_once_at_a_doubtful_distance_in_a_session_of_three_photos_is_flagged(roster):
    grace, ada = axis(1, 1.0), axis(0, 0.2)
    # Grace at 0.55: outside a 0.02 check band (0.56-0.58), within the agreement band (0.54-0.58),
    # and not confirmed by the other two photos.
    s = session_of(roster, [face_at(grace, 0.55), face_at(ada, 0.1)], [face_at(ada, 0.12)], [face_at(ada, 0.11)],
                   check_band=0.02)
    result = s.result()
    grace_face = next(f for f in result.faces if f.student == "Grace_Hopper")
    assert grace_face.check and grace_face.reason == "found in 1 of 3 photos only (0.55)"
    assert not any(f.check for f in result.faces if f.student == "Ada_Lovelace")
    # Found in every photo at the same distance: the photos agree, nothing to check.
    agreed = session_of(roster, *[[face_at(grace, 0.55, 50 + k)] for k in range(3)], check_band=0.02).result()
    assert not any(f.check for f in agreed.faces)
    # A clear match found once is not doubtful.
    clear = session_of(roster, [face_at(grace, 0.2)], [face_at(ada, 0.1)], check_band=0.02).result()
    assert not any(f.check for f in clear.faces)


def test_reviewed_face_is_never_flagged(roster):
    s = session_of(roster, [face_at(axis(1, 1.0), 0.57)])
    assert s.result().faces[0].check
    s.review_face(0, 0, CONFIRMED)
    result = s.result()
    assert not result.faces[0].check and result.faces[0].reason is None and result.faces[0].review == CONFIRMED
    assert not student(result, "Grace_Hopper").check


def test_correction_by_hand_leaves_nothing_to_check(roster):
    s = session_of(roster, [face_at(axis(1, 1.0), 0.57)])
    s.correct("Grace_Hopper", ABSENT)
    grace = student(s.result(), "Grace_Hopper")
    assert grace.status == ABSENT and not grace.check and grace.reason is None


def test_json_explains_every_face_and_keeps_its_old_keys(roster):
    result = session_of(roster, [face_at(axis(1, 1.0), 0.57), axis(3, 2.0)]).result()
    data = json.loads(json.dumps(result.to_dict()))
    matched, unknown = data["photos"][0]["faces"]
    assert {"box", "student", "distance", "ambiguous"} <= set(matched)
    assert matched["student"] == "Grace_Hopper" and matched["distance"] == pytest.approx(0.57)
    assert matched["runner_up"] in ("Ada_Lovelace", "Alan_Turing") and matched["runner_up_distance"] > 1
    assert matched["check"] is True and matched["reason"].startswith("close to the limit: 0.57")
    assert unknown["student"] is None and unknown["check"] is False and unknown["nearest"] is not None
    assert data["to_check"] == [{"student": "Grace_Hopper", "reason": "close to the limit: 0.57 (tolerance 0.58)"}]


def test_check_reason_prefers_the_limit_over_the_runner_up():
    assert check_reason(0.57, 0.58, "Alan_Turing", 0.575) == "close to the limit: 0.57 (tolerance 0.58)"
    assert check_reason(0.40, 0.58, "Alan_Turing", 0.43) == "Alan Turing is almost as close (0.43)"
    assert check_reason(0.40, 0.58, "Alan_Turing", 0.50) is None
    assert DecisionRules().check_band < DecisionRules().tolerance


def test_check_band_setting_is_read_and_validated(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert load_settings(check_band=0.03).check_band == 0.03
    monkeypatch.setenv("ATTENDANCE_CHECK_BAND", "0.05")
    assert load_settings().check_band == 0.05
    with pytest.raises(ConfigError, match="check_band must be between 0"):
        load_settings(check_band=-0.01)
    with pytest.raises(ConfigError, match="check_band must be between 0"):
        load_settings(check_band=0.5)
    # A strict tolerance on the command line does not clash with the band: everything matched is flagged.
    assert load_settings(tolerance=0.01).check_band == 0.05


def test_cli_table_marks_the_students_to_check(roster):
    import io

    from attendance_core.cli import _print_table

    result = session_of(roster, [face_at(axis(1, 1.0), 0.57), face_at(axis(0, 0.2), 0.1, 51)]).result()
    out = io.StringIO()
    _print_table(result, out)
    text = out.getvalue()
    assert "1 to check before trusting" in text
    grace = next(line for line in text.splitlines() if line.startswith("Grace Hopper"))
    ada = next(line for line in text.splitlines() if line.startswith("Ada Lovelace"))
    assert "CHECK: close to the limit: 0.57 (tolerance 0.58)" in grace and "CHECK" not in ada
