"""The project's one base error: every refusal the library explains to a person is an :class:`AttendanceError`.

Front ends catch this one class and show ``str(err)``, which names the file, setting or record and the
problem; anything else is a bug and keeps its traceback.
"""
from __future__ import annotations


class AttendanceError(Exception):
    """A problem the user can act on; ``str(err)`` says what and where."""
