"""Reports: a class's attendance over a period, as DataFrames, and as CSV or XLSX files."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

import sqlalchemy as sa

from ..results import ABSENT, ATTENDED, STATUSES
from .export import write_csv, write_xlsx
from .queries import frame, require_class
from .schema import class_students, marks, sessions, students
from .times import day_start_utc

if TYPE_CHECKING:  # pandas loads when a table is made, not with the records (a dashboard's first page needs none)
    import pandas as pd


def _pandas():
    import pandas

    return pandas

#: Columns of :attr:`Report.summary`: the matrix's first two, a count per status, then these two.
SUMMARY_COLUMNS = ["student_id", "name", *STATUSES, "sessions", "rate"]
#: Columns of :attr:`Report.sessions`.
REPORT_SESSION_COLUMNS = ["id", "column", "subject", "taken_at"]


@dataclass
class Report:
    """Attendance of one class over a period.

    summary: one row per student (``student_id``, ``name``, ``present``, ``absent``, ``excused``,
    ``late``, ``sessions``, ``rate``); rate = (present + late) / (present + late + absent), excused
    sessions not counted, NaN when there is none. matrix: ``student_id``, ``name`` and one column per session, labelled by its
    local date (with the time when a day has several sessions), holding the status (NaN: not marked).
    sessions: the sessions included, with their column label.
    """

    class_name: str
    subject: str | None
    start: date | None
    end: date | None
    summary: pd.DataFrame
    matrix: pd.DataFrame
    sessions: pd.DataFrame = field(default_factory=lambda: _pandas().DataFrame())

    def table(self) -> pd.DataFrame:
        """Summary and matrix side by side: the table written by ``to_csv`` and the first sheet of ``to_excel``."""
        return self.summary.merge(self.matrix, on=["student_id", "name"], how="left")

    def to_csv(self, path_or_buffer) -> None:
        """Write :meth:`table` as CSV; text that a spreadsheet would run as a formula gets a leading apostrophe."""
        write_csv(self.table(), path_or_buffer)

    def to_excel(self, path) -> None:
        """An .xlsx workbook: sheets ``attendance`` (the table), ``summary``, ``matrix``, ``sessions``; text only."""
        write_xlsx({"attendance": self.table(), "summary": self.summary, "matrix": self.matrix,
                    "sessions": self.sessions}, path)


def build_report(conn: sa.Connection, class_name: str, subject: str | None = None, start: date | None = None,
                 end: date | None = None) -> Report:
    """The :class:`Report` of ``class_name`` (sessions of ``subject`` only, if given; local days start..end)."""
    class_id = require_class(conn, class_name)
    q = (sa.select(sessions.c.id, sessions.c.subject, sessions.c.taken_at)
         .where(sessions.c.class_id == class_id))
    if subject is not None:
        q = q.where(sessions.c.subject == subject)
    if start is not None:
        q = q.where(sessions.c.taken_at >= day_start_utc(start))
    if end is not None:
        q = q.where(sessions.c.taken_at < day_start_utc(end + timedelta(days=1)))
    chosen = frame(conn.execute(q.order_by(sessions.c.taken_at, sessions.c.id)), local=["taken_at"])
    ids = chosen["id"].tolist()
    marked = frame(conn.execute(
        sa.select(marks.c.session_id, students.c.key.label("student_id"), students.c.name, marks.c.status)
        .join(students, students.c.id == marks.c.student_id).where(marks.c.session_id.in_(ids))))
    members = frame(conn.execute(
        sa.select(students.c.key.label("student_id"), students.c.name)
        .join(class_students, class_students.c.student_id == students.c.id)
        .where(class_students.c.class_id == class_id)))

    column = session_labels(list(zip(ids, chosen["taken_at"].dt.to_pydatetime())))
    chosen.insert(1, "column", chosen["id"].map(column))
    # Everyone in the class now, and everyone marked in these sessions (a student who left keeps a row).
    people = dict(zip(members["student_id"], members["name"]))
    people.update(zip(marked["student_id"], marked["name"]))
    order = sorted(people, key=lambda k: (people[k].lower(), k))
    statuses = (marked.pivot(index="student_id", columns="session_id", values="status")
                .reindex(index=order, columns=ids))
    import pandas as pd

    names = pd.DataFrame({"student_id": order, "name": [people[k] for k in order]})
    matrix = pd.concat([names, statuses.rename(columns=column).reset_index(drop=True)], axis=1)
    summary = names.copy()
    for status in STATUSES:
        summary[status] = (statuses == status).sum(axis=1).astype(int).to_numpy()
    summary["sessions"] = statuses.notna().sum(axis=1).astype(int).to_numpy()
    attended = summary[list(ATTENDED)].sum(axis=1)  # a late student was in class
    counted = attended + summary[ABSENT]
    summary["rate"] = (attended / counted.where(counted > 0)).astype(float)
    return Report(class_name, subject, start, end, summary[SUMMARY_COLUMNS], matrix,
                  chosen[REPORT_SESSION_COLUMNS])


def session_labels(items: list[tuple[int, datetime]]) -> dict[int, str]:
    """Matrix column per session: the local date, with the time when a day has several, and the id if still equal."""
    by_day: dict[str, list[int]] = {}
    for sid, moment in items:
        by_day.setdefault(moment.date().isoformat(), []).append(sid)
    labels = {}
    for sid, moment in items:
        day = moment.date().isoformat()
        labels[sid] = day if len(by_day[day]) == 1 else moment.strftime("%Y-%m-%d %H:%M")
    counts: dict[str, int] = {}
    for label in labels.values():
        counts[label] = counts.get(label, 0) + 1
    return {sid: (f"{label} #{sid}" if counts[label] > 1 else label) for sid, label in labels.items()}
