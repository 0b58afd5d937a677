"""Videos for a fake camera, made at test time from the demo class's photos (issue 31).

Chromium plays a ``.y4m`` file as its camera (``--use-fake-device-for-media-stream
--use-file-for-fake-video-capture=FILE``, looping it); OpenCV reads the same file as a video. Y4M is raw
YUV 4:2:0: small frames at a low frame rate keep the file a few MB.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image

from conftest import KNOWN_FACES

#: The demo students and a reference photo of each, in the order a door video shows them.
DOOR_STUDENTS = [("Barack_Obama", "Barack_Obama/obama.jpg"), ("Joe_Biden", "Joe_Biden/biden.jpg"),
                 ("Kit_Harington", "Kit_Harington/john1.jpeg"), ("Rose_Leslie", "Rose_Leslie/img1.jpg"),
                 ("Alex_Lacamoire", "Alex_Lacamoire.jpg")]
BACKGROUND = 128  # a plain grey wall: no face


@dataclass(frozen=True)
class Shot:
    """``seconds`` of video showing ``student``'s photo (None: the empty doorway)."""

    student: str | None
    seconds: float


def write_y4m(path: Path, frames, size: tuple[int, int], fps: int) -> Path:
    """Write RGB frames (arrays ``(h, w, 3)`` of ``size`` (w, h)) as a Y4M video at ``fps`` frames a second."""
    width, height = size
    with open(path, "wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode("ascii"))
        for rgb in frames:
            ycbcr = Image.fromarray(rgb).convert("YCbCr")
            y, cb, cr = ycbcr.split()
            half = (width // 2, height // 2)
            out.write(b"FRAME\n" + y.tobytes() + cb.resize(half, Image.BOX).tobytes()
                      + cr.resize(half, Image.BOX).tobytes())
    return path


@lru_cache(maxsize=None)
def _portrait(student: str) -> Image.Image:
    """The student's reference photo cropped around the face, as a camera at a door sees someone coming in:
    the face about a third of the picture's height."""
    from attendance_core.faces import detect_faces
    from attendance_core.images import load_image

    rgb = load_image(KNOWN_FACES / dict(DOOR_STUDENTS)[student])
    top, right, bottom, left = detect_faces(rgb, "hog", 40, workers=1, second_opinion=False)[0]
    side = 3 * (bottom - top)
    cx, cy = (left + right) // 2, (top + bottom) // 2
    box = (max(0, cx - side * 2 // 3), max(0, cy - side // 2), min(rgb.shape[1], cx + side * 2 // 3),
           min(rgb.shape[0], cy + side // 2))
    return Image.fromarray(rgb).crop(box)


def picture(student: str | None, size: tuple[int, int]) -> np.ndarray:
    """The frame of one shot: the student's face and shoulders, as large as fits, on a grey wall (None: the wall)."""
    canvas = Image.new("RGB", size, (BACKGROUND,) * 3)
    if student is not None:
        photo = _portrait(student).copy()
        photo.thumbnail((size[0] * 9 // 10, size[1] * 9 // 10))
        canvas.paste(photo, ((size[0] - photo.width) // 2, (size[1] - photo.height) // 2))
    return np.asarray(canvas)


def door_video(path: Path, shots: list[Shot], size: tuple[int, int] = (480, 360), fps: int = 4) -> Path:
    """A video of a doorway where the students of ``shots`` come in one after another."""
    def frames():
        for shot in shots:
            still = picture(shot.student, size)
            for _ in range(round(shot.seconds * fps)):
                yield still

    return write_y4m(path, frames(), size, fps)


def still_video(path: Path, photo: Path, fps: int = 2, seconds: float = 4) -> tuple[Path, np.ndarray]:
    """A video that shows ``photo`` and nothing else (its size rounded down to even numbers); returns it and the
    picture it shows (RGB), so that a test can upload the same picture."""
    with Image.open(photo) as img:
        img = img.convert("RGB")
        img = img.crop((0, 0, img.width // 2 * 2, img.height // 2 * 2))
        rgb = np.asarray(img)
    return write_y4m(path, [rgb] * round(fps * seconds), (rgb.shape[1], rgb.shape[0]), fps), rgb
