"""The contact card in the API: state, consent, interests, what the person looks at, their
browsers, one timeline of events and messages; finding a card by id or by browser; the staff
mutations on cards; and one shop never reaching another's cards."""

from __future__ import annotations

import importlib
import sys
import types
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from itertools import count
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from saleor_journeys.auth import api_keys
from saleor_journeys.commerce.models import Order, OrderLine
from saleor_journeys.contacts.models import Contact, ContactKind
from saleor_journeys.core.clock import FrozenClock
from saleor_journeys.events.models import Event
from saleor_journeys.messaging.models import Consent, Message, MessageStatus
from saleor_journeys.saleor.models import Installation
from saleor_journeys.web.models import Site, Visitor
from tests.conftest import make_installation
from tests.graphql.conftest import gql

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
STOREFRONT = "https://shop.example.com"
_keys = count(1)

CARD = """
query Card($id: ID!) {
  contactById(id: $id) {
    id email state kind tags declaredInterests score
    consents { channel status source updatedAt }
    interests { categoryId name weight views purchases lastAt }
    currentInterest {
      url title referrer at product { id name price currency } category { id name }
    }
    visitors { uid firstSeen lastSeen identifiedAt identifiedBy }
  }
}
"""
TIMELINE = """
query Timeline($id: ID!, $first: Int, $after: String, $offset: Int, $kinds: [TimelineKind!]) {
  contactById(id: $id) {
    timeline(first: $first, after: $after, offset: $offset, kinds: $kinds) {
      edges { cursor node {
        kind type source occurredAt summary superseded data eventId
        message { id status channel template }
      } }
      pageInfo { hasNextPage endCursor }
    }
  }
}
"""
BY_VISITOR = """
query ByVisitor($uid: String!) { contactByVisitor(visitorId: $uid) { id state email } }
"""


# --- what the tests build on ------------------------------------------------------------------


@pytest.fixture
def shop(db: None) -> Installation:
    return make_installation("https://card-shop.example.com/graphql/", {"keys": []})


@pytest.fixture
def key(shop: Installation) -> str:
    return api_keys.create(shop, "tests")[1]


@pytest.fixture
def other_shop(db: None) -> Installation:
    return make_installation("https://other-shop.example.com/graphql/", {"keys": []})


@pytest.fixture
def other_key(other_shop: Installation) -> str:
    return api_keys.create(other_shop, "other")[1]


def person(shop: Installation, email: str | None = "ann@example.com", **fields: Any) -> Contact:
    return Contact.objects.create(installation=shop, email=email, **fields)


def event(
    contact: Contact,
    type: str,
    at: datetime,
    data: dict[str, Any] | None = None,
    source: str = "web",
) -> Event:
    return Event.objects.create(
        installation_id=contact.installation_id,
        contact=contact,
        type=type,
        source=source,
        key=f"test:{next(_keys)}",
        occurred_at=at,
        received_at=at,
        data=data if data is not None else {"url": f"{STOREFRONT}/"},
    )


def page_view(
    contact: Contact, at: datetime, category: tuple[str, str] | None, **data: Any
) -> Event:
    payload: dict[str, Any] = {"url": f"{STOREFRONT}/p", "title": "A page", **data}
    if category is not None:
        payload["category"] = {"id": category[0], "name": category[1]}
    return event(contact, "page_viewed", at, payload)


def order(contact: Contact, at: datetime, categories: list[tuple[str, str]], status: str) -> Order:
    row = Order.objects.create(
        installation_id=contact.installation_id,
        saleor_id=f"T3JkZXI6{next(_keys)}",
        number=str(next(_keys)),
        contact=contact,
        status=status,
        created_at=at,
    )
    for number, (category_id, name) in enumerate(categories):
        OrderLine.objects.create(
            order=row,
            saleor_line_id=f"line-{row.pk}-{number}",
            quantity=2,
            category_id=category_id,
            category_name=name,
        )
    return row


def message(contact: Contact, at: datetime, status: str, **fields: Any) -> Message:
    fields.setdefault("channel", "email")
    fields.setdefault("template", "welcome-material")
    return Message.objects.create(
        installation_id=contact.installation_id,
        contact=contact,
        key=f"test:{next(_keys)}",
        status=status,
        created_at=at,
        sent_at=at if status not in (MessageStatus.FAILED, MessageStatus.SUPPRESSED) else None,
        **fields,
    )


