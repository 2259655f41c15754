"""What ``journeys.js`` sends to the collect endpoint, and taking it in (docs/collect-protocol.md).

The body is validated as a whole before anything is stored: a batch is taken in completely or
refused with the first problem and where it is (``events[2].url``). Then, in one transaction,
the visitor is found or made and each event is stored or handed to the module that owns it, in
the order the browser sent them.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import transaction
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from saleor_journeys import conf
from saleor_journeys.events import log
from saleor_journeys.events.models import Event
from saleor_journeys.web import visitors
from saleor_journeys.web.models import Site, Visitor

SOURCE = "web"
MAX_AGE = timedelta(hours=24)
MAX_PROPS_BYTES = 4096
_DECIMAL = re.compile(r"[0-9]+(?:\.[0-9]+)?")
EVENT_TYPES = ("page", "engaged", "track", "identify", "link", "message", "push")


# --- field types ------------------------------------------------------------------------------


def _http_url(value: str) -> str:
    try:
        parts = urlsplit(value)
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise PydanticCustomError("url", "must be an absolute http(s) URL")
    return value


def _email(value: str) -> str:
    try:
        validate_email(value)
    except DjangoValidationError:
        raise PydanticCustomError("email", "must be an email address") from None
    return value


def _number_as_text(value: Any) -> Any:
    # A price may come as "35.00" or as 35.0; it is kept as text, like Saleor's amounts.
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return value


def _decimal(value: str) -> str:
    if not _DECIMAL.fullmatch(value):
        raise PydanticCustomError("decimal", "must be a decimal number such as 35.00")
    return value


def _small_object(value: dict[str, Any]) -> dict[str, Any]:
    size = len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))
    if size > MAX_PROPS_BYTES:
        raise PydanticCustomError(
            "too_large",
            "is {size} bytes as JSON, at most {limit}",
            {"size": size, "limit": MAX_PROPS_BYTES},
        )
    return value


Id = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{8,64}$")]
Url = Annotated[str, Field(max_length=2048), AfterValidator(_http_url)]
Email = Annotated[str, Field(max_length=254), AfterValidator(_email)]
Price = Annotated[
    str, BeforeValidator(_number_as_text), Field(max_length=32), AfterValidator(_decimal)
]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
Props = Annotated[dict[str, Any], AfterValidator(_small_object)]


class _Strict(BaseModel):
    # No coercion (a number is not a string) and no unknown fields: a mistake in a client is a
    # 400 that names it, not data stored half right.
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


# --- events -----------------------------------------------------------------------------------


class Item(_Strict):
    """A product, variant or category a page shows."""

    id: str = Field(min_length=1, max_length=255)
    name: str | None = Field(default=None, max_length=300)
    image: Url | None = None
    url: Url | None = None
    price: Price | None = None
    currency: Currency | None = None


class _Event(_Strict):
    id: Id
    age: int = Field(ge=0)
    """Milliseconds between the moment it happened and the moment the batch was sent."""


class PageEvent(_Event):
    type: Literal["page"]
    url: Url
    title: str = Field(max_length=300)
    referrer: str | None = Field(default=None, max_length=2048)
    product: Item | None = None
    variant: Item | None = None
    category: Item | None = None


class EngagedEvent(_Event):
    type: Literal["engaged"]
    page: Id
    url: Url
    seconds: float = Field(ge=0, le=86400)


class TrackEvent(_Event):
    type: Literal["track"]
    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,47}$")
    props: Props = Field(default_factory=dict)


class IdentifyEvent(_Event):
    type: Literal["identify"]
    email: Email
    props: dict[str, Any] = Field(default_factory=dict)
    form: str | None = Field(default=None, min_length=1, max_length=100)


class LinkEvent(_Event):
    type: Literal["link"]
    token: str = Field(min_length=1, max_length=1024)


class MessageEvent(_Event):
    type: Literal["message"]
    message: int = Field(ge=1)
    action: Literal["shown", "clicked", "dismissed"]


class PushKeys(_Strict):
    p256dh: str = Field(min_length=1, max_length=255)
    auth: str = Field(min_length=1, max_length=64)


class PushSubscriptionData(_Strict):
    """The Push API's ``PushSubscription.toJSON()``."""

    endpoint: Url
    expiration_time: float | None = Field(default=None, alias="expirationTime")
    keys: PushKeys


