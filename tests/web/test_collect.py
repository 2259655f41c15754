"""The collect endpoint as journeys.js and other clients use it (docs/collect-protocol.md)."""

from __future__ import annotations

import base64
import io
import json
import os
import sys
import types
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.core.cache import cache
from django.core.handlers.asgi import ASGIRequest
from django.test import Client

import saleor_journeys.web
from saleor_journeys.contacts.models import Contact, ContactKind
from saleor_journeys.core.clock import FrozenClock
from saleor_journeys.events.models import Event
from saleor_journeys.saleor.models import Installation
from saleor_journeys.web import bots, collect, collect_views, sites, visitors
from saleor_journeys.web import onsite as web_onsite
from saleor_journeys.web import push as web_push
from saleor_journeys.web.models import PushSubscription, Site, Visitor
from tests.conftest import make_installation

SHOP = "https://shop.example.com"
OTHER_SHOP = "https://other-shop.example.com"
BROWSER = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36"
)
HEADLESS_CHROMIUM = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "HeadlessChrome/126.0.0.0 Safari/537.36"
)
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
NOW = datetime(2025, 3, 4, 10, 0, 30, tzinfo=UTC)
UID = "v_3Jx0c1k9Q2u8bWm4rTz7"
PUSH_KEY = "BPz-test-application-server-key"
HOODIE = {
    "id": "UHJvZHVjdDoxMzI=",
    "name": "Blue Hoodie",
    "image": "https://cdn.example.com/hoodie.png",
    "price": "35.00",
    "currency": "USD",
}


def page(event_id: str = "e_page_0001", **fields: Any) -> dict[str, Any]:
    return {
        "id": event_id,
        "type": "page",
        "age": 0,
        "url": f"{SHOP}/products/blue-hoodie?color=blue",
        "title": "Blue Hoodie",
        **fields,
    }


def engaged(event_id: str = "e_engaged_0001", **fields: Any) -> dict[str, Any]:
    return {
        "id": event_id,
        "type": "engaged",
        "age": 0,
        "page": "e_page_0001",
        "url": f"{SHOP}/products/blue-hoodie?color=blue",
        "seconds": 42,
        **fields,
    }


def body(*events: dict[str, Any], v: str = UID) -> dict[str, Any]:
    return {"v": v, "events": list(events)}


class OnSite:
    """Stands in for ``web.onsite``: remembers what the endpoint asked of it."""

    def __init__(self) -> None:
        self.asked: list[tuple[Contact, dict[str, Any], datetime]] = []
        self.actions: list[tuple[Contact, int, str, datetime]] = []
        self.messages: list[dict[str, Any]] = []

    def messages_for(
        self, contact: Contact, page: dict[str, Any], *, now: datetime
    ) -> list[dict[str, Any]]:
        self.asked.append((contact, page, now))
        return self.messages

    def record_action(
        self, contact: Contact, message_id: int, action: str, *, now: datetime, event_id: str = ""
    ) -> None:
        self.actions.append((contact, message_id, action, now))


class Push:
    """Stands in for ``web.push``."""

    def __init__(self) -> None:
        self.subscribed: list[tuple[Site, Visitor, dict[str, Any], datetime]] = []
        self.unsubscribed: list[tuple[Site, str]] = []

    def public_key(self, site: Site) -> str:
        return PUSH_KEY

    def subscribe(
        self, site: Site, visitor: Visitor, subscription: dict[str, Any], *, now: datetime
    ) -> None:
        self.subscribed.append((site, visitor, subscription, now))

    def unsubscribe(self, site: Site, endpoint: str) -> None:
        self.unsubscribed.append((site, endpoint))


def _module(name: str, owner: object) -> types.ModuleType:
    module = types.ModuleType(f"saleor_journeys.web.{name}")
    for attr in dir(owner):
        if not attr.startswith("_"):
            setattr(module, attr, getattr(owner, attr))
    return module


@pytest.fixture
def onsite(monkeypatch: pytest.MonkeyPatch) -> OnSite:
    stand_in = OnSite()
    module = _module("onsite", stand_in)
    monkeypatch.setitem(sys.modules, module.__name__, module)
    monkeypatch.setattr(saleor_journeys.web, "onsite", module, raising=False)
    return stand_in


@pytest.fixture
def push(monkeypatch: pytest.MonkeyPatch) -> Push:
    stand_in = Push()
    module = _module("push", stand_in)
    monkeypatch.setitem(sys.modules, module.__name__, module)
    monkeypatch.setattr(saleor_journeys.web, "push", module, raising=False)
    return stand_in