def card_of(client: Client, key: str, contact: Contact) -> dict[str, Any]:
    body = gql(client, CARD, key, id=str(contact.pk)).json()
    assert "errors" not in body, body
    return body["data"]["contactById"]


def timeline(client: Client, key: str, contact: Contact, **variables: Any) -> dict[str, Any]:
    body = gql(client, TIMELINE, key, id=str(contact.pk), **variables).json()
    assert "errors" not in body, body
    return body["data"]["contactById"]["timeline"]


def replace(monkeypatch: pytest.MonkeyPatch, module: str, name: str, value: Any) -> None:
    """Stand in for a function of a module of the web channel, whether or not it exists yet."""
    try:
        target: Any = importlib.import_module(module)
    except ModuleNotFoundError:
        target = types.ModuleType(module)
        monkeypatch.setitem(sys.modules, module, target)
    monkeypatch.setattr(target, name, value, raising=False)


def recorder(
    result: Any,
) -> tuple[list[tuple[tuple[Any, ...], dict[str, Any]]], Callable[..., Any]]:
    calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = []

    def call(*args: Any, **kwargs: Any) -> Any:
        calls.append((args, kwargs))
        if isinstance(result, Exception):
            raise result
        return result(*args, **kwargs) if callable(result) else result

    return calls, call


# --- the card ---------------------------------------------------------------------------------


def test_card_shows_state_tags_decayed_score_and_consent_on_every_channel(
    client: Client, key: str, shop: Installation
) -> None:
    ann = person(
        shop,
        kind=ContactKind.MONITORED,
        tags=["vip", "newsletter"],
        interests=["dogs"],
        score=10.0,
        score_at=NOW,
    )
    Consent.objects.create(
        contact=ann, channel="email", status="subscribed", source="signup-form", at=NOW
    )
    Consent.objects.create(
        contact=ann, channel="sms", status="unsubscribed", source="sms-stop", at=NOW
    )

    with FrozenClock(NOW + timedelta(days=14)):  # one half-life later
        card = card_of(client, key, ann)

    assert (card["id"], card["email"]) == (str(ann.pk), "ann@example.com")
    assert card["state"] == card["kind"] == "MONITORED"
    assert (card["tags"], card["declaredInterests"]) == (["vip", "newsletter"], ["dogs"])
    assert card["score"] == 5.0
    assert card["consents"] == [
        {
            "channel": "email",
            "status": "SUBSCRIBED",
            "source": "signup-form",
            "updatedAt": NOW.isoformat(),
        },
        {
            "channel": "sms",
            "status": "UNSUBSCRIBED",
            "source": "sms-stop",
            "updatedAt": NOW.isoformat(),
        },
        {"channel": "web", "status": "UNKNOWN", "source": "", "updatedAt": None},
        {"channel": "push", "status": "UNKNOWN", "source": "", "updatedAt": None},
    ]


def test_interests_weigh_orders_above_views_and_forget_old_views(
    client: Client, key: str, shop: Installation
) -> None:
    ann = person(shop)
    hoodies, shoes, hats = ("Q2F0OjE=", "Hoodies"), ("Q2F0OjI=", "Shoes"), ("Q2F0OjM=", "Hats")
    for minutes in range(4):
        page_view(ann, NOW - timedelta(minutes=minutes), hoodies)
    page_view(ann, NOW - timedelta(days=3), ("Q2F0OjI=", "Old shoe name"))
    page_view(ann, NOW - timedelta(days=1), shoes)
    order(ann, NOW - timedelta(days=200), [shoes, shoes], status="FULFILLED")  # one order
    order(ann, NOW - timedelta(days=2), [shoes], status="UNFULFILLED")
    page_view(ann, NOW - timedelta(days=91), hats)  # too old to say anything now
    order(ann, NOW - timedelta(days=5), [hats], status="CANCELED")  # not a purchase
    page_view(ann, NOW, None)  # a page without a category
    page_view(person(shop, "bob@example.com"), NOW, hats)  # someone else's

    with FrozenClock(NOW):
        interests = card_of(client, key, ann)["interests"]

    assert interests == [
        {
            "categoryId": "Q2F0OjI=",
            "name": "Shoes",
            "weight": 8.0,  # 2 views + 3 x 2 orders
            "views": 2,
            "purchases": 2,
            "lastAt": (NOW - timedelta(days=1)).isoformat(),
        },
        {
            "categoryId": "Q2F0OjE=",
            "name": "Hoodies",
            "weight": 4.0,
            "views": 4,
            "purchases": 0,
            "lastAt": NOW.isoformat(),
        },
    ]


