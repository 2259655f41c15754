"""Simulating a journey against a list of Saleor deliveries over virtual time.

Everything real runs — the webhook bodies go through the trigger registry's parsers and
handlers, contacts and mirrors are written, the runtime enrols, steps and records — inside one
transaction that is rolled back at the end, with the clock frozen and moved from one due moment
to the next. Nothing is sent (channels only ever act after a commit) and nothing is kept.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction

from saleor_journeys.commerce.models import Checkout
from saleor_journeys.core.clock import FrozenClock
from saleor_journeys.journeys import definition as d
from saleor_journeys.journeys import durations, versions
from saleor_journeys.journeys.models import LIVE_STATUSES, Journey, Run, RunAction, RunStep
from saleor_journeys.runtime import deliveries, runs
from saleor_journeys.saleor.models import Installation, WebhookDelivery
from saleor_journeys.triggers import registry

SIMULATED_API_URL = "http://simulation.invalid/graphql/"
_OFFSET = re.compile(r"^\+(.+)$")


class SimulationError(ValueError):
    """A line of the events file cannot be used; the message names the line."""


@dataclass(frozen=True)
class InputEvent:
    at: datetime
    event: str
    payload: dict[str, Any]
    line: int


def parse_events(lines: list[str], *, start: datetime) -> list[InputEvent]:
    """``{"at": ISO-8601 or "+2h", "event": "CHECKOUT_UPDATED", "payload": {...}}`` per line;
    offsets count from ``start``."""
    events = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except ValueError as exc:
            raise SimulationError(f"line {number}: not JSON ({exc})") from exc
        if not isinstance(item, dict) or not {"at", "event", "payload"} <= set(item):
            raise SimulationError(f"line {number}: needs at, event and payload")
        at = str(item["at"])
        offset = _OFFSET.match(at)
        try:
            when = (
                start + durations.parse(offset.group(1), allow_zero=True) if offset else _aware(at)
            )
        except ValueError as exc:
            raise SimulationError(f"line {number}: bad time {at!r}: {exc}") from exc
        payload = item["payload"]
        if isinstance(payload, str):
            try:
                payload = json.loads(payload)
            except ValueError as exc:
                raise SimulationError(f"line {number}: the payload is not JSON") from exc
        if registry.get(str(item["event"])) is None:
            raise SimulationError(f"line {number}: {item['event']!r} is not an event the app takes")
        events.append(InputEvent(when, str(item["event"]).lower(), payload, number))
    return sorted(events, key=lambda e: (e.at, e.line))


def _aware(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise ValueError("give a time zone, e.g. 2026-11-23T10:00:00+00:00")
    return value


def _retime(payload: dict[str, Any], at: datetime) -> dict[str, Any]:
    """Move a recorded payload to the simulated moment: its issuedAt and its entity's
    updatedAt become ``at``, so ordering and abandonment follow the simulated clock."""
    body = json.loads(json.dumps(payload))
    body["issuedAt"] = at.isoformat()
    for key in ("checkout", "order", "user"):
        entity = body.get(key)
        if isinstance(entity, dict) and "updatedAt" in entity:
            entity["updatedAt"] = at.isoformat()
    return body


@dataclass(frozen=True)
class Line:
    at: datetime
    contact: str
    node: str
    action: str
    channel: str = ""
    template: str = ""
    reason: str = ""

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "at": self.at.isoformat(),
            "contact": self.contact,
            "node": self.node,
            "action": self.action,
        }
        if self.channel:
            data["channel"] = self.channel
            data["template"] = self.template
        if self.reason:
            data["reason"] = self.reason
        return data


class _Rollback(Exception):
    pass


def simulate(
    definition: dict[str, Any], events: list[InputEvent], *, start: datetime, until: datetime
) -> list[Line]:
    """The timeline of every contact the journey would have handled; nothing is kept."""
    result = d.Definition.model_validate(definition)  # raises ValidationError when invalid
    timeline: list[Line] = []
    try:
        with transaction.atomic():
            installation, _ = Installation.objects.get_or_create(
                saleor_api_url=SIMULATED_API_URL, defaults={"is_active": True}
            )
            journey = versions.create(
                installation, definition, actor="simulation", slug=f"simulated-{id(result)}"
            )
            with FrozenClock(start):
                versions.publish(journey, actor="simulation")
            now = start
            for event in events:
                now = _run_until(journey, result, now, event.at)
                with FrozenClock(event.at):
                    _ingest(installation, event)
                    _settle(journey)
            _run_until(journey, result, now, until)
            timeline = list(_timeline(journey.pk, until))
            raise _Rollback
    except _Rollback:
        pass
    return timeline


def _ingest(installation: Installation, event: InputEvent) -> None:
    body = json.dumps(_retime(event.payload, event.at))
    delivery = WebhookDelivery.objects.create(
        installation=installation,
        event_type=event.event,
        body=body,
        body_sha256=hashlib.sha256(body.encode()).hexdigest(),
        issued_at=event.at,
        received_at=event.at,
        next_attempt_at=event.at,
    )
    deliveries.process(delivery.pk)
    delivery.refresh_from_db()
    if delivery.last_error:
        raise SimulationError(f"line {event.line}: {delivery.last_error}")


def _settle(journey: Journey) -> None:
    """Do what is due now, for the simulated journey only."""
    runs.scan_abandoned_checkouts(journey_id=journey.pk)
    while runs.sweep(journey_id=journey.pk):
        pass


def _next_moment(journey: Journey, definition: d.Definition, after: datetime) -> datetime | None:
    moments: list[datetime] = [
        wake_at
        for wake_at in Run.objects.filter(
            journey=journey, status__in=LIVE_STATUSES, wake_at__gt=after
        )
        .order_by("wake_at")
        .values_list("wake_at", flat=True)[:1]
        if wake_at is not None
    ]
    if isinstance(definition.trigger, d.CheckoutAbandonedTrigger):
        quiet = durations.parse(definition.trigger.after)
        updated = (
            Checkout.objects.filter(
                installation_id=journey.installation_id,
                completed_at=None,
                quantity__gt=0,
                saleor_updated_at__gt=after - quiet,
            )
            .exclude(email=None)
            .order_by("saleor_updated_at")
            .values_list("saleor_updated_at", flat=True)[:1]
        )
        moments += [u + quiet + timedelta(seconds=1) for u in updated if u is not None]
    return min(moments, default=None)


def _run_until(
    journey: Journey, definition: d.Definition, now: datetime, target: datetime
) -> datetime:
    while True:
        moment = _next_moment(journey, definition, now)
        if moment is None or moment > target:
            break
        now = moment
        with FrozenClock(now):
            _settle(journey)
    with FrozenClock(target):
        _settle(journey)
    return max(now, target)


def _timeline(journey_id: int, until: datetime) -> Iterator[Line]:
    steps = RunStep.objects.filter(run__journey_id=journey_id, at__lte=until).select_related(
        "run__contact"
    )
    actions = {
        (a.run_id, int(a.key.split(":")[1])): a
        for a in RunAction.objects.filter(run__journey_id=journey_id)
    }
    for s in steps.order_by("at", "run_id", "number"):
        contact = s.run.contact.email or f"contact #{s.run.contact_id}"
        action = actions.get((s.run_id, s.number))
        if s.outcome == "action" and action is not None:
            yield Line(
                s.at,
                contact,
                s.node,
                action.kind,
                channel=str(action.params.get("channel", "")),
                template=str(action.params.get("template", "")),
            )
        else:
            yield Line(s.at, contact, s.node, s.outcome, reason=s.detail.get("reason", ""))