@pytest.fixture(autouse=True)
def _fresh(onsite: OnSite, push: Push) -> Iterator[None]:
    """No site and no rate-limit counter of an earlier test; on-site messages and push stand
    in for their modules."""
    sites.clear()
    cache.clear()
    yield
    sites.clear()
    cache.clear()


@pytest.fixture
def clock() -> Iterator[FrozenClock]:
    with FrozenClock(NOW) as frozen:
        yield frozen


@pytest.fixture
def shop(db: None) -> Installation:
    return make_installation("http://shop.example.com/graphql/", {"keys": []})


@pytest.fixture
def site(shop: Installation) -> Site:
    site = sites.site_for(shop)
    site.origins = [SHOP, "http://localhost:3000"]
    site.save()
    return site


def post(
    client: Client,
    site_key: str,
    payload: dict[str, Any] | bytes | str,
    *,
    origin: str | None = SHOP,
    user_agent: str = BROWSER,
    content_type: str = "text/plain;charset=UTF-8",
    **extra: Any,
) -> Any:
    data = payload if isinstance(payload, bytes | str) else json.dumps(payload)
    headers = {"User-Agent": user_agent}
    if origin is not None:
        headers["Origin"] = origin
    return client.post(
        f"/api/web/{site_key}/collect",
        data=data,
        content_type=content_type,
        headers=headers,
        **extra,
    )


def web_events(installation: Installation) -> list[Event]:
    return list(Event.objects.filter(installation=installation, source="web").order_by("pk"))


# --- storing --------------------------------------------------------------------------------


def test_a_page_view_and_its_engaged_time_are_stored_on_the_visitors_anonymous_card(
    client: Client, site: Site, clock: FrozenClock, onsite: OnSite
) -> None:
    onsite.messages = [{"id": 412, "kind": "popup", "title": "Still thinking about it?"}]
    view = page(
        age=1500,
        referrer="https://www.google.com/",
        product=HOODIE,
        variant={"id": "UHJvZHVjdFZhcmlhbnQ6MzQ2", "name": "L"},
        category={"id": "Q2F0ZWdvcnk6Mjk=", "name": "Sweatshirts"},
    )

    response = post(client, site.key, body(view, engaged(age=200)))

    assert response.status_code == 200
    assert response.json() == {
        "visitor": UID,
        "messages": onsite.messages,
        "push": {"key": PUSH_KEY},
    }
    assert response["Access-Control-Allow-Origin"] == SHOP
    assert response["Vary"] == "Origin"
    assert response["Cache-Control"] == "no-store"

    visitor = Visitor.objects.select_related("contact").get(installation=site.installation)
    assert visitor.uid == UID
    assert visitor.contact.kind == ContactKind.ANONYMOUS and visitor.contact.email is None
    viewed, engaged_time = web_events(site.installation)
    assert viewed.type == "page_viewed" and viewed.contact_id == visitor.contact_id
    assert viewed.key == f"web:{UID}:e_page_0001"
    assert viewed.occurred_at == NOW - timedelta(milliseconds=1500)
    assert viewed.received_at == NOW
    assert viewed.data == {
        "url": f"{SHOP}/products/blue-hoodie?color=blue",
        "path": "/products/blue-hoodie",
        "title": "Blue Hoodie",
        "referrer": "https://www.google.com/",
        "product": HOODIE,
        "variant": {"id": "UHJvZHVjdFZhcmlhbnQ6MzQ2", "name": "L"},
        "category": {"id": "Q2F0ZWdvcnk6Mjk=", "name": "Sweatshirts"},
        "visitor": UID,
        "page": "e_page_0001",
        "user_agent": BROWSER,
    }
    assert engaged_time.type == "page_engaged" and engaged_time.contact_id == visitor.contact_id
    assert engaged_time.occurred_at == NOW - timedelta(milliseconds=200)
    assert engaged_time.data == {
        "url": f"{SHOP}/products/blue-hoodie?color=blue",
        "path": "/products/blue-hoodie",
        "seconds": 42,
        "visitor": UID,
        "page": "e_page_0001",
        "product": HOODIE,
        "category": {"id": "Q2F0ZWdvcnk6Mjk=", "name": "Sweatshirts"},
    }
    # The on-site messages are those of the batch's page, for the visitor's card.
    [(contact, page_data, at)] = onsite.asked
    assert contact.pk == visitor.contact_id and page_data == viewed.data and at == NOW
    # Both events count towards the card's behavioural score (SCORE_WEIGHTS: 1 each).
    visitor.contact.refresh_from_db()
    assert visitor.contact.score == 2