def test_current_interest_is_the_latest_page_view_with_its_time(
    client: Client, key: str, shop: Installation
) -> None:
    ann, bob = person(shop), person(shop, "bob@example.com")
    page_view(ann, NOW - timedelta(hours=2), ("Q2F0OjE=", "Hoodies"), title="Hoodies")
    page_view(
        ann,
        NOW - timedelta(minutes=1),
        ("Q2F0OjE=", "Hoodies"),
        url=f"{STOREFRONT}/products/blue-hoodie",
        title="Blue Hoodie",
        referrer="https://www.google.com/",
        product={
            "id": "UHJvZHVjdDoxMzI=",
            "name": "Blue Hoodie",
            "price": "35.00",
            "currency": "USD",
        },
    )
    event(ann, "page_engaged", NOW, {"url": f"{STOREFRONT}/", "seconds": 30})

    current = card_of(client, key, ann)["currentInterest"]

    assert current == {
        "url": f"{STOREFRONT}/products/blue-hoodie",
        "title": "Blue Hoodie",
        "referrer": "https://www.google.com/",
        "at": (NOW - timedelta(minutes=1)).isoformat(),
        "product": {
            "id": "UHJvZHVjdDoxMzI=",
            "name": "Blue Hoodie",
            "price": "35.00",
            "currency": "USD",
        },
        "category": {"id": "Q2F0OjE=", "name": "Hoodies"},
    }
    assert card_of(client, key, bob)["currentInterest"] is None


def test_visitors_are_the_persons_browsers_most_recent_first(
    client: Client, key: str, shop: Installation
) -> None:
    ann = person(shop, kind=ContactKind.MONITORED)
    Visitor.objects.create(
        installation=shop,
        uid="v_laptop_0001",
        contact=ann,
        created_at=NOW - timedelta(days=9),
        last_seen_at=NOW - timedelta(days=1),
        identified_at=NOW - timedelta(days=2),
        identified_by="link",
    )
    Visitor.objects.create(
        installation=shop,
        uid="v_phone_00002",
        contact=ann,
        created_at=NOW - timedelta(hours=3),
        last_seen_at=NOW,
        identified_at=NOW - timedelta(hours=1),
        identified_by="form",
    )

    visitors = card_of(client, key, ann)["visitors"]

    assert visitors == [
        {
            "uid": "v_phone_00002",
            "firstSeen": (NOW - timedelta(hours=3)).isoformat(),
            "lastSeen": NOW.isoformat(),
            "identifiedAt": (NOW - timedelta(hours=1)).isoformat(),
            "identifiedBy": "form",
        },
        {
            "uid": "v_laptop_0001",
            "firstSeen": (NOW - timedelta(days=9)).isoformat(),
            "lastSeen": (NOW - timedelta(days=1)).isoformat(),
            "identifiedAt": (NOW - timedelta(days=2)).isoformat(),
            "identifiedBy": "link",
        },
    ]


# --- the timeline -----------------------------------------------------------------------------


@pytest.fixture
def history(shop: Installation) -> Contact:
    """Seven entries of each kind, one minute apart, and a message still waiting to go."""
    ann = person(shop, kind=ContactKind.MONITORED)
    event(
        ann,
        "order_created",
        NOW - timedelta(minutes=7),
        {"order_number": "21", "total": "35.00", "currency": "USD"},
        source="saleor",
    )
    page_view(ann, NOW - timedelta(minutes=6), ("Q2F0OjE=", "Hoodies"))
    sent = message(
        ann,
        NOW - timedelta(minutes=5),
        MessageStatus.DELIVERED,
        subject="Thank you!",
        template="thank-you",
    )
    event(ann, "email_clicked", NOW - timedelta(minutes=4), {"message": sent.pk}, source="email")
    message(
        ann,
        NOW - timedelta(minutes=3),
        MessageStatus.SUPPRESSED,
        channel="sms",
        template="cart-sms",
        error="no SMS consent",
    )
    event(
        ann,
        "consent_changed",
        NOW - timedelta(minutes=2),
        {"channel": "email", "from": "unknown", "to": "subscribed"},
        source="journeys",
    )
    event(ann, "web_message_clicked", NOW - timedelta(minutes=1), {"message": 9})
    message(ann, NOW, MessageStatus.DEFERRED, template="later")  # not gone yet
    return ann


