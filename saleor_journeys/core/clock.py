"""The one place the app reads the time from, so tests and simulations can move it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from django.utils import timezone

_now: Callable[[], datetime] = timezone.now


def now() -> datetime:
    return _now()


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
        global _now
        self._previous = _now
        _now = self
        return self

    def __exit__(self, *exc: object) -> None:
        global _now
        _now = self._previous
