"""Journey emails end to end: real Saleor deliveries in, real MIME messages out to an SMTP
server on loopback; consent, suppression, caps, failures, and never a second copy."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from saleor_journeys.contacts.models import Contact
from saleor_journeys.core.clock import FrozenClock
from saleor_journeys.journeys import builtin, versions
from saleor_journeys.journeys.models import ActionStatus, Journey, RunAction
from saleor_journeys.messaging import email as email_channel
from saleor_journeys.messaging.models import (
    Consent,
    ConsentStatus,
    Message,
    MessageStatus,
    Suppression,
    Template,
)
from saleor_journeys.runtime import outbox, runs
from saleor_journeys.saleor.models import Installation
from tests.fixtures import deliveries
from tests.fixtures.smtp import Inbox

SendRecorded = Callable[[dict[str, Any]], Any]
PUBLIC = "https://journeys.example.com"


@pytest.fixture(autouse=True)
def _journeys_settings(settings: Any) -> None:
    settings.SALEOR_JOURNEYS = {
        **settings.SALEOR_JOURNEYS,
        "PUBLIC_URL": PUBLIC,
        "EMAIL_FROM": "Pet Shop <hello@petshop.example>",
        "LINKS": {"checkout": "https://petshop.example/checkout?token={checkout}"},
    }


def published(installation: Installation, definition: dict[str, Any]) -> Journey:
    journey = versions.create(installation, definition, actor="tests")
    versions.publish(journey, actor="tests")
    journey.refresh_from_db()
    return journey


def updated_at(delivery: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(json.loads(delivery["body"])["checkout"]["updatedAt"])


def abandon(
    installation: Installation, send_recorded: SendRecorded, capture: Any, delivery: dict[str, Any]
) -> Journey:
    """The built-in abandoned-cart journey, and a cart left for two hours."""
    journey = published(installation, builtin.load("abandoned-cart"))
    send_recorded(delivery)
    with FrozenClock(updated_at(delivery) + timedelta(hours=2, seconds=1)), capture(execute=True):
        assert runs.scan_abandoned_checkouts() == 1
    return journey


def test_an_abandoned_cart_in_spanish_gets_a_real_email(
    recorded_installation: Installation,
    send_recorded: SendRecorded,
    django_capture_on_commit_callbacks: Any,
    smtp: Inbox,
) -> None:
    cart = deliveries.recorded("checkout_updated_es")
    abandon(recorded_installation, send_recorded, django_capture_on_commit_callbacks, cart)

    [received] = smtp.received
    mail = received.message
    assert received.recipients == ["maria.nunez@example.org"]
    assert mail["Subject"] == "Te dejaste algo en el carrito"
    assert mail["From"] == "Pet Shop <hello@petshop.example>"
    assert re.fullmatch(r"<[0-9a-f]{32}@journeys\.example\.com>", mail["Message-ID"])
    unsubscribe = re.fullmatch(
        r"<(https://journeys\.example\.com/u/[^>]+)>", mail["List-Unsubscribe"].strip()
    )
    assert unsubscribe is not None, mail["List-Unsubscribe"]
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    assert text.startswith("Hola María José,")
    message = Message.objects.get()
    assert message.status == MessageStatus.SENT and message.language == "es"
    assert message.provider_id == mail["Message-ID"]
    checkout = json.loads(cart["body"])["checkout"]
    line = checkout["lines"][0]
    assert line["variant"]["product"]["name"] in text and line["variant"]["product"]["name"] in html
    assert "Terminar mi compra" in html
    # Prices in the cart's currency, with the Spanish decimal comma.
    amount = f"{line['totalPrice']['gross']['amount']:.2f}".replace(".", ",")
    assert amount in text
    assert 'style="' in html  # CSS inlined for mail clients that drop <style>
    # Links are tracked (signed), the unsubscribe link is not, and there is an open pixel.
    hrefs = re.findall(r'href="([^"]+)"', html)
    assert any(h.startswith(f"{PUBLIC}/t/c/") for h in hrefs)
    assert not any(h.startswith("https://petshop.example") for h in hrefs)
    assert any(h.startswith(f"{PUBLIC}/u/") for h in hrefs)
    assert re.search(rf'<img src="{PUBLIC}/t/o/[^"]+\.gif"', html)
    # The one-click unsubscribe the header points to works (RFC 8058).
    contact = Contact.objects.get(email="maria.nunez@example.org")
    client = Client()
    response = client.post(
        unsubscribe.group(1).removeprefix(PUBLIC), {"List-Unsubscribe": "One-Click"}
    )
    assert response.status_code == 200
    assert Consent.objects.get(contact=contact, channel="email").status == "unsubscribed"


def test_an_abandoned_cart_in_english(
    recorded_installation: Installation,
    send_recorded: SendRecorded,
    django_capture_on_commit_callbacks: Any,
    smtp: Inbox,
) -> None:
    cart = [d for d in deliveries.scenario("abandoned_checkout_C")][-1]
    abandon(recorded_installation, send_recorded, django_capture_on_commit_callbacks, cart)

    [received] = smtp.received
    assert received.message["Subject"] == "You left something in your cart"
    assert received.recipients == ["abandoner@example.org"]
    text = received.message.get_body(("plain",)).get_content()
    assert text.startswith("Hi ")
    assert (
        "https://petshop.example/checkout?token=" + json.loads(cart["body"])["checkout"]["token"]
        in text
    )


def _contact(installation: Installation, **fields: Any) -> Contact:
    return Contact.objects.create(installation=installation, email="ana@example.org", **fields)


MAIL = {
    "name": "One mail",
    "trigger": {"type": "manual"},
    "start": "mail",
    "nodes": [{"id": "mail", "type": "send", "channel": "email", "template": "welcome-material"}],
}


def run_mail(installation: Installation, contact: Contact, capture: Any, at: datetime) -> RunAction:
    journey = Journey.objects.filter(installation=installation, slug="one-mail").first()
    journey = journey or published(installation, MAIL)
    with FrozenClock(at), capture(execute=True):
        run = runs.enroll(journey, contact, now=at)
        assert run is not None
    return RunAction.objects.get(run=run, kind="send")


T0 = datetime.fromisoformat("2026-11-23T10:00:00+00:00")


def test_unsubscribed_and_suppressed_addresses_get_nothing(
    installation: Installation,
    django_capture_on_commit_callbacks: Any,
    smtp: Inbox,
) -> None:
    ana = _contact(installation)
    Consent.objects.create(
        contact=ana, channel="email", status=ConsentStatus.UNSUBSCRIBED, source="test", at=T0
    )
    action = run_mail(installation, ana, django_capture_on_commit_callbacks, T0)
    assert action.status == ActionStatus.DONE
    message = Message.objects.get()
    assert message.status == MessageStatus.SUPPRESSED and "unsubscribed" in message.error

    bob = Contact.objects.create(installation=installation, email="bob@example.org")
    Suppression.objects.create(
        installation=installation,
        channel="email",
        address="bob@example.org",
        reason="bounce",
        at=T0,
    )
    run_mail(installation, bob, django_capture_on_commit_callbacks, T0)
    assert Message.objects.get(contact=bob).status == MessageStatus.SUPPRESSED
    assert smtp.received == []


def test_a_template_that_fails_for_one_contact_fails_that_message_alone(
    installation: Installation,
    django_capture_on_commit_callbacks: Any,
    smtp: Inbox,
) -> None:
    Template.objects.create(
        installation=installation,
        name="welcome-material",
        channel="email",
        language="en",
        subject="Hello {{ contact.first_name }}",
        text="Your score: {{ contact.properties.points|divisibleby:contact.properties.step }}",
    )
    broken = _contact(installation, properties={"points": 10, "step": 0})
    fine = Contact.objects.create(
        installation=installation,
        email="fine@example.org",
        first_name="Fine",
        properties={"points": 10, "step": 5},
    )
    action = run_mail(installation, broken, django_capture_on_commit_callbacks, T0)
    assert action.status == ActionStatus.FAILED
    failed = Message.objects.get(contact=broken)
    assert failed.status == MessageStatus.FAILED and "cannot be rendered" in failed.error
    run_mail(installation, fine, django_capture_on_commit_callbacks, T0)
    [received] = smtp.received
    assert received.message["Subject"] == "Hello Fine"
    assert "Your score: True" in received.message.get_body(("plain",)).get_content()


def test_a_crash_after_the_server_took_it_never_sends_a_second_copy(
    installation: Installation,
    django_capture_on_commit_callbacks: Any,
    smtp: Inbox,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class WorkerKilled(BaseException):
        """What a SIGKILL looks like from inside: nothing after it runs."""

    real_send = email_channel.EmailChannel.send

    def send_then_die(self: Any, message: Message) -> str:
        real_send(self, message)
        raise WorkerKilled

    monkeypatch.setattr(email_channel.EmailChannel, "send", send_then_die)
    ana = _contact(installation)
    with pytest.raises(WorkerKilled):
        run_mail(installation, ana, django_capture_on_commit_callbacks, T0)
    assert len(smtp.received) == 1
    assert Message.objects.get().status == MessageStatus.SENDING
    monkeypatch.setattr(email_channel.EmailChannel, "send", real_send)

    with FrozenClock(T0 + outbox.LEASE + timedelta(seconds=1)):
        outbox.sweep()  # the action's lease is over: another worker picks it up
    message = Message.objects.get()
    assert message.status == MessageStatus.UNKNOWN
    assert len(smtp.received) == 1


def test_the_frequency_cap_defers_a_second_marketing_email(
    installation: Installation,
    django_capture_on_commit_callbacks: Any,
    smtp: Inbox,
    settings: Any,
) -> None:
    settings.SALEOR_JOURNEYS = {**settings.SALEOR_JOURNEYS, "FREQUENCY_CAP_HOURS": 24}
    ana = _contact(installation)
    run_mail(installation, ana, django_capture_on_commit_callbacks, T0)
    other = published(installation, {**MAIL, "name": "Second mail"})
    with FrozenClock(T0 + timedelta(hours=1)), django_capture_on_commit_callbacks(execute=True):
        runs.enroll(other, ana, now=T0 + timedelta(hours=1))
    second = Message.objects.get(run__journey=other)
    assert second.status == MessageStatus.DEFERRED
    assert second.send_after == T0 + timedelta(hours=24)
    assert len(smtp.received) == 1
    with FrozenClock(T0 + timedelta(hours=24, minutes=1)):
        outbox.sweep()
    second.refresh_from_db()
    assert second.status == MessageStatus.SENT and len(smtp.received) == 2


def test_one_click_needs_a_post_and_a_valid_link(
    installation: Installation, client: Client
) -> None:
    from saleor_journeys.messaging import links

    ana = _contact(installation)
    path = links.unsubscribe_url(ana.pk, "email", None).removeprefix("http://localhost:8000")
    assert client.get(path).status_code == 200  # the preference page: nothing changes
    assert not Consent.objects.exists()
    assert client.post(path[:-3] + "abc", {"List-Unsubscribe": "One-Click"}).status_code == 404
    assert not Consent.objects.exists()
    assert client.post(path, {"choice": "unsubscribe"}).status_code == 200
    assert Consent.objects.get().status == ConsentStatus.UNSUBSCRIBED
    assert ana.events.filter(type="consent_changed").count() == 1
    assert client.post(path, {"choice": "subscribe"}).status_code == 200
    assert Consent.objects.get().status == ConsentStatus.SUBSCRIBED


def test_preview_prints_the_mime_message_and_sendtest_sends_it(
    recorded_installation: Installation,
    send_recorded: SendRecorded,
    smtp: Inbox,
) -> None:
    send_recorded(deliveries.recorded("checkout_updated_es"))
    out = StringIO()
    call_command(
        "preview",
        "abandoned-cart-reminder",
        "--contact",
        "maria.nunez@example.org",
        "--format",
        "eml",
        stdout=out,
    )
    eml = out.getvalue()
    assert "Subject: =?utf-8?q?Te_dejaste_algo_en_el_carrito?=" in eml or "Te dejaste algo" in eml
    assert "List-Unsubscribe-Post: List-Unsubscribe=One-Click" in eml
    assert "Content-Type: multipart/alternative" in eml

    out = StringIO()
    call_command("preview", "abandoned-cart-reminder", "--language", "en", stdout=out)
    assert out.getvalue().startswith("Subject: You left something in your cart")

    call_command(
        "sendtest", "abandoned-cart-thank-you", "--to", "staff@petshop.example", stdout=StringIO()
    )
    [received] = smtp.received
    assert received.recipients == ["staff@petshop.example"]
    assert received.message["Subject"].startswith("[TEST] Thank you!")
    assert "J-SAMPLE1234" in received.message.get_body(("plain",)).get_content()

    with pytest.raises(CommandError, match="there is no template 'nope'"):
        call_command("preview", "nope")
    with pytest.raises(CommandError, match="no contact"):
        call_command("preview", "abandoned-cart-reminder", "--contact", "who@example.org")


def test_templates_cannot_reach_settings_or_tags_outside_the_sandbox(
    installation: Installation,
) -> None:
    from saleor_journeys.messaging import sandbox

    for source in ("{% debug %}", "{% load static %}", "{% include 'base.html' %}", "{{ x|safe }}"):
        assert sandbox.check(source) is not None
    assert (
        sandbox.render(
            "{{ contact.installation.auth_token }}", {"contact": {"email": "a"}}, html=True
        )
        == ""
    )
    assert sandbox.render("{{ x }}", {"x": "<script>"}, html=True) == "&lt;script&gt;"


def test_the_cart_is_read_for_a_template_that_shows_it_and_only_once(
    recorded_installation: Installation, send_recorded: SendRecorded
) -> None:
    from saleor_journeys.messaging import context, sandbox

    delivery = deliveries.recorded("checkout_updated")
    send_recorded(delivery)
    contact = Contact.objects.get(email=json.loads(delivery["body"])["checkout"]["email"])
    data = context.build(contact, language="en")
    with CaptureQueriesContext(connection) as none_read:
        assert sandbox.render("Hello {{ contact.email }}", data, html=False).startswith("Hello")
    with CaptureQueriesContext(connection) as cart_read:
        shown = sandbox.render(
            "{{ checkout.quantity }} {% for l in checkout.lines %}{{ l.name }};{% endfor %} "
            "{{ links.checkout }}",
            data,
            html=False,
        )
    token = json.loads(delivery["body"])["checkout"]["token"]
    assert shown.startswith(f"{contact.checkouts.get().quantity} ")
    assert shown.endswith(f"token={token}")
    assert len(none_read) == 0
    assert len(cart_read) == 2  # the checkout, its lines; not again for the link
    assert context.resolve(data["checkout"])["token"] == token


def test_an_sms_template_previews_as_text_with_its_segments(installation: Installation) -> None:
    out = StringIO()
    call_command("preview", "webinar-today-sms", "--language", "es", stdout=out)
    text, footer = out.getvalue().rstrip("\n").rsplit("\n", 1)
    assert text.startswith(installation.saleor_domain + ": hoy a las 9:00")
    assert footer in ("-- GSM-7, 2 segment(s)", "-- UCS-2, 3 segment(s)", "-- UCS-2, 2 segment(s)")


def test_an_sms_to_an_invalid_number_fails_with_the_reason(
    installation: Installation, django_capture_on_commit_callbacks: Any
) -> None:
    from saleor_journeys.messaging.consent import set_consent

    journey = published(
        installation,
        {
            "name": "One SMS",
            "trigger": {"type": "manual"},
            "start": "sms",
            "nodes": [
                {"id": "sms", "type": "send", "channel": "sms", "template": "webinar-today-sms"}
            ],
        },
    )
    ana = _contact(installation, phone="+34 12", country="ES")
    set_consent(ana, "sms", ConsentStatus.SUBSCRIBED, source="test")
    with FrozenClock(T0), django_capture_on_commit_callbacks(execute=True):
        runs.enroll(journey, ana, now=T0)
    message = Message.objects.get()
    assert message.status == MessageStatus.FAILED
    assert "too short" in message.error


def test_a_send_that_fails_can_end_the_run(
    installation: Installation, django_capture_on_commit_callbacks: Any
) -> None:
    from saleor_journeys.journeys.models import Run, RunStatus

    journey = published(
        installation,
        {
            "name": "SMS or nothing",
            "trigger": {"type": "manual"},
            "start": "sms",
            "nodes": [
                {
                    "id": "sms",
                    "type": "send",
                    "channel": "sms",
                    "template": "webinar-today-sms",
                    "transactional": True,
                    "on_failure": "exit",
                    "next": "later",
                },
                {"id": "later", "type": "wait", "duration": "1d", "next": "mail"},
                {"id": "mail", "type": "send", "channel": "email", "template": "welcome-material"},
            ],
        },
    )
    ana = _contact(installation)  # no phone number
    with FrozenClock(T0), django_capture_on_commit_callbacks(execute=True):
        runs.enroll(journey, ana, now=T0)
    run = Run.objects.get()
    assert run.status == RunStatus.EXITED
    last = run.log.order_by("-number").first()
    assert last is not None and last.outcome == "exit" and "phone" in last.detail["reason"]
    with FrozenClock(T0 + timedelta(days=2)), django_capture_on_commit_callbacks(execute=True):
        runs.sweep()
    assert not Message.objects.filter(channel="email").exists()


def test_double_opt_in_confirms_once_from_the_emailed_link(
    installation: Installation,
    django_capture_on_commit_callbacks: Any,
    smtp: Inbox,
    settings: Any,
    client: Client,
) -> None:
    from saleor_journeys.messaging.consent import request_opt_in

    settings.SALEOR_JOURNEYS = {**settings.SALEOR_JOURNEYS, "DOUBLE_OPT_IN": True}
    ana = _contact(installation, first_name="Ana", language_code="es")
    request_opt_in(ana, source="form")
    [received] = smtp.received
    assert received.message["Subject"].strip() == "Confirma tu suscripción"
    assert Consent.objects.get(contact=ana).status == ConsentStatus.UNKNOWN
    # Not confirmed yet: marketing email does not go.
    run_mail(installation, ana, django_capture_on_commit_callbacks, T0)
    refused = Message.objects.get(template="welcome-material")
    assert refused.status == MessageStatus.SUPPRESSED and "double opt-in" in refused.error

    text = received.message.get_body(("plain",)).get_content()
    link = re.search(rf"{PUBLIC}(/optin/\S+)", text)
    assert link is not None
    assert client.get(link.group(1)).status_code == 200  # a page with a button: no change yet
    assert Consent.objects.get(contact=ana).status == ConsentStatus.UNKNOWN
    assert client.post(link.group(1)).status_code == 200
    consent = Consent.objects.get(contact=ana)
    assert (consent.status, consent.source) == (ConsentStatus.SUBSCRIBED, "double-opt-in")
    assert client.post(link.group(1)).status_code == 410  # used once
    assert client.get(link.group(1)[:-2] + "xx").status_code == 404


def test_an_expired_opt_in_link_is_refused(
    installation: Installation, smtp: Inbox, settings: Any, client: Client
) -> None:
    from saleor_journeys.messaging import links

    settings.SALEOR_JOURNEYS = {**settings.SALEOR_JOURNEYS, "OPT_IN_TOKEN_MAX_AGE": -1}
    ana = _contact(installation)
    url = links.opt_in_url(ana.pk, T0.isoformat())
    response = client.post(url.removeprefix(PUBLIC))
    assert response.status_code == 410 and b"expired" in response.content