def test_timeline_is_one_list_of_events_and_messages_newest_first(
    client: Client, key: str, history: Contact
) -> None:
    nodes = [edge["node"] for edge in timeline(client, key, history, first=50)["edges"]]

    assert [(n["kind"], n["type"]) for n in nodes] == [
        ("ENGAGEMENT", "web_message_clicked"),
        ("OTHER", "consent_changed"),
        ("MESSAGE", "message_suppressed"),
        ("ENGAGEMENT", "email_clicked"),
        ("MESSAGE", "message_delivered"),
        ("VISIT", "page_viewed"),
        ("SALEOR", "order_created"),
    ]
    suppressed, delivered = nodes[2], nodes[4]
    assert suppressed["summary"] == "SMS cart-sms not sent: no SMS consent"
    assert suppressed["source"] == "sms" and suppressed["eventId"] is None
    assert suppressed["message"]["status"] == "SUPPRESSED"
    assert delivered["summary"] == "Email thank-you “Thank you!” delivered"
    assert delivered["data"]["template"] == "thank-you"
    assert delivered["message"]["channel"] == "email"
    assert nodes[-1]["summary"] == "Order #21 created: 35.00 USD"
    assert nodes[-1]["message"] is None
    assert nodes[-1]["eventId"] == str(Event.objects.get(type="order_created").pk)


def test_timeline_pages_through_the_merged_list(client: Client, key: str, history: Contact) -> None:
    everything = timeline(client, key, history, first=50)["edges"]
    first = timeline(client, key, history, first=3)
    second = timeline(client, key, history, first=3, after=first["pageInfo"]["endCursor"])
    third = timeline(client, key, history, first=3, after=second["pageInfo"]["endCursor"])
    skipped = timeline(client, key, history, first=2, offset=5)

    pages = [first, second, third]
    assert [p["pageInfo"]["hasNextPage"] for p in pages] == [True, True, False]
    assert [e["node"] for p in pages for e in p["edges"]] == [e["node"] for e in everything]
    assert [e["node"] for e in skipped["edges"]] == [e["node"] for e in everything[5:7]]


def test_timeline_keeps_only_the_kinds_asked_for(
    client: Client, key: str, history: Contact
) -> None:
    messages = timeline(client, key, history, first=10, kinds=["MESSAGE"])["edges"]
    saleor_and_visits = timeline(client, key, history, first=10, kinds=["SALEOR", "VISIT"])

    nothing = timeline(client, key, history, first=10, kinds=[])

    assert [e["node"]["type"] for e in messages] == ["message_suppressed", "message_delivered"]
    assert nothing["edges"] == [] and nothing["pageInfo"]["hasNextPage"] is False
    assert [e["node"]["type"] for e in saleor_and_visits["edges"]] == [
        "page_viewed",
        "order_created",
    ]


def test_a_timeline_page_costs_the_same_queries_however_long_it_is(
    client: Client, key: str, history: Contact
) -> None:
    def queries(first: int) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert len(timeline(client, key, history, first=first)["edges"]) == first
        return len(captured)

    short = queries(3)  # an event and a message among them
    for minute in range(30):
        message(history, NOW - timedelta(hours=1, minutes=minute), MessageStatus.SENT)
        page_view(history, NOW - timedelta(hours=2, minutes=minute), ("Q2F0OjE=", "Hoodies"))

    assert queries(60) == short


def test_timeline_page_above_the_limit_is_an_error(
    client: Client, key: str, history: Contact
) -> None:
    body = gql(client, TIMELINE, key, id=str(history.pk), first=101).json()

    assert body["data"]["contactById"]["timeline"] is None
    assert "exceeds the `first` limit of 100" in body["errors"][0]["message"]


# --- finding a card ---------------------------------------------------------------------------


