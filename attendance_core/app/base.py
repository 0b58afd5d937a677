"""What every part of the dashboard's state shares: its error, the unknown faces, the settings it starts from."""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from ..config import Settings, load_settings
from ..errors import AttendanceError
from ..records import RecordsError
from ..roster import RosterError, check_student_id
from ..school import school_classes


class AppError(AttendanceError):
    """A problem the instructor can fix; ``str(err)`` is the message shown in the page."""


@dataclass(frozen=True)
class UnknownFace:
    """A face of a classroom photo that matched no student. ``number`` counts from 1 across the session."""

    number: int
    photo: int
    face: int
    photo_name: str
    box: tuple[int, int, int, int]
    nearest: str | None
    nearest_distance: float | None

    @property
    def label(self) -> str:
        return f"Unknown {self.number}"


def project_settings(start: Path | None = None, **overrides) -> Settings:
    """Settings as :func:`load_settings` gives them, with the roster and data folders found from ``start``.

    Voilà and nbval run a notebook in its own folder (``notebooks/``): when no config file or
    environment variable names the folders and the default roster folder is not there, the nearest
    parent folder holding the default roster folder is used, as if the command ran there.
    """
    settings = load_settings(**overrides)
    if settings.source != "defaults" or settings.roster_dir.is_dir():
        return settings
    here = (start or Path.cwd()).resolve()
    for folder in here.parents:
        if (folder / Settings.roster_dir).is_dir():
            extra = {}
            if "ATTENDANCE_ROSTER_DIR" not in os.environ and "roster_dir" not in overrides:
                extra["roster_dir"] = folder / Settings.roster_dir
            if "ATTENDANCE_DATA_DIR" not in os.environ and "data_dir" not in overrides:
                extra["data_dir"] = folder / Settings.data_dir
            return load_settings(**{**overrides, **extra})
    return settings


def default_classes(settings: Settings) -> dict[str, Path]:
    """The classes to choose from, class name -> roster folder (see :func:`attendance_core.school.school_classes`):
    the classes with an imported class list (students by id in the roster folder), then each roster
    folder in ``classes_dir`` not named by a class list, else the roster folder itself, named after
    itself (``known_faces`` -> "known faces")."""
    try:
        return school_classes(settings)
    except (RecordsError, SQLAlchemyError):
        # The records cannot be read: the folders alone (reload_roster reports the records' problem).
        return school_classes(settings, listed=[])


def student_id_for(name: str) -> str:
    """The student id of a typed name: ``" Ada  Lovelace "`` -> ``Ada_Lovelace``; raises AppError if unusable."""
    words = name.split()
    sid = "_".join(words)
    if not sid:
        raise AppError("Type the new student's name first (for example: Ada Lovelace).")
    if not re.fullmatch(r"[^\W_][\w.'-]*", sid) or sid.startswith("."):
        raise AppError(f"'{name.strip()}' cannot be a student name: use letters, digits, spaces, ' and -.")
    try:
        return check_student_id(sid)
    except RosterError as err:
        raise AppError(sentence(str(err), capital=True)) from None



def sentence(text: str, capital: bool = False) -> str:
    """``text`` ending with a full stop, and capitalised when asked (messages built from library errors;
    one starting with a file name keeps it as it is)."""
    text = text.strip()
    if capital and text:
        text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?", ")")) else text + "."
