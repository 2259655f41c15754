"""Conditions of split nodes and trigger filters: a small tree of all / any / not and tests.

Kept as data so that they validate, export and show in the Dashboard; the engine evaluates them.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag

from saleor_journeys.journeys.durations import Duration


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


Operator = Literal["eq", "ne", "gt", "gte", "lt", "lte", "contains", "in", "exists", "not_exists"]


class PropertyTest(_Strict):
    """A field of the contact or of the triggering event, e.g. ``contact.country`` or
    ``event.checkout.lines``."""

    property: str = Field(pattern=r"^(contact|event)\.[A-Za-z0-9_.]+$")
    op: Operator = "eq"
    value: Any = None


class TagTest(_Strict):
    tag: str = Field(min_length=1)


class ConsentTest(_Strict):
    consent: Literal["email", "sms", "web", "push"]


class DidTest(_Strict):
    """The contact did ``did`` (an event name) since entering the journey, or within ``within``."""

    did: str = Field(min_length=1)
    within: Duration | None = None


class OrdersTest(_Strict):
    """Order count or total spent of the contact, compared with ``value``."""

    orders: Literal["count", "total"]
    op: Literal["eq", "ne", "gt", "gte", "lt", "lte"] = "gte"
    value: float


class All(_Strict):
    all: list[Condition] = Field(min_length=1)


class AnyOf(_Strict):
    any: list[Condition] = Field(min_length=1)


class Not(_Strict):
    not_: Condition = Field(alias="not")

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


def kind(value: Any) -> str | None:
    """Which test a condition is, from the key that names it (for precise error paths)."""
    if isinstance(value, dict):
        for key in ("all", "any", "not", "property", "tag", "consent", "did", "orders"):
            if key in value:
                return key
        return None
    for key, model in _MODELS.items():
        if isinstance(value, model):
            return key
    return None


Condition = Annotated[
    Annotated[All, Tag("all")]
    | Annotated[AnyOf, Tag("any")]
    | Annotated[Not, Tag("not")]
    | Annotated[PropertyTest, Tag("property")]
    | Annotated[TagTest, Tag("tag")]
    | Annotated[ConsentTest, Tag("consent")]
    | Annotated[DidTest, Tag("did")]
    | Annotated[OrdersTest, Tag("orders")],
    Discriminator(
        kind,
        custom_error_type="condition",
        custom_error_message=(
            "a condition needs one of: all, any, not, property, tag, consent, did, orders"
        ),
    ),
]

_MODELS: dict[str, type[BaseModel]] = {
    "all": All,
    "any": AnyOf,
    "not": Not,
    "property": PropertyTest,
    "tag": TagTest,
    "consent": ConsentTest,
    "did": DidTest,
    "orders": OrdersTest,
}

for _model in (All, AnyOf, Not):
    _model.model_rebuild()
