"""Consent to face recognition: recorded per student; refusing it deletes their cached encodings at once."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..encoding_cache import forget_everywhere
from ..results import CONSENT_GIVEN, CONSENT_STATES
from ..roster import display_name, roster_entries

if TYPE_CHECKING:
    from ..config import Settings
    from ..records import Store

@dataclass(frozen=True)
class ConsentChange:
    """A consent recorded: the student, the state before (None: never recorded) and now, encodings removed."""

    student_id: str
    old: str | None
    new: str
    encodings_removed: int = 0


def set_consent(settings: "Settings", student_id: str, state: str, by: str | None = None, note: str = "",
                store: "Store | None" = None) -> ConsentChange:
    """Record a student's consent (given, refused, not asked) with today's date and ``by`` (default the login).

    A student of the roster folder who is not in the records yet is added under their folder name.
    Without consent given, their cached encodings are deleted at once. Raises KeyError for a student
    neither in the records nor in the roster folder.
    """
    from ..records import Store

    if state not in CONSENT_STATES:
        raise ValueError(f"consent must be one of {', '.join(CONSENT_STATES)}, not {state!r}")
    roster_dir = Path(settings.roster_dir)
    photos = dict(roster_entries(roster_dir)).get(student_id) if roster_dir.is_dir() else None
    own = store is None
    store = store or Store.from_settings(settings)
    try:
        known = {sid for sid, _, _ in store.register()}
        if student_id not in known and photos is None:
            raise KeyError(f"no student {student_id!r} in the records or the roster folder {roster_dir}")
        old = store.set_consent(student_id, state, by=by, note=note, name=display_name(student_id))
    finally:
        if own:
            store.close()
    removed = 0
    if state != CONSENT_GIVEN and photos:
        removed = forget_everywhere(settings.cache_dir, photos)
    return ConsentChange(student_id, old, state, removed)

