"""Wait until the contact does something, with a timeout: one branch for each."""

from __future__ import annotations

from dataclasses import replace
from typing import Literal

from pydantic import Field

from saleor_journeys.journeys import durations
from saleor_journeys.journeys.conditions import Condition
from saleor_journeys.journeys.durations import Duration
from saleor_journeys.journeys.evaluate import holds
from saleor_journeys.journeys.steps.base import NodeBase, Step, Visit, advance


class WaitForEventNode(NodeBase):
    """Wait until the contact does ``event`` (then ``next``) or ``timeout`` passes."""

    type: Literal["wait_for_event"]
    event: str = Field(min_length=1)
    filter: Condition | None = None
    timeout: Duration
    next: str | None = None
    timeout_next: str | None = None


def enter(node: WaitForEventNode, visit: Visit) -> Step:
    state = visit.state
    wake_at = visit.now + durations.parse(node.timeout)
    return Step(
        replace(state, status="waiting", wake_at=wake_at, steps=state.steps + 1), "wait", node.id
    )


def resume(node: WaitForEventNode, visit: Visit) -> Step | None:
    state, event = visit.state, visit.event
    if event is not None and event.type == node.event:
        matches = node.filter is None or holds(
            node.filter, visit.facts, event=event, now=visit.now, entered_at=state.entered_at
        )
        if matches:
            # Later conditions read ``event.…`` from the event the run waited for.
            seen = {"type": event.type, "at": event.at.isoformat(), "data": dict(event.data)}
            context = {**state.context, "event": seen}
            return Step(advance(state, node.next, context=context), "event", node.id)
    if state.wake_at is not None and visit.now >= state.wake_at:
        return Step(advance(state, node.timeout_next), "timeout", node.id)
    return None
