"""Condition split: property, tag, consent, "did X since entering", order count or total."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Literal

from pydantic import ConfigDict, Field

from saleor_journeys.journeys.conditions import Condition
from saleor_journeys.journeys.evaluate import holds
from saleor_journeys.journeys.facts import EventFact
from saleor_journeys.journeys.steps.base import NodeBase, RunState, Step, Visit, advance


class ConditionNode(NodeBase):
    """``then`` when the condition holds, ``else`` when not (not yes/no: YAML reads those as
    booleans)."""

    type: Literal["condition"]
    condition: Condition
    then: str | None
    else_: str | None = Field(alias="else")

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


def _last_event(state: RunState) -> EventFact | None:
    last = state.context.get("event")
    if not isinstance(last, Mapping):
        return None
    return EventFact(last["type"], datetime.fromisoformat(last["at"]), last.get("data", {}))


def enter(node: ConditionNode, visit: Visit) -> Step:
    state = visit.state
    # ``event.…`` means the event being handled, else the one the run last waited for.
    subject = visit.event or _last_event(state)
    result = holds(
        node.condition, visit.facts, event=subject, now=visit.now, entered_at=state.entered_at
    )
    target = node.then if result else node.else_
    return Step(advance(state, target), "advance", node.id, reason=str(result).lower())
