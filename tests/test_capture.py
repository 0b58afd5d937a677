"""`attendance checkin --camera`: the door check-in from OpenCV, on videos made from the demo class's photos
(there is no camera here), through the real dlib pipeline."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest

from attendance_core.capture import CameraError, Frames, run_checkin
from attendance_core.checkin import DoorCheckIn
from attendance_core.faces import DetectorSettings
from attendance_core.recognition import AnalysisOptions, Recognizer
from attendance_core.roster import load_roster
from attendance_core.session import Session

from camera_video import Shot, door_video, picture
from conftest import KNOWN_FACES

ATTENDANCE = Path(sys.executable).with_name("attendance")
SHOTS = [Shot(None, 2), Shot("Barack_Obama", 4), Shot("Joe_Biden", 4), Shot(None, 40), Shot("Kit_Harington", 4),
         Shot("Rose_Leslie", 4), Shot(None, 2)]


def tree(folder: Path) -> dict[str, tuple[int, float]]:
    """Every file under ``folder``: its size and modification time."""
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime) for p in folder.rglob("*") if p.is_file()}


def test_checkin_from_a_video_marks_each_student_once_in_order_late_after_the_limit_and_writes_nothing(
        demo_class, demo_encoding_cache, tmp_path):
    video = door_video(tmp_path / "door.y4m", SHOTS, size=(320, 240), fps=2)
    data = tmp_path / "attendance_data"
    shutil.copytree(demo_encoding_cache, data / "cache")
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    before = tree(tmp_path)
    start = datetime.now().astimezone().replace(microsecond=0)
    env = {**os.environ, "ATTENDANCE_DATA_DIR": str(data), "ATTENDANCE_ROSTER_DIR": str(KNOWN_FACES),
           "TMPDIR": str(scratch)}
    done = subprocess.run([str(ATTENDANCE), "checkin", "--camera", str(video), "--start", start.isoformat(),
                           "--late-after", "0.5"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr
    arrivals = re.findall(r"^  (.+?): (present|late), (\d\d:\d\d)$", done.stdout, re.M)
    # Each once, in the order they came in; the two who came 50 s after the start (30 s allowed) are late.
    assert [(name, status) for name, status, _ in arrivals] == [
        ("Barack Obama", "present"), ("Joe Biden", "present"), ("Kit Harington", "late"), ("Rose Leslie", "late")]
    assert [t for _, _, t in arrivals] == sorted(t for _, _, t in arrivals)
    assert re.search(r"^Alex Lacamoire\s+absent", done.stdout, re.M)
    assert "Check-in ended: 4 arrived (2 late)" in done.stdout
    # Nothing written: no frame, no database (not saved), the cache and the temporary folder as they were.
    assert tree(tmp_path) == before


def test_a_camera_that_cannot_be_opened_is_a_plain_message(demo_class, tmp_path, demo_encoding_cache):
    data = tmp_path / "attendance_data"
    shutil.copytree(demo_encoding_cache, data / "cache")
    env = {**os.environ, "ATTENDANCE_DATA_DIR": str(data), "ATTENDANCE_ROSTER_DIR": str(KNOWN_FACES)}
    done = subprocess.run([str(ATTENDANCE), "checkin", "--camera", "7"], env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 2
    assert "camera 7 cannot be opened: none is connected with that number, or another program is using it" in done.stderr
    assert "Traceback" not in done.stderr
    missing = subprocess.run([str(ATTENDANCE), "checkin", "--camera", str(tmp_path / "door.mp4")], env=env,
                             capture_output=True, text=True, timeout=300)
    assert missing.returncode == 2 and "door.mp4: no such video file" in missing.stderr


class FakeCamera:
    """Reads like cv2.VideoCapture over a live camera: the picture of whoever is at the door now (by the wall
    clock), until it is 'unplugged' ``unplugged_after`` seconds after it was opened."""

    def __init__(self, shots: list[Shot], unplugged_after: float):
        self.shots, self.unplugged_after, self.opened = shots, unplugged_after, time.monotonic()
        self.pictures = {s.student: picture(s.student, (320, 240))[:, :, ::-1] for s in shots}

    def isOpened(self) -> bool:  # noqa: N802 - OpenCV's name
        return True

    def set(self, *_):
        return True

    def read(self):
        elapsed = time.monotonic() - self.opened
        if elapsed > self.unplugged_after:
            return False, None
        time.sleep(1 / 30)  # 30 frames a second
        for shot in self.shots:
            if elapsed < shot.seconds:
                return True, self.pictures[shot.student].copy()
            elapsed -= shot.seconds
        return True, self.pictures[None].copy()

    def release(self):
        pass


def test_a_camera_unplugged_mid_session_keeps_what_was_marked(demo_class, demo_encoding_cache):
    roster = load_roster(KNOWN_FACES, DetectorSettings(), demo_encoding_cache)
    session = Session(roster)
    checkin = DoorCheckIn(session)
    heard = []
    camera = FakeCamera([Shot("Joe_Biden", 6), Shot(None, 60)], unplugged_after=9)
    with pytest.raises(CameraError, match=r"camera 0 stopped sending pictures \(unplugged\?\)"):
        run_checkin(Frames(0, capture=camera), checkin, Recognizer(), AnalysisOptions(), heard.append)
    assert [a.student for a in heard] == ["Joe_Biden"]
    assert {s.id: s.status for s in session.result().students}["Joe_Biden"] == "present"
    assert 3 <= checkin.frames <= 10  # about a frame a second, the newest each time, not every frame read


def test_a_video_read_as_a_door_is_timed_from_its_start(demo_class, tmp_path):
    video = door_video(tmp_path / "door.y4m", [Shot(None, 3), Shot("Barack_Obama", 1)], size=(320, 240), fps=2)
    started = datetime(2026, 3, 2, 8, 0, tzinfo=timezone.utc)
    frames = Frames(str(video), started)
    times = [at for _, at in frames]
    frames.close()
    assert times == [started + timedelta(seconds=k) for k in range(4)]
    assert all(isinstance(f, np.ndarray) for f, _ in Frames(str(video), started))
