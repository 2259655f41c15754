"""Evaluating conditions against facts and an event; pure, like the engine."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from saleor_journeys.journeys import conditions as c
from saleor_journeys.journeys import durations
from saleor_journeys.journeys.facts import EventFact, Facts

_MISSING = object()


def _lookup(root: Mapping[str, Any], dotted: str) -> Any:
    value: Any = root
    for part in dotted.split("."):
        if isinstance(value, Mapping) and part in value:
            value = value[part]
        else:
            return _MISSING
    return value


def _compare(left: Any, op: str, right: Any) -> bool:
    if op == "exists":
        return left is not _MISSING and left is not None
    if op == "not_exists":
        return left is _MISSING or left is None
    if left is _MISSING:
        return False
    if op == "eq":
        return bool(left == right)
    if op == "ne":
        return bool(left != right)
    if op == "contains":
        return isinstance(left, list | str | tuple) and right in left
    if op == "in":
        return isinstance(right, list | tuple) and left in right
    try:
        a, b = Decimal(str(left)), Decimal(str(right))
    except ArithmeticError:
        return False
    return {"gt": a > b, "gte": a >= b, "lt": a < b, "lte": a <= b}[op]


def holds(
    condition: Any,
    facts: Facts,
    *,
    event: EventFact | None,
    now: datetime,
    entered_at: datetime,
) -> bool:
    """Whether ``condition`` (a parsed condition model) holds."""
    if isinstance(condition, c.All):
        return all(
            holds(x, facts, event=event, now=now, entered_at=entered_at) for x in condition.all
        )
    if isinstance(condition, c.AnyOf):
        return any(
            holds(x, facts, event=event, now=now, entered_at=entered_at) for x in condition.any
        )
    if isinstance(condition, c.Not):
        return not holds(condition.not_, facts, event=event, now=now, entered_at=entered_at)
    if isinstance(condition, c.PropertyTest):
        scope, _, path = condition.property.partition(".")
        root: Mapping[str, Any] = (
            facts.contact if scope == "contact" else (event.data if event else {})
        )
        return _compare(_lookup(root, path), condition.op, condition.value)
    if isinstance(condition, c.TagTest):
        return condition.tag in facts.tags
    if isinstance(condition, c.ConsentTest):
        return condition.consent in facts.consents
    if isinstance(condition, c.DidTest):
        since = now - durations.parse(condition.within) if condition.within else entered_at
        return any(e.type == condition.did and since <= e.at <= now for e in facts.events)
    if isinstance(condition, c.OrdersTest):
        value = facts.order_count if condition.orders == "count" else facts.order_total
        return _compare(value, condition.op, condition.value)
    raise TypeError(f"not a condition: {condition!r}")
