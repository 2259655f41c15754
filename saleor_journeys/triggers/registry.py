"""The Saleor events the app reacts to, registered in one place.

The manifest's webhooks and their subscription queries are generated from this registry and the
webhook endpoint dispatches through it, so what Saleor is asked to send and what the app can read
cannot drift apart. A new trigger is one ``register()`` call (see ``saleor_events.py``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from pydantic import ValidationError

from saleor_journeys.triggers.payloads import Envelope

if TYPE_CHECKING:
    from saleor_journeys.runtime.context import IngestContext

P = TypeVar("P", bound=Envelope)


class PayloadError(ValueError):
    """The body is not JSON or does not have the shape the event requires."""


@dataclass(frozen=True)
class WebhookGroup:
    """One webhook of the manifest: several events sharing a fragment file and a permission."""

    name: str
    permission: str
    fragment_file: str

    @property
    def fragments(self) -> str:
        return resources.files(__package__).joinpath("fragments", self.fragment_file).read_text()


@dataclass(frozen=True)
class SaleorTrigger(Generic[P]):
    event: str
    """Saleor's enum name, e.g. ``CHECKOUT_UPDATED``."""
    typename: str
    """The payload's ``__typename``, e.g. ``CheckoutUpdated``."""
    group: WebhookGroup
    selection: str
    """What the subscription selects for this event, e.g. ``checkout { ...CheckoutFields }``."""
    payload: type[P]
    handle: Callable[[IngestContext, P], None]

    @property
    def name(self) -> str:
        """The event's name as it arrives in ``Saleor-Event`` and as events are logged."""
        return self.event.lower()

    def parse(self, body: str) -> P:
        try:
            data: Any = json.loads(body)
        except ValueError as exc:
            raise PayloadError(f"malformed JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise PayloadError("the body is not a JSON object")
        if data.get("__typename") != self.typename:
            raise PayloadError(
                f"the body is a {data.get('__typename')!r}, not the {self.typename!r} "
                f"that {self.name} carries"
            )
        try:
            return self.payload.model_validate(data)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
            )
            raise PayloadError(f"the {self.name} payload does not match: {problems}") from exc


_TRIGGERS: dict[str, SaleorTrigger[Any]] = {}


def register(trigger: SaleorTrigger[Any]) -> SaleorTrigger[Any]:
    if trigger.name in _TRIGGERS:
        raise ValueError(f"trigger {trigger.name} is registered twice")
    _TRIGGERS[trigger.name] = trigger
    subscription_query.cache_clear()
    return trigger


def _load() -> None:
    # The built-in triggers register themselves on import.
    from saleor_journeys.triggers import saleor_events  # noqa: F401


def get(name: str) -> SaleorTrigger[Any] | None:
    _load()
    return _TRIGGERS.get(name.lower())


def triggers() -> list[SaleorTrigger[Any]]:
    _load()
    return list(_TRIGGERS.values())


def groups() -> list[WebhookGroup]:
    seen: dict[str, WebhookGroup] = {}
    for trigger in triggers():
        seen.setdefault(trigger.group.name, trigger.group)
    return list(seen.values())


def group_triggers(group: WebhookGroup) -> Iterable[SaleorTrigger[Any]]:
    return [t for t in triggers() if t.group.name == group.name]


@cache
def subscription_query(group_name: str) -> str:
    """The subscription document of one webhook, built from its registered events."""
    group = next(g for g in groups() if g.name == group_name)
    branches = "\n".join(
        f"    ... on {t.typename} {{ {t.selection} }}" for t in group_triggers(group)
    )
    return (
        f"subscription {group.name.capitalize()}Events {{\n"
        "  event {\n"
        "    __typename\n"
        "    issuedAt\n"
        "    version\n"
        "    issuingPrincipal {\n"
        "      __typename\n"
        "      ... on App { id }\n"
        "      ... on User { id }\n"
        "    }\n"
        f"{branches}\n"
        "  }\n"
        "}\n\n"
        f"{group.fragments}"
    )
