"""The journey engine: a pure function from (definition, run state, now, facts, event) to the
next state and the side effects to carry out.

It reads no clock, no database and no network, so the same inputs always give the same step:
the runtime persists the result and performs the actions in one transaction, and the simulator
replays weeks in milliseconds. One call executes at most one node, so every node visit has its
own step number, the key that makes a retried step a no-op. What each node does is decided by
its step module (``journeys/steps``).
"""

from __future__ import annotations

from datetime import datetime

from saleor_journeys.journeys import definition as d
from saleor_journeys.journeys import steps
from saleor_journeys.journeys.evaluate import holds
from saleor_journeys.journeys.facts import EventFact, Facts
from saleor_journeys.journeys.steps.base import (
    FINISHED,
    Action,
    RunState,
    Status,
    Step,
    Visit,
    advance,
    finish,
)
from saleor_journeys.journeys.steps.wait import next_occurrence

__all__ = ["FINISHED", "Action", "RunState", "Status", "Step", "next_occurrence", "start", "step"]


def start(definition: d.Definition, *, now: datetime, seed: str) -> RunState:
    return RunState(node=definition.start, status="active", entered_at=now, seed=seed)


def _goal(
    definition: d.Definition, state: RunState, facts: Facts, event: EventFact, now: datetime
) -> d.Goal | None:
    for goal in definition.settings.goals:
        if goal.event == event.type and (
            goal.filter is None
            or holds(goal.filter, facts, event=event, now=now, entered_at=state.entered_at)
        ):
            return goal
    return None


def step(
    definition: d.Definition,
    state: RunState,
    *,
    now: datetime,
    facts: Facts,
    event: EventFact | None = None,
) -> Step:
    """Decide the run's next move. ``event`` is a new event of the contact, if that is what
    woke the run; goals are checked before anything else, so an order that arrives in the same
    second as a due send ends the run (or turns it to its goal branch) without the send."""
    if state.status in FINISHED:
        return Step(state, "idle")
    if event is not None and not state.context.get("converted"):
        goal = _goal(definition, state, facts, event, now)
        if goal is not None and goal.next is None:
            return Step(finish(state, "converted"), "goal", state.node, reason=event.type)
        if goal is not None:
            seen = {"type": event.type, "at": event.at.isoformat(), "data": dict(event.data)}
            context = {**state.context, "converted": True, "event": seen}
            moved = advance(state, goal.next, context=context)
            return Step(moved, "goal", state.node, reason=event.type)

    node = definition.node(state.node)
    module = steps.module(node.type)
    visit = Visit(definition, state, now, facts, event)
    if state.status == "waiting":
        resumed = module.resume(node, visit) if hasattr(module, "resume") else None
        return resumed or Step(state, "idle")
    result: Step = module.enter(node, visit)
    return result
