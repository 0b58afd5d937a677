"""Reading the records: each table is a query whose labelled columns become the DataFrame's columns.

A new column of a table is one more labelled column in its query; the ``*_COLUMNS`` lists below are
read from the queries, never typed twice.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

import sqlalchemy as sa

from ..results import STATUSES
from .errors import RecordsError, UnknownClassError
from .schema import class_students, classes, corrections, marks, session_photos, sessions, students
from .times import to_local

if TYPE_CHECKING:  # pandas loads when a table is made, not with the records (a dashboard's first page needs none)
    import pandas as pd


def frame(result: sa.CursorResult, local: Iterable[str] = (), utc: Iterable[str] = ()) -> pd.DataFrame:
    """The rows of ``result`` as a DataFrame named by the query's column labels.

    local: stored UTC times shown as local wall-clock times; utc: the same, kept in UTC (tz-aware).
    """
    import pandas as pd

    df = pd.DataFrame(result.all(), columns=list(result.keys()))
    for col in local:
        moments = [None if pd.isna(v) else to_local(pd.Timestamp(v).to_pydatetime()) for v in df[col]]
        df[col] = pd.to_datetime(pd.Series(moments, index=df.index, dtype=object))
    for col in utc:
        df[col] = pd.to_datetime(df[col], utc=True)
    return df


def labels(query: sa.Select) -> list[str]:
    """The column names a query gives its rows."""
    return [c.name for c in query.selected_columns]


def sessions_query() -> sa.Select:
    """Saved sessions, oldest first, with their mark counts by status and number of photos."""
    counts = (sa.select(marks.c.session_id,
                        *[sa.func.sum(sa.case((marks.c.status == s, 1), else_=0)).label(s) for s in STATUSES])
              .group_by(marks.c.session_id).subquery())
    photos = (sa.select(session_photos.c.session_id, sa.func.count().label("photos"))
              .group_by(session_photos.c.session_id).subquery())
    return (sa.select(sessions.c.id, classes.c.name.label("class"), sessions.c.subject, sessions.c.taken_at,
                      *[sa.func.coalesce(counts.c[s], 0).label(s) for s in STATUSES],
                      sessions.c.unknown_faces, sa.func.coalesce(photos.c.photos, 0).label("photos"),
                      sessions.c.tolerance, sessions.c.marked_by, sessions.c.saved_at,
                      sessions.c.taken_at.label("taken_at_utc"))
            .select_from(sessions.join(classes, classes.c.id == sessions.c.class_id)
                         .outerjoin(counts, counts.c.session_id == sessions.c.id)
                         .outerjoin(photos, photos.c.session_id == sessions.c.id))
            .order_by(sessions.c.taken_at, sessions.c.id))


def marks_query(session_id: int) -> sa.Select:
    """Every student's mark in one session, by name."""
    return (sa.select(students.c.key.label("student_id"), students.c.name, marks.c.status, marks.c.source,
                      marks.c.automatic_status, marks.c.distance, marks.c.photo, marks.c.ambiguous)
            .join(students, students.c.id == marks.c.student_id)
            .where(marks.c.session_id == session_id).order_by(students.c.name, students.c.key))


def corrections_query() -> sa.Select:
    """The audit trail, oldest first, with the session and student each line is about."""
    return (sa.select(corrections.c.id, sessions.c.id.label("session_id"), classes.c.name.label("class"),
                      sessions.c.subject, sessions.c.taken_at, students.c.key.label("student_id"), students.c.name,
                      corrections.c.old_status, corrections.c.new_status, corrections.c.note,
                      corrections.c.corrected_by, corrections.c.corrected_at)
            .select_from(corrections.join(marks, marks.c.id == corrections.c.mark_id)
                         .join(sessions, sessions.c.id == marks.c.session_id)
                         .join(classes, classes.c.id == sessions.c.class_id)
                         .join(students, students.c.id == marks.c.student_id))
            .order_by(corrections.c.corrected_at, corrections.c.id))


def memberships_query() -> sa.Select:
    """Every recorded student with each class they belong to (one row per class; none: class is NULL)."""
    return (sa.select(students.c.key.label("student_id"), students.c.name, classes.c.name.label("class"))
            .select_from(students.outerjoin(class_students, class_students.c.student_id == students.c.id)
                         .outerjoin(classes, classes.c.id == class_students.c.class_id))
            .order_by(students.c.name, students.c.key))


#: Columns of :meth:`Store.sessions`, :meth:`Store.session_marks`, :meth:`Store.corrections`, :meth:`Store.students`.
SESSION_COLUMNS = labels(sessions_query())
MARK_COLUMNS = labels(marks_query(0))
CORRECTION_COLUMNS = labels(corrections_query())
STUDENT_COLUMNS = ["student_id", "name", "classes"]


def require_session(conn: sa.Connection, session_id: int) -> None:
    """Raise :class:`RecordsError` unless session ``session_id`` is recorded."""
    if conn.execute(sa.select(sessions.c.id).where(sessions.c.id == session_id)).scalar() is None:
        raise RecordsError(f"no session {session_id} (see `attendance sessions`)")


def require_class(conn: sa.Connection, class_name: str) -> int:
    """The database id of class ``class_name``; :class:`UnknownClassError` naming the known classes if none (for
    the command line's user: a front end serving others must not pass the list on)."""
    cid = conn.execute(sa.select(classes.c.id).where(classes.c.name == class_name)).scalar()
    if cid is None:
        known = list(conn.execute(sa.select(classes.c.name).order_by(classes.c.name)).scalars())
        raise UnknownClassError(class_name, f"no class {class_name!r} in the records"
                                + (f" (classes: {', '.join(known)})" if known else " (no session saved yet)"))
    return cid
