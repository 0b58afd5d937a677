"""One photo's recognition work, and where it runs.

:func:`analyse_photo` is the whole per-photo job, a pure function of the photo's bytes and the
settings: read, EXIF-rotate and validate it, detect and encode its faces, and make the copy kept for
display. :func:`reference_faces` is the same for one reference photo of the roster. A
:class:`Recognizer` runs these jobs: :class:`Recognizer` itself (the default: ``attendance mark``, the
library, the dashboard without a pool) runs them here; :class:`attendance_core.pool.PoolRecognizer`
sends the photo's bytes to a shared pool of workers and receives the result, so that the calling
process never loads dlib. :func:`attendance_core.recognizers.recognizer_for` picks one from the settings
(``pool_address``); this module imports neither of them.

Nothing here writes a photo to disk.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Sequence

import numpy as np

from .errors import AttendanceError
from .images import DEFAULT_MAX_BYTES, DEFAULT_MAX_PIXELS, ImageError, PhotoFile, load_image, read_photo

if TYPE_CHECKING:  # no dlib, no OpenCV at import time
    from .encoding_cache import CachedFaces
    from .faces import DetectorSettings
    from .results import FaceQuality

#: Longer side, in pixels, of the copy of a photo kept for display (``keep_images``): more than the
#: dashboard draws (1280), so that a face crop keeps some detail, and a tenth of a 12 MP photo's memory.
KEPT_IMAGE_MAX_SIDE = 2048

#: progress(photo_name, stage, fraction_of_this_photo_done); see :data:`session.Progress` for the stages.
PhotoProgress = Callable[[str, str, float], None]


class RecognitionError(AttendanceError, RuntimeError):
    """Photos could not be analysed where the recognizer runs them (the pool is unreachable, a worker died)."""


@dataclass(frozen=True)
class AnalysisOptions:
    """What :func:`analyse_photo` needs besides the photo: detector settings, limits, whether to keep a
    display copy. Plain values only (it travels to the pool's workers)."""

    model: str = "hog"
    min_face_size: int = 32
    workers: int = 0
    jitters: int = 1
    keep_image: bool = False
    max_pixels: int = DEFAULT_MAX_PIXELS
    max_bytes: int = DEFAULT_MAX_BYTES
    #: YuNet's second opinion on where faces are (False: the detector alone, as before issue 27; benchmarks).
    second_opinion: bool = True

    @classmethod
    def of(cls, detector: "DetectorSettings", keep_image: bool = False, max_pixels: int = DEFAULT_MAX_PIXELS,
           max_bytes: int = DEFAULT_MAX_BYTES) -> "AnalysisOptions":
        return cls(detector.model, detector.min_face_size, detector.workers, detector.jitters, keep_image,
                   max_pixels, max_bytes)


@dataclass
class PhotoAnalysis:
    """The result of :func:`analyse_photo`: ``boxes`` ``(n, 4)`` (top, right, bottom, left, photo pixels),
    ``encodings`` ``(n, 128)``, ``size`` (width, height after EXIF rotation), ``taken_at`` (EXIF time or
    None), the display copy (``image``, ``image_scale`` display pixels per photo pixel), each face's
    ``quality`` reading, or ``error``."""

    name: str
    sha256: str
    boxes: np.ndarray
    encodings: np.ndarray
    size: tuple[int, int] = (0, 0)
    taken_at: datetime | None = None
    image: np.ndarray | None = field(default=None, repr=False)
    image_scale: float = 1.0
    error: str | None = None
    quality: list["FaceQuality"] = field(default_factory=list)

    @classmethod
    def failed(cls, name: str, sha256: str, error: str) -> "PhotoAnalysis":
        return cls(name, sha256, np.zeros((0, 4), dtype=np.int64), np.zeros((0, 128)), error=error)


def analyse_photo(data: bytes, name: str, options: AnalysisOptions = AnalysisOptions(),
                  progress: PhotoProgress | None = None) -> PhotoAnalysis:
    """Read, rotate, validate, detect and encode one photo given as bytes; an unusable photo comes back
    with its ``error`` (naming the file), never raised."""
    from .encoding import encode_faces
    from .faces import locate_faces, release_memory
    from .images import photo_time
    from .quality import face_quality

    def report(stage: str, fraction: float) -> None:
        if progress:
            progress(file.name, stage, fraction)

    try:
        file = read_photo(data, name, max_bytes=options.max_bytes)
        report("loading", 0.0)
        image = load_image(file, max_pixels=options.max_pixels, max_bytes=options.max_bytes)
    except ImageError as err:
        return PhotoAnalysis.failed(err.file, PhotoFile(name, bytes(data)).sha256, str(err))
    report("detecting", 0.1)
    found = locate_faces(image, options.model, options.min_face_size, options.workers,
                         second_opinion=options.second_opinion)
    boxes = found.boxes
    report("encoding", 0.7)
    encodings = encode_faces(image, boxes, options.jitters)
    kept, scale = display_copy(image) if options.keep_image else (None, 1.0)
    result = PhotoAnalysis(file.name, file.sha256, boxes, encodings, (image.shape[1], image.shape[0]),
                           photo_time(file.data), kept, scale, quality=face_quality(image, boxes, found.confirmed))
    # The full-size pixels are not needed once boxes and encodings are kept: give them back now,
    # not at the next photo (a 12 MP photo and its working copies are several hundred MB).
    del image
    release_memory()
    return result


def display_copy(image: np.ndarray) -> tuple[np.ndarray, float]:
    """The copy of ``image`` kept for display (at most :data:`KEPT_IMAGE_MAX_SIDE` px a side) and its scale.
    Pillow's box filter (OpenCV's area average): a dashboard's kernel makes it too, and never loads OpenCV."""
    from PIL import Image

    scale = min(1.0, KEPT_IMAGE_MAX_SIDE / float(max(image.shape[:2])))
    if scale >= 1.0:
        return image, 1.0
    size = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
    return np.asarray(Image.fromarray(image).resize(size, Image.Resampling.BOX)), scale


def display_copy_of(data: bytes, name: str, options: AnalysisOptions = AnalysisOptions()) -> np.ndarray:
    """The copy of a photo given as bytes kept for display, read at a reduced size (a JPEG at 1/2, 1/4 or 1/8 of
    the full decode: at least half of :data:`KEPT_IMAGE_MAX_SIDE`, at most all of it): what a caller makes itself
    while a pool analyses the photo (:class:`attendance_core.pool.PoolRecognizer`), instead of waiting for the
    worker to make it and send it back. Raises :class:`ImageError` as :func:`images.load_image` does."""
    image = load_image(data, name, max_pixels=options.max_pixels, max_bytes=options.max_bytes,
                       at_least=KEPT_IMAGE_MAX_SIDE // 2)
    return display_copy(image)[0]


def reference_faces(data: bytes, name: str) -> "CachedFaces":
    """The faces of one reference photo given as bytes (see :func:`roster.photo_faces`); no cache."""
    from .roster import photo_faces

    return photo_faces(data, name)


class Recognizer:
    """Runs the photo work of a session and of a roster's enrollment: here, in this process.

    Subclasses run it elsewhere (:class:`attendance_core.pool.PoolRecognizer`); the results are the same.
    """

    #: Shown in messages and by ``attendance config``.
    where = "in process"
    #: Held while this process analyses: a camera's frame is dropped rather than wait for it.
    _working = threading.Lock()

    def analyse(self, files: Sequence[PhotoFile], options: AnalysisOptions,
                progress: PhotoProgress | None = None) -> list[PhotoAnalysis]:
        """:func:`analyse_photo` of each photo, in order; a photo that fails has its ``error``."""
        with self._working:
            return [analyse_photo(f.data, f.name, options, progress) for f in files]

    def analyse_if_free(self, file: PhotoFile, options: AnalysisOptions) -> PhotoAnalysis | None:
        """A camera's frame, analysed now if nothing else is being analysed, else dropped (None): frames are
        dropped, never queued, so that a camera never holds up photos (the check-in at the door, :mod:`checkin`)."""
        if not self._working.acquire(blocking=False):
            return None
        try:
            return analyse_photo(file.data, file.name, options)
        finally:
            self._working.release()

    def reference_faces(self, path: Path) -> "CachedFaces":
        """The faces of one reference photo, read from ``path`` (see :func:`reference_faces`)."""
        from .roster import photo_faces

        return photo_faces(path)

    def warm_up(self) -> None:
        """Get ready for the first photo without waiting for it (nothing to do in process: models load on first use)."""

    def close(self) -> None:
        """Let go of what the recognizer holds (nothing, in process)."""

