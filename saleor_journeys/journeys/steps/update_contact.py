"""Update the contact card: tags, properties, interests, score."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from saleor_journeys.contacts import score
from saleor_journeys.core import clock
from saleor_journeys.journeys.steps.base import Linear, Step, Visit, act

if TYPE_CHECKING:
    from saleor_journeys.contacts.models import Contact


class UpdateContactNode(Linear):
    type: Literal["update_contact"]
    add_tags: list[str] = Field(default_factory=list)
    remove_tags: list[str] = Field(default_factory=list)
    set_properties: dict[str, Any] = Field(default_factory=dict)
    add_interests: list[str] = Field(default_factory=list)
    score: float = 0


def enter(node: UpdateContactNode, visit: Visit) -> Step:
    return act(node, visit)


def apply(contact: Contact, params: dict[str, Any]) -> list[str]:
    """Change the card in the step's own transaction; returns the tags that are new (they
    become ``tag_added`` events, which may start other journeys)."""
    tags = [t for t in contact.tags if t not in params.get("remove_tags", [])]
    added = [t for t in params.get("add_tags", []) if t not in tags]
    interests = contact.interests + [
        i for i in params.get("add_interests", []) if i not in contact.interests
    ]
    contact.tags = tags + added
    contact.interests = interests
    contact.properties = {**contact.properties, **params.get("set_properties", {})}
    contact.save(update_fields=["tags", "interests", "properties", "updated_at"])
    score.add(contact, params.get("score", 0), clock.now())
    return added
