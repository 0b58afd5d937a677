"""The dashboard's state model (no widgets), on the demo class through the real face pipeline."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from attendance_core import annotate
from attendance_core import recognition as recognition_module
from attendance_core.app.charts import rates_chart
from attendance_core.app.state import AppError, DashboardState, project_settings, student_id_for
from attendance_core.config import load_settings

from conftest import SAMPLE_IMAGES

OTHERS = {"Alex_Lacamoire", "Kit_Harington", "Rose_Leslie"}


def photo(name: str) -> tuple[str, bytes]:
    return name, (SAMPLE_IMAGES / name).read_bytes()


@pytest.fixture
def state(app_settings) -> DashboardState:
    return DashboardState(app_settings, demo_photo=SAMPLE_IMAGES / "two_people.jpg")


@pytest.fixture
def detections(monkeypatch) -> list[int]:
    """Counts the classroom-photo detections made by sessions (one entry per photo detected)."""
    calls: list[int] = []
    real = recognition_module.analyse_photo

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    # Sessions detect and encode a photo through recognition.analyse_photo.
    monkeypatch.setattr(recognition_module, "analyse_photo", counting)
    return calls


def test_demo_photo_marks_obama_and_biden_present_and_the_others_absent(state):
    stages = []
    assert state.add_demo_photo(lambda name, stage, f: stages.append(stage)) == []
    att = state.attendance
    assert set(att.present) == {"Barack_Obama", "Joe_Biden"}
    assert set(att.absent) == OTHERS
    assert att.unknown_faces == []
    assert {"detecting", "encoding", "matching", "done"} <= set(stages)


def test_not_an_image_is_reported_and_left_out_and_the_next_photo_works(state):
    messages = state.add_photos([("notes.txt", b"this is not a photo")])
    assert len(messages) == 1 and "notes.txt" in messages[0] and "not an image" in messages[0]
    assert state.attendance is None and state.photos == []
    assert state.add_photos([photo("two_people.jpg")]) == []
    assert set(state.attendance.present) == {"Barack_Obama", "Joe_Biden"}


def test_photo_without_faces_is_kept_and_reported(state):
    buf = io.BytesIO()
    Image.new("RGB", (640, 480), (90, 140, 200)).save(buf, "JPEG")
    messages = state.add_photos([("sky.jpg", buf.getvalue())])
    assert len(messages) == 1 and "no faces found" in messages[0]
    assert [p.name for p in state.photos] == ["sky.jpg"]
    assert state.attendance.present == []


def test_same_photo_twice_is_skipped(state):
    state.add_photos([photo("two_people.jpg")])
    messages = state.add_photos([photo("two_people.jpg")])
    assert "already in the session" in messages[0]
    assert len(state.photos) == 1


def test_tolerance_rematches_without_detecting_again(state, detections):
    state.add_photos([photo("two_people.jpg")])
    assert len(detections) == 1
    obama = {s.id: s for s in state.attendance.students}["Barack_Obama"]
    version = state.result_version
    # Just below Obama's distance: he is no longer recognised; Biden (much closer) still is.
    state.tolerance = obama.distance - 0.01
    assert state.result_version > version
    assert "Barack_Obama" not in state.attendance.present and "Joe_Biden" in state.attendance.present
    assert [u.nearest for u in state.unknown_faces()] == ["Barack_Obama"]
    state.tolerance = 0.6
    assert set(state.attendance.present) == {"Barack_Obama", "Joe_Biden"}
    assert len(detections) == 1


def test_correction_by_hand_and_back(state):
    state.add_photos([photo("two_people.jpg")])
    state.correct("Kit_Harington", "present")
    state.correct("Joe_Biden", "excused")
    by_id = {s.id: s for s in state.attendance.students}
    assert by_id["Kit_Harington"].status == "present" and by_id["Kit_Harington"].source == "manual"
    assert by_id["Joe_Biden"].status == "excused"
    state.correct("Kit_Harington", None)
    assert {s.id: s for s in state.attendance.students}["Kit_Harington"].status == "absent"
    with pytest.raises(AppError, match="No student"):
        state.correct("Nobody_Here", "present")


def test_unknown_face_added_as_new_student_rematches_without_detecting(state, app_settings, detections):
    state.add_photos([photo("two_people.jpg"), photo("lin-manuel-miranda.png")])
    unknown = state.unknown_faces()
    assert [u.label for u in unknown] == ["Unknown 1"] and unknown[0].photo_name == "lin-manuel-miranda.png"
    sid = state.add_face_as_new_student(1, "  Lin-Manuel   Miranda ")
    assert sid == "Lin-Manuel_Miranda"
    added = list((app_settings.roster_dir / sid).glob("added-*.jpg"))
    assert len(added) == 1
    assert "Lin-Manuel_Miranda" in state.roster.ids
    assert set(state.attendance.present) == {"Barack_Obama", "Joe_Biden", "Lin-Manuel_Miranda"}
    assert state.unknown_faces() == []
    assert len(detections) == 2  # the two classroom photos, once each


def test_this_is_student_turns_a_one_photo_student_into_a_folder(state, app_settings):
    state.add_photos([photo("lin-manuel-miranda.png")])
    assert (app_settings.roster_dir / "Alex_Lacamoire.jpg").is_file()
    state.add_face_to_student(1, "Alex_Lacamoire")
    folder = app_settings.roster_dir / "Alex_Lacamoire"
    assert not (app_settings.roster_dir / "Alex_Lacamoire.jpg").exists()
    assert (folder / "Alex_Lacamoire.jpg").is_file() and len(list(folder.glob("added-*.jpg"))) == 1
    assert len(state.roster.student("Alex_Lacamoire").photos) == 2
    assert state.attendance.present == ["Alex_Lacamoire"]


def test_new_student_name_must_be_new_and_usable(state):
    state.add_photos([photo("lin-manuel-miranda.png")])
    with pytest.raises(AppError, match="already in the class"):
        state.add_face_as_new_student(1, "Barack Obama")
    with pytest.raises(AppError, match="name"):
        state.add_face_as_new_student(1, "   ")
    with pytest.raises(AppError, match="cannot be a student name"):
        student_id_for("../etc")
    with pytest.raises(AppError, match="no unknown face 7"):
        state.add_face_as_new_student(7, "Somebody Else")


def test_save_then_history_and_attendance_rates(state):
    state.subject = "Civics"
    state.add_photos([photo("two_people.jpg")])
    state.correct("Rose_Leslie", "excused")
    session_id = state.save()
    history = state.history()
    assert list(history["id"]) == [session_id]
    assert history.loc[0, "subject"] == "Civics"
    assert (history.loc[0, "present"], history.loc[0, "absent"], history.loc[0, "excused"]) == (2, 2, 1)
    rates = state.attendance_rates().set_index("student_id")["rate"]
    assert rates["Barack_Obama"] == 1.0 and rates["Kit_Harington"] == 0.0
    png = rates_chart(state.attendance_rates())
    assert png.startswith(b"\x89PNG")


def test_correction_after_saving_is_saved_too(state):
    state.subject = "Civics"
    state.add_photos([photo("two_people.jpg")])
    session_id = state.save()
    state.correct("Kit_Harington", "present")
    marks = state.store().session_marks(session_id).set_index("student_id")
    assert marks.loc["Kit_Harington", "status"] == "present"
    assert marks.loc["Kit_Harington", "source"] == "manual"


def test_saving_errors_are_readable(state):
    with pytest.raises(AppError, match="Nothing to save"):
        state.save()
    state.add_photos([photo("two_people.jpg")])
    with pytest.raises(AppError, match="subject"):
        state.save()
    state.subject = "Civics"
    state.save()
    with pytest.raises(AppError, match="already saved"):
        state.save()
    # The same photos saved from a new session of the same class and time are a duplicate in the records.
    taken = state.taken_at
    state.new_session()
    state.taken_at = taken
    state.add_photos([photo("two_people.jpg")])
    with pytest.raises(AppError, match="saved already, as session"):
        state.save()


def test_history_of_a_class_never_saved_is_empty(state):
    assert len(state.history()) == 0
    assert len(state.attendance_rates()) == 0


def test_csv_has_one_row_per_student_with_class_subject_and_time(state):
    with pytest.raises(AppError, match="Nothing to download"):
        state.csv_text()
    state.subject = "Civics"
    state.add_photos([photo("two_people.jpg")])
    lines = state.csv_text().strip().splitlines()
    assert lines[0].split(",")[:5] == ["class", "subject", "taken_at", "id", "name"]
    assert len(lines) == 1 + 5
    biden = next(line for line in lines if ",Joe_Biden," in line)
    assert ",Civics," in biden and ",present," in biden
    assert state.csv_file_name().endswith(".csv") and "Civics" in state.csv_file_name()


def test_add_and_remove_a_student(state, app_settings):
    sid = state.add_student("Lin Manuel", [photo("lin-manuel-miranda.png")])
    assert sid == "Lin_Manuel" and state.roster.student(sid).usable
    assert state.reference_thumbnail(sid).startswith(b"\xff\xd8")
    state.add_photos([photo("lin-manuel-miranda.png")])
    assert state.attendance.present == ["Lin_Manuel"]
    state.remove_student(sid)
    assert sid not in state.roster.ids
    assert not (app_settings.roster_dir / sid).exists()
    assert state.attendance.present == []
    with pytest.raises(AppError, match="No student"):
        state.remove_student(sid)


def test_add_student_refuses_a_non_image_and_an_empty_photo_list(state, app_settings):
    with pytest.raises(AppError, match="not an image"):
        state.add_student("Ada Lovelace", [("ada.jpg", b"not a photo at all")])
    with pytest.raises(AppError, match="Choose one or more photos"):
        state.add_student("Ada Lovelace", [])
    assert not (app_settings.roster_dir / "Ada_Lovelace").exists()


def test_reference_photo_problems_are_listed(state, app_settings):
    buf = io.BytesIO()
    Image.new("RGB", (300, 300), (200, 200, 200)).save(buf, "JPEG")
    (app_settings.roster_dir / "Blank_Student.jpg").write_bytes(buf.getvalue())
    state.reload_roster()
    problems = [p for p in state.roster.problems if p.student == "Blank_Student"]
    assert problems and "no face found" in str(problems[0])


def test_missing_roster_folder_is_a_message_not_a_crash(tmp_path, data_dir):
    settings = load_settings(roster_dir=tmp_path / "nowhere", data_dir=data_dir)
    state = DashboardState(settings)
    assert state.roster is None and "does not exist" in state.roster_error
    with pytest.raises(AppError, match="does not exist"):
        state.add_photos([photo("two_people.jpg")])


def test_missing_demo_photo_is_a_message(app_settings, tmp_path):
    state = DashboardState(app_settings, demo_photo=tmp_path / "absent.jpg")
    with pytest.raises(AppError, match="demo photo"):
        state.add_demo_photo()


def test_project_settings_find_the_roster_from_the_notebooks_folder(tmp_path, monkeypatch):
    (tmp_path / "known_faces").mkdir()
    (tmp_path / "notebooks").mkdir()
    monkeypatch.delenv("ATTENDANCE_ROSTER_DIR", raising=False)
    monkeypatch.delenv("ATTENDANCE_DATA_DIR", raising=False)
    monkeypatch.delenv("ATTENDANCE_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path / "notebooks")
    settings = project_settings()
    assert settings.roster_dir == tmp_path / "known_faces"
    assert settings.data_dir == tmp_path / "attendance_data"


def test_annotated_photo_is_scaled_for_display_with_colored_boxes():
    image = np.full((3000, 4000, 3), 128, dtype=np.uint8)
    faces = [annotate.FaceLabel((1000, 1400, 1400, 1000), "Ada Lovelace 0.41", annotate.MATCHED),
             annotate.FaceLabel((1000, 3400, 1400, 3000), "Unknown 1", annotate.UNKNOWN)]
    out = annotate.draw_faces(image, faces, max_side=1280)
    assert out.shape == (960, 1280, 3)
    scale = 1280 / 4000
    # The left edge of each box is drawn in its kind's color.
    assert tuple(out[int(1200 * scale), int(1000 * scale) + 1]) == annotate.COLORS[annotate.MATCHED]
    assert tuple(out[int(1200 * scale), int(3000 * scale) + 1]) == annotate.COLORS[annotate.UNKNOWN]
    # The label band under the box is filled with the same color.
    assert tuple(out[int(1400 * scale) + 6, int(1000 * scale) + 2]) == annotate.COLORS[annotate.MATCHED]
    jpeg = annotate.to_jpeg(out)
    assert Image.open(io.BytesIO(jpeg)).size == (1280, 960)


def test_crop_face_is_clipped_to_the_photo_and_scaled_up_when_small():
    image = np.zeros((200, 300, 3), dtype=np.uint8)
    crop = annotate.crop_face(image, (0, 60, 40, 0), margin=0.5, min_side=240)
    assert min(crop.shape[:2]) == 240
    with pytest.raises(ValueError):
        annotate.crop_face(image, (500, 600, 550, 500))


def test_switching_class_loads_its_roster_and_starts_a_new_session(app_settings, tmp_path):
    import shutil

    other = tmp_path / "biology_9b"
    other.mkdir()
    for sid in ("Kit_Harington", "Rose_Leslie"):
        shutil.copytree(app_settings.roster_dir / sid, other / sid)
    state = DashboardState(app_settings, classes={"Maths 7A": app_settings.roster_dir, "Biology 9B": other},
                           demo_photo=SAMPLE_IMAGES / "two_people.jpg")
    assert state.class_name == "Maths 7A" and len(state.roster) == 5
    state.add_demo_photo()
    assert state.attendance is not None
    state.class_name = "Biology 9B"
    assert state.roster.ids == ["Kit_Harington", "Rose_Leslie"]
    assert state.attendance is None  # the photos were of the other class
    state.add_photos([photo("kit_with_rose.jpg")])
    assert state.attendance.present == ["Kit_Harington", "Rose_Leslie"]
    with pytest.raises(AppError, match="No class named"):
        state.class_name = "History 5C"
    assert state.class_name == "Biology 9B"


def test_labels_fit_inside_a_tiny_photo():
    image = np.full((90, 120, 3), 200, dtype=np.uint8)
    out = annotate.draw_faces(image, [annotate.FaceLabel((60, 118, 88, 90), "Unknown 12", annotate.UNKNOWN)])
    assert out.shape == image.shape  # never enlarged
    red = np.all(out == annotate.COLORS[annotate.UNKNOWN], axis=2)
    assert red[:, :90].any()  # the label was moved left to stay in the photo, and above the box at the bottom
    assert red[:60].any()


def test_upload_messages_follow_upload_order_and_extra_files_are_named(app_settings):
    state = DashboardState(app_settings.replace(max_files_per_upload=3))
    messages = state.add_photos([("a.txt", b"not a photo"), photo("two_people.jpg"), ("../../c.jpg", b""),
                                 photo("kit_with_rose.jpg"), photo("obama1.jpg")])
    assert [m.split(":")[0] for m in messages] == ["a.txt", "c.jpg", "kit_with_rose.jpg, obama1.jpg"]
    assert "empty file" in messages[1] and "at most 3 photos" in messages[2]
    assert [p.name for p in state.photos] == ["two_people.jpg"]
    # Classroom photos stay in memory unless save_uploads is set.
    assert not (app_settings.data_dir / "uploads").exists()
