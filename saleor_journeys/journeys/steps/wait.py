"""Wait a duration, or until a weekday and hour in the contact's time zone."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field

from saleor_journeys.journeys import durations
from saleor_journeys.journeys.durations import Duration
from saleor_journeys.journeys.steps.base import Linear, Step, Strict, Visit, advance

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_WEEKDAY_INDEX = {name: i for i, name in enumerate(WEEKDAYS)}


class Until(Strict):
    """The next time it is one of ``weekdays`` at ``hour``:``minute`` in the contact's time
    zone (the shop's when the contact has none)."""

    weekdays: list[Weekday] = Field(default_factory=lambda: list(WEEKDAYS), min_length=1)
    hour: int = Field(ge=0, le=23)
    minute: int = Field(default=0, ge=0, le=59)


class WaitNode(Linear):
    type: Literal["wait"]
    duration: Duration | None = None
    until: Until | None = None


def next_occurrence(until: Until, now: datetime, time_zone: str) -> datetime:
    """The first moment at or after ``now`` that is one of the weekdays at hour:minute, in the
    contact's time zone (UTC when it is unknown)."""
    try:
        zone = ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    local = now.astimezone(zone)
    days = {_WEEKDAY_INDEX[w] for w in until.weekdays}
    for offset in range(8):
        day = (local + timedelta(days=offset)).date()
        if day.weekday() not in days:
            continue
        candidate = datetime(day.year, day.month, day.day, until.hour, until.minute, tzinfo=zone)
        if candidate >= local:
            return candidate.astimezone(now.tzinfo)
    raise AssertionError("a weekday always comes within a week")


def enter(node: WaitNode, visit: Visit) -> Step:
    state = visit.state
    if node.duration:
        wake_at = visit.now + durations.parse(node.duration)
    else:
        assert node.until is not None  # validation demands one of the two
        wake_at = next_occurrence(node.until, visit.now, visit.facts.time_zone)
    waiting = replace(state, status="waiting", wake_at=wake_at, steps=state.steps + 1)
    return Step(waiting, "wait", node.id)


def resume(node: WaitNode, visit: Visit) -> Step | None:
    state = visit.state
    if state.wake_at is not None and visit.now >= state.wake_at:
        return Step(advance(state, node.next), "advance", node.id)
    return None
