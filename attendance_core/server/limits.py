"""The served dashboard's limits, as plain bookkeeping (no Tornado): failed logins and kernels per user.

``hooks`` asks these objects before it answers a login or starts a dashboard kernel. Times are
``time.monotonic()`` seconds unless a clock is given (tests pass their own).
"""
from __future__ import annotations

import math
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Callable, Iterable

#: Failed logins one address may make within LOGIN_WINDOW_SECONDS before its logins are refused.
LOGIN_FAILURES_PER_ADDRESS = 10
#: Failed logins from all addresses together within the window before every login is refused.
LOGIN_FAILURES_TOTAL = 100
LOGIN_WINDOW_SECONDS = 10 * 60


class LoginLimiter:
    """Counts failed logins per address and in total over a sliding window; says when to refuse a login.

    A refused login is not counted, so a blocked address is free again once its oldest failure is
    ``window`` seconds old. A successful login clears its address's failures. The "address" may be any key:
    the hub also counts failures per user name (``hub/login.py``).
    """

    def __init__(self, per_address: int = LOGIN_FAILURES_PER_ADDRESS, total: int = LOGIN_FAILURES_TOTAL,
                 window: float = LOGIN_WINDOW_SECONDS, clock: Callable[[], float] = time.monotonic):
        self.per_address, self.total, self.window, self.clock = per_address, total, window, clock
        self._by_address: dict[str, deque[float]] = defaultdict(deque)
        self._all: deque[float] = deque()

    def _expire(self, times: deque[float], now: float) -> None:
        while times and times[0] <= now - self.window:
            times.popleft()

    def refusal(self, address: str) -> tuple[str, float] | None:
        """None if ``address`` may try to log in now, else (why, seconds to wait)."""
        now = self.clock()
        self._expire(self._all, now)
        mine = self._by_address.get(address)
        if mine is not None:
            self._expire(mine, now)
            if not mine:
                del self._by_address[address]
            elif len(mine) >= self.per_address:
                return "address", mine[0] + self.window - now
        if len(self._all) >= self.total:
            return "total", self._all[0] + self.window - now
        return None

    def failed(self, address: str) -> None:
        """Count one wrong password or token from ``address``."""
        now = self.clock()
        self._by_address[address].append(now)
        self._all.append(now)

    def succeeded(self, address: str) -> None:
        """A right login from ``address``: its earlier failures no longer count against it."""
        self._by_address.pop(address, None)


#: What a refused login is told, by the scope :meth:`LoginLimiter.refusal` names ("name": the hub's lock per user).
REFUSED = {"address": "from your address", "total": "on this server", "name": "for this name: it is locked"}


def refusal_message(scope: str, wait: float) -> str:
    """The sentence a refused login shows: why (``scope``: address, total, name) and how long to wait."""
    minutes = max(1, math.ceil(wait / 60))
    return f"Too many failed logins {REFUSED[scope]}. Try again in {minutes} minute{'s' if minutes > 1 else ''}."


@dataclass
class KernelQuota:
    """Dashboard kernels per user and in total: a page reserves a place before its kernel starts.

    per_user, total: the ``max_kernels_per_user`` and ``max_kernels`` settings.
    """

    per_user: int
    total: int
    owners: dict[str, str] = field(default_factory=dict)  # kernel id -> user name
    pending: dict[int, str] = field(default_factory=dict)  # reservation -> user name (kernel not started yet)
    bound_at: dict[str, float] = field(default_factory=dict)  # kernel id -> when its page took it (time.time())
    _next: int = 0

    def reserve(self, user: str) -> tuple[int | None, str]:
        """A reservation number for ``user``'s next kernel, or (None, "user" | "total") when a cap is reached."""
        mine = sum(1 for u in self.owners.values() if u == user) + sum(1 for u in self.pending.values() if u == user)
        if mine >= self.per_user:
            return None, "user"
        if len(self.owners) + len(self.pending) >= self.total:
            return None, "total"
        self._next += 1
        self.pending[self._next] = user
        return self._next, ""

    def bind(self, reservation: int, kernel_id: str) -> None:
        """The reserved kernel has started: it counts as its user's from now on."""
        user = self.pending.pop(reservation, None)
        if user is not None:
            self.owners[kernel_id] = user
            self.bound_at[kernel_id] = time.time()

    def release(self, reservation: int) -> None:
        """Give back a reservation whose kernel never started (the page failed first)."""
        self.pending.pop(reservation, None)

    def keep_only(self, live: Iterable[str]) -> None:
        """Forget the kernels that are gone (shut down, culled, crashed)."""
        live = set(live)
        for kernel_id in [k for k in self.owners if k not in live]:
            del self.owners[kernel_id]
            self.bound_at.pop(kernel_id, None)

    def owner(self, kernel_id: str) -> str | None:
        """The user whose page started ``kernel_id``, or None if unknown."""
        return self.owners.get(kernel_id)

    def taken_at(self, kernel_id: str) -> float | None:
        """When a page took ``kernel_id`` (``time.time()``), or None for a kernel no page has (a preheated one)."""
        return self.bound_at.get(kernel_id)
