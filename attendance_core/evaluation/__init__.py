"""How well faces are matched: the numbers behind the tolerance, and attendance accuracy.

Two levels, both from labelled photos:

- *pairs*: every two photos of a labelled set are a same-person or a different-person pair; their
  encoding distances give the histograms, the ROC curve, the equal-error rate and the tolerance that
  keeps false matches under a chosen rate (:func:`recommend_tolerance`, which chose ``DEFAULT_TOLERANCE``);
- *attendance*: labelled classroom photos go through the product's own steps (detect, encode,
  :func:`~attendance_core.matching.student_distances`, :func:`~attendance_core.matching.assign`), and the
  students marked present are compared with the students really there: precision, recall and F1
  against tolerance, a per-photo table, the errors as face crops, and detector settings compared.

Labelled sets, in the user's terms:

- *labelled photos* (one person per photo, like reference photos): a folder with ``labels.csv``
  (``path,identity`` rows, paths relative to the folder), or a folder per person (the roster folder
  convention: ``Name_Surname/`` or ``Name_Surname.jpg``);
- *labelled classroom photos*: a folder of photos plus ``attendance.csv`` with ``photo,student`` rows,
  one row per student present in a photo (a photo where no student of the roster is present has one
  row with an empty ``student``). Student ids are the roster's (``Name_Surname``).

Used by the notebooks and benchmarks; nothing here is used to mark attendance. One module per part:
``labelled`` (labelled photos and a class made of them), ``pairs`` (pair distances, ROC, the
tolerance rule), ``classroom`` (attendance on classroom photos, errors, detectors), ``open_set``
(strangers marked present, leave-people-out, against the tolerance and the decision rules) and
``conditions`` (labelled photos made blurred, dark, tilted, far or half covered, scored per condition).
"""
from __future__ import annotations

from ..annotate import crop_face
from .classroom import *  # noqa: F401,F403
from .classroom import __all__ as _classroom
from .conditions import *  # noqa: F401,F403
from .conditions import __all__ as _conditions
from .labelled import *  # noqa: F401,F403
from .labelled import __all__ as _labelled
from .open_set import *  # noqa: F401,F403
from .open_set import __all__ as _open_set
from .pairs import *  # noqa: F401,F403
from .pairs import __all__ as _pairs

__all__ = ["crop_face", *_labelled, *_pairs, *_classroom, *_open_set, *_conditions]
