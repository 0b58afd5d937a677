"""The Voilà dashboard: :class:`DashboardState` (what it knows and does, no widgets) and
:class:`AttendanceApp` (the widgets bound to it). ``notebooks/attendance_dashboard.ipynb`` shows it."""
from .state import AppError, DashboardState, UnknownFace, project_settings
from .views import AttendanceApp

__all__ = ["AppError", "AttendanceApp", "DashboardState", "UnknownFace", "project_settings"]
