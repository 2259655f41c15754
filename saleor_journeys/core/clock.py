"""The one place the app reads the time from, so tests and simulations can move it.

The clock is per thread (a context variable): a simulation run by one request of a threaded
web server moves its own time, never that of the requests beside it.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar, Token
from datetime import datetime, timedelta

from django.utils import timezone

_now: ContextVar[Callable[[], datetime]] = ContextVar("saleor_journeys_clock")


def now() -> datetime:
    return _now.get(timezone.now)()


class FrozenClock:
    """A clock that stands still until it is moved. Used as ``with FrozenClock(at) as clock``."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def advance(self, delta: timedelta) -> datetime:
        self.at += delta
        return self.at

    def __enter__(self) -> FrozenClock:
        self._token: Token[Callable[[], datetime]] = _now.set(self)
        return self

    def __exit__(self, *exc: object) -> None:
        _now.reset(self._token)