class PushEvent(_Event):
    type: Literal["push"]
    subscription: PushSubscriptionData | None = None
    unsubscribe: bool = False
    endpoint: Url | None = None

    @model_validator(mode="after")
    def _one_of(self) -> PushEvent:
        if self.unsubscribe and (self.endpoint is None or self.subscription is not None):
            raise PydanticCustomError(
                "push", "unsubscribe: true needs an endpoint and no subscription"
            )
        if not self.unsubscribe and (self.subscription is None or self.endpoint is not None):
            raise PydanticCustomError(
                "push", "needs a subscription, or unsubscribe: true and an endpoint"
            )
        return self


AnyEvent = Annotated[
    PageEvent | EngagedEvent | TrackEvent | IdentifyEvent | LinkEvent | MessageEvent | PushEvent,
    Field(discriminator="type"),
]


class CollectBody(_Strict):
    v: Id
    """The visitor id the browser keeps."""
    events: list[AnyEvent]

    @field_validator("events", mode="before")
    @classmethod
    def _count(cls, value: Any) -> Any:
        # Before the events are validated one by one: a flood of them is refused for its size.
        if isinstance(value, list):
            limit = conf.get("WEB_COLLECT_MAX_EVENTS")
            if not value:
                raise PydanticCustomError("too_short", "needs at least one event")
            if len(value) > limit:
                raise PydanticCustomError(
                    "too_long",
                    "has {count} events, at most {limit}",
                    {"count": len(value), "limit": limit},
                )
        return value


# --- validation -------------------------------------------------------------------------------


class Invalid(Exception):
    """The body is not a valid batch: what is wrong, and where (empty: the body itself)."""

    def __init__(self, message: str, path: str = "") -> None:
        super().__init__(message, path)
        self.message, self.path = message, path


def parse(body: bytes) -> CollectBody:
    """The batch in ``body``; raises ``Invalid`` with the first problem."""
    try:
        return CollectBody.model_validate_json(body)
    except ValidationError as exc:
        raise _invalid(exc.errors()[0]) from None


def _invalid(error: Mapping[str, Any]) -> Invalid:
    kind, loc = error["type"], tuple(error["loc"])
    path = _path(loc)
    if kind == "json_invalid":
        return Invalid(f"the body is not JSON ({error['ctx']['error']})")
    if kind == "model_type" and not loc:
        return Invalid("the body must be a JSON object")
    if kind == "missing":
        return Invalid("is required", path)
    if kind == "extra_forbidden":
        return Invalid("is not a field of this object", path)
    if kind == "union_tag_not_found":
        return Invalid("an event needs a type", f"{path}.type")
    if kind == "union_tag_invalid":
        tag = error.get("ctx", {}).get("tag", "")
        return Invalid(
            f"unknown event type {tag!r}; one of {', '.join(EVENT_TYPES)}", f"{path}.type"
        )
    if kind == "string_pattern_mismatch" and loc[-1] in ("v", "id", "page"):
        return Invalid("must be 8 to 64 characters of A-Z a-z 0-9 _ -", path)
    if kind == "string_pattern_mismatch" and loc[-1] == "name":
        return Invalid("must match ^[a-z][a-z0-9_]{0,47}$", path)
    if kind == "string_pattern_mismatch" and loc[-1] == "currency":
        return Invalid("must be a three-letter currency code such as USD", path)
    return Invalid(error["msg"].replace("Input should be", "must be", 1), path)


def _path(loc: tuple[int | str, ...]) -> str:
    """A pydantic location as a path into the body, without the event type pydantic puts in
    it (``events.2.page.url`` → ``events[2].url``)."""
    parts: list[str] = []
    for i, part in enumerate(loc):
        if isinstance(part, int):
            parts.append(f"[{part}]")
        elif i == 2 and loc[0] == "events" and isinstance(loc[1], int) and part in EVENT_TYPES:
            continue
        else:
            parts.append(f".{part}" if parts else str(part))
    return "".join(parts)


# --- ingestion --------------------------------------------------------------------------------


def event_key(visitor_uid: str, event_id: str) -> str:
    """The idempotency key of a browser event: a retried beacon stores nothing twice."""
    key = f"web:{visitor_uid}:{event_id}"
    if len(key) <= 128:  # Event.key's length
        return key
    prefix = f"web:{visitor_uid}:#"
    return prefix + hashlib.sha256(event_id.encode()).hexdigest()[: 128 - len(prefix)]


