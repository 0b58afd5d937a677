"""Times in the records: stored as naive UTC, shown as naive local wall-clock time."""
from __future__ import annotations

import getpass
from datetime import date, datetime, time, timezone


def utcnow() -> datetime:
    """Now, as a naive UTC datetime (what the records store)."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def to_utc(moment: datetime) -> datetime:
    """A naive UTC datetime for storage; a naive ``moment`` is taken as local time."""
    return moment.astimezone(timezone.utc).replace(tzinfo=None)


def to_local(moment_utc: datetime | None) -> datetime | None:
    """A stored (naive UTC) datetime as naive local wall-clock time."""
    if moment_utc is None:
        return None
    return moment_utc.replace(tzinfo=timezone.utc).astimezone().replace(tzinfo=None)


def day_start_utc(day: date | datetime | str) -> datetime:
    """Local midnight at the start of ``day`` (a date, or ISO text), in naive UTC."""
    if isinstance(day, str):
        day = date.fromisoformat(day)
    if isinstance(day, datetime):
        return to_utc(day)
    return to_utc(datetime.combine(day, time()))


def current_user() -> str:
    """The login name of whoever runs this ("unknown" when the system has none)."""
    try:
        return getpass.getuser()
    except Exception:  # no login name (some containers): still record something
        return "unknown"
