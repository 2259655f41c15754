"""What every step shares: the run state it reads, the decision it returns, the node fields.

A step module owns one node type: its fields (a pydantic model), how the engine decides on it
(``enter``, and ``resume`` for waits), and, for steps with side effects, how the runtime
carries them out (``perform``) after the decision has been committed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from saleor_journeys.journeys.facts import EventFact, Facts

if TYPE_CHECKING:
    from saleor_journeys.journeys.definition import Definition

Status = Literal["active", "waiting", "done", "exited", "converted"]
FINISHED: frozenset[str] = frozenset({"done", "exited", "converted"})


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NodeBase(Strict):
    id: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")
    title: str = ""


class Linear(NodeBase):
    next: str | None = None
    """The node after this one; none ends the journey."""


@dataclass(frozen=True)
class RunState:
    node: str
    """The node the run is at: about to be executed (``active``) or waited in (``waiting``)."""
    status: Status
    entered_at: datetime
    seed: str
    """Stable per contact: random splits hash it, so a contact keeps its branch."""
    steps: int = 0
    wake_at: datetime | None = None
    context: Mapping[str, Any] = field(default_factory=dict)
    """What earlier steps produced for later ones, e.g. ``{"voucher": {"code": …}}``; and
    ``converted`` once a goal was reached."""


@dataclass(frozen=True)
class Action:
    """A side effect for the runtime (``send``, ``create_voucher`` …) with the node's
    parameters; ``kind`` is the node type, which names the step module that performs it."""

    kind: str
    node: str
    params: Mapping[str, Any]


@dataclass(frozen=True)
class Step:
    state: RunState
    outcome: str
    """``idle`` (nothing to do yet), ``enter``, ``wait``, ``advance``, ``event``, ``timeout``,
    ``action``, ``done``, ``exit`` or ``goal``."""
    node: str | None = None
    actions: tuple[Action, ...] = ()
    reason: str = ""


@dataclass(frozen=True)
class Visit:
    """Everything a step may look at when it decides; nothing else (no clock, no database)."""

    definition: Definition
    state: RunState
    now: datetime
    facts: Facts
    event: EventFact | None = None
    """A new event of the contact, offered once: what woke the run, if anything."""


def finish(state: RunState, status: Status) -> RunState:
    # A run that reached a goal and then ran its goal branch to the end counts as converted.
    if status == "done" and state.context.get("converted"):
        status = "converted"
    return replace(state, status=status, wake_at=None, steps=state.steps + 1)


def advance(state: RunState, target: str | None, **changes: Any) -> RunState:
    """Move to ``target`` (none: the journey is over) as one step."""
    if target is None:
        return finish(replace(state, **changes), "done")
    return replace(
        state, node=target, status="active", wake_at=None, steps=state.steps + 1, **changes
    )


def act(node: Linear, visit: Visit) -> Step:
    """The decision of a step with a side effect: do it (in the runtime) and move on."""
    params = node.model_dump(mode="json", exclude={"id", "type", "title", "next"})
    kind = str(getattr(node, "type"))  # noqa: B009 - every node model has its literal type
    moved = advance(visit.state, node.next)
    return Step(moved, "action", node.id, actions=(Action(kind, node.id, params),))


class ActionFailed(Exception):
    """A side effect could not be carried out. ``retry``: try again later (Saleor down, a
    timeout); otherwise it never will (no permission, an address we refuse)."""

    def __init__(self, message: str, *, retry: bool) -> None:
        super().__init__(message)
        self.retry = retry


class Deferred(Exception):
    """Not now: try again at ``until`` (quiet hours, a frequency cap). Not a failure."""

    def __init__(self, until: datetime, reason: str) -> None:
        super().__init__(reason)
        self.until = until
        self.reason = reason