def test_engaged_time_sent_in_a_later_batch_carries_the_product_of_its_page_view(
    client: Client, site: Site
) -> None:
    assert post(client, site.key, body(page(product=HOODIE))).status_code == 200

    response = post(client, site.key, body(engaged()))

    assert response.status_code == 200
    assert response.json()["messages"] == []  # no page in this batch: nothing to show on it
    engaged_time = Event.objects.get(type="page_engaged")
    assert engaged_time.data["product"] == HOODIE
    assert "category" not in engaged_time.data


def test_engaged_time_of_an_unknown_page_view_is_stored_without_a_product(
    client: Client, site: Site
) -> None:
    response = post(client, site.key, body(engaged(page="e_never_sent")))

    assert response.status_code == 200
    data = Event.objects.get(type="page_engaged").data
    assert data["page"] == "e_never_sent" and "product" not in data


def test_a_tracked_event_is_stored_as_a_custom_event(client: Client, site: Site) -> None:
    track = {
        "id": "e_track_0001",
        "type": "track",
        "age": 0,
        "name": "added_to_wishlist",
        "props": {"product": "UHJvZHVjdDoxMzI=", "size": "L"},
    }

    response = post(client, site.key, body(track))

    assert response.status_code == 200
    [event] = web_events(site.installation)
    assert event.type == "custom.added_to_wishlist"
    assert event.data == {
        "name": "added_to_wishlist",
        "props": {"product": "UHJvZHVjdDoxMzI=", "size": "L"},
        "visitor": UID,
    }
    assert event.contact == Visitor.objects.get().contact


def test_a_retried_batch_is_stored_once(client: Client, site: Site) -> None:
    batch = body(page(), engaged())

    first = post(client, site.key, batch)
    again = post(client, site.key, batch, content_type="application/json")

    assert first.status_code == again.status_code == 200
    assert [e.type for e in web_events(site.installation)] == ["page_viewed", "page_engaged"]
    assert Visitor.objects.count() == 1
    contact = Visitor.objects.get().contact
    assert contact.score == 2  # the retry added no points


def test_age_is_counted_back_from_arrival_and_capped_at_a_day(
    client: Client, site: Site, clock: FrozenClock
) -> None:
    week = 7 * 24 * 3600 * 1000
    response = post(client, site.key, body(page(age=week), engaged(age=3 * 3600 * 1000)))

    assert response.status_code == 200
    viewed, engaged_time = web_events(site.installation)
    assert viewed.occurred_at == NOW - timedelta(hours=24)
    assert engaged_time.occurred_at == NOW - timedelta(hours=3)


def test_a_returning_visitor_keeps_its_card_and_is_seen_at_most_once_a_minute(
    client: Client, site: Site, clock: FrozenClock
) -> None:
    post(client, site.key, body(page("e_page_0001")))
    clock.advance(timedelta(seconds=59))
    post(client, site.key, body(page("e_page_0002")))
    visitor = Visitor.objects.get()
    assert visitor.created_at == visitor.last_seen_at == NOW

    clock.advance(timedelta(seconds=1))
    post(client, site.key, body(page("e_page_0003")))

    visitor.refresh_from_db()
    assert visitor.last_seen_at == NOW + timedelta(seconds=60)
    assert Contact.objects.filter(installation=site.installation).count() == 1
    assert {e.contact_id for e in web_events(site.installation)} == {visitor.contact_id}


