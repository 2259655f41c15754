"""Provider webhooks fed through django-anymail's real tracking views, with the payloads the
providers document (Postmark's webhook examples, SendGrid's Event Webhook reference)."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client, override_settings
from django.utils import timezone

from saleor_journeys.contacts.models import Contact, ContactKind
from saleor_journeys.events.models import Event
from saleor_journeys.messaging.models import (
    Consent,
    ConsentStatus,
    Message,
    MessageEvent,
    MessageStatus,
    Suppression,
)
from saleor_journeys.saleor.models import Installation

SECRET = "journeys:webhook-secret-1234"
POSTMARK_ID = "883953f4-6105-42a2-a16a-77a8eac79483"
SENDGRID_ID = "b7e0a9b5-1c5e-4c7f-9d4a-2f3c1a8e6d10"  # anymail's anymail_id for SendGrid
CART = "https://shop.example.com/cart"
BROWSER = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36"
)

pytestmark = [
    pytest.mark.usefixtures("webhook_secret"),
    # anymail warns on every SendGrid webhook that it no longer supports SendGrid officially.
    pytest.mark.filterwarnings("ignore::anymail.exceptions.AnymailNotSupportedWarning"),
]


@pytest.fixture
def webhook_secret() -> Any:
    with override_settings(ANYMAIL={"WEBHOOK_SECRET": SECRET}):
        yield


@pytest.fixture
def contact(installation: Installation) -> Contact:
    return Contact.objects.create(installation=installation, email="john@example.com")


def make_message(
    installation: Installation, contact: Contact, provider_id: str, key: str
) -> Message:
    now = timezone.now()
    return Message.objects.create(
        installation=installation,
        contact=contact,
        key=key,
        node="first-email",
        channel="email",
        template="cart-reminder",
        to="john@example.com",
        status=MessageStatus.SENT,
        created_at=now - timedelta(hours=1),
        sent_at=now - timedelta(hours=1),
        provider_id=provider_id,
        html=f'<html><body><a href="{CART}">cart</a><a href="{CART}/2">2</a></body></html>',
    )


@pytest.fixture
def message(installation: Installation, contact: Contact) -> Message:
    return make_message(installation, contact, POSTMARK_ID, "run:1:1:first-email")


@pytest.fixture
def sendgrid_message(installation: Installation, contact: Contact) -> Message:
    return make_message(installation, contact, SENDGRID_ID, "run:1:2:second-email")


def auth(secret: str = SECRET) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(secret.encode()).decode()}


def post(client: Client, esp: str, payload: Any, secret: str | None = SECRET) -> Any:
    return client.post(
        f"/anymail/{esp}/tracking/",
        data=json.dumps(payload),
        content_type="application/json",
        headers=auth(secret) if secret is not None else {},
    )


# --- Postmark (https://postmarkapp.com/developer/webhooks/…) --------------------------------

POSTMARK_DELIVERY = {
    "RecordType": "Delivery",
    "ServerID": 23,
    "MessageStream": "outbound",
    "MessageID": POSTMARK_ID,
    "Recipient": "john@example.com",
    "Tag": "welcome-email",
    "DeliveredAt": "2019-11-05T16:33:54.9070259Z",
    "Details": "Test delivery webhook details",
    "Metadata": {"example": "value", "example_2": "value"},
}

POSTMARK_HARD_BOUNCE = {
    "RecordType": "Bounce",
    "MessageStream": "outbound",
    "ID": 4323372036854775807,
    "Type": "HardBounce",
    "TypeCode": 1,
    "Name": "Hard bounce",
    "Tag": "Test",
    "MessageID": POSTMARK_ID,
    "Metadata": {"a_key": "a_value", "b_key": "b_value"},
    "ServerID": 23,
    "Description": (
        "The server was unable to deliver your message (ex: unknown user, mailbox not found)."
    ),
    "Details": "Test bounce details",
    "Email": "john@example.com",
    "From": "sender@example.com",
    "BouncedAt": "2019-11-05T16:33:54.9070259Z",
    "DumpAvailable": True,
    "Inactive": True,
    "CanActivate": True,
    "Subject": "Test subject",
    "Content": "Test content",
}

POSTMARK_SOFT_BOUNCE = {
    **POSTMARK_HARD_BOUNCE,
    "ID": 4323372036854775808,
    "Type": "SoftBounce",
    "TypeCode": 4096,
    "Name": "Soft bounce/Undeliverable",
    "Inactive": False,
}

POSTMARK_SPAM_COMPLAINT = {
    "RecordType": "SpamComplaint",
    "MessageStream": "outbound",
    "ID": 42,
    "Type": "SpamComplaint",
    "TypeCode": 512,
    "Name": "Spam complaint",
    "Tag": "Test",
    "MessageID": POSTMARK_ID,
    "Metadata": {"a_key": "a_value", "b_key": "b_value"},
    "ServerID": 1234,
    "Description": "",
    "Details": "Test spam complaint details",
    "Email": "john@example.com",
    "From": "sender@example.com",
    "BouncedAt": "2019-11-05T16:33:54.9070259Z",
    "DumpAvailable": True,
    "Inactive": True,
    "CanActivate": False,
    "Subject": "Test subject",
    "Content": "Test content",
}

POSTMARK_UNSUBSCRIBE = {
    "RecordType": "SubscriptionChange",
    "MessageID": POSTMARK_ID,
    "ServerID": 23,
    "MessageStream": "outbound",
    "ChangedAt": "2020-02-01T10:53:34.416071Z",
    "Recipient": "john@example.com",
    "Origin": "Recipient",
    "SuppressSending": True,
    "SuppressionReason": "ManualSuppression",
    "Tag": "my-tag",
    "Metadata": {"example": "value", "example_2": "value"},
}

POSTMARK_OPEN = {
    "RecordType": "Open",
    "MessageStream": "outbound",
    "FirstOpen": True,
    "Client": {"Name": "Chrome 35.0.1916.153", "Company": "Google", "Family": "Chrome"},
    "OS": {"Name": "OS X 10.7 Lion", "Company": "Apple Computer, Inc.", "Family": "OS X 10"},
    "Platform": "WebMail",
    "UserAgent": BROWSER,
    "ReadSeconds": 5,
    "Geo": {"CountryISOCode": "RS", "Country": "Serbia", "City": "Novi Sad"},
    "MessageID": POSTMARK_ID,
    "Metadata": {"a_key": "a_value", "b_key": "b_value"},
    "ReceivedAt": "2019-11-05T16:33:54.9070259Z",
    "Tag": "welcome-email",
    "Recipient": "john@example.com",
}


def test_delivered(client: Client, message: Message) -> None:
    response = post(client, "postmark", POSTMARK_DELIVERY)

    assert response.status_code == 200
    message.refresh_from_db()
    assert message.status == MessageStatus.DELIVERED
    event = MessageEvent.objects.get(message=message)
    assert event.type == "delivered"
    assert event.at.isoformat() == "2019-11-05T16:33:54.907025+00:00"
    assert event.provider_event_id.startswith("Postmark:sha256:")
    assert event.data["esp"] == "Postmark"


def test_the_same_webhook_twice_is_recorded_once(client: Client, message: Message) -> None:
    for payload in (POSTMARK_DELIVERY, POSTMARK_DELIVERY, POSTMARK_HARD_BOUNCE):
        assert post(client, "postmark", payload).status_code == 200
    assert post(client, "postmark", POSTMARK_HARD_BOUNCE).status_code == 200

    assert list(
        MessageEvent.objects.filter(message=message).order_by("pk").values_list("type", flat=True)
    ) == ["delivered", "bounced"]
    bounce = MessageEvent.objects.get(message=message, type="bounced")
    assert bounce.provider_event_id == "Postmark:4323372036854775807"


def test_hard_bounce_suppresses_the_address(
    client: Client, message: Message, installation: Installation
) -> None:
    assert post(client, "postmark", POSTMARK_HARD_BOUNCE).status_code == 200

    message.refresh_from_db()
    assert message.status == MessageStatus.BOUNCED
    suppression = Suppression.objects.get()
    assert (suppression.installation_id, suppression.channel, suppression.address) == (
        installation.pk,
        "email",
        "john@example.com",
    )
    assert suppression.reason == "bounce"
    event = MessageEvent.objects.get(message=message)
    assert event.data["mta_response"] == "Test bounce details"

    # A late "delivered" does not undo the bounce.
    post(client, "postmark", POSTMARK_DELIVERY)
    message.refresh_from_db()
    assert message.status == MessageStatus.BOUNCED


def test_soft_bounce_is_recorded_only(client: Client, message: Message) -> None:
    assert post(client, "postmark", POSTMARK_SOFT_BOUNCE).status_code == 200

    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    assert MessageEvent.objects.get(message=message).type == "soft_bounced"
    assert not Suppression.objects.exists()


def test_complaint_suppresses_the_address(client: Client, message: Message) -> None:
    post(client, "postmark", POSTMARK_DELIVERY)
    assert post(client, "postmark", POSTMARK_SPAM_COMPLAINT).status_code == 200

    message.refresh_from_db()
    assert message.status == MessageStatus.COMPLAINED
    suppression = Suppression.objects.get()
    assert (suppression.address, suppression.reason) == ("john@example.com", "complaint")


def test_unsubscribe_withdraws_email_consent(
    client: Client, message: Message, contact: Contact
) -> None:
    assert post(client, "postmark", POSTMARK_UNSUBSCRIBE).status_code == 200

    consent = Consent.objects.get(contact=contact)
    assert (consent.channel, consent.status, consent.source) == (
        "email",
        ConsentStatus.UNSUBSCRIBED,
        "provider",
    )
    assert MessageEvent.objects.get(message=message).type == "unsubscribed"
    changed = Event.objects.get(contact=contact, type="consent_changed")
    assert changed.data["to"] == ConsentStatus.UNSUBSCRIBED
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT  # the message itself was fine
    assert not Suppression.objects.exists()


def test_provider_opens_are_recorded_but_not_counted_twice(
    client: Client, message: Message, contact: Contact
) -> None:
    assert post(client, "postmark", POSTMARK_OPEN).status_code == 200

    event = MessageEvent.objects.get(message=message)
    assert (event.type, event.human, event.user_agent) == ("open", True, BROWSER)
    assert event.data["counted"] is False
    message.refresh_from_db()
    assert message.opens == 0  # the app's own pixel counts opens
    assert not Event.objects.filter(type="email_opened").exists()


@override_settings(SALEOR_JOURNEYS={"TRACK_OPENS": False})
def test_provider_opens_count_when_the_app_does_not_track_them(
    client: Client, message: Message, contact: Contact
) -> None:
    post(client, "postmark", POSTMARK_OPEN)
    post(client, "postmark", POSTMARK_OPEN)

    message.refresh_from_db()
    assert message.opens == 1
    assert Event.objects.get(contact=contact).type == "email_opened"


def test_unknown_messages_are_ignored(client: Client, message: Message, caplog: Any) -> None:
    caplog.set_level("INFO", logger="saleor_journeys.messaging.provider_events")
    payload = {**POSTMARK_HARD_BOUNCE, "MessageID": "00000000-0000-0000-0000-000000000000"}

    assert post(client, "postmark", payload).status_code == 200

    assert not MessageEvent.objects.exists()
    assert not Suppression.objects.exists()
    assert "unknown message 00000000-0000-0000-0000-000000000000" in caplog.text


@pytest.mark.parametrize("secret", ["journeys:wrong", None])
def test_wrong_basic_auth_is_refused(client: Client, message: Message, secret: str | None) -> None:
    response = post(client, "postmark", POSTMARK_HARD_BOUNCE, secret=secret)

    assert response.status_code == 400  # anymail's AnymailWebhookValidationFailure
    assert not MessageEvent.objects.exists()
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT


# --- SendGrid (https://www.twilio.com/docs/sendgrid/for-developers/tracking-events/event) -----


def sendgrid_event(event: str, sg_event_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "email": "john@example.com",
        "timestamp": 1513299569,
        "smtp-id": "<14c5d75ce93.dfd.64b469@ismtpd-555>",
        "event": event,
        "category": ["cat facts"],
        "sg_event_id": sg_event_id,
        "sg_message_id": "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0",
        "anymail_id": SENDGRID_ID,
        **fields,
    }


SENDGRID_BATCH = [
    sendgrid_event("processed", "sg-processed-1"),
    sendgrid_event("delivered", "sg-delivered-1", response="250 OK"),
    sendgrid_event(
        "open", "sg-open-1", useragent=BROWSER, ip="255.255.255.255", sg_machine_open=False
    ),
    sendgrid_event("click", "sg-click-1", useragent=BROWSER, ip="255.255.255.255", url=CART),
]


def test_sendgrid_batch(client: Client, sendgrid_message: Message, contact: Contact) -> None:
    assert post(client, "sendgrid", SENDGRID_BATCH).status_code == 200
    assert post(client, "sendgrid", SENDGRID_BATCH).status_code == 200  # delivered again

    events = MessageEvent.objects.filter(message=sendgrid_message).order_by("pk")
    assert [(e.type, e.provider_event_id) for e in events] == [
        ("queued", "SendGrid:sg-processed-1"),
        ("delivered", "SendGrid:sg-delivered-1"),
        ("open", "SendGrid:sg-open-1"),
        ("click", "SendGrid:sg-click-1"),
    ]
    assert events[3].url == CART
    sendgrid_message.refresh_from_db()
    assert sendgrid_message.status == MessageStatus.DELIVERED
    # The app tracks opens and clicks itself: the provider's are not counted again.
    assert (sendgrid_message.opens, sendgrid_message.clicks) == (0, 0)
    contact.refresh_from_db()
    assert contact.kind == ContactKind.IDENTIFIED


@override_settings(SALEOR_JOURNEYS={"TRACK_CLICKS": False})
def test_sendgrid_clicks_count_when_the_app_does_not_track_them(
    client: Client, sendgrid_message: Message, contact: Contact
) -> None:
    scanner = sendgrid_event(
        "click", "sg-click-0", useragent="Mozilla/5.0 (compatible; Barracuda)", url=CART
    )
    post(client, "sendgrid", [scanner, SENDGRID_BATCH[3]])

    events = MessageEvent.objects.filter(message=sendgrid_message, type="click").order_by("pk")
    assert [e.human for e in events] == [False, True]
    sendgrid_message.refresh_from_db()
    assert sendgrid_message.clicks == 1
    contact.refresh_from_db()
    assert contact.kind == ContactKind.MONITORED


def test_sendgrid_bounce_and_spam_report(client: Client, sendgrid_message: Message) -> None:
    bounce = sendgrid_event(
        "bounce",
        "sg-bounce-1",
        reason="500 unknown recipient",
        status="5.0.0",
        type="bounce",
        bounce_classification="Invalid Address",
    )
    assert post(client, "sendgrid", [bounce]).status_code == 200
    sendgrid_message.refresh_from_db()
    assert sendgrid_message.status == MessageStatus.BOUNCED
    assert Suppression.objects.get().reason == "bounce"

    spam = sendgrid_event("spamreport", "sg-spam-1")
    assert post(client, "sendgrid", [spam]).status_code == 200
    sendgrid_message.refresh_from_db()
    assert sendgrid_message.status == MessageStatus.COMPLAINED
    assert Suppression.objects.count() == 1  # the address was suppressed already


def test_sendgrid_blocked_bounce_is_soft(client: Client, sendgrid_message: Message) -> None:
    blocked = sendgrid_event(
        "bounce",
        "sg-blocked-1",
        reason="550 5.7.1 Service unavailable; client host blocked",
        status="5.7.1",
        type="blocked",
    )
    assert post(client, "sendgrid", [blocked]).status_code == 200

    sendgrid_message.refresh_from_db()
    assert sendgrid_message.status == MessageStatus.SENT
    assert MessageEvent.objects.get(message=sendgrid_message).type == "soft_bounced"
    assert not Suppression.objects.exists()


def test_sendgrid_unsubscribe(client: Client, sendgrid_message: Message, contact: Contact) -> None:
    payload = [sendgrid_event("unsubscribe", "sg-unsub-1")]
    assert post(client, "sendgrid", payload).status_code == 200

    consent = Consent.objects.get(contact=contact, channel="email")
    assert (consent.status, consent.source) == (ConsentStatus.UNSUBSCRIBED, "provider")


def test_sendgrid_wrong_basic_auth(client: Client, sendgrid_message: Message) -> None:
    response = post(client, "sendgrid", SENDGRID_BATCH, secret="someone:else")

    assert response.status_code == 400
    assert not MessageEvent.objects.exists()