def ingest(site: Site, body: CollectBody, *, now: datetime, user_agent: str) -> dict[str, Any]:
    """Store a valid batch for the site's installation and return the answer for the browser.

    ``page`` → ``page_viewed``, ``engaged`` → ``page_engaged``, ``track`` → ``custom.<name>``,
    through the event log (scores and journeys see them); the other types go to the modules that
    own them. All in one transaction: a batch is stored completely or not at all; a push
    subscription the app cannot use raises ``Invalid`` and stores nothing of the batch.
    """
    from saleor_journeys.web import push

    with transaction.atomic():
        visitor = visitors.visitor_for(site.installation_id, body.v, now)
        pages: dict[str, dict[str, Any]] = {}
        last_page: dict[str, Any] | None = None
        for index, event in enumerate(body.events):
            occurred_at = now - min(timedelta(milliseconds=event.age), MAX_AGE)
            if isinstance(event, PageEvent):
                data = _page_data(event, visitor.uid, user_agent)
                _record(visitor, event, "page_viewed", data, occurred_at, now)
                pages[event.id] = last_page = data
            elif isinstance(event, EngagedEvent):
                data = _engaged_data(event, visitor, pages)
                _record(visitor, event, "page_engaged", data, occurred_at, now)
            elif isinstance(event, TrackEvent):
                data = {"name": event.name, "props": event.props, "visitor": visitor.uid}
                _record(visitor, event, f"custom.{event.name}", data, occurred_at, now)
            elif isinstance(event, IdentifyEvent | LinkEvent):
                from saleor_journeys.web import identity

                person = None
                if isinstance(event, IdentifyEvent):
                    source = "form" if event.form else "identify"
                    person = identity.identify_email(
                        visitor, event.email, event.props, source=source, now=now
                    )
                else:
                    identity.identify_token(visitor, event.token, now=now)
                # The visitor may belong to another card now: what follows is about that one.
                visitor = Visitor.objects.select_related("contact").get(pk=visitor.pk)
                if person is not None and isinstance(event, IdentifyEvent) and event.form:
                    # A form of the shop answered: what journeys wait for (the welcome form,
                    # the abandoned cart's "what stopped you" question).
                    data = {"form": event.form, "fields": event.props, "visitor": visitor.uid}
                    _record(visitor, event, "form_submitted", data, occurred_at, now)
            elif isinstance(event, MessageEvent):
                from saleor_journeys.web import onsite

                onsite.record_action(
                    visitor.contact, event.message, event.action, now=now, event_id=event.id
                )
            elif event.subscription is not None:
                subscription = event.subscription.model_dump(by_alias=True)
                try:
                    push.subscribe(site, visitor, subscription, now=now)
                except ValueError as exc:  # an endpoint or keys the app cannot push to
                    raise Invalid(str(exc), f"events[{index}].subscription") from None
            else:
                assert event.endpoint is not None  # the model requires it with unsubscribe
                push.unsubscribe(site, event.endpoint)
        messages: list[dict[str, Any]] = []
        if last_page is not None:
            from saleor_journeys.web import onsite

            messages = onsite.messages_for(visitor.contact, last_page, now=now)
        return {
            "visitor": visitor.uid,
            "messages": messages,
            "push": {"key": push.public_key(site)},
        }


def _record(
    visitor: Visitor,
    event: _Event,
    type: str,
    data: dict[str, Any],
    occurred_at: datetime,
    now: datetime,
) -> None:
    log.record(
        installation_id=visitor.installation_id,
        contact=visitor.contact,
        type=type,
        source=SOURCE,
        key=event_key(visitor.uid, event.id),
        occurred_at=occurred_at,
        received_at=now,
        data=data,
    )


def _page_data(event: PageEvent, visitor_uid: str, user_agent: str) -> dict[str, Any]:
    data: dict[str, Any] = {
        "url": event.url,
        "path": urlsplit(event.url).path or "/",
        "title": event.title,
        "referrer": event.referrer or "",
        "visitor": visitor_uid,
        "page": event.id,
        "user_agent": user_agent[:512],
    }
    for name in ("product", "variant", "category"):
        item: Item | None = getattr(event, name)
        if item is not None:
            data[name] = item.model_dump(exclude_none=True)
    return data


def _engaged_data(
    event: EngagedEvent, visitor: Visitor, pages: Mapping[str, Mapping[str, Any]]
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "url": event.url,
        "path": urlsplit(event.url).path or "/",
        "seconds": event.seconds,
        "visitor": visitor.uid,
        "page": event.page,
    }
    page = pages.get(event.page)
    if page is None:  # the page view came in an earlier batch
        page = (
            Event.objects.filter(
                installation_id=visitor.installation_id,
                key=event_key(visitor.uid, event.page),
                type="page_viewed",
            )
            .values_list("data", flat=True)
            .first()
        )
    for name in ("product", "category"):
        if page and page.get(name):
            data[name] = page[name]
    return data