def test_the_second_of_two_first_requests_of_a_browser_uses_the_visitor_the_first_made(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = visitors.visitor_for(site.installation_id, UID, NOW)
    real_get = visitors._get
    lookups: list[str] = []

    def get_as_if_not_there_yet(installation_id: int, uid: str) -> Visitor | None:
        # The other request commits its visitor between this one's lookup and its insert.
        lookups.append(uid)
        return None if len(lookups) == 1 else real_get(installation_id, uid)

    monkeypatch.setattr(visitors, "_get", get_as_if_not_there_yet)

    second = visitors.visitor_for(site.installation_id, UID, NOW)

    assert len(lookups) == 2
    assert second.pk == first.pk and second.contact.pk == first.contact.pk
    # The losing request's anonymous card went with its visitor row.
    assert Contact.objects.filter(installation=site.installation).count() == 1


# --- other event types go to the modules that own them -------------------------------------


def test_identify_moves_the_visitor_to_the_persons_card_for_the_events_after_it(
    client: Client, site: Site, clock: FrozenClock
) -> None:
    identify = {
        "id": "e_identify_01",
        "type": "identify",
        "age": 0,
        "email": "ann@example.com",
        "props": {"first_name": "Ann"},
        "form": "newsletter",
    }

    response = post(client, site.key, body(page("e_page_0001"), identify, page("e_page_0002")))

    assert response.status_code == 200
    ann = Contact.objects.get(installation=site.installation, email="ann@example.com")
    assert ann.first_name == "Ann"
    visitor = Visitor.objects.get()
    assert visitor.contact_id == ann.pk and visitor.identified_by == "form"
    later = Event.objects.get(key=f"web:{UID}:e_page_0002")
    assert later.contact_id == ann.pk
    # A form answered is a fact journeys wait for (the welcome form, the cart's question).
    submitted = Event.objects.get(contact=ann, type="form_submitted")
    assert submitted.data == {"form": "newsletter", "fields": {"first_name": "Ann"}, "visitor": UID}

    # The same beacon again: nothing twice.
    post(client, site.key, body(page("e_page_0001"), identify, page("e_page_0002")))
    assert Event.objects.filter(contact=ann, type="form_submitted").count() == 1


def test_link_message_and_push_events_are_handed_over_in_order(
    client: Client,
    site: Site,
    clock: FrozenClock,
    onsite: OnSite,
    push: Push,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from saleor_journeys.web import identity

    tokens: list[tuple[int, str, datetime]] = []

    def identify_token(visitor: Visitor, token: str, *, now: datetime) -> None:
        tokens.append((visitor.pk, token, now))
        # What a valid token does: the visitor is now on the person's card.
        ann = Contact.objects.create(installation=site.installation, email="ann@example.com")
        Visitor.objects.filter(pk=visitor.pk).update(contact=ann)

    monkeypatch.setattr(identity, "identify_token", identify_token)
    subscription = {
        "endpoint": "https://fcm.googleapis.com/fcm/send/abc",
        "expirationTime": None,
        "keys": {"p256dh": "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls", "auth": "tBHI"},
    }
    events = [
        {"id": "e_message_01", "type": "message", "age": 0, "message": 412, "action": "shown"},
        {"id": "e_link_00001", "type": "link", "age": 0, "token": "sj-token"},
        {"id": "e_message_02", "type": "message", "age": 0, "message": 412, "action": "clicked"},
        {"id": "e_push_00001", "type": "push", "age": 0, "subscription": subscription},
        {
            "id": "e_push_00002",
            "type": "push",
            "age": 0,
            "unsubscribe": True,
            "endpoint": "https://push.example.com/old",
        },
        page(),
    ]

    response = post(client, site.key, body(*events))

    assert response.status_code == 200
    visitor = Visitor.objects.get()
    anonymous = Contact.objects.get(kind=ContactKind.ANONYMOUS)
    ann = Contact.objects.get(email="ann@example.com")
    assert tokens == [(visitor.pk, "sj-token", NOW)]
    assert [(c.pk, m, a) for c, m, a, _ in onsite.actions] == [
        (anonymous.pk, 412, "shown"),
        (ann.pk, 412, "clicked"),
    ]
    [(subscribed_site, subscribed_visitor, stored, at)] = push.subscribed
    assert subscribed_site.pk == site.pk and subscribed_visitor.pk == visitor.pk
    assert stored == subscription and at == NOW
    assert [(s.pk, endpoint) for s, endpoint in push.unsubscribed] == [
        (site.pk, "https://push.example.com/old")
    ]
    assert Event.objects.get(type="page_viewed").contact_id == ann.pk
    assert onsite.asked[0][0].pk == ann.pk


def _real_modules(monkeypatch: pytest.MonkeyPatch) -> None:
    """The app's own on-site messages and web push instead of the stand-ins."""
    for module in (web_onsite, web_push):
        monkeypatch.setitem(sys.modules, module.__name__, module)
        monkeypatch.setattr(saleor_journeys.web, module.__name__.rsplit(".", 1)[1], module)


def _browser_subscription() -> dict[str, Any]:
    """What ``PushSubscription.toJSON()`` gives in a browser: its own P-256 key and secret."""
    point = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    )
    return {
        "endpoint": "https://fcm.googleapis.com/fcm/send/dGVzdC1zdWJzY3JpcHRpb24",
        "expirationTime": None,
        "keys": {
            "p256dh": base64.urlsafe_b64encode(point).rstrip(b"=").decode(),
            "auth": base64.urlsafe_b64encode(os.urandom(16)).rstrip(b"=").decode(),
        },
    }


def test_the_answer_carries_the_sites_push_key_and_its_on_site_messages(
    client: Client, site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    _real_modules(monkeypatch)

    response = post(client, site.key, body(page()))

    assert response.status_code == 200
    site.refresh_from_db()
    assert site.vapid_public_key
    assert response.json() == {
        "visitor": UID,
        "messages": [],
        "push": {"key": site.vapid_public_key},
    }


def test_a_push_subscription_is_stored_for_the_visitors_card(
    client: Client, site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    _real_modules(monkeypatch)
    subscription = _browser_subscription()
    event = {"id": "e_push_00001", "type": "push", "age": 0, "subscription": subscription}

    response = post(client, site.key, body(page(), event))

    assert response.status_code == 200
    stored = PushSubscription.objects.get()
    visitor = Visitor.objects.get()
    assert stored.endpoint == subscription["endpoint"]
    assert (stored.contact_id, stored.visitor_id) == (visitor.contact_id, visitor.pk)
    assert stored.installation_id == site.installation_id


def test_a_push_subscription_the_app_cannot_push_to_refuses_the_whole_batch(
    client: Client, site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    _real_modules(monkeypatch)
    subscription = _browser_subscription()
    subscription["keys"]["p256dh"] = "AAAA"
    event = {"id": "e_push_00001", "type": "push", "age": 0, "subscription": subscription}

    response = post(client, site.key, body(page(), event))

    assert response.status_code == 400
    assert response.json()["path"] == "events[1].subscription"
    assert "p256dh" in response.json()["error"]
    assert not PushSubscription.objects.exists()
    assert not Event.objects.exists() and not Visitor.objects.exists()


# --- refusals -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "path", "message"),
    [
        (b"{not json", "", "the body is not JSON"),
        (b"[]", "", "the body must be a JSON object"),
        (body(page(), v="short"), "v", "8 to 64 characters"),
        (body(page(), v="v_has spaces_in_it"), "v", "8 to 64 characters"),
        ({"events": [page()]}, "v", "is required"),
        ({**body(page()), "extra": 1}, "extra", "is not a field"),
        (body(), "events", "at least one event"),
        (body(*[page(f"e_page_{i:04}") for i in range(51)]), "events", "51 events, at most 50"),
        (body(page(), {"id": "e_12345678", "age": 0}), "events[1].type", "needs a type"),
        (body(page(), {**page(), "type": "click"}), "events[1].type", "unknown event type 'click'"),
        (body(page(), page(id="x")), "events[1].id", "8 to 64 characters"),
        (body(page(age=-1)), "events[0].age", "greater than or equal to 0"),
        (body(page(age="5")), "events[0].age", "valid integer"),
        (body(page(url="/products/blue-hoodie")), "events[0].url", "absolute http(s) URL"),
        (body(page(url="javascript:alert(1)")), "events[0].url", "absolute http(s) URL"),
        (body(page(url=SHOP + "/" + "a" * 2048)), "events[0].url", "at most 2048 characters"),
        (body(page(title="t" * 301)), "events[0].title", "at most 300 characters"),
        (body({k: v for k, v in page().items() if k != "title"}), "events[0].title", "required"),
        (body(page(title=7)), "events[0].title", "valid string"),
        (body(page(product={"name": "Hoodie"})), "events[0].product.id", "is required"),
        (body(page(product={"id": "p", "sku": "H-1"})), "events[0].product.sku", "not a field"),
        (body(page(product={"id": "p", "price": "35,00"})), "events[0].product.price", "decimal"),
        (body(page(product={"id": "p", "currency": "usd"})), "events[0].product.currency", "USD"),
        (body(page(product={"id": "p", "image": "data:x"})), "events[0].product.image", "URL"),
        (body(engaged(seconds=86401)), "events[0].seconds", "less than or equal to 86400"),
        (body(engaged(page="p")), "events[0].page", "8 to 64 characters"),
        (
            body({"id": "e_track_0001", "type": "track", "age": 0, "name": "Added"}),
            "events[0].name",
            "^[a-z][a-z0-9_]{0,47}$",
        ),
        (
            body(
                {
                    "id": "e_track_0001",
                    "type": "track",
                    "age": 0,
                    "name": "big",
                    "props": {"x": "y" * 4100},
                }
            ),
            "events[0].props",
            "at most 4096",
        ),
        (
            body({"id": "e_track_0001", "type": "track", "age": 0, "name": "x", "props": []}),
            "events[0].props",
            "must be an object",
        ),
        (
            body({"id": "e_ident_0001", "type": "identify", "age": 0, "email": "ann"}),
            "events[0].email",
            "email address",
        ),
        (
            body({"id": "e_msg_00001", "type": "message", "age": 0, "message": 4, "action": "x"}),
            "events[0].action",
            "'shown', 'clicked' or 'dismissed'",
        ),
        (
            body({"id": "e_push_00001", "type": "push", "age": 0, "unsubscribe": True}),
            "events[0]",
            "unsubscribe: true needs an endpoint",
        ),
        (
            body(
                {
                    "id": "e_push_00001",
                    "type": "push",
                    "age": 0,
                    "subscription": {"endpoint": "https://p.example/1", "keys": {"p256dh": "k"}},
                }
            ),
            "events[0].subscription.keys.auth",
            "is required",
        ),
    ],
)
def test_an_invalid_body_is_refused_with_what_is_wrong_and_where(
    client: Client, site: Site, payload: Any, path: str, message: str
) -> None:
    response = post(client, site.key, payload)

    assert response.status_code == 400
    assert response.json()["path"] == path
    assert message in response.json()["error"]
    assert response["Access-Control-Allow-Origin"] == SHOP  # the snippet may read why
    assert not Event.objects.exists() and not Visitor.objects.exists()


def test_one_invalid_event_refuses_the_whole_batch(client: Client, site: Site) -> None:
    response = post(client, site.key, body(page(), engaged(seconds=-1)))

    assert response.status_code == 400
    assert response.json() == {
        "error": "must be greater than or equal to 0",
        "path": "events[1].seconds",
    }
    assert not Event.objects.exists()


def test_an_unknown_site_key_is_not_found(client: Client, site: Site) -> None:
    response = post(client, "no-such-key", body(page()))

    assert response.status_code == 404
    assert response.json() == {"error": "no installation has this site key", "path": ""}
    assert "Access-Control-Allow-Origin" not in response


def test_the_site_of_an_inactive_installation_is_not_found(client: Client, site: Site) -> None:
    Installation.objects.filter(pk=site.installation_id).update(is_active=False)

    assert post(client, site.key, body(page())).status_code == 404


def test_methods_other_than_post_and_options_are_refused(client: Client, site: Site) -> None:
    response = client.get(f"/api/web/{site.key}/collect", headers={"Origin": SHOP})

    assert response.status_code == 405
    assert response["Allow"] == "POST, OPTIONS"
    assert "use POST" in response.json()["error"]


@pytest.mark.parametrize(
    "origin",
    [
        OTHER_SHOP,
        "https://shop.example.com.evil.example",
        "http://shop.example.com",  # the right host without TLS is another origin
        "https://shop.example.com:8443",
        "null",
    ],
)
def test_a_request_from_another_origin_is_forbidden_and_not_readable(
    client: Client, site: Site, origin: str
) -> None:
    response = post(client, site.key, body(page()), origin=origin)

    assert response.status_code == 403
    assert "is not a storefront of this site" in response.json()["error"]
    assert "Access-Control-Allow-Origin" not in response
    assert not Event.objects.exists()


def test_a_request_without_origin_is_forbidden(client: Client, site: Site) -> None:
    response = post(client, site.key, body(page()), origin=None)

    assert response.status_code == 403
    assert response.json()["error"] == "the request has no Origin header"


def test_origins_are_compared_as_browsers_send_them(client: Client, site: Site) -> None:
    # Stored as typed by hand: upper case, a default port.
    site.origins = ["HTTPS://Shop.Example.com:443"]
    site.save()
    sites.clear()

    response = post(client, site.key, body(page()), origin=SHOP)

    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == SHOP


def test_a_local_storefront_origin_with_its_port_is_allowed(client: Client, site: Site) -> None:
    response = post(client, site.key, body(page()), origin="http://localhost:3000")

    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "http://localhost:3000"


@pytest.mark.parametrize(
    "content_type", ["application/x-www-form-urlencoded", "multipart/form-data; boundary=x", ""]
)
def test_other_content_types_are_refused(client: Client, site: Site, content_type: str) -> None:
    response = post(client, site.key, body(page()), content_type=content_type)

    assert response.status_code == 415
    assert "text/plain or application/json" in response.json()["error"]
    assert not Event.objects.exists()


def test_a_body_over_the_size_limit_is_refused(client: Client, site: Site, settings: Any) -> None:
    settings.SALEOR_JOURNEYS = {**settings.SALEOR_JOURNEYS, "WEB_COLLECT_MAX_BYTES": 1000}
    small = json.dumps(body(page())).encode()
    large = json.dumps(
        body(
            page(title="t" * 290),
            page("e_page_0002", title="t" * 290),
            page("e_page_0003", title="t" * 290),
        )
    ).encode()
    assert len(small) <= 1000 < len(large)

    refused = post(client, site.key, large)
    accepted = post(client, site.key, small)

    assert refused.status_code == 413
    assert refused.json() == {"error": "the body is larger than 1000 bytes", "path": ""}
    assert accepted.status_code == 200
    assert len(web_events(site.installation)) == 1


def test_a_body_without_an_announced_length_is_measured_itself(site: Site, settings: Any) -> None:
    settings.SALEOR_JOURNEYS = {**settings.SALEOR_JOURNEYS, "WEB_COLLECT_MAX_BYTES": 1000}
    large = json.dumps(body(*(page(f"e_page_{i:04}", title="t" * 290) for i in range(3))))
    # A chunked upload through an ASGI server: no Content-Length, the body streams in.
    scope = {
        "type": "http",
        "method": "POST",
        "path": f"/api/web/{site.key}/collect",
        "query_string": b"",
        "headers": [
            (b"origin", SHOP.encode()),
            (b"content-type", b"text/plain;charset=UTF-8"),
            (b"user-agent", BROWSER.encode()),
        ],
    }

    response = collect_views.collect_view(ASGIRequest(scope, io.BytesIO(large.encode())), site.key)

    assert response.status_code == 413
    assert not Event.objects.exists()


def test_the_events_of_one_visitor_are_limited_per_minute(
    client: Client, site: Site, clock: FrozenClock, settings: Any
) -> None:
    settings.SALEOR_JOURNEYS = {**settings.SALEOR_JOURNEYS, "WEB_RATE_PER_VISITOR": 3}
    # NOW is 30 s into a minute: the window ends in 30 s.

    first = post(client, site.key, body(page("e_page_0001"), engaged("e_engaged_0001")))
    second = post(client, site.key, body(page("e_page_0002"), engaged("e_engaged_0002")))
    other = post(client, site.key, body(page("e_page_0003"), v="v_another_browser"))

    assert first.status_code == 200
    assert second.status_code == 429
    assert second["Retry-After"] == "30"
    assert second.json() == {
        "error": "too many events from this visitor; try again later",
        "path": "",
    }
    assert second["Access-Control-Allow-Origin"] == SHOP
    assert other.status_code == 200
    assert len(web_events(site.installation)) == 3

    clock.advance(timedelta(seconds=30))  # the next minute
    assert post(client, site.key, body(page("e_page_0004"))).status_code == 200


def test_the_events_of_one_ip_address_are_limited_per_minute(
    client: Client, site: Site, clock: FrozenClock, settings: Any
) -> None:
    settings.SALEOR_JOURNEYS = {**settings.SALEOR_JOURNEYS, "WEB_RATE_PER_IP": 3}

    answers = [
        post(client, site.key, body(page(), v=f"v_browser_{i}"), REMOTE_ADDR="203.0.113.7")
        for i in range(4)
    ]
    elsewhere = post(client, site.key, body(page(), v="v_browser_9"), REMOTE_ADDR="198.51.100.2")

    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert answers[3]["Retry-After"] == "30"
    assert "too many events from this IP address" in answers[3].json()["error"]
    assert elsewhere.status_code == 200
    assert Visitor.objects.filter(uid="v_browser_3").count() == 0


@pytest.mark.parametrize(
    "user_agent",
    [
        GOOGLEBOT,
        "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
        "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
        "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
        "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
        "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2)",
        "Mozilla/5.0 (compatible; Baiduspider/2.0)",
        "",
        "   ",
    ],
)
def test_crawlers_and_bots_are_answered_but_store_nothing(
    client: Client, site: Site, user_agent: str
) -> None:
    response = post(client, site.key, body(page()), user_agent=user_agent)

    assert response.status_code == 202
    assert response.json() == {"dropped": "bot"}
    assert not Event.objects.exists() and not Visitor.objects.exists()


@pytest.mark.parametrize(
    "user_agent",
    [
        BROWSER,
        HEADLESS_CHROMIUM,
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
        "Mozilla/5.0 (Linux; Android 10; CUBOT_X30) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/120.0.0.0 Mobile Safari/537.36",
        "Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0",
    ],
)
def test_browsers_headless_chromium_included_are_not_bots(user_agent: str) -> None:
    assert not bots.is_bot(user_agent)


def test_headless_chromium_is_taken_in(client: Client, site: Site) -> None:
    response = post(client, site.key, body(page()), user_agent=HEADLESS_CHROMIUM)

    assert response.status_code == 200
    assert len(web_events(site.installation)) == 1


# --- CORS preflight -------------------------------------------------------------------------


def test_a_preflight_from_a_storefront_is_allowed(client: Client, site: Site) -> None:
    response = client.options(
        f"/api/web/{site.key}/collect",
        headers={
            "Origin": SHOP,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )

    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == SHOP
    assert response["Access-Control-Allow-Methods"] == "POST, OPTIONS"
    assert response["Access-Control-Allow-Headers"] == "Content-Type"
    assert response["Vary"] == "Origin"
    assert not Visitor.objects.exists()


def test_a_preflight_from_another_origin_is_refused(client: Client, site: Site) -> None:
    response = client.options(
        f"/api/web/{site.key}/collect",
        headers={"Origin": OTHER_SHOP, "Access-Control-Request-Method": "POST"},
    )

    assert response.status_code == 403
    assert "Access-Control-Allow-Origin" not in response
    assert "Access-Control-Allow-Methods" not in response


# --- installations ----------------------------------------------------------------------------


def test_installations_see_nothing_of_each_other(client: Client, site: Site) -> None:
    other = make_installation("http://other-shop.example.com/graphql/", {"keys": []})
    other_site = sites.site_for(other)
    other_site.origins = [OTHER_SHOP]
    other_site.save()

    mine = post(client, site.key, body(page("e_page_0001")))
    theirs = post(client, other_site.key, body(page("e_page_0001")), origin=OTHER_SHOP)
    crossed = post(client, site.key, body(page("e_page_0002")), origin=OTHER_SHOP)

    assert mine.status_code == theirs.status_code == 200
    assert crossed.status_code == 403
    visitor = Visitor.objects.get(installation=site.installation, uid=UID)
    other_visitor = Visitor.objects.get(installation=other, uid=UID)
    assert visitor.contact_id != other_visitor.contact_id
    assert visitor.contact.installation_id == site.installation_id
    assert other_visitor.contact.installation_id == other.pk
    # The same event id of the same browser id is one event in each installation.
    assert [e.contact_id for e in web_events(site.installation)] == [visitor.contact_id]
    assert [e.contact_id for e in web_events(other)] == [other_visitor.contact_id]


def test_a_site_is_made_once_per_installation_with_a_key_of_its_own(shop: Installation) -> None:
    other = make_installation("http://other-shop.example.com/graphql/", {"keys": []})

    first = sites.site_for(shop)

    assert sites.site_for(shop).pk == first.pk
    assert sites.site_for(other).key != first.key
    assert sites.site_by_key(first.key) == first
    assert sites.site_by_key("nope") is None


# --- the key of an event ----------------------------------------------------------------------


def test_event_keys_stay_unique_when_the_ids_are_as_long_as_allowed() -> None:
    uid, one, two = "v" * 64, "e" * 63 + "1", "e" * 63 + "2"

    assert len(collect.event_key(uid, one)) <= 128
    assert collect.event_key(uid, one) != collect.event_key(uid, two)
    assert collect.event_key(uid, one).startswith(f"web:{uid}:")
    assert collect.event_key(UID, "e_page_0001") == f"web:{UID}:e_page_0001"


def test_a_captured_form_answers_the_welcome_journeys_form(
    client: Client,
    site: Site,
    clock: FrozenClock,
    smtp: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    """The welcome journey waits for the interests form; the storefront's captured form is it."""
    from saleor_journeys.journeys import builtin, versions
    from saleor_journeys.journeys.models import Run
    from saleor_journeys.runtime import runs

    ann = Contact.objects.create(installation=site.installation, email="ann@example.com")
    journey = versions.create(site.installation, builtin.load("welcome"), actor="tests")
    versions.publish(journey, actor="tests")
    with django_capture_on_commit_callbacks(execute=True):
        runs.enroll(journey, ann, now=NOW)
    assert Run.objects.get().node == "wait-for-form"

    form = {
        "id": "e_form_00001",
        "type": "identify",
        "age": 0,
        "email": "ann@example.com",
        "props": {"interests": "dogs"},
        "form": "welcome-interests",
    }
    with django_capture_on_commit_callbacks(execute=True):
        assert post(client, site.key, body(form)).status_code == 200

    run = Run.objects.get()
    assert run.node == "before-video"  # the answered branch, not the reminder
    ann.refresh_from_db()
    assert ann.properties["welcome_form"] == "answered"
