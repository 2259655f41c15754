"""``journeySimulate``: the simulator of ``saleor-journeys simulate`` behind the API.

Nothing is kept: the simulator works in a transaction it rolls back.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from typing import Any, ClassVar

import graphene
from graphene.types.generic import GenericScalar

from saleor_journeys.core import clock
from saleor_journeys.graphql.journey_errors import (
    JourneyMutation,
    Refused,
    definition_arg,
    error,
    from_problems,
    journey_for,
)
from saleor_journeys.journeys import builtin, durations
from saleor_journeys.journeys.definition import validate
from saleor_journeys.journeys.simulation import InputEvent, Line, SimulationError, parse_events
from saleor_journeys.journeys.simulation import simulate as run_simulation

# A request must not hold a worker for long: bounds on what one simulation may cover.
MAX_EVENTS = 1000
MAX_UNTIL = timedelta(days=366)
_LINE = re.compile(r"^line (\d+): (.*)$", re.DOTALL)


class SimulationLine(graphene.ObjectType):
    at = graphene.DateTime(required=True)
    contact = graphene.String(required=True, description="The contact's email.")
    node = graphene.String(required=True)
    action = graphene.String(
        required=True,
        description="`send`, `update_contact` … for an action, else the step's outcome "
        "(`enter`, `wait`, `timeout`, `exit`, `goal` …).",
    )
    channel = graphene.String(description="For a send.")
    template = graphene.String(description="For a send.")
    reason = graphene.String(description="Why, when the step gave a reason.")

    class Meta:
        description = "One step of the simulated timeline, as `simulate --format json` prints it."

    @classmethod
    def of(cls, line: Line) -> SimulationLine:
        return cls(
            at=line.at,
            contact=line.contact,
            node=line.node,
            action=line.action,
            channel=line.channel or None,
            template=line.template or None,
            reason=line.reason or None,
        )


class JourneySimulate(JourneyMutation):
    timeline = graphene.List(graphene.NonNull(SimulationLine), required=True)
    refused_output: ClassVar[dict[str, Any]] = {"timeline": []}

    class Arguments:
        definition = GenericScalar(description="A definition to simulate, as JSON.")
        slug = graphene.String(description="Or a journey of the shop: its draft is simulated.")
        template = graphene.String(
            description="Or a built-in journey: " + ", ".join(builtin.NAMES) + "."
        )
        events = GenericScalar(
            required=True,
            description='A list of `{"at": ISO-8601 or "+2h", "event": "CHECKOUT_UPDATED", '
            '"payload": {…}}`, the payload being a Saleor webhook payload; offsets count from '
            f"`start`. At most {MAX_EVENTS}.",
        )
        until = graphene.String(
            default_value="30d", description="How long to run, from `start` (at most 366d)."
        )
        start = graphene.DateTime(description="Default: the first event's time, else now.")

    class Meta:
        description = (
            "Run a journey over virtual time against Saleor events and return what it would do. "
            "Nothing is sent and nothing is kept."
        )

    @classmethod
    def perform(
        cls,
        info: graphene.ResolveInfo,
        events: Any,
        until: str,
        definition: Any = None,
        slug: str | None = None,
        template: str | None = None,
        start: datetime | None = None,
    ) -> JourneySimulate:
        document = _definition(info, definition, slug, template)
        problems = validate(document).problems
        if problems:
            raise Refused(from_problems(problems))
        lines = _event_lines(events)
        if start is not None and start.tzinfo is None:
            raise Refused([error("invalid", "give a time zone, e.g. +00:00", "start")])
        begin = start or _first_time(lines)
        try:
            length = durations.parse(until)
        except ValueError as exc:
            raise Refused([error("invalid", str(exc), "until")]) from exc
        if length > MAX_UNTIL:
            raise Refused([error("invalid", "simulate at most 366 days", "until")])
        try:
            parsed: list[InputEvent] = parse_events(lines, start=begin)
            timeline = run_simulation(document, parsed, start=begin, until=begin + length)
        except SimulationError as exc:
            raise Refused([_event_error(str(exc))]) from exc
        return cls(timeline=[SimulationLine.of(line) for line in timeline], errors=[])


def _definition(
    info: graphene.ResolveInfo, definition: Any, slug: str | None, template: str | None
) -> dict[str, Any]:
    if sum(value is not None for value in (definition, slug, template)) != 1:
        raise Refused([error("invalid", "give one of definition, slug or template", "definition")])
    if slug is not None:
        return journey_for(info, slug, lock=False).draft
    if template is not None:
        try:
            return builtin.load(template)
        except KeyError as exc:
            raise Refused([error("not_found", str(exc.args[0]), "template")]) from exc
    return definition_arg(definition)


def _event_lines(events: Any) -> list[str]:
    """The events as the lines of an events file, each checked to be one object."""
    if not isinstance(events, list):
        raise Refused([error("invalid", "a list of events", "events")])
    if len(events) > MAX_EVENTS:
        raise Refused([error("invalid", f"at most {MAX_EVENTS} events", "events")])
    for index, item in enumerate(events):
        if not isinstance(item, dict) or not isinstance(item.get("payload"), dict):
            message = "an object with at, event and payload (an object)"
            raise Refused([error("invalid", message, f"events[{index}]")])
    return [json.dumps(item) for item in events]


def _first_time(lines: list[str]) -> datetime:
    """Like the command: the first event given at an absolute time, else now."""
    for line in lines:
        try:
            at = datetime.fromisoformat(str(json.loads(line).get("at")))
        except ValueError:
            continue
        if at.tzinfo is not None:
            return at
    return clock.now()


def _event_error(message: str) -> Any:
    """``line 3: …`` of the simulator as an error on ``events[2]``."""
    match = _LINE.match(message)
    if match is None:
        return error("invalid", message, "events")
    return error("invalid", match.group(2), f"events[{int(match.group(1)) - 1}]")
