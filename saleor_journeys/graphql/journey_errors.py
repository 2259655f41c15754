"""How journey mutations fail: typed errors (a code, a message and where), never a trace.

Each mutation runs in one transaction; a refusal rolls it back and comes back as ``errors``,
so a failed mutation leaves nothing changed.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import graphene

from saleor_journeys.graphql.mutations import Refused, TransactionalMutation
from saleor_journeys.graphql.types import principal
from saleor_journeys.journeys.definition import Problem
from saleor_journeys.journeys.models import Journey
from saleor_journeys.journeys.versions import JourneyError


class JourneyErrorCode(graphene.Enum):
    """Why a mutation refused. The codes from `DUPLICATE_ID` to `UNKNOWN_TEMPLATE` (and
    `INVALID`) are problems of a definition; their path points into it."""

    NOT_FOUND = "not_found"
    DUPLICATE = "duplicate"
    INVALID = "invalid"
    INVALID_STATUS = "invalid_status"
    ARCHIVED = "archived"
    INVALID_DEFINITION = "invalid_definition"
    DUPLICATE_ID = "duplicate_id"
    MISSING = "missing"
    UNKNOWN_FIELD = "unknown_field"
    UNKNOWN_NODE = "unknown_node"
    UNREACHABLE = "unreachable"
    CYCLE_WITHOUT_WAIT = "cycle_without_wait"
    PERCENTAGES = "percentages"
    UNKNOWN_EVENT = "unknown_event"
    UNKNOWN_TEMPLATE = "unknown_template"


_CODES = {member.value for member in JourneyErrorCode._meta.enum}


class JourneyErrorType(graphene.ObjectType):
    code = JourneyErrorCode(required=True)
    message = graphene.String(required=True)
    path = graphene.String(
        required=True,
        description="For a problem of a definition, the path inside it, e.g. "
        "`nodes[2].timeout` (empty for the whole document); otherwise the argument, e.g. `slug`.",
    )

    class Meta:
        name = "JourneyError"
        description = "Why a journey mutation changed nothing."


def error(code: str, message: str, path: str) -> JourneyErrorType:
    # A code the schema does not know yet (a new validation rule) still reaches the caller.
    return JourneyErrorType(code=code if code in _CODES else "invalid", message=message, path=path)


def from_problems(problems: Iterable[Problem]) -> list[JourneyErrorType]:
    return [error(p.code, p.message, p.path) for p in problems]


def from_journey_error(exc: JourneyError, path: str) -> list[JourneyErrorType]:
    """Every problem of an invalid definition, else the refusal itself on ``path``."""
    if exc.problems:
        return from_problems(exc.problems)
    return [error(exc.code, exc.message, path)]


class JourneyMutation(TransactionalMutation):
    errors = graphene.List(
        graphene.NonNull(JourneyErrorType),
        required=True,
        description="Empty when the mutation did its work; otherwise nothing was changed.",
    )

    class Meta:
        abstract = True


def journey_for(info: graphene.ResolveInfo, slug: str, *, lock: bool = True) -> Journey:
    """The caller's journey, locked for the change; another shop's is not found either."""
    journeys = Journey.objects.select_for_update() if lock else Journey.objects.all()
    journey = journeys.filter(installation=principal(info).installation, slug=slug).first()
    if journey is None:
        raise Refused([error("not_found", f"there is no journey {slug!r}", "slug")])
    return journey


def definition_arg(value: Any, path: str = "definition") -> dict[str, Any]:
    if not isinstance(value, dict):
        raise Refused([error("invalid", "a definition is a JSON object", path)])
    return value
