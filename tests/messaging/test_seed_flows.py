"""The seed flows deliver real messages: the welcome flow's emails and its webinar-day SMS, in
Spanish and in English, from real Saleor deliveries, over three virtual weeks."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from saleor_journeys.contacts.models import Contact
from saleor_journeys.core.clock import FrozenClock
from saleor_journeys.journeys import builtin, versions
from saleor_journeys.journeys.models import RunStep
from saleor_journeys.messaging import sms
from saleor_journeys.messaging.consent import set_consent
from saleor_journeys.messaging.models import ConsentStatus, Message, MessageStatus
from saleor_journeys.runtime import outbox, runs
from saleor_journeys.saleor.models import Installation
from tests.fixtures import deliveries
from tests.fixtures.smtp import Inbox
from tests.messaging.test_sms import FakeTwilio, LoopbackHttpClient

SendRecorded = Callable[[dict[str, Any]], Any]
PUBLIC = "https://journeys.example.com"


@pytest.fixture
def twilio(settings: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeTwilio]:
    settings.SALEOR_JOURNEYS = {
        **settings.SALEOR_JOURNEYS,
        "PUBLIC_URL": PUBLIC,
        "TWILIO_ACCOUNT_SID": "AC" + "0" * 31 + "1",
        "TWILIO_AUTH_TOKEN": "twilio-auth-token-for-tests",
        "TWILIO_FROM": "+15005550006",
        "LINKS": {
            "form": "https://petshop.example/pets",
            "webinar": "https://petshop.example/live",
        },
    }
    with FakeTwilio() as server:
        monkeypatch.setattr(sms, "http_client", lambda: LoopbackHttpClient(server.base_url))
        yield server


def live(until: datetime, start: datetime, capture: Any) -> None:
    """Let time pass hour by hour, as the beat would: due runs step, due messages go."""
    at = start
    while at <= until:
        with FrozenClock(at), capture(execute=True):
            runs.sweep()
            outbox.sweep()
        at += timedelta(hours=1)


def test_the_welcome_flow_in_spanish_and_english_by_email_and_sms(
    recorded_installation: Installation,
    send_recorded: SendRecorded,
    django_capture_on_commit_callbacks: Any,
    smtp: Inbox,
    twilio: FakeTwilio,
) -> None:
    journey = versions.create(recorded_installation, builtin.load("welcome"), actor="tests")
    versions.publish(journey, actor="tests")
    maria = deliveries.recorded("customer_created_es")
    jane = next(
        d for d in deliveries.scenario("storefront_signup_jane") if d["event"] == "customer_created"
    )
    start = datetime.fromisoformat(json.loads(maria["body"])["issuedAt"]) + timedelta(minutes=1)
    with FrozenClock(start):
        send_recorded(maria)
        send_recorded(jane)
    # María gave her mobile and agreed to SMS reminders; Jane did not.
    set_consent(
        Contact.objects.get(email="maria.nunez@example.org"),
        "sms",
        ConsentStatus.SUBSCRIBED,
        source="checkout",
    )

    live(start + timedelta(days=21), start, django_capture_on_commit_callbacks)

    by_person: dict[str, list[str]] = {}
    for received in smtp.received:
        mail = received.message
        assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert f"{PUBLIC}/t/o/" in mail.get_body(("html",)).get_content()
        by_person.setdefault(received.recipients[0], []).append(mail["Subject"].strip())
    assert by_person["maria.nunez@example.org"] == [
        "¡Bienvenido! Aquí tienes tu guía",
        "Una pregunta rápida sobre tu mascota",
        "Un vídeo para ti",
        "Te invitamos: educa a tu mascota, en directo",
        "Hoy: nuestro webinar sobre cómo educar a tu mascota",
        "¿Qué te pareció el webinar?",
    ]
    assert by_person["jane.doe@example.org"] == [
        "Welcome! Here is your pet care guide",
        "A quick question about your pet",
        "A video for you",
        "You are invited: training your pet, live",
        "Today: our webinar on training your pet",
        "How was the webinar?",
    ]
    # The webinar-day SMS: a real Twilio API request, in Spanish, on the Thursday at 9:00.
    [request] = twilio.requests
    assert request["form"]["To"] == "+34911234567"
    assert request["form"]["Body"].startswith(
        f"{recorded_installation.saleor_domain}: hoy a las 9:00"
    )
    sms_message = Message.objects.get(channel="sms", contact__email="maria.nunez@example.org")
    assert sms_message.status == MessageStatus.SENT
    assert sms_message.sent_at is not None and sms_message.sent_at.strftime("%a %H") == "Thu 09"
    # Jane left no phone number and gave no SMS consent: the journey sends her no SMS at all
    # (not a failed one), and her flow went on.
    assert not Message.objects.filter(channel="sms", contact__email="jane.doe@example.org")
    can_text = RunStep.objects.get(run__contact__email="jane.doe@example.org", node="can-text")
    assert can_text.detail == {"reason": "false"}
