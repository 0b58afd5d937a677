"""The dashboard state's records: save the session, download it as CSV, the class's history and rates.

A mixin of :class:`~attendance_core.app.state.DashboardState`.
"""
from __future__ import annotations

import io
import re
from typing import TYPE_CHECKING

from sqlalchemy.exc import SQLAlchemyError

from ..school import access
from ..records import SESSION_COLUMNS, SUMMARY_COLUMNS, DuplicateSessionError, RecordsError, Store
from ..records.export import write_csv
from .base import AppError

if TYPE_CHECKING:  # pandas loads when a table is made, not with the records (a dashboard's first page needs none)
    import pandas as pd


#: Columns of the History table: the records' session columns but those the class view does not need.
HISTORY_COLUMNS = [c for c in SESSION_COLUMNS if c not in ("class", "tolerance", "saved_at", "taken_at_utc")]


class RecordsActions:
    """Saving and reading the records (needs ``attendance``, ``settings``, ``class_name``, ``subject``, ``taken_at``)."""

    # ----- records -----------------------------------------------------------------------------

    def store(self) -> Store:
        """The records store (opened from the settings on first use)."""
        if self._store is None:
            try:
                self._store = access.open_store(Store.from_settings(self.settings), self.user)
            except (RecordsError, OSError, SQLAlchemyError) as err:
                raise AppError(f"The records database cannot be opened: {err}") from None
        return self._store

    def records_store(self):
        """The records :class:`Store` itself (not the acting user's view of it), or None when none was
        opened yet: for the school's rules (class lists, consent), which check their own rights."""
        return getattr(self._store, "store", self._store)

    def save(self, marked_by: str | None = None) -> int:
        """Save the session's attendance in the records; returns the session number."""
        att = self.attendance
        if att is None:
            raise AppError("Nothing to save yet: add a classroom photo first.")
        if not self.subject.strip():
            raise AppError("Type the subject (for example: Mathematics) before saving.")
        if self.saved_session_id is not None:
            raise AppError(f"This session is already saved (session {self.saved_session_id}); corrections "
                           "made since are saved as you make them. Use \"New session\" for another class.")
        store = self.store()
        try:
            session_id = store.save_session(att, class_name=self.class_name, subject=self.subject.strip(),
                                            taken_at=self.taken_at, marked_by=marked_by, settings=self.settings)
        except DuplicateSessionError as err:
            raise AppError(f"These photos of this class were saved already, as session {err.session_id}.") from None
        except (RecordsError, access.PermissionDenied, SQLAlchemyError) as err:
            raise AppError(f"The session could not be saved: {err}") from None
        self.saved_session_id = int(session_id)
        self.history_version += 1
        return self.saved_session_id

    def csv_text(self) -> str:
        """The attendance as CSV: class, subject, date, then one row per student."""
        att = self.attendance
        if att is None:
            raise AppError("Nothing to download yet: add a classroom photo first.")
        frame = att.to_frame()
        frame.insert(0, "taken_at", self.taken_at.isoformat(timespec="minutes"))
        frame.insert(0, "subject", self.subject.strip())
        frame.insert(0, "class", self.class_name)
        import pandas as pd

        frame["distance"] = pd.to_numeric(frame["distance"]).round(4)
        buffer = io.StringIO()
        write_csv(frame, buffer)  # a subject or name starting with = is text, not a formula
        return buffer.getvalue()

    def csv_file_name(self) -> str:
        parts = [self.class_name, self.subject.strip(), f"{self.taken_at:%Y-%m-%d_%H%M}"]
        return re.sub(r"[^\w.-]+", "_", "_".join(p for p in parts if p)) + ".csv"

    def history(self) -> pd.DataFrame:
        """Saved sessions of the chosen class, newest first (empty when none was saved)."""
        store = self.store()
        try:
            if self.class_name not in store.classes():
                import pandas as pd

                return pd.DataFrame(columns=HISTORY_COLUMNS)
            sessions = store.sessions(class_name=self.class_name)
        except (RecordsError, SQLAlchemyError) as err:
            raise AppError(f"The history cannot be read: {err}") from None
        return sessions[HISTORY_COLUMNS].iloc[::-1].reset_index(drop=True)

    def attendance_rates(self) -> pd.DataFrame:
        """Per student of the chosen class: present, absent, excused, sessions and rate (0-1) over the saved sessions."""
        store = self.store()
        try:
            if self.class_name not in store.classes():
                import pandas as pd

                return pd.DataFrame(columns=SUMMARY_COLUMNS)
            return store.report(self.class_name).summary
        except (RecordsError, SQLAlchemyError) as err:
            raise AppError(f"The attendance report cannot be made: {err}") from None


