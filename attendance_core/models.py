"""dlib's face models: found in the ``face_recognition_models`` package, loaded once, on first use.

A missing or broken model is a clear :class:`ModelError`, never a traceback from dlib. dlib's
detectors keep scratch state, so each detection thread gets its own (:func:`detector`).

dlib builds its HOG face detector from a model compiled into it, which took 0.24 s of every
command's start-up; a copy saved in dlib's own binary format loads in 2 ms, so one is kept in the
user's cache folder (``$XDG_CACHE_HOME`` or ``~/.cache``, ``smart-attendance/``) and made again if it
is missing or unreadable.
"""
from __future__ import annotations

import functools
import importlib.util
import os
import pickle  # noqa: S403 - only our own, just-made detector is unpickled
import tempfile
import threading
from pathlib import Path

from .errors import AttendanceError
from .files import write_atomic

_MODEL_FILES = {
    "landmarks": "shape_predictor_5_face_landmarks.dat",
    "landmarks68": "shape_predictor_68_face_landmarks.dat",  # the conditions set only (evaluation)
    "encoder": "dlib_face_recognition_resnet_model_v1.dat",
    "cnn": "mmod_human_face_detector.dat",
}


class ModelError(AttendanceError, RuntimeError):
    """The face models (dlib or face_recognition_models) are missing or broken."""


def models_dir() -> Path:
    """The folder of face_recognition_models' model files."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(
            "the face models are not installed: run `pip install face_recognition_models` "
            "(or the README's setup command)"
        )
    return Path(list(spec.submodule_search_locations)[0]) / "models"


@functools.lru_cache(maxsize=None)
def model(kind: str):
    """One dlib model ("hog", "cnn", "landmarks", "landmarks68", "encoder"), loaded on first use and shared (share a
    detector across threads only through :func:`detector`)."""
    return _load(kind)


def _load(kind: str):
    try:
        import dlib
    except ImportError as err:
        raise ModelError(f"dlib is not installed or does not load ({err}); run the README's setup command") from None
    if kind == "hog":
        return _hog_detector(dlib)
    path = models_dir() / _MODEL_FILES[kind]
    if not path.is_file():
        raise ModelError(f"face model file missing: {path}; reinstall face_recognition_models")
    try:
        if kind in ("landmarks", "landmarks68"):
            return dlib.shape_predictor(str(path))
        if kind == "encoder":
            return dlib.face_recognition_model_v1(str(path))
        return dlib.cnn_face_detection_model_v1(str(path))
    except RuntimeError as err:
        raise ModelError(f"face model file {path} could not be loaded ({err}); reinstall face_recognition_models") from None


def hog_cache_file() -> Path:
    """Where the saved copy of dlib's HOG face detector is kept (one per dlib version)."""
    import dlib

    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "smart-attendance" / f"frontal_face_detector-dlib-{dlib.__version__}.svm"


def _hog_detector(dlib):
    """dlib's HOG face detector: the saved copy, else built (and saved for the next command)."""
    path = hog_cache_file()
    try:
        return dlib.fhog_object_detector(str(path))
    except (RuntimeError, OSError):
        pass  # not saved yet, or unreadable: build it
    built = dlib.get_frontal_face_detector()
    try:
        # dlib saves only to a file name: saved aside, then put in place whole (another command may read it).
        with tempfile.TemporaryDirectory() as scratch:
            built.save(os.path.join(scratch, "hog.svm"))
            write_atomic(path, Path(scratch, "hog.svm").read_bytes())
    except (OSError, RuntimeError):
        pass  # a read-only home only costs the next command the 0.24 s again
    return built


_local = threading.local()


@functools.lru_cache(maxsize=None)
def _hog_bytes() -> bytes:
    return pickle.dumps(model("hog"))


def detector(kind: str):
    """This thread's own detector ("hog" or "cnn"): dlib detectors keep scratch state and crash if shared by
    threads. HOG copies are unpickled from the loaded one (2 ms; building one cost each thread 230 ms)."""
    cache = _local.__dict__.setdefault("detectors", {})
    if kind not in cache:
        model(kind)  # fail early, with the clear error, if the model is missing
        cache[kind] = pickle.loads(_hog_bytes()) if kind == "hog" else _load(kind)
    return cache[kind]
