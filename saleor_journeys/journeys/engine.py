"""The journey engine: a pure function from (definition, run state, now, facts, event) to the
next state and the side effects to carry out.

It reads no clock, no database and no network, so the same inputs always give the same step:
the runtime persists the result and performs the actions in one transaction, and the simulator
replays weeks in milliseconds. One call executes at most one node, so every node visit has its
own step number, the key that makes a retried step a no-op.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from saleor_journeys.journeys import definition as d
from saleor_journeys.journeys import durations
from saleor_journeys.journeys.evaluate import holds
from saleor_journeys.journeys.facts import EventFact, Facts

Status = Literal["active", "waiting", "done", "exited", "converted"]
FINISHED: frozenset[str] = frozenset({"done", "exited", "converted"})
_WEEKDAY_INDEX = {name: i for i, name in enumerate(d.WEEKDAYS)}


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
    """What earlier steps produced for later ones, e.g. ``{"voucher": {"code": …}}``."""


@dataclass(frozen=True)
class Action:
    """A side effect for the runtime: ``send``, ``update_contact``, ``create_voucher``,
    ``webhook`` or ``notify_staff``, with the node's parameters."""

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


def start(definition: d.Definition, *, now: datetime, seed: str) -> RunState:
    return RunState(node=definition.start, status="active", entered_at=now, seed=seed)


def _advance(state: RunState, target: str | None, **changes: Any) -> RunState:
    if target is None:
        return replace(state, status="done", wake_at=None, steps=state.steps + 1, **changes)
    return replace(
        state, node=target, status="active", wake_at=None, steps=state.steps + 1, **changes
    )


def _finish(state: RunState, status: Status) -> RunState:
    return replace(state, status=status, wake_at=None, steps=state.steps + 1)


def _goal_reached(
    definition: d.Definition, state: RunState, facts: Facts, event: EventFact, now: datetime
) -> bool:
    return any(
        goal.event == event.type
        and (
            goal.filter is None
            or holds(goal.filter, facts, event=event, now=now, entered_at=state.entered_at)
        )
        for goal in definition.settings.goals
    )


def next_occurrence(until: d.Until, now: datetime, time_zone: str) -> datetime:
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


def _branch(node: d.RandomSplitNode, seed: str) -> str | None:
    digest = hashlib.sha256(f"{seed}:{node.id}".encode()).digest()
    point = int.from_bytes(digest[:8], "big") / 2**64 * 100
    total = 0.0
    for branch in node.branches:
        total += branch.percent
        if point < total:
            return branch.next
    return node.branches[-1].next


_ACTIONS: dict[type, str] = {
    d.SendNode: "send",
    d.UpdateContactNode: "update_contact",
    d.CreateVoucherNode: "create_voucher",
    d.WebhookNode: "webhook",
    d.NotifyStaffNode: "notify_staff",
}


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
    second as a due send ends the run without the send."""
    if state.status in FINISHED:
        return Step(state, "idle")
    if event is not None and _goal_reached(definition, state, facts, event, now):
        return Step(_finish(state, "converted"), "goal", state.node, reason=event.type)

    node = definition.node(state.node)
    if state.status == "waiting":
        return _resume(node, state, now=now, facts=facts, event=event)

    if isinstance(node, d.WaitNode):
        if node.duration:
            wake_at = now + durations.parse(node.duration)
        else:
            assert node.until is not None
            wake_at = next_occurrence(node.until, now, facts.time_zone)
        waiting = replace(state, status="waiting", wake_at=wake_at, steps=state.steps + 1)
        return Step(waiting, "wait", node.id)
    if isinstance(node, d.WaitForEventNode):
        wake_at = now + durations.parse(node.timeout)
        waiting = replace(state, status="waiting", wake_at=wake_at, steps=state.steps + 1)
        return Step(waiting, "wait", node.id)
    if isinstance(node, d.ConditionNode):
        # ``event.…`` means the event being handled, else the one the run last waited for.
        subject = event or _last_event(state)
        result = holds(node.condition, facts, event=subject, now=now, entered_at=state.entered_at)
        target = node.then if result else node.else_
        return Step(_advance(state, target), "advance", node.id, reason=str(result).lower())
    if isinstance(node, d.RandomSplitNode):
        return Step(_advance(state, _branch(node, state.seed)), "advance", node.id)
    if isinstance(node, d.ExitNode):
        # The end of the flow: "done", or "converted" for a goal; "exited" means left early.
        return Step(_finish(state, "converted" if node.goal else "done"), "exit", node.id)
    recheck = isinstance(node, d.SendNode) and definition.settings.recheck_trigger
    if recheck and not facts.trigger_holds:
        reason = "what triggered the journey no longer holds"
        return Step(_finish(state, "exited"), "exit", node.id, reason=reason)
    kind = _ACTIONS[type(node)]
    params = node.model_dump(mode="json", exclude={"id", "type", "title", "next"})
    moved = _advance(state, node.next)
    return Step(moved, "action", node.id, actions=(Action(kind, node.id, params),))


def _last_event(state: RunState) -> EventFact | None:
    last = state.context.get("event")
    if not isinstance(last, Mapping):
        return None
    return EventFact(last["type"], datetime.fromisoformat(last["at"]), last.get("data", {}))


def _resume(
    node: d.Node, state: RunState, *, now: datetime, facts: Facts, event: EventFact | None
) -> Step:
    if isinstance(node, d.WaitForEventNode) and event is not None and event.type == node.event:
        matches = node.filter is None or holds(
            node.filter, facts, event=event, now=now, entered_at=state.entered_at
        )
        if matches:
            context = {
                **state.context,
                "event": {"type": event.type, "at": event.at.isoformat(), "data": dict(event.data)},
            }
            return Step(_advance(state, node.next, context=context), "event", node.id)
    if state.wake_at is not None and now >= state.wake_at:
        if isinstance(node, d.WaitForEventNode):
            return Step(_advance(state, node.timeout_next), "timeout", node.id)
        if isinstance(node, d.WaitNode):
            return Step(_advance(state, node.next), "advance", node.id)
    return Step(state, "idle")
