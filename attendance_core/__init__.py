"""Smart Attendance: take class attendance from classroom photos.

The pipeline, one module per step: ``images`` (load and validate a photo) -> ``faces`` (detect) and
``encoding`` (encode) -> ``matching`` (faces to students) -> ``session`` (who is present across the photos of one
class). ``roster`` enrolls students from a folder of reference photos; ``config`` holds the settings.
"""
__version__ = "0.1.0"

from .config import Settings, load_settings
from .encoding import encode_faces
from .faces import DetectedFaces, DetectorSettings, detect_faces, find_faces
from .images import ImageError, load_image
from .matching import DEFAULT_TOLERANCE, assign, face_distances, student_distances
from .models import ModelError
from .roster import Roster, RosterProblem, Student, load_roster
from .session import Attendance, Session, mark_photos

__all__ = [
    "Attendance", "DEFAULT_TOLERANCE", "DetectedFaces", "DetectorSettings", "ImageError", "ModelError",
    "Roster", "RosterProblem", "Session", "Settings", "Student", "assign", "detect_faces", "encode_faces",
    "face_distances", "find_faces", "load_image", "load_roster", "load_settings", "mark_photos",
    "student_distances",
]
