"""Durations as journey definitions write them: ``30m``, ``2h``, ``3d``, ``1w`` or ``1d12h``."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated

from pydantic import AfterValidator, PlainSerializer

_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_PART = re.compile(r"(\d+)([smhdw])")
_WHOLE = re.compile(r"(?:\d+[smhdw])+")


def parse(text: str, *, allow_zero: bool = False) -> timedelta:
    """``"1d12h"`` → 36 hours. Raises ValueError with the accepted forms."""
    value = text.strip().lower()
    if not _WHOLE.fullmatch(value):
        raise ValueError(f"{text!r} is not a duration; write e.g. 30m, 2h, 3d, 1w or 1d12h")
    delta = timedelta()
    for amount, unit in _PART.findall(value):
        delta += timedelta(**{_UNITS[unit]: int(amount)})
    if delta < timedelta() or (delta == timedelta() and not allow_zero):
        raise ValueError(f"{text!r} must be longer than zero")
    return delta


def format(delta: timedelta) -> str:
    """The shortest text ``parse`` reads back as ``delta``."""
    seconds = int(delta.total_seconds())
    parts = []
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        amount, seconds = divmod(seconds, size)
        if amount:
            parts.append(f"{amount}{unit}")
    return "".join(parts) or "0s"


def _check(text: str) -> str:
    parse(text)
    return text


# A duration field: kept as the author wrote it (so exports round-trip), checked on input.
Duration = Annotated[str, AfterValidator(_check), PlainSerializer(lambda v: v, return_type=str)]
