"""Creating, editing, publishing and switching journeys: the rules in one place.

The GraphQL mutations and the import command call these; each refusal is a ``JourneyError``
with a code, and invalid definitions carry every problem found.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.text import slugify

from saleor_journeys.journeys.definition import Problem, validate
from saleor_journeys.journeys.models import Journey, JourneyStatus, JourneyVersion
from saleor_journeys.saleor.models import Installation


class JourneyError(Exception):
    def __init__(self, code: str, message: str, problems: list[Problem] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.problems = problems or []


def create(
    installation: Installation, definition: dict[str, Any], *, actor: str, slug: str = ""
) -> Journey:
    """A new journey whose draft is ``definition`` (not validated until it is published)."""
    name = str(definition.get("name") or "").strip()
    slug = slugify(slug or name)[:100]
    if not slug:
        raise JourneyError("invalid", "a journey needs a slug or a name to derive one from")
    try:
        with transaction.atomic():
            return Journey.objects.create(
                installation=installation,
                slug=slug,
                name=name or slug,
                draft=definition,
                updated_by=actor,
            )
    except IntegrityError as exc:
        raise JourneyError("duplicate", f"a journey {slug!r} exists already") from exc


def update_draft(journey: Journey, definition: dict[str, Any], *, actor: str) -> Journey:
    if journey.status == JourneyStatus.ARCHIVED:
        raise JourneyError("archived", f"{journey.slug} is archived; it cannot be edited")
    journey.draft = definition
    journey.name = str(definition.get("name") or journey.name)
    journey.updated_by = actor
    journey.save(update_fields=["draft", "name", "updated_by", "updated_at"])
    return journey


def publish(
    journey: Journey,
    *,
    actor: str,
    templates: Collection[str] | None = None,
    events: Collection[str] | None = None,
) -> JourneyVersion:
    """Validate the draft and publish it as the next version; a draft with problems is refused."""
    if journey.status == JourneyStatus.ARCHIVED:
        raise JourneyError("archived", f"{journey.slug} is archived; it cannot be published")
    result = validate(journey.draft, templates=templates, events=events)
    if result.definition is None:
        raise JourneyError(
            "invalid_definition",
            f"the draft of {journey.slug} has {len(result.problems)} problem(s)",
            result.problems,
        )
    with transaction.atomic():
        locked = Journey.objects.select_for_update().get(pk=journey.pk)
        last = locked.versions.order_by("-number").values_list("number", flat=True).first()
        version = JourneyVersion.objects.create(
            journey=locked,
            number=(last or 0) + 1,
            definition=result.definition.model_dump(mode="json", by_alias=True),
            published_by=actor,
        )
        if locked.status == JourneyStatus.DRAFT:
            locked.status = JourneyStatus.ACTIVE
        locked.updated_by = actor
        locked.save(update_fields=["status", "updated_by", "updated_at"])
    journey.refresh_from_db()
    return version


_TRANSITIONS = {
    "pause": ({JourneyStatus.ACTIVE}, JourneyStatus.PAUSED),
    "resume": ({JourneyStatus.PAUSED}, JourneyStatus.ACTIVE),
    "archive": (
        {JourneyStatus.DRAFT, JourneyStatus.ACTIVE, JourneyStatus.PAUSED},
        JourneyStatus.ARCHIVED,
    ),
}


def transition(journey: Journey, action: str, *, actor: str) -> Journey:
    """``pause``, ``resume`` or ``archive`` the journey."""
    allowed, target = _TRANSITIONS[action]
    if journey.status not in allowed:
        raise JourneyError(
            "invalid_status", f"a journey that is {journey.status} cannot be {action}d"
        )
    journey.status = target
    journey.updated_by = actor
    journey.save(update_fields=["status", "updated_by", "updated_at"])
    return journey


def current_version(journey: Journey) -> JourneyVersion | None:
    return journey.versions.order_by("-number").first()
