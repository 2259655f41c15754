"""Running one contact through a definition over virtual time: the core of the simulator.

Pure like the engine: events are given with their times, the clock jumps from one due moment to
the next, and every decision is returned as a timeline entry. Nothing is sent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from saleor_journeys.journeys import definition as d
from saleor_journeys.journeys.engine import FINISHED, RunState, start, step
from saleor_journeys.journeys.facts import EventFact, Facts

# Safety net: a definition without a cycle cannot step this often without time passing.
MAX_STEPS_AT_ONE_TIME = 1000


@dataclass(frozen=True)
class Entry:
    at: datetime
    node: str | None
    action: str
    """``enter``, ``wait``, ``advance``, ``event``, ``timeout``, ``send`` (or another action
    kind), ``exit``, ``goal``, ``done``."""
    detail: dict[str, Any] = field(default_factory=dict)


def run_contact(
    definition: d.Definition,
    *,
    entered_at: datetime,
    seed: str,
    events: Iterable[EventFact],
    until: datetime,
    facts: Callable[[datetime, list[EventFact]], Facts] | None = None,
) -> tuple[RunState, list[Entry]]:
    """The contact's run from ``entered_at`` to ``until``; ``facts(now, events so far)`` gives
    what the engine may know at each moment (default: only the events)."""
    pending = sorted((e for e in events if e.at >= entered_at), key=lambda e: e.at)
    seen: list[EventFact] = []

    def snapshot(now: datetime) -> Facts:
        return facts(now, seen) if facts else Facts(events=tuple(seen))

    state = start(definition, now=entered_at, seed=seed)
    timeline = [Entry(entered_at, definition.start, "enter")]
    now = entered_at
    while True:
        state = _settle(definition, state, now, snapshot, timeline, event=None)
        if state.status in FINISHED:
            break
        next_event = pending[0].at if pending else None
        candidates = [t for t in (state.wake_at, next_event) if t is not None and t <= until]
        if not candidates:
            break
        now = min(candidates)
        while pending and pending[0].at <= now and state.status not in FINISHED:
            event = pending.pop(0)
            seen.append(event)
            # Events first: a goal that arrives when a wait ends wins over the wait.
            state = _settle(definition, state, now, snapshot, timeline, event=event)
    return state, timeline


def _settle(
    definition: d.Definition,
    state: RunState,
    now: datetime,
    snapshot: Callable[[datetime], Facts],
    timeline: list[Entry],
    *,
    event: EventFact | None,
) -> RunState:
    """Step until the run waits, ends, or has nothing to do at ``now``."""
    for _ in range(MAX_STEPS_AT_ONE_TIME):
        result = step(definition, state, now=now, facts=snapshot(now), event=event)
        event = None  # an event is offered once
        if result.outcome == "idle":
            return state
        for action in result.actions:
            timeline.append(Entry(now, action.node, action.kind, dict(action.params)))
        if result.outcome != "action":
            detail = {"reason": result.reason} if result.reason else {}
            if result.outcome == "wait" and result.state.wake_at:
                detail["until"] = result.state.wake_at.isoformat()
            timeline.append(Entry(now, result.node, result.outcome, detail))
        state = result.state
        if state.status == "done" and result.outcome != "exit":
            timeline.append(Entry(now, None, "done"))  # the path ran out of successors
        if state.status in FINISHED or state.status == "waiting":
            return state
    raise RuntimeError(f"{definition.name}: more than {MAX_STEPS_AT_ONE_TIME} steps at {now}")
