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
            payload = self.payload.model_validate_json(body)
        except ValidationError as exc:
            errors = exc.errors()
            if errors and errors[0]["type"] == "json_invalid":
                raise PayloadError(f"malformed JSON: {errors[0]['msg']}") from exc
            if errors and errors[0]["type"] == "model_type":
                raise PayloadError("the body is not a JSON object") from exc
            typename = _typename(body)
            if typename != self.typename:
                raise PayloadError(self._wrong_type(typename)) from exc
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in errors
            )
            raise PayloadError(f"the {self.name} payload does not match: {problems}") from exc
        if payload.typename != self.typename:
            raise PayloadError(self._wrong_type(payload.typename))
        return payload

    def _wrong_type(self, typename: object) -> str:
        return f"the body is a {typename!r}, not the {self.typename!r} that {self.name} carries"


def _typename(body: str) -> object:
    try:
        data = json.loads(body)
    except ValueError:
        return None
    return data.get("__typename") if isinstance(data, dict) else None


_TRIGGERS: dict[str, SaleorTrigger[Any]] = {}


def register(trigger: SaleorTrigger[Any]) -> SaleorTrigger[Any]:
    if trigger.name in _TRIGGERS:
        raise ValueError(f"trigger {trigger.name} is registered twice")
    _TRIGGERS[trigger.name] = trigger
    subscription_query.cache_clear()
    group_names.cache_clear()
    return trigger


_loaded = False


def _load() -> None:
    global _loaded
    if not _loaded:
        # The built-in triggers register themselves on import.
        from saleor_journeys.triggers import saleor_events  # noqa: F401

        _loaded = True


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


@cache
def group_names() -> frozenset[str]:
    return frozenset(group.name for group in groups())


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
