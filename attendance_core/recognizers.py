"""Which :class:`~attendance_core.recognition.Recognizer` runs a dashboard's photo work: the one place that knows
both ways (in this process, :mod:`recognition`; on a shared pool, :mod:`pool`), so that neither of those
modules imports the other's caller. ``pool`` builds on ``recognition``; ``recognition`` knows nothing of pools.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from .recognition import Recognizer

if TYPE_CHECKING:
    from .config import Settings


def recognizer_for(settings: "Settings") -> Recognizer:
    """The recognizer the settings ask for: the pool at ``pool_address`` (its key and certificate in
    ``pool_certificate``), else in process."""
    if settings.pool_address:
        from .pool import PoolRecognizer  # here: distributed's client loads only when a pool is named

        return PoolRecognizer(settings.pool_address, settings.pool_certificate or None)
    return Recognizer()