def test_a_visitor_leads_to_the_card_it_is_on_even_an_anonymous_one(
    client: Client, key: str, shop: Installation
) -> None:
    anonymous = person(shop, None, kind=ContactKind.ANONYMOUS)
    Visitor.objects.create(
        installation=shop, uid="v_anon_000001", contact=anonymous, created_at=NOW, last_seen_at=NOW
    )

    found = gql(client, BY_VISITOR, key, uid="v_anon_000001").json()["data"]["contactByVisitor"]
    unknown = gql(client, BY_VISITOR, key, uid="v_nobody_0001").json()["data"]

    assert found == {"id": str(anonymous.pk), "state": "ANONYMOUS", "email": None}
    assert unknown == {"contactByVisitor": None}


@pytest.mark.parametrize("value", ["abc", "-1", "999999999", "1.5", "", "²", "9" * 30])
def test_an_id_of_no_contact_finds_nothing(client: Client, key: str, value: str) -> None:
    body = gql(client, "query($id: ID!) { contactById(id: $id) { id } }", key, id=value).json()

    assert body == {"data": {"contactById": None}}


def test_a_key_never_reaches_another_shops_card_or_visitor(
    client: Client, key: str, shop: Installation, other_key: str, other_shop: Installation
) -> None:
    ann = person(shop)
    Visitor.objects.create(
        installation=shop, uid="v_shared_0001", contact=ann, created_at=NOW, last_seen_at=NOW
    )
    theirs = person(other_shop, "ann@example.com")
    Visitor.objects.create(
        installation=other_shop,
        uid="v_shared_0001",
        contact=theirs,
        created_at=NOW,
        last_seen_at=NOW,
    )

    by_id = gql(client, CARD, other_key, id=str(ann.pk)).json()["data"]["contactById"]
    by_visitor = gql(client, BY_VISITOR, other_key, uid="v_shared_0001").json()["data"]
    own = gql(client, BY_VISITOR, key, uid="v_shared_0001").json()["data"]

    assert by_id is None
    assert by_visitor["contactByVisitor"]["id"] == str(theirs.pk)
    assert own["contactByVisitor"]["id"] == str(ann.pk)


# --- contactIdentityLink ----------------------------------------------------------------------

LINK = """
mutation Link($id: ID!, $url: String!) {
  contactIdentityLink(contactId: $id, url: $url) { url errors { code message path } }
}
"""


@pytest.fixture
def storefront(shop: Installation) -> Site:
    return Site.objects.create(installation=shop, origins=[STOREFRONT])


def fake_storefront_url(url: str, contact: Contact, source: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}sj=signed-{contact.pk}-{source}"


def test_identity_link_adds_the_identifying_parameter_for_a_storefront_page(
    client: Client, key: str, shop: Installation, storefront: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    ann = person(shop)
    calls, call = recorder(fake_storefront_url)
    replace(monkeypatch, "saleor_journeys.web.links", "storefront_url", call)

    body = gql(client, LINK, key, id=str(ann.pk), url=f" {STOREFRONT}/products/x?a=1 ").json()

    link = body["data"]["contactIdentityLink"]
    assert link == {
        "url": f"{STOREFRONT}/products/x?a=1&sj=signed-{ann.pk}-card_link",
        "errors": [],
    }
    assert calls == [((f"{STOREFRONT}/products/x?a=1", ann, "card_link"), {})]


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("https://evil.example.net/products/x", "UNKNOWN_ORIGIN"),
        ("http://shop.example.com/products/x", "UNKNOWN_ORIGIN"),
        ("https://shop.example.com.evil.net/", "UNKNOWN_ORIGIN"),
        ("https://user@shop.example.com/", "INVALID"),
        ("/products/x", "INVALID"),
        ("javascript:alert(1)", "INVALID"),
        ("", "INVALID"),
    ],
)
def test_identity_link_refuses_a_url_off_the_storefront(
    client: Client,
    key: str,
    shop: Installation,
    storefront: Site,
    monkeypatch: pytest.MonkeyPatch,
    url: str,
    code: str,
) -> None:
    calls, call = recorder(fake_storefront_url)
    replace(monkeypatch, "saleor_journeys.web.links", "storefront_url", call)

    body = gql(client, LINK, key, id=str(person(shop).pk), url=url).json()

    link = body["data"]["contactIdentityLink"]
    assert link["url"] is None
    assert [(e["code"], e["path"]) for e in link["errors"]] == [(code, "url")]
    assert calls == []


def test_identity_link_without_storefront_origins_says_to_add_them(
    client: Client, key: str, shop: Installation
) -> None:
    body = gql(client, LINK, key, id=str(person(shop).pk), url=f"{STOREFRONT}/").json()

    error = body["data"]["contactIdentityLink"]["errors"][0]
    assert error["code"] == "UNKNOWN_ORIGIN" and "siteUpdate" in error["message"]


