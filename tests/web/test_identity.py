"""Who is behind a browser: anonymous → identified → monitored, the window of attached events,
identity links, checkouts that name the visitor, and the purge of anonymous data."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from django.utils import timezone

from saleor_journeys.contacts import merge
from saleor_journeys.contacts.models import Contact, ContactKind, Erasure
from saleor_journeys.core.clock import FrozenClock
from saleor_journeys.events import log
from saleor_journeys.events.models import Event
from saleor_journeys.messaging import tracking
from saleor_journeys.messaging.models import Message, MessageStatus
from saleor_journeys.runtime.schedule import beat_schedule
from saleor_journeys.saleor.models import Installation
from saleor_journeys.web import identity, links, tasks
from saleor_journeys.web.models import PushSubscription, Site, Visitor
from tests.conftest import make_installation
from tests.fixtures import deliveries

SendRecorded = Callable[[dict[str, Any]], Any]
T0 = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)
WINDOW = timedelta(hours=3)  # WEB_IDENTITY_WINDOW
RETENTION = timedelta(hours=4)  # WEB_ANONYMOUS_RETENTION
SHOP = "https://shop.example.com"
BROWSER = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36"
)


def browser(installation: Installation, uid: str, *, seen: datetime = T0) -> Visitor:
    """A visitor on an anonymous card of its own, as the collect endpoint makes it."""
    contact = Contact.objects.create(installation=installation, kind=ContactKind.ANONYMOUS)
    return Visitor.objects.create(
        installation=installation, uid=uid, contact=contact, created_at=seen, last_seen_at=seen
    )


def page(contact: Contact, at: datetime, path: str = "/") -> Event:
    return log.record(
        installation_id=contact.installation_id,
        contact=contact,
        type="page_viewed",
        source="web",
        key=f"web:{uuid.uuid4().hex}",
        occurred_at=at,
        received_at=at,
        data={"url": f"{SHOP}{path}"},
    )


def person(installation: Installation, email: str = "ann@example.com", **fields: Any) -> Contact:
    return Contact.objects.create(installation=installation, email=email, **fields)


def identified_events(contact: Contact) -> list[dict[str, Any]]:
    return list(contact.events.filter(type="identified").values_list("data", flat=True))


# --- the window ------------------------------------------------------------------------------


def test_identifying_attaches_the_events_of_the_window_and_no_older_ones(
    installation: Installation,
) -> None:
    visitor = browser(installation, "v_window")
    anonymous = visitor.contact
    at_edge = page(anonymous, T0 - WINDOW, "/edge")
    just_before = page(anonymous, T0 - WINDOW - timedelta(seconds=1), "/older")
    recent = page(anonymous, T0 - timedelta(minutes=2), "/products/blue-hoodie")

    with FrozenClock(T0):
        ann = identity.identify_email(
            visitor, "Ann@Example.com ", {"first_name": "Ann"}, source="form", now=T0
        )

    assert ann is not None and ann.email == "ann@example.com" and ann.first_name == "Ann"
    assert ann.kind == ContactKind.MONITORED
    assert set(ann.events.filter(type="page_viewed")) == {at_edge, recent}
    assert list(anonymous.events.all()) == [just_before]  # stays anonymous, purged later
    assert identified_events(ann) == [{"visitor": "v_window", "source": "form", "events": 2}]
    visitor.refresh_from_db()
    assert (visitor.contact, visitor.identified_at, visitor.identified_by) == (ann, T0, "form")
    # The anonymous card is merged, not deleted: the merge can be taken back.
    anonymous.refresh_from_db()
    assert anonymous.properties == {"merged_into": ann.pk}
    merged = ann.events.get(type="contacts_merged")
    assert merged.data["reason"] == "visitor:form"


def test_identifying_again_as_the_same_person_changes_nothing(
    installation: Installation,
) -> None:
    visitor = browser(installation, "v_twice")
    page(visitor.contact, T0 - timedelta(minutes=5))
    ann = identity.identify_email(visitor, "ann@example.com", {}, source="form", now=T0)
    assert ann is not None

    again = identity.identify_email(
        visitor, "ann@example.com", {}, source="identify", now=T0 + timedelta(minutes=1)
    )

    assert again == ann
    assert len(identified_events(ann)) == 1
    assert ann.events.filter(type="contacts_merged").count() == 1
    visitor.refresh_from_db()
    assert (visitor.identified_at, visitor.identified_by) == (T0, "form")


def test_a_shared_computer_moves_to_the_second_person_without_the_first_ones_data(
    installation: Installation,
) -> None:
    visitor = browser(installation, "v_family_laptop")
    ann = identity.identify_email(visitor, "ann@example.com", {}, source="form", now=T0)
    assert ann is not None
    page(ann, T0 + timedelta(minutes=10), "/gifts")  # Ann browsing, on her card now
    later = T0 + timedelta(hours=1)

    bob = identity.identify_email(visitor, "bob@example.com", {}, source="form", now=later)

    assert bob is not None and bob != ann
    visitor.refresh_from_db()
    assert (visitor.contact, visitor.identified_at) == (bob, later)
    assert ann.events.filter(type="page_viewed").count() == 1
    assert list(bob.events.values_list("type", flat=True)) == ["identified"]
    assert identified_events(bob) == [{"visitor": "v_family_laptop", "source": "form", "events": 0}]
    assert Contact.objects.get(pk=ann.pk).kind == ContactKind.MONITORED


def test_a_card_is_identified_until_behaviour_is_linked_to_it(
    installation: Installation,
) -> None:
    ann = person(installation)
    assert ann.kind == ContactKind.IDENTIFIED
    visitor = browser(installation, "v_ann")

    identity.identify(visitor, ann, source="api", now=T0)

    ann.refresh_from_db()
    assert ann.kind == ContactKind.MONITORED
    assert person(installation, "bob@example.com").kind == ContactKind.IDENTIFIED


def test_an_erased_person_is_not_identified_nor_recreated(installation: Installation) -> None:
    visitor = browser(installation, "v_gone")
    anonymous = visitor.contact
    erased = person(installation, "gone@example.com")
    Contact.objects.filter(pk=erased.pk).update(email=None, erased_at=T0 - timedelta(days=1))
    erased.refresh_from_db()
    Erasure.objects.create(
        installation=installation,
        email_sha256=hashlib.sha256(b"gone@example.com").hexdigest(),
        issued_at=T0 - timedelta(days=1),
    )

    assert identity.identify(visitor, erased, source="api", now=T0) == erased
    assert identity.identify_email(visitor, "Gone@example.com", {}, source="form", now=T0) is None

    assert not Contact.objects.filter(email="gone@example.com").exists()
    visitor.refresh_from_db()
    assert visitor.contact == anonymous and visitor.identified_at is None


# --- forms ----------------------------------------------------------------------------------


def test_a_form_fills_blank_fields_and_properties_but_overwrites_nothing(
    installation: Installation,
) -> None:
    ann = person(installation, first_name="Ann", properties={"plan": "gold"})
    visitor = browser(installation, "v_form")

    identified = identity.identify_email(
        visitor,
        "ann@example.com",
        {"first_name": "Annie", "last_name": "Lee", "phone": "+34600111222", "topic": "shoes"},
        source="form",
        now=T0,
    )

    assert identified == ann
    ann.refresh_from_db()
    assert (ann.first_name, ann.last_name, ann.phone) == ("Ann", "Lee", "+34600111222")
    assert ann.properties == {"plan": "gold", "topic": "shoes"}
    assert Visitor.objects.get(uid="v_form").identified_by == "form"


@pytest.mark.parametrize("email", ["", "not-an-address", "ann@", "ann@@example.com", "a b@x.com"])
def test_an_invalid_email_identifies_nobody(installation: Installation, email: str) -> None:
    visitor = browser(installation, "v_typo")

    assert identity.identify_email(visitor, email, {}, source="form", now=T0) is None

    assert Contact.objects.filter(kind=ContactKind.ANONYMOUS).count() == 1
    assert Contact.objects.count() == 1


# --- identity links ------------------------------------------------------------------------


def test_an_identity_token_names_the_contact_its_installation_and_source(
    installation: Installation,
) -> None:
    ann = person(installation)
    for source in ("link", "card_link"):
        token = links.token(ann, source)
        assert links.read_token(token) == (ann.pk, installation.pk, source)
        # Compact in a URL: the ids, a letter, the time and the signature, nothing else.
        contact_id, installation_id, letter, stamp, signature = token.split(".")
        assert (contact_id, installation_id, letter) == (
            str(ann.pk),
            str(installation.pk),
            source[0],
        )
        assert len(stamp) <= 8 and len(signature) == 43
    with pytest.raises(ValueError, match="unknown identity link source"):
        links.token(ann, "email")


def test_a_valid_link_identifies_the_browser(installation: Installation) -> None:
    ann = person(installation)
    visitor = browser(installation, "v_from_email")
    page(visitor.contact, T0 - timedelta(seconds=1))

    with FrozenClock(T0 - timedelta(days=3)):
        token = links.token(ann, "card_link")
    with FrozenClock(T0):
        identified = identity.identify_token(visitor, token, now=T0)

    assert identified == ann
    visitor.refresh_from_db()
    assert (visitor.contact, visitor.identified_by) == (ann, "card_link")
    assert identified_events(ann) == [
        {"visitor": "v_from_email", "source": "card_link", "events": 1}
    ]


def _tampered(token: str) -> str:
    contact, rest = token.split(".", 1)
    return f"{int(contact) + 1}.{rest}"


def test_tampered_expired_and_foreign_tokens_identify_nobody(
    installation: Installation,
) -> None:
    ann = person(installation)
    visitor = browser(installation, "v_suspicious")
    elsewhere = make_installation("https://other.example.com/graphql/", {"keys": []})
    foreign_visitor = browser(elsewhere, "v_suspicious")
    max_age = timedelta(days=60)  # WEB_IDENTITY_LINK_MAX_AGE
    with FrozenClock(T0):
        token = links.token(ann, "link")

    with FrozenClock(T0 + max_age):
        assert links.read_token(token) is not None  # valid to its last second
        assert identity.identify_token(visitor, _tampered(token), now=T0) is None
        changed = token[:-1] + ("A" if token[-1] != "A" else "B")
        assert identity.identify_token(visitor, changed, now=T0) is None
        assert identity.identify_token(visitor, "not a token", now=T0) is None
        # A token of one shop never identifies a browser of another.
        assert identity.identify_token(foreign_visitor, token, now=T0) is None
    with FrozenClock(T0 + max_age + timedelta(seconds=1)):
        assert links.read_token(token) is None
        assert identity.identify_token(visitor, token, now=T0) is None

    assert not Event.objects.filter(type="identified").exists()
    assert Visitor.objects.filter(contact__kind=ContactKind.ANONYMOUS).count() == 2


def test_a_token_of_an_erased_person_identifies_nobody(installation: Installation) -> None:
    ann = person(installation)
    token = links.token(ann, "link")
    Contact.objects.filter(pk=ann.pk).update(email=None, erased_at=T0)
    visitor = browser(installation, "v_after_erasure")

    assert identity.identify_token(visitor, token, now=T0) is None
    assert Visitor.objects.get(pk=visitor.pk).contact.kind == ContactKind.ANONYMOUS


def test_a_token_of_a_merged_card_identifies_as_the_card_it_went_to(
    installation: Installation,
) -> None:
    ann = person(installation)
    work = person(installation, "ann@work.example")
    token = links.token(work, "link")
    merge.merge(ann, work, reason="staff", now=T0)
    visitor = browser(installation, "v_work_laptop")

    assert identity.identify_token(visitor, token, now=T0) == ann


# --- storefront URLs ------------------------------------------------------------------------


@pytest.fixture
def site(installation: Installation) -> Site:
    return Site.objects.create(installation=installation, origins=[SHOP, "http://localhost:3000"])


@pytest.mark.parametrize(
    "url",
    [
        "https://www.youtube.com/watch?v=42",
        "https://shop.example.com.evil.example/cart",
        "https://shop.example.com@evil.example/cart",
        "http://shop.example.com/cart",  # another origin: plain http
        "https://shop.example.com:8443/cart",
        "mailto:help@shop.example.com",
        "/relative/path",
    ],
)
def test_storefront_url_leaves_every_other_url_alone(
    site: Site, installation: Installation, url: str
) -> None:
    assert links.storefront_url(url, person(installation), "link") == url


def test_storefront_url_adds_the_token_on_the_shops_own_origins(
    site: Site, installation: Installation
) -> None:
    ann = person(installation)

    url = links.storefront_url(f"{SHOP}/cart?utm_source=email&sj=stale#summary", ann, "link")
    local = links.storefront_url("http://localhost:3000/", ann, "link")
    upper = links.storefront_url("https://SHOP.example.com:443/p", ann, "link")

    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path, parts.fragment) == (
        "https",
        "shop.example.com",
        "/cart",
        "summary",
    )
    query = parse_qs(parts.query)
    assert query["utm_source"] == ["email"]
    assert links.read_token(query["sj"][0]) == (ann.pk, installation.pk, "link")
    assert parts.query.startswith("utm_source=email&sj=")
    assert local.startswith("http://localhost:3000/?sj=")
    assert "sj=" in upper


def test_storefront_url_without_a_site_changes_nothing(installation: Installation) -> None:
    assert links.storefront_url(f"{SHOP}/cart", person(installation), "link") == f"{SHOP}/cart"


# --- email clicks ---------------------------------------------------------------------------


def email_to(installation: Installation, contact: Contact, html: str) -> Message:
    now = timezone.now()
    message = Message.objects.create(
        installation=installation,
        contact=contact,
        key=f"tests:{uuid.uuid4().hex}",
        channel="email",
        template="abandoned-cart-reminder",
        to=contact.email or "",
        status=MessageStatus.SENT,
        created_at=now - timedelta(hours=1),
        sent_at=now - timedelta(hours=1),
    )
    message.html = tracking.rewrite_links(html, message, "https://journeys.example.com")
    message.save(update_fields=["html"])
    return message


CART = f"{SHOP}/cart?utm_source=email"
VIDEO = "https://www.youtube.com/watch?v=42"


def test_a_persons_click_carries_the_token_to_the_storefront(
    site: Site, installation: Installation, client: Client
) -> None:
    ann = person(installation)
    message = email_to(installation, ann, f'<a href="{CART}">cart</a><a href="{VIDEO}">v</a>')

    response = client.get(
        f"/t/c/{tracking.click_token(message.pk, CART)}", headers={"User-Agent": BROWSER}
    )
    video = client.get(
        f"/t/c/{tracking.click_token(message.pk, VIDEO)}", headers={"User-Agent": BROWSER}
    )

    assert response.status_code == 302
    location = response["Location"]
    assert location.startswith(f"{CART}&sj=")
    token = parse_qs(urlsplit(location).query)["sj"][0]
    assert video["Location"] == VIDEO  # never to a third-party site
    # The storefront's snippet hands the token back: this browser is Ann's now.
    visitor = browser(installation, "v_mail_reader")
    assert identity.identify_token(visitor, token, now=T0) == ann
    assert Visitor.objects.get(pk=visitor.pk).identified_by == "link"


@pytest.mark.parametrize("method", ["scanner", "head"])
def test_a_scanners_click_gets_the_plain_link(
    site: Site, installation: Installation, client: Client, method: str
) -> None:
    ann = person(installation)
    message = email_to(installation, ann, f'<a href="{CART}">cart</a>')
    path = f"/t/c/{tracking.click_token(message.pk, CART)}"

    if method == "head":
        response = client.head(path, headers={"User-Agent": BROWSER})
    else:
        response = client.get(path, headers={"User-Agent": "Mimecast Safe Links"})

    assert response.status_code == 302 and response["Location"] == CART


# --- checkouts ------------------------------------------------------------------------------


def test_a_checkout_with_the_visitor_id_identifies_the_visitor(
    recorded_installation: Installation, send_recorded: SendRecorded
) -> None:
    scenario = deliveries.scenario("storefront_visitor_id_checkout_G")
    issued_at = datetime.fromisoformat(deliveries.payload("106_checkout_created")["issuedAt"])
    visitor = browser(recorded_installation, "v_7f3c2a9e1b", seen=issued_at)
    anonymous = visitor.contact
    hoodie = page(anonymous, issued_at - timedelta(minutes=4), "/products/blue-hoodie")
    last_week = page(anonymous, issued_at - timedelta(days=7), "/")

    for delivery in scenario:
        assert send_recorded(delivery).status_code == 200

    buyer = Contact.objects.get(email="visitante@example.org")
    assert buyer.kind == ContactKind.MONITORED
    visitor.refresh_from_db()
    assert (visitor.contact, visitor.identified_by, visitor.identified_at) == (
        buyer,
        "checkout",
        issued_at,
    )
    # Three deliveries name the visitor; it is identified once.
    assert identified_events(buyer) == [
        {"visitor": "v_7f3c2a9e1b", "source": "checkout", "events": 1}
    ]
    hoodie.refresh_from_db()
    last_week.refresh_from_db()
    assert (hoodie.contact, last_week.contact) == (buyer, anonymous)


def test_a_checkout_naming_an_unknown_visitor_creates_none(
    recorded_installation: Installation, send_recorded: SendRecorded
) -> None:
    for delivery in deliveries.scenario("storefront_visitor_id_checkout_G"):
        send_recorded(delivery)

    assert not Visitor.objects.exists()
    assert Contact.objects.get(email="visitante@example.org").kind == ContactKind.IDENTIFIED
    assert not Event.objects.filter(type="identified").exists()


# --- the purge ------------------------------------------------------------------------------


def test_the_purge_deletes_exactly_the_old_anonymous_data(installation: Installation) -> None:
    gone = browser(installation, "v_gone", seen=T0 - RETENTION - timedelta(minutes=1))
    page(gone.contact, T0 - RETENTION - timedelta(seconds=1))
    back = browser(installation, "v_back", seen=T0 - timedelta(minutes=30))
    back_old = page(back.contact, T0 - RETENTION - timedelta(hours=1))
    back_new = page(back.contact, T0 - timedelta(minutes=30))
    edge = browser(installation, "v_edge", seen=T0 - RETENTION - timedelta(hours=1))
    at_edge = page(edge.contact, T0 - RETENTION)
    subscribed = browser(installation, "v_push", seen=T0 - timedelta(days=2))
    PushSubscription.objects.create(
        installation=installation,
        contact=subscribed.contact,
        visitor=subscribed,
        endpoint="https://push.example.net/send/1",
        p256dh="key",
        auth="auth",
        created_at=T0 - timedelta(days=2),
    )
    ann = person(installation)
    ann_old = page(ann, T0 - timedelta(days=30))
    quiet = person(installation, "quiet@example.com")
    # A browser identified as Ann: what was older than the window stayed anonymous.
    identified = browser(installation, "v_ann", seen=T0 - RETENTION - timedelta(hours=2))
    leftover = page(identified.contact, T0 - RETENTION - timedelta(hours=2))
    attached = page(identified.contact, T0 - RETENTION - timedelta(minutes=30))
    identity.identify(identified, ann, source="form", now=T0 - RETENTION + timedelta(hours=2))

    with FrozenClock(T0):
        total = tasks.purge_anonymous()

    remaining = set(Event.objects.exclude(type__in=["identified", "contacts_merged"]))
    assert remaining == {back_new, at_edge, ann_old, attached}
    assert not Event.objects.filter(pk__in=[back_old.pk, leftover.pk]).exists()
    assert set(Visitor.objects.values_list("uid", flat=True)) == {
        "v_back",
        "v_edge",
        "v_push",
        "v_ann",
    }
    survivors = set(Contact.objects.all())
    assert {ann, quiet, back.contact, edge.contact, subscribed.contact} == survivors
    assert total == 3 + 2  # three old events, the two emptied anonymous cards


def test_the_purge_works_in_bounded_batches(installation: Installation) -> None:
    old = browser(installation, "v_old", seen=T0 - timedelta(days=1))
    for minutes in range(5):
        page(old.contact, T0 - timedelta(days=1, minutes=minutes))

    first = tasks.purge(T0, limit=2)
    assert (first.events, first.contacts) == (2, 0)
    assert tasks.purge(T0, limit=2).events == 2
    last = tasks.purge(T0, limit=2)
    assert (last.events, last.contacts) == (1, 1)
    assert tasks.purge(T0, limit=2) == tasks.Purged(events=0, contacts=0)
    assert not Contact.objects.exists() and not Visitor.objects.exists()


def test_the_beat_runs_the_purge() -> None:
    entry = beat_schedule()["saleor-journeys-purge-anonymous"]
    assert entry["task"] == tasks.purge_anonymous.name == "saleor_journeys.purge_anonymous"
