"""Web push: the installation's VAPID keys, browsers' subscriptions, and the push channel sending
through the real pywebpush client to a loopback push service, whose requests the tests verify
(the VAPID JWT against the site's public key) and decrypt with the browser's own key."""

from __future__ import annotations

import base64
import json
import os
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import http_ece
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.db import connection, transaction
from django.test import Client

from saleor_journeys import checks
from saleor_journeys.contacts.models import Contact, ContactKind
from saleor_journeys.core.clock import FrozenClock
from saleor_journeys.events.models import Event
from saleor_journeys.journeys import versions
from saleor_journeys.journeys.models import ActionStatus, Journey, RunAction
from saleor_journeys.messaging import channels, context, tracking
from saleor_journeys.messaging import push as push_channel
from saleor_journeys.messaging.channels import RenderError, SendError
from saleor_journeys.messaging.models import (
    Consent,
    ConsentStatus,
    Message,
    MessageStatus,
    Template,
)
from saleor_journeys.runtime import outbox, runs
from saleor_journeys.saleor.models import Installation
from saleor_journeys.web import links, push
from saleor_journeys.web.models import PushSubscription, Site, Visitor
from tests.conftest import make_installation
from tests.fixtures.push_service import PushService

SHOP = "https://shop.example.com"
PUBLIC_URL = "https://journeys.example.com"
SUBJECT = "mailto:push@shop.example.com"
T0 = datetime(2026, 3, 2, 10, tzinfo=UTC)
HOODIE = {
    "id": "UHJvZHVjdDoxMzI=",
    "name": "Blue Hoodie",
    "image": "https://cdn.example.com/hoodie.png",
    "url": f"{SHOP}/products/blue-hoodie",
    "price": "35.00",
    "currency": "USD",
}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Browser:
    """A subscribed browser: its own P-256 key pair and auth secret, as the Push API makes."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.auth = os.urandom(16)

    @property
    def p256dh(self) -> str:
        point = self.key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return b64(point)

    def subscription(self) -> dict[str, Any]:
        """``PushSubscription.toJSON()``."""
        return {
            "endpoint": self.endpoint,
            "expirationTime": None,
            "keys": {"p256dh": self.p256dh, "auth": b64(self.auth)},
        }

    def decrypt(self, body: bytes) -> dict[str, Any]:
        plain = http_ece.decrypt(
            body, private_key=self.key, auth_secret=self.auth, version="aes128gcm"
        )
        return json.loads(plain)


def configure(settings: Any, **values: Any) -> None:
    settings.SALEOR_JOURNEYS = {**settings.SALEOR_JOURNEYS, **values}


@pytest.fixture
def shop(db: None) -> Installation:
    return make_installation("http://shop.example.com/graphql/", {"keys": []})


@pytest.fixture
def site(shop: Installation) -> Site:
    return Site.objects.create(installation=shop, origins=[SHOP])


@pytest.fixture
def service(settings: Any) -> Iterator[PushService]:
    """A push service on loopback, and the settings that let the app reach it (a development
    setup: plain http, loopback allowed)."""
    configure(
        settings,
        PUBLIC_URL=PUBLIC_URL,
        WEB_PUSH_SUBJECT=SUBJECT,
        OUTGOING_WEBHOOK_REQUIRE_HTTPS=False,
        OUTGOING_WEBHOOK_ALLOWED_NETWORKS=["127.0.0.1/32"],
    )
    with PushService() as server:
        yield server


def make_visitor(site: Site, uid: str, contact: Contact | None = None) -> Visitor:
    contact = contact or Contact.objects.create(
        installation=site.installation, kind=ContactKind.ANONYMOUS, email=None
    )
    return Visitor.objects.create(
        installation=site.installation, uid=uid, contact=contact, created_at=T0, last_seen_at=T0
    )


def subscribed(site: Site, visitor: Visitor, service: PushService, name: str) -> Browser:
    browser = Browser(service.endpoint(name))
    push.subscribe(site, visitor, browser.subscription(), now=T0)
    return browser


def vapid_token(request: Any) -> tuple[str, str]:
    """The JWT and public key of ``Authorization: vapid t=<jwt>,k=<key>``."""
    scheme, _, params = request.headers["authorization"].partition(" ")
    assert scheme == "vapid"
    parts = dict(part.split("=", 1) for part in params.split(","))
    return parts["t"], parts["k"]


def verified_claims(site: Site, request: Any, audience: str) -> dict[str, Any]:
    token, key = vapid_token(request)
    site.refresh_from_db()
    assert key == site.vapid_public_key
    public = ec.EllipticCurvePublicKey.from_encoded_point(
        ec.SECP256R1(), push.b64url_decode(site.vapid_public_key)
    )
    return jwt.decode(token, public, algorithms=["ES256"], audience=audience)


# --- VAPID keys ---------------------------------------------------------------------------------


def test_the_key_pair_is_made_once_and_stays(site: Site) -> None:
    assert site.vapid_private_key == site.vapid_public_key == ""
    stale = Site.objects.get(pk=site.pk)  # another process's copy, loaded before the keys

    private, public = push.vapid_keys(site)

    raw = push.b64url_decode(public)
    assert len(raw) == 65 and raw[0] == 4  # an uncompressed P-256 point
    key = push.private_key(private)
    assert (
        push.b64url(
            key.public_key().public_bytes(
                serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
            )
        )
        == public
    )
    assert push.vapid_keys(site) == (private, public)
    assert push.vapid_keys(stale) == (private, public)
    assert push.public_key(Site.objects.get(pk=site.pk)) == public


def test_each_installation_has_its_own_keys(site: Site) -> None:
    other = Site.objects.create(
        installation=make_installation("http://other.example.com/graphql/", {"keys": []})
    )
    assert push.public_key(site) != push.public_key(other)


def test_a_missing_public_half_is_derived_from_the_private_key(site: Site) -> None:
    private, public = push.vapid_keys(site)
    Site.objects.filter(pk=site.pk).update(vapid_public_key="")

    assert push.vapid_keys(Site.objects.get(pk=site.pk)) == (private, public)


@pytest.mark.django_db(transaction=True)
def test_two_processes_making_the_keys_at_once_end_with_one_pair() -> None:
    installation = make_installation("http://race.example.com/graphql/", {"keys": []})
    site = Site.objects.create(installation=installation)
    start = threading.Barrier(4)
    results: list[tuple[str, str]] = []
    errors: list[BaseException] = []

    def make() -> None:
        try:
            copy = Site.objects.get(pk=site.pk)
            start.wait()
            with transaction.atomic():
                results.append(push.vapid_keys(copy))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=make) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    stored = Site.objects.values_list("vapid_private_key", "vapid_public_key").get(pk=site.pk)
    assert results == [stored] * 4


# --- subscribing --------------------------------------------------------------------------------


def test_a_subscription_is_stored_for_the_visitors_contact_and_logged(
    site: Site, service: PushService
) -> None:
    visitor = make_visitor(site, "v_browser_0001")
    browser = Browser(service.endpoint("a"))
    sent = browser.subscription()
    sent["keys"]["auth"] += "=="  # padded base64url is accepted, and stored without padding

    row = push.subscribe(site, visitor, sent, now=T0)

    assert row == PushSubscription.objects.get()
    assert (row.contact_id, row.visitor_id, row.installation_id) == (
        visitor.contact_id,
        visitor.pk,
        site.installation_id,
    )
    assert (row.endpoint, row.p256dh, row.auth) == (
        browser.endpoint,
        browser.p256dh,
        b64(browser.auth),
    )
    [event] = Event.objects.filter(type="push_subscribed")
    assert event.contact_id == visitor.contact_id
    assert event.source == "web"
    assert event.data == {
        "subscription": row.pk,
        "service": service.base_url,
        "visitor": "v_browser_0001",
    }


def test_subscribing_again_updates_the_one_row_and_logs_only_a_change_of_person(
    site: Site, service: PushService
) -> None:
    visitor = make_visitor(site, "v_browser_0001")
    browser = Browser(service.endpoint("a"))
    push.subscribe(site, visitor, browser.subscription(), now=T0)
    push.subscribe(site, visitor, browser.subscription(), now=T0 + timedelta(minutes=1))
    assert Event.objects.filter(type="push_subscribed").count() == 1

    # New keys for the same endpoint: the row follows, nothing new happened to the person.
    renewed = Browser(browser.endpoint)
    push.subscribe(site, visitor, renewed.subscription(), now=T0 + timedelta(minutes=2))
    assert PushSubscription.objects.get().p256dh == renewed.p256dh
    assert Event.objects.filter(type="push_subscribed").count() == 1

    # Someone else signed in to that browser: the subscription is theirs now.
    ann = Contact.objects.create(installation=site.installation, email="ann@example.com")
    other = make_visitor(site, "v_browser_0002", ann)
    push.subscribe(site, other, renewed.subscription(), now=T0 + timedelta(minutes=3))

    row = PushSubscription.objects.get()
    assert (row.contact_id, row.visitor_id) == (ann.pk, other.pk)
    logged = Event.objects.filter(type="push_subscribed").order_by("pk")
    assert [e.contact_id for e in logged] == [visitor.contact_id, ann.pk]


def _point_off_the_curve() -> str:
    return b64(b"\x04" + b"\x01" * 64)


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"endpoint": None}, "the subscription needs an endpoint URL"),
        ({"endpoint": "push service"}, "the endpoint is refused: 'push service' is not an http"),
        ({"endpoint": "ftp://push.example.com/a"}, "is not an http(s) URL"),
        ({"endpoint": "http://push.example.com/a"}, "'http://push.example.com/a' is not https"),
        ({"endpoint": "https://user:pw@push.example.com/a"}, "URLs with credentials are refused"),
        ({"endpoint": "https://127.0.0.1/a"}, "127.0.0.1 is a loopback address"),
        ({"endpoint": "https://10.1.2.3/a"}, "10.1.2.3 is a private or reserved address"),
        ({"endpoint": "https://[::1]/a"}, "::1 is a loopback address"),
        ({"endpoint": "https://push.example.com/" + "a" * 2048}, "longer than 2048 characters"),
        ({"keys": None}, "the subscription needs keys (p256dh and auth)"),
        ({"keys": {"auth": "AAAAAAAAAAAAAAAAAAAAAA"}}, "the subscription needs keys.p256dh"),
        ({"keys": {"p256dh": "B*notbase64*", "auth": "x"}}, "keys.p256dh is not base64url"),
        (
            {"keys": {"p256dh": b64(b"\x04" * 64), "auth": "x"}},
            "keys.p256dh must be 65 bytes, not 64",
        ),
        ({"keys": {"p256dh": _point_off_the_curve(), "auth": "x"}}, "not a point on the P-256"),
        ({"auth": b64(os.urandom(15))}, "keys.auth must be 16 bytes, not 15"),
        ({"auth": None}, "the subscription needs keys.auth"),
    ],
)
def test_a_subscription_the_app_cannot_push_to_is_refused_with_the_reason(
    site: Site, change: dict[str, Any], error: str
) -> None:
    visitor = make_visitor(site, "v_browser_0001")
    subscription = Browser("https://fcm.googleapis.com/fcm/send/abc").subscription()
    if "auth" in change:
        subscription["keys"]["auth"] = change.pop("auth")
    subscription.update(change)

    with pytest.raises(ValueError) as refused:
        push.subscribe(site, visitor, subscription, now=T0)

    assert error in str(refused.value)
    assert not PushSubscription.objects.exists()
    assert not Event.objects.exists()


def test_a_private_network_the_shop_allowed_may_hold_endpoints(site: Site, settings: Any) -> None:
    configure(settings, OUTGOING_WEBHOOK_ALLOWED_NETWORKS=["10.1.2.0/24"])
    visitor = make_visitor(site, "v_browser_0001")
    push.subscribe(site, visitor, Browser("https://10.1.2.3/push/a").subscription(), now=T0)
    assert PushSubscription.objects.get().endpoint == "https://10.1.2.3/push/a"


def test_a_subscription_must_be_an_object_of_the_sites_installation(site: Site) -> None:
    visitor = make_visitor(site, "v_browser_0001")
    with pytest.raises(ValueError, match="must be an object with endpoint and keys"):
        push.subscribe(site, visitor, "https://push.example.com/a", now=T0)  # type: ignore[arg-type]

    other = Site.objects.create(
        installation=make_installation("http://other.example.com/graphql/", {"keys": []})
    )
    subscription = Browser("https://fcm.googleapis.com/fcm/send/abc").subscription()
    with pytest.raises(ValueError, match="the visitor belongs to another installation"):
        push.subscribe(other, visitor, subscription, now=T0)
    assert not PushSubscription.objects.exists()


def test_unsubscribing_forgets_the_browser_and_logs_it(site: Site, service: PushService) -> None:
    visitor = make_visitor(site, "v_browser_0001")
    browser = subscribed(site, visitor, service, "a")
    row = PushSubscription.objects.get()

    with FrozenClock(T0 + timedelta(days=1)):
        assert push.unsubscribe(site, browser.endpoint) is True
        assert push.unsubscribe(site, browser.endpoint) is False

    assert not PushSubscription.objects.exists()
    [event] = Event.objects.filter(type="push_unsubscribed")
    assert event.contact_id == visitor.contact_id
    assert event.occurred_at == T0 + timedelta(days=1)
    assert event.data == {
        "subscription": row.pk,
        "service": service.base_url,
        "reason": "unsubscribed",
    }


def test_another_installation_cannot_unsubscribe_a_browser(
    site: Site, service: PushService
) -> None:
    browser = subscribed(site, make_visitor(site, "v_browser_0001"), service, "a")
    other = Site.objects.create(
        installation=make_installation("http://other.example.com/graphql/", {"keys": []})
    )
    assert push.unsubscribe(other, browser.endpoint) is False
    assert PushSubscription.objects.count() == 1


# --- the channel: rendering ---------------------------------------------------------------------


def test_the_channel_registers_itself_with_its_capabilities() -> None:
    assert channels.get("push") is push_channel.channel
    assert "push" in channels.names()
    assert push_channel.channel.capabilities == channels.Capabilities(
        tracking=True, quiet_hours=True, needs_explicit_consent=False
    )


def make_message(site: Site, contact: Contact, **fields: Any) -> Message:
    fields.setdefault("key", f"test:{Message.objects.count()}")
    fields.setdefault("template", "push-web-activity")
    fields.setdefault("language", "en")
    return Message.objects.create(
        installation=site.installation,
        contact=contact,
        channel="push",
        created_at=T0,
        **fields,
    )


def render(message: Message, contact: Contact, **extra: Any) -> Any:
    data = {**context.build(contact, language=message.language), **extra}
    return push_channel.channel.render(message, contact, data)


def test_the_built_in_template_renders_the_product_with_a_tracked_link(
    site: Site, service: PushService
) -> None:
    ann = Contact.objects.create(
        installation=site.installation, email="ann@example.com", first_name="Ann"
    )
    message = make_message(site, ann)

    rendered = render(message, ann, product=HOODIE)

    assert rendered.subject == "Blue Hoodie is waiting for you"
    assert rendered.text == "Ann, still thinking about it? Take another look at shop.example.com."
    assert rendered.language == "en"
    # On the message, for the outbox to store with the rest of the rendering.
    assert message.data["title"] == "Blue Hoodie is waiting for you"
    assert message.data["icon"] == HOODIE["image"]
    assert message.data["target"] == HOODIE["url"]
    tracked = message.data["url"]
    assert tracked.startswith(f"{PUBLIC_URL}/t/c/")
    assert tracking.read_click_token(tracked.rsplit("/", 1)[1]) == (message.pk, HOODIE["url"])

    spanish = render(make_message(site, ann, language="es"), ann, product=HOODIE)
    assert spanish.subject == "Blue Hoodie te está esperando"
    assert spanish.language == "es"


def test_without_a_product_the_template_falls_back_to_the_shop(site: Site, settings: Any) -> None:
    configure(settings, LINKS={"shop": SHOP + "/"}, PUBLIC_URL=None)
    contact = Contact.objects.create(installation=site.installation, email="bo@example.com")
    message = make_message(site, contact)

    rendered = render(message, contact)

    assert rendered.subject == "Your pick is waiting for you"
    assert rendered.text.startswith("Still thinking about it?")
    # Without PUBLIC_URL there is no tracking URL to give: the link goes out as it is.
    assert message.data["url"] == SHOP + "/"
    assert message.data["icon"] == ""


def test_a_shop_template_replaces_the_built_in_one(site: Site, settings: Any) -> None:
    configure(settings, PUBLIC_URL=None)
    Template.objects.create(
        installation=site.installation,
        name="push-web-activity",
        channel="push",
        language="en",
        text=json.dumps(
            {
                "title": "{{ product.name }}: 10% off today",
                "body": "Code {{ voucher.code|default:'HOODIE10' }}",
                "url": "{{ product.url }}?utm_source=push",
                "icon": "not a URL",
            }
        ),
    )
    contact = Contact.objects.create(installation=site.installation, email="bo@example.com")
    message = make_message(site, contact)

    rendered = render(message, contact, product=HOODIE)

    assert (rendered.subject, rendered.text) == ("Blue Hoodie: 10% off today", "Code HOODIE10")
    assert message.data["url"] == HOODIE["url"] + "?utm_source=push"
    assert message.data["icon"] == ""  # not a URL: the service worker's own icon instead


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"title": "", "body": "Hi"}, "renders an empty title"),
        ({"title": "Hi", "url": "javascript:alert(1)"}, r"is not an http\(s\) URL"),
        ({"title": "Hi", "body": "x" * 4000}, "a push carries at most 3993"),
        ({"title": "{% if %}"}, "cannot be rendered"),
    ],
)
def test_a_push_that_cannot_go_out_fails_to_render(
    site: Site, fields: dict[str, str], error: str
) -> None:
    Template.objects.create(
        installation=site.installation,
        name="broken",
        channel="push",
        language="en",
        text=json.dumps(fields),
    )
    contact = Contact.objects.create(installation=site.installation, email="bo@example.com")
    with pytest.raises(RenderError, match=error):
        render(make_message(site, contact, template="broken"), contact)


def test_a_contact_without_a_subscription_has_no_push_address(
    site: Site, service: PushService
) -> None:
    contact = Contact.objects.create(installation=site.installation, email="bo@example.com")
    assert push_channel.channel.address(contact) is None
    assert push_channel.channel.address(Contact(installation=site.installation)) is None

    subscribed(site, make_visitor(site, "v_browser_0001", contact), service, "a")
    assert push_channel.channel.address(contact) == f"push:{contact.pk}"


# --- the channel: sending -----------------------------------------------------------------------


def ready_message(site: Site, contact: Contact) -> Message:
    message = make_message(site, contact)
    render(message, contact, product=HOODIE).fill(message)
    return message


def test_a_push_reaches_every_browser_signed_and_encrypted_for_each(
    site: Site, service: PushService
) -> None:
    ann = Contact.objects.create(installation=site.installation, email="ann@example.com")
    laptop = subscribed(site, make_visitor(site, "v_laptop_0001", ann), service, "laptop")
    phone = subscribed(site, make_visitor(site, "v_phone_00001", ann), service, "phone")
    message = ready_message(site, ann)

    provider_id = push_channel.channel.send(message)

    assert provider_id == "2 of 2 subscriptions"
    for browser, name in ((laptop, "laptop"), (phone, "phone")):
        [request] = service.to(name)
        assert request.headers["content-encoding"] == "aes128gcm"
        assert request.headers["ttl"] == str(24 * 3600)
        claims = verified_claims(site, request, audience=service.base_url)
        assert claims["sub"] == SUBJECT
        assert claims["exp"] > time.time()
        assert browser.decrypt(request.body) == {
            "title": "Blue Hoodie is waiting for you",
            "body": message.text,
            "url": message.data["url"],
            "icon": HOODIE["image"],
            "tag": str(message.pk),
        }
    # On the message, for the outbox to store as it marks it sent.
    assert message.data["pushes"] == {"accepted": 2, "expired": 0, "failed": 0}
    assert all(row.last_sent_at is not None for row in PushSubscription.objects.all())


def test_one_browser_s_push_service_id_is_the_provider_id(site: Site, service: PushService) -> None:
    ann = Contact.objects.create(installation=site.installation, email="ann@example.com")
    subscribed(site, make_visitor(site, "v_laptop_0001", ann), service, "laptop")
    assert push_channel.channel.send(ready_message(site, ann)) == f"{service.base_url}/m/1"


def test_the_subject_is_the_email_sender_when_not_set(
    site: Site, service: PushService, settings: Any
) -> None:
    configure(settings, WEB_PUSH_SUBJECT="", EMAIL_FROM="Pet Shop <hello@pets.example.com>")
    ann = Contact.objects.create(installation=site.installation, email="ann@example.com")
    subscribed(site, make_visitor(site, "v_laptop_0001", ann), service, "laptop")

    push_channel.channel.send(ready_message(site, ann))

    [request] = service.requests
    claims = verified_claims(site, request, audience=service.base_url)
    assert claims["sub"] == "mailto:hello@pets.example.com"


def test_a_subject_push_services_refuse_fails_the_push_for_good(
    site: Site, service: PushService, settings: Any
) -> None:
    configure(settings, WEB_PUSH_SUBJECT="the shop")
    ann = Contact.objects.create(installation=site.installation, email="ann@example.com")
    subscribed(site, make_visitor(site, "v_laptop_0001", ann), service, "laptop")

    with pytest.raises(SendError, match="the VAPID claims are refused") as refused:
        push_channel.channel.send(ready_message(site, ann))

    assert refused.value.retry is False
    assert service.requests == []
    assert PushSubscription.objects.count() == 1
    assert [e.id for e in checks.check_settings()] == ["saleor_journeys.E006"]


@pytest.mark.parametrize("status", [404, 410])
def test_a_gone_subscription_is_removed_and_the_others_still_get_the_push(
    site: Site, service: PushService, status: int
) -> None:
    ann = Contact.objects.create(installation=site.installation, email="ann@example.com")
    subscribed(site, make_visitor(site, "v_laptop_0001", ann), service, "laptop")
    subscribed(site, make_visitor(site, "v_phone_00001", ann), service, "phone")
    service.answer("laptop", status)

    push_channel.channel.send(ready_message(site, ann))

    [left] = PushSubscription.objects.all()
    assert left.endpoint == service.endpoint("phone")
    [gone] = Event.objects.filter(type="push_unsubscribed")
    assert (gone.contact_id, gone.data["reason"]) == (ann.pk, "expired")


@pytest.mark.parametrize(
    ("status", "retry"), [(429, True), (500, True), (503, True), (400, False), (403, False)]
)
def test_a_push_no_service_took_fails_and_says_whether_to_retry(
    site: Site, service: PushService, status: int, retry: bool
) -> None:
    ann = Contact.objects.create(installation=site.installation, email="ann@example.com")
    subscribed(site, make_visitor(site, "v_laptop_0001", ann), service, "laptop")
    service.answer("laptop", status)

    with pytest.raises(SendError) as refused:
        push_channel.channel.send(ready_message(site, ann))

    assert refused.value.retry is retry
    assert f"no push service took the push (HTTP {status}" in str(refused.value)
    assert PushSubscription.objects.count() == 1  # not gone: kept for the next push


def test_an_unreachable_push_service_may_be_retried(site: Site, service: PushService) -> None:
    ann = Contact.objects.create(installation=site.installation, email="ann@example.com")
    with PushService() as closed:
        endpoint = closed.endpoint("laptop")  # nothing listens there once it is closed
    browser = Browser(endpoint)
    push.subscribe(site, make_visitor(site, "v_laptop_0001", ann), browser.subscription(), now=T0)

    with pytest.raises(SendError, match="not reached: ConnectionError") as refused:
        push_channel.channel.send(ready_message(site, ann))
    assert refused.value.retry is True


def test_an_endpoint_that_leads_to_a_refused_address_is_dropped_unasked(
    site: Site, service: PushService, settings: Any
) -> None:
    ann = Contact.objects.create(installation=site.installation, email="ann@example.com")
    subscribed(site, make_visitor(site, "v_laptop_0001", ann), service, "laptop")
    # The name resolves to loopback, which only a development setup allows.
    named = Browser(service.endpoint("named").replace("127.0.0.1", "localhost"))
    push.subscribe(site, make_visitor(site, "v_phone_00001", ann), named.subscription(), now=T0)
    configure(settings, OUTGOING_WEBHOOK_ALLOWED_NETWORKS=[])

    with pytest.raises(SendError) as refused:
        push_channel.channel.send(ready_message(site, ann))

    assert refused.value.retry is False
    assert "2 subscriptions have expired or been refused" in str(refused.value)
    assert service.requests == []
    assert not PushSubscription.objects.exists()
    reasons = Event.objects.filter(type="push_unsubscribed").values_list("data__reason", flat=True)
    assert list(reasons) == ["refused", "refused"]


# --- end to end: a journey's push step ----------------------------------------------------------

PUSH_JOURNEY = {
    "name": "One push",
    "trigger": {"type": "manual"},
    "start": "nudge",
    "nodes": [
        {
            "id": "nudge",
            "type": "send",
            "channel": "push",
            "template": "push-web-activity",
        }
    ],
}


def run_push(site: Site, contact: Contact, capture: Any, at: datetime) -> RunAction:
    journey = Journey.objects.filter(installation=site.installation, slug="one-push").first()
    if journey is None:
        journey = versions.create(site.installation, PUSH_JOURNEY, actor="tests")
        versions.publish(journey, actor="tests")
    with FrozenClock(at), capture(execute=True):
        run = runs.enroll(journey, contact, now=at, context={"product": HOODIE})
        assert run is not None
    return RunAction.objects.get(run=run, kind="send")


@pytest.fixture
def ann(site: Site) -> Contact:
    return Contact.objects.create(
        installation=site.installation,
        email="ann@example.com",
        first_name="Ann",
        kind=ContactKind.IDENTIFIED,
    )


def test_a_journey_pushes_the_product_and_a_click_counts_and_identifies(
    site: Site,
    service: PushService,
    ann: Contact,
    client: Client,
    django_capture_on_commit_callbacks: Any,
) -> None:
    browser = subscribed(site, make_visitor(site, "v_laptop_0001", ann), service, "laptop")

    action = run_push(site, ann, django_capture_on_commit_callbacks, T0)

    assert action.status == ActionStatus.DONE
    message = Message.objects.get(contact=ann)
    assert message.status == MessageStatus.SENT
    assert (message.channel, message.to) == ("push", f"push:{ann.pk}")
    assert message.provider_id == f"{service.base_url}/m/1"
    # What was pushed is stored with the message.
    assert message.data["title"] == "Blue Hoodie is waiting for you"
    assert message.data["pushes"] == {"accepted": 1, "expired": 0, "failed": 0}
    [request] = service.requests
    shown = browser.decrypt(request.body)
    assert shown["title"] == "Blue Hoodie is waiting for you"
    assert shown["body"] == "Ann, still thinking about it? Take another look at shop.example.com."
    assert shown["tag"] == str(message.pk)
    claims = verified_claims(site, request, audience=service.base_url)
    assert claims["sub"] == SUBJECT

    # The person clicks the notification a minute later: the tracked URL counts the click
    # and leads to the product with who they are for the storefront.
    with FrozenClock(T0 + timedelta(minutes=1)):
        answer = client.get(
            urlsplit(shown["url"]).path,
            headers={"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0"},
        )
        assert answer.status_code == 302
        target = answer["Location"]
        assert target.startswith(HOODIE["url"] + "?")
        token = parse_qs(urlsplit(target).query)["sj"][0]
        assert links.read_token(token) == (ann.pk, site.installation_id, "link")
    message.refresh_from_db()
    assert message.clicks == 1
    ann.refresh_from_db()
    assert ann.kind == ContactKind.MONITORED
    assert Event.objects.filter(contact=ann, type="push_clicked", source="push").count() == 1


def test_a_journey_push_to_a_contact_without_subscription_fails_with_the_reason(
    site: Site, service: PushService, ann: Contact, django_capture_on_commit_callbacks: Any
) -> None:
    action = run_push(site, ann, django_capture_on_commit_callbacks, T0)

    message = Message.objects.get(contact=ann)
    assert message.status == MessageStatus.FAILED
    assert message.error == "the contact has no web push subscription"
    action.refresh_from_db()
    assert action.status == ActionStatus.DONE  # nothing to retry: the journey goes on
    assert service.requests == []


def test_a_journey_push_whose_only_subscription_expired_fails_for_good(
    site: Site, service: PushService, ann: Contact, django_capture_on_commit_callbacks: Any
) -> None:
    subscribed(site, make_visitor(site, "v_laptop_0001", ann), service, "laptop")
    service.answer("laptop", 410)

    action = run_push(site, ann, django_capture_on_commit_callbacks, T0)

    action.refresh_from_db()
    assert action.status == ActionStatus.FAILED
    message = Message.objects.get(contact=ann)
    assert message.status == MessageStatus.FAILED
    assert "expired" in message.error
    assert not PushSubscription.objects.exists()
    assert push_channel.channel.address(ann) is None


def test_a_journey_push_a_busy_service_refused_goes_out_on_a_later_attempt(
    site: Site, service: PushService, ann: Contact, django_capture_on_commit_callbacks: Any
) -> None:
    subscribed(site, make_visitor(site, "v_laptop_0001", ann), service, "laptop")
    service.answer("laptop", 500, 201)

    action = run_push(site, ann, django_capture_on_commit_callbacks, T0)

    action.refresh_from_db()
    assert (action.status, action.attempts) == (ActionStatus.PENDING, 1)
    assert "HTTP 500" in action.error
    message = Message.objects.get(contact=ann)
    assert message.status == MessageStatus.PENDING
    with FrozenClock(T0 + timedelta(minutes=10)):
        assert outbox.perform(action.pk) == ActionStatus.DONE
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    assert len(service.requests) == 2
    assert PushSubscription.objects.count() == 1


def test_no_push_to_a_contact_who_refused_push_nor_in_quiet_hours(
    site: Site, service: PushService, ann: Contact, django_capture_on_commit_callbacks: Any
) -> None:
    subscribed(site, make_visitor(site, "v_laptop_0001", ann), service, "laptop")
    Consent.objects.create(
        contact=ann, channel="push", status=ConsentStatus.UNSUBSCRIBED, source="preferences", at=T0
    )
    run_push(site, ann, django_capture_on_commit_callbacks, T0)
    refused = Message.objects.get(contact=ann)
    assert (refused.status, refused.error) == (
        MessageStatus.SUPPRESSED,
        "the contact unsubscribed from push",
    )

    bo = Contact.objects.create(
        installation=site.installation, email="bo@example.com", time_zone="Europe/Madrid"
    )
    subscribed(site, make_visitor(site, "v_phone_00001", bo), service, "phone")
    run_push(site, bo, django_capture_on_commit_callbacks, T0 + timedelta(hours=12))  # 23:00
    assert Message.objects.get(contact=bo).status == MessageStatus.DEFERRED

    assert service.requests == []