def test_identity_link_refuses_unknown_erased_anonymous_and_foreign_cards(
    client: Client,
    key: str,
    shop: Installation,
    storefront: Site,
    other_shop: Installation,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls, call = recorder(fake_storefront_url)
    replace(monkeypatch, "saleor_journeys.web.links", "storefront_url", call)
    erased = person(shop, None, erased_at=NOW)
    anonymous = person(shop, None, kind=ContactKind.ANONYMOUS)
    foreign = person(other_shop)
    merged = person(shop, "old@example.com", properties={"merged_into": 1})

    codes = [
        gql(client, LINK, key, id=value, url=f"{STOREFRONT}/").json()["data"][
            "contactIdentityLink"
        ]["errors"][0]["code"]
        for value in (
            "12345678",
            str(erased.pk),
            str(anonymous.pk),
            str(foreign.pk),
            str(merged.pk),
        )
    ]

    assert codes == ["NOT_FOUND", "ERASED", "INVALID", "NOT_FOUND", "MERGED"]
    assert calls == []


# --- contactIdentify --------------------------------------------------------------------------

IDENTIFY = """
mutation Identify($uid: String!, $email: String!, $properties: GenericScalar) {
  contactIdentify(visitorId: $uid, email: $email, properties: $properties) {
    contact { id email state }
    errors { code message path }
  }
}
"""


@pytest.fixture
def visitor(shop: Installation) -> Visitor:
    anonymous = person(shop, None, kind=ContactKind.ANONYMOUS)
    return Visitor.objects.create(
        installation=shop, uid="v_browser_001", contact=anonymous, created_at=NOW, last_seen_at=NOW
    )


def test_identify_hands_the_visitor_and_the_form_to_identity(
    client: Client, key: str, shop: Installation, visitor: Visitor, monkeypatch: pytest.MonkeyPatch
) -> None:
    ann = person(shop, kind=ContactKind.MONITORED)
    calls, call = recorder(ann)
    replace(monkeypatch, "saleor_journeys.web.identity", "identify_email", call)

    with FrozenClock(NOW):
        body = gql(
            client,
            IDENTIFY,
            key,
            uid="v_browser_001",
            email=" Ann@Example.com ",
            properties={"first_name": "Ann", "plan": "gold"},
        ).json()

    assert body["data"]["contactIdentify"] == {
        "contact": {"id": str(ann.pk), "email": "ann@example.com", "state": "MONITORED"},
        "errors": [],
    }
    [(args, kwargs)] = calls
    assert args == (visitor, "ann@example.com", {"first_name": "Ann", "plan": "gold"})
    assert kwargs == {"source": "api", "now": NOW}


@pytest.mark.parametrize(
    ("uid", "email", "properties", "code", "path"),
    [
        ("v_unknown_001", "ann@example.com", None, "NOT_FOUND", "visitorId"),
        ("v_browser_001", "not-an-email", None, "INVALID", "email"),
        ("v_browser_001", "ann@", None, "INVALID", "email"),
        ("v_browser_001", "ann@example.com", ["a", "list"], "INVALID", "properties"),
        ("v_browser_001", "ann@example.com", "text", "INVALID", "properties"),
    ],
)
def test_identify_refuses_an_unknown_visitor_or_bad_input(
    client: Client,
    key: str,
    visitor: Visitor,
    monkeypatch: pytest.MonkeyPatch,
    uid: str,
    email: str,
    properties: Any,
    code: str,
    path: str,
) -> None:
    calls, call = recorder(None)
    replace(monkeypatch, "saleor_journeys.web.identity", "identify_email", call)

    body = gql(client, IDENTIFY, key, uid=uid, email=email, properties=properties).json()

    result = body["data"]["contactIdentify"]
    assert result["contact"] is None
    assert [(e["code"], e["path"]) for e in result["errors"]] == [(code, path)]
    assert calls == []


def test_identify_of_an_erased_person_is_refused(
    client: Client, key: str, visitor: Visitor, monkeypatch: pytest.MonkeyPatch
) -> None:
    replace(monkeypatch, "saleor_journeys.web.identity", "identify_email", recorder(None)[1])

    body = gql(client, IDENTIFY, key, uid="v_browser_001", email="gone@example.com").json()

    assert [e["code"] for e in body["data"]["contactIdentify"]["errors"]] == ["ERASED"]


def test_identify_never_reaches_another_shops_visitor(
    client: Client, other_key: str, visitor: Visitor, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls, call = recorder(None)
    replace(monkeypatch, "saleor_journeys.web.identity", "identify_email", call)

    body = gql(client, IDENTIFY, other_key, uid="v_browser_001", email="ann@example.com").json()

    assert [e["code"] for e in body["data"]["contactIdentify"]["errors"]] == ["NOT_FOUND"]
    assert calls == []


# --- contactMerge and contactUnmerge ----------------------------------------------------------

MERGE = """
mutation Merge($keep: ID!, $other: ID!) {
  contactMerge(keepId: $keep, otherId: $other) {
    contact { id email tags } mergeEventId errors { code message path }
  }
}
"""
UNMERGE = """
mutation Unmerge($event: ID!) {
  contactUnmerge(mergeEventId: $event) { contact { id email } errors { code message path } }
}
"""


def test_merge_hands_both_cards_to_merge_and_returns_the_kept_one(
    client: Client, key: str, shop: Installation, monkeypatch: pytest.MonkeyPatch
) -> None:
    keep, other = person(shop), person(shop, "ann.old@example.com")
    merged = event(keep, "contacts_merged", NOW, {"other": other.pk}, source="journeys")
    calls, call = recorder(merged)
    replace(monkeypatch, "saleor_journeys.contacts.merge", "merge", call)

    with FrozenClock(NOW):
        body = gql(client, MERGE, key, keep=str(keep.pk), other=str(other.pk)).json()

    assert body["data"]["contactMerge"] == {
        "contact": {"id": str(keep.pk), "email": "ann@example.com", "tags": []},
        "mergeEventId": str(merged.pk),
        "errors": [],
    }
    assert calls == [((keep, other), {"reason": "staff", "now": NOW})]


def test_merge_refuses_one_card_twice_foreign_erased_and_merged_cards(
    client: Client,
    key: str,
    shop: Installation,
    other_shop: Installation,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls, call = recorder(None)
    replace(monkeypatch, "saleor_journeys.contacts.merge", "merge", call)
    ann = person(shop)
    foreign = person(other_shop)
    erased = person(shop, None, erased_at=NOW)
    retired = person(shop, None, properties={"merged_into": ann.pk})

    def refusal(keep: Any, other: Any) -> tuple[str, str]:
        body = gql(client, MERGE, key, keep=str(keep), other=str(other)).json()
        result = body["data"]["contactMerge"]
        assert result["contact"] is None and result["mergeEventId"] is None
        [problem] = result["errors"]
        return problem["code"], problem["path"]

    assert refusal(ann.pk, ann.pk) == ("INVALID", "otherId")
    assert refusal(ann.pk, foreign.pk) == ("NOT_FOUND", "otherId")
    assert refusal(foreign.pk, ann.pk) == ("NOT_FOUND", "keepId")
    assert refusal(ann.pk, erased.pk) == ("ERASED", "otherId")
    assert refusal(erased.pk, ann.pk) == ("ERASED", "keepId")
    assert refusal(ann.pk, retired.pk) == ("MERGED", "otherId")
    assert refusal("x", ann.pk) == ("NOT_FOUND", "keepId")
    assert calls == []


def test_a_merge_that_fails_changes_nothing_and_says_why(
    client: Client, key: str, shop: Installation, monkeypatch: pytest.MonkeyPatch
) -> None:
    keep, other = person(shop), person(shop, "b@example.com")

    def half_done(keep: Contact, other: Contact, **kwargs: Any) -> Event:
        Contact.objects.filter(pk=keep.pk).update(tags=["half-merged"])
        raise ValueError("the cards belong to two Saleor accounts")

    replace(monkeypatch, "saleor_journeys.contacts.merge", "merge", half_done)

    body = gql(client, MERGE, key, keep=str(keep.pk), other=str(other.pk)).json()

    assert body["data"]["contactMerge"]["errors"] == [
        {
            "code": "REFUSED",
            "message": "the cards belong to two Saleor accounts",
            "path": "otherId",
        }
    ]
    keep.refresh_from_db()
    assert keep.tags == []  # rolled back


def test_unmerge_hands_the_merge_event_over_and_returns_the_card_brought_back(
    client: Client, key: str, shop: Installation, monkeypatch: pytest.MonkeyPatch
) -> None:
    keep, other = person(shop), person(shop, "ann.old@example.com")
    merged = event(keep, "contacts_merged", NOW, {"other": other.pk}, source="journeys")
    calls, call = recorder(other)
    replace(monkeypatch, "saleor_journeys.contacts.merge", "unmerge", call)

    with FrozenClock(NOW):
        body = gql(client, UNMERGE, key, event=str(merged.pk)).json()

    assert body["data"]["contactUnmerge"] == {
        "contact": {"id": str(other.pk), "email": "ann.old@example.com"},
        "errors": [],
    }
    assert calls == [((merged,), {"now": NOW})]


def test_unmerge_refusals_come_back_as_errors(
    client: Client,
    key: str,
    shop: Installation,
    other_shop: Installation,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls, call = recorder(ValueError("this merge was already reversed"))
    replace(monkeypatch, "saleor_journeys.contacts.merge", "unmerge", call)
    merged = event(person(shop), "contacts_merged", NOW, {}, source="journeys")
    foreign = event(person(other_shop), "contacts_merged", NOW, {}, source="journeys")

    def errors(value: str) -> list[dict[str, str]]:
        result = gql(client, UNMERGE, key, event=value).json()["data"]["contactUnmerge"]
        assert result["contact"] is None
        return list(result["errors"])

    assert errors(str(merged.pk)) == [
        {"code": "REFUSED", "message": "this merge was already reversed", "path": "mergeEventId"}
    ]
    assert [e["code"] for e in errors(str(foreign.pk))] == ["NOT_FOUND"]
    assert [e["code"] for e in errors("nope")] == ["NOT_FOUND"]
    assert len(calls) == 1


# --- with the real identity and merge modules -------------------------------------------------


def test_real_identity_link_identifies_the_browser_that_opens_it(
    client: Client, key: str, shop: Installation, storefront: Site
) -> None:
    from saleor_journeys.web import identity, links

    ann = person(shop)
    body = gql(client, LINK, key, id=str(ann.pk), url=f"{STOREFRONT}/products/x").json()
    url = body["data"]["contactIdentityLink"]["url"]
    token = url.split("sj=", 1)[1]
    anonymous = person(shop, None, kind=ContactKind.ANONYMOUS)
    browser = Visitor.objects.create(
        installation=shop, uid="v_opened_0001", contact=anonymous, created_at=NOW, last_seen_at=NOW
    )

    assert links.read_token(token) == (ann.pk, shop.pk, "card_link")
    assert identity.identify_token(browser, token, now=NOW) == ann
    browser.refresh_from_db()
    assert (browser.contact_id, browser.identified_by) == (ann.pk, "card_link")


def test_real_identify_merge_and_unmerge_through_the_api(
    client: Client, key: str, shop: Installation, visitor: Visitor
) -> None:
    anonymous = visitor.contact
    page_view(anonymous, datetime.now(UTC) - timedelta(minutes=5), ("Q2F0OjE=", "Hoodies"))
    old = person(shop, "ann.old@example.com", tags=["old"])

    identified = gql(client, IDENTIFY, key, uid="v_browser_001", email="ann@example.com").json()[
        "data"
    ]["contactIdentify"]
    ann = Contact.objects.get(installation=shop, email="ann@example.com")
    merged = gql(client, MERGE, key, keep=str(ann.pk), other=str(old.pk)).json()["data"][
        "contactMerge"
    ]
    unmerged = gql(client, UNMERGE, key, event=merged["mergeEventId"]).json()["data"][
        "contactUnmerge"
    ]
    again = gql(client, UNMERGE, key, event=merged["mergeEventId"]).json()["data"]["contactUnmerge"]

    assert identified["contact"]["state"] == "MONITORED"
    assert Visitor.objects.get(pk=visitor.pk).contact_id == ann.pk
    assert Event.objects.filter(contact=ann, type="page_viewed").count() == 1
    assert merged["errors"] == [] and "old" in merged["contact"]["tags"]
    assert unmerged["contact"]["id"] == str(old.pk)
    assert Contact.objects.get(pk=old.pk).email == "ann.old@example.com"
    assert [e["code"] for e in again["errors"]] == ["REFUSED"]
