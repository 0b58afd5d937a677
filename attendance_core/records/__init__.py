"""Attendance records: classes, students, sessions and marks in a database; reports as DataFrames.

One SQLAlchemy store serves a single instructor (an SQLite file in the data folder, created on first
use) and a school sharing one PostgreSQL database (``database_url`` in the settings). The schema is
versioned: opening a database made by an older release upgrades it in place, in one transaction.

Times are stored in UTC (naive ``DateTime`` columns holding UTC) and shown in local time: DataFrame
columns ``taken_at`` / ``saved_at`` / ``corrected_at`` are local wall-clock times, ``taken_at_utc``
is the same instant in UTC.

Every write is one transaction. On SQLite the file is in WAL mode with a busy timeout and writers
take the write lock when they begin (``BEGIN IMMEDIATE``), so two processes saving at the same time
wait for each other instead of failing. A session is identified by its class and the contents of its
photos (SHA-256); saving it again raises :class:`DuplicateSessionError`.

Forgetting a student (:meth:`Store.forget_student`) keeps their past marks, anonymised, so that a
class's history still adds up; ``delete_marks=True`` deletes the marks and their corrections instead.

Modules: ``schema`` (tables, text limits), ``migrations``, ``engine`` (connections), ``errors`` (and
clean messages for database failures), ``times``, ``queries`` (tables read by column label),
``saving`` (writing a session), ``store`` (:class:`Store`), ``register`` (class lists, consent, purge,
a student's records: the school's part of the store), ``reports`` (:class:`Report`), ``export``
(CSV and XLSX holding text only).
"""
from .engine import create_engine
from .errors import BUSY_TIMEOUT, DuplicateSessionError, RecordsError, UnknownClassError, UnknownStudentError
from .export import FORMULA_STARTS, csv_safe, spreadsheet_text, write_csv, write_xlsx
from .migrations import MIGRATIONS, SCHEMA_VERSION, current_version, migrate
from .queries import CORRECTION_COLUMNS, MARK_COLUMNS, SESSION_COLUMNS, STUDENT_COLUMNS
from .register import PurgeResult, RegisterChanges, SchoolRegister
from .reports import REPORT_SESSION_COLUMNS, SUMMARY_COLUMNS, Report
from .schema import (check_text, class_students, classes, consent_changes, corrections, marks, metadata,
                     schema_version, session_photos, sessions, students, text_limit)
from .store import FORGOTTEN_NAME, ForgetResult, Store
from .times import to_local, to_utc

__all__ = [
    "BUSY_TIMEOUT", "CORRECTION_COLUMNS", "FORGOTTEN_NAME", "FORMULA_STARTS", "MARK_COLUMNS", "MIGRATIONS",
    "REPORT_SESSION_COLUMNS", "SCHEMA_VERSION", "SESSION_COLUMNS", "STUDENT_COLUMNS", "SUMMARY_COLUMNS",
    "DuplicateSessionError", "ForgetResult", "PurgeResult", "RecordsError", "RegisterChanges", "Report",
    "SchoolRegister", "Store", "UnknownClassError", "UnknownStudentError", "check_text", "class_students", "classes",
    "consent_changes", "corrections", "create_engine", "csv_safe", "current_version",
    "marks", "metadata", "migrate", "schema_version", "session_photos", "sessions", "spreadsheet_text",
    "students", "text_limit", "to_local", "to_utc", "write_csv", "write_xlsx",
]
