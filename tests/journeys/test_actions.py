"""Steps with effects outside the app: Saleor vouchers, outgoing webhooks, staff emails; and
the triggers steps can cause (a tag added) or time causes (a date property)."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.core import mail
from django.test import override_settings

from saleor_journeys.commerce.models import Order
from saleor_journeys.contacts.models import Contact
from saleor_journeys.core.clock import FrozenClock
from saleor_journeys.journeys import versions
from saleor_journeys.journeys.models import ActionStatus, Journey, Run, RunAction, RunStatus
from saleor_journeys.runtime import outbox, runs
from saleor_journeys.saleor.models import Installation
from tests.fixtures.saleor_server import FakeSaleor
from tests.fixtures.saleor_vouchers import CHANNELS, SaleorVouchers

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def published(installation: Installation, definition: dict[str, Any]) -> Journey:
    journey = versions.create(installation, definition, actor="tests")
    versions.publish(journey, actor="tests")
    journey.refresh_from_db()
    return journey


def one_step(node: dict[str, Any], *, then: dict[str, Any] | None = None) -> dict[str, Any]:
    nodes = [{**node, "id": "effect", "next": "after" if then else None}]
    if then:
        nodes.append({**then, "id": "after"})
    return {
        "name": f"Test {node['type']}",
        "trigger": {"type": "manual"},
        "start": "effect",
        "nodes": nodes,
    }


@pytest.fixture
def vouchers(saleor: FakeSaleor) -> SaleorVouchers:
    handler = SaleorVouchers()
    saleor.handler = handler
    return handler


@pytest.fixture
def maria(installation: Installation) -> Contact:
    contact = Contact.objects.create(installation=installation, email="maria@example.org")
    Order.objects.create(
        installation=installation,
        saleor_id="T3JkZXI6MQ==",
        number="21",
        contact=contact,
        channel_slug="default-channel",
        saleor_updated_at=T0,
    )
    return contact


def run_journey(journey: Journey, contact: Contact, capture: Any, *, at: datetime = T0) -> Run:
    """Enrol and step the contact; the effects are performed when the step commits."""
    with FrozenClock(at), capture(execute=True):
        run = runs.enroll(journey, contact, now=at)
        assert run is not None
        runs.advance(run.pk)
    run.refresh_from_db()
    return run


VOUCHER = {"type": "create_voucher", "percent": 10, "valid_for": "7d", "name": "Thank you 10%"}
THANKS = {"type": "send", "channel": "email", "template": "thank-you"}


def test_a_voucher_is_created_in_saleor_and_its_code_is_known_to_later_steps(
    installation: Installation,
    maria: Contact,
    vouchers: SaleorVouchers,
    django_capture_on_commit_callbacks: Any,
) -> None:
    journey = published(installation, one_step(VOUCHER, then=THANKS))
    run = run_journey(journey, maria, django_capture_on_commit_callbacks)

    code = run.context["voucher"]["code"]
    assert code.startswith("J-") and len(code) == 12
    [voucher] = vouchers.vouchers.values()
    assert voucher["code"] == code
    sent = voucher["input"]
    assert sent["singleUse"] is True and sent["usageLimit"] == 1 and sent["applyOncePerCustomer"]
    assert sent["discountValueType"] == "PERCENTAGE" and sent["name"] == "Thank you 10%"
    assert datetime.fromisoformat(sent["endDate"]) - datetime.fromisoformat(
        sent["startDate"]
    ) == timedelta(days=7)
    assert voucher["listings"] == [{"channelId": CHANNELS["default-channel"], "discountValue": 10}]
    assert {"key": "journeys_recipient_email", "value": "maria@example.org"} in voucher["metadata"]
    action = RunAction.objects.get(run=run, kind="create_voucher")
    assert action.status == ActionStatus.DONE and action.result["code"] == code
    assert action.attempts == 1
    send = RunAction.objects.get(run=run, kind="send")
    assert send.key > action.key or send.pk > action.pk  # decided after the voucher
    assert run.status == RunStatus.DONE


def test_a_retried_voucher_finds_the_one_a_crashed_attempt_made(
    installation: Installation,
    maria: Contact,
    vouchers: SaleorVouchers,
    django_capture_on_commit_callbacks: Any,
) -> None:
    journey = published(installation, one_step(VOUCHER))
    vouchers.down = True
    run = run_journey(journey, maria, django_capture_on_commit_callbacks)
    action = RunAction.objects.get(run=run)
    assert action.status == ActionStatus.PENDING and action.attempts == 1
    assert action.next_attempt_at is not None and action.next_attempt_at > T0
    assert "502" in action.error
    # The first attempt reached Saleor after all; its answer was lost.
    vouchers.down = False
    vouchers.add(action.params["voucher"]["code"])
    with FrozenClock(T0 + timedelta(seconds=20)):
        assert outbox.sweep() == 0  # not due yet: the first retry waits 30-90 s
    with FrozenClock(T0 + timedelta(hours=1)):
        assert outbox.sweep() == 1
    action.refresh_from_db()
    assert action.status == ActionStatus.DONE and action.attempts == 2
    assert len(vouchers.vouchers) == 1  # one voucher, never two
    assert "vouchers" in vouchers.operations


def test_without_manage_discounts_the_voucher_fails_with_the_reason_and_the_run_goes_on(
    installation: Installation,
    maria: Contact,
    vouchers: SaleorVouchers,
    django_capture_on_commit_callbacks: Any,
) -> None:
    vouchers.can_manage_discounts = False
    journey = published(installation, one_step(VOUCHER, then=THANKS))
    run = run_journey(journey, maria, django_capture_on_commit_callbacks)
    action = RunAction.objects.get(run=run, kind="create_voucher")
    assert action.status == ActionStatus.FAILED
    assert "MANAGE_DISCOUNTS" in action.error
    assert vouchers.vouchers == {}
    assert run.status == RunStatus.DONE
    assert RunAction.objects.filter(run=run, kind="send").count() == 1


def test_a_voucher_without_any_channel_fails_clearly(
    installation: Installation, vouchers: SaleorVouchers, django_capture_on_commit_callbacks: Any
) -> None:
    nobody = Contact.objects.create(installation=installation, email="new@example.org")
    journey = published(installation, one_step(VOUCHER))
    run = run_journey(journey, nobody, django_capture_on_commit_callbacks)
    action = RunAction.objects.get(run=run)
    assert action.status == ActionStatus.FAILED
    assert "no Saleor channel" in action.error


# --- outgoing webhooks ----------------------------------------------------------------------


class Receiver:
    """An HTTP server on a loopback address, recording what it receives."""

    def __init__(self, host: str = "127.0.0.1", status: int = 200, location: str = "") -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.requests.append((dict(self.headers), body))
                self.send_response(status)
                if location:
                    self.send_header("Location", location)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.httpd = ThreadingHTTPServer((host, 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}/hook"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


def webhook_settings(**overrides: Any) -> Any:
    from django.conf import settings

    return override_settings(SALEOR_JOURNEYS={**settings.SALEOR_JOURNEYS, **overrides})


def test_a_webhook_posts_a_signed_body_with_its_unique_key(
    installation: Installation,
    maria: Contact,
    receiver: Receiver,
    django_capture_on_commit_callbacks: Any,
) -> None:
    journey = published(
        installation,
        one_step({"type": "webhook", "url": receiver.url, "data": {"audience": "dogs"}}),
    )
    with webhook_settings(
        OUTGOING_WEBHOOK_REQUIRE_HTTPS=False, OUTGOING_WEBHOOK_ALLOWED_NETWORKS=["127.0.0.1/32"]
    ):
        run = run_journey(journey, maria, django_capture_on_commit_callbacks)
    [(headers, body)] = receiver.requests
    action = RunAction.objects.get(run=run)
    assert action.status == ActionStatus.DONE and action.result == {"status": 200}
    payload = json.loads(body)
    assert payload["id"] == action.key == headers["Journeys-Delivery"]
    assert payload["contact"]["email"] == "maria@example.org"
    assert payload["journey"] == journey.slug and payload["data"] == {"audience": "dogs"}
    timestamp, mac = (part.split("=", 1)[1] for part in headers["Journeys-Signature"].split(","))
    expected = hmac.new(
        installation.webhook_secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256
    )
    assert hmac.compare_digest(mac, expected.hexdigest())


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"OUTGOING_WEBHOOK_REQUIRE_HTTPS": False}, "loopback address"),
        ({"OUTGOING_WEBHOOK_ALLOWED_NETWORKS": ["127.0.0.1/32"]}, "is not https"),
    ],
    ids=["loopback", "plain-http"],
)
def test_a_webhook_to_our_own_network_or_over_http_is_refused(
    installation: Installation,
    maria: Contact,
    receiver: Receiver,
    django_capture_on_commit_callbacks: Any,
    overrides: dict[str, Any],
    reason: str,
) -> None:
    journey = published(installation, one_step({"type": "webhook", "url": receiver.url}))
    with webhook_settings(**overrides):
        run = run_journey(journey, maria, django_capture_on_commit_callbacks)
    action = RunAction.objects.get(run=run)
    assert action.status == ActionStatus.FAILED and reason in action.error
    assert receiver.requests == []


def test_a_redirect_into_our_own_network_is_refused(
    installation: Installation,
    maria: Contact,
    receiver: Receiver,
    django_capture_on_commit_callbacks: Any,
) -> None:
    # 127.0.0.2 stands for a public address the shop allowed; it redirects to a private one.
    front = Receiver(host="127.0.0.2", status=307, location=receiver.url)
    try:
        journey = published(installation, one_step({"type": "webhook", "url": front.url}))
        with webhook_settings(
            OUTGOING_WEBHOOK_REQUIRE_HTTPS=False, OUTGOING_WEBHOOK_ALLOWED_NETWORKS=["127.0.0.2/32"]
        ):
            run = run_journey(journey, maria, django_capture_on_commit_callbacks)
    finally:
        front.close()
    action = RunAction.objects.get(run=run)
    assert len(front.requests) == 1
    assert receiver.requests == []
    assert (
        action.status == ActionStatus.FAILED and "127.0.0.1 is a loopback address" in action.error
    )


def test_a_failing_receiver_is_retried_with_backoff(
    installation: Installation, maria: Contact, django_capture_on_commit_callbacks: Any
) -> None:
    failing = Receiver(status=503)
    try:
        journey = published(installation, one_step({"type": "webhook", "url": failing.url}))
        with webhook_settings(
            OUTGOING_WEBHOOK_REQUIRE_HTTPS=False, OUTGOING_WEBHOOK_ALLOWED_NETWORKS=["127.0.0.1/32"]
        ):
            run = run_journey(journey, maria, django_capture_on_commit_callbacks)
            action = RunAction.objects.get(run=run)
            assert action.status == ActionStatus.PENDING and "HTTP 503" in action.error
            for hours in range(1, 12):
                with FrozenClock(T0 + timedelta(hours=hours)):
                    outbox.sweep()
    finally:
        failing.close()
    action.refresh_from_db()
    assert action.status == ActionStatus.FAILED and action.attempts == 6  # ACTION_MAX_ATTEMPTS
    assert len(failing.requests) == 6


# --- staff notifications --------------------------------------------------------------------


def test_staff_are_notified_by_email(
    installation: Installation, maria: Contact, django_capture_on_commit_callbacks: Any
) -> None:
    node = {
        "type": "notify_staff",
        "to": ["sales@shop.example"],
        "message": "A customer said the cart was too expensive",
    }
    journey = published(installation, one_step(node))
    run = run_journey(journey, maria, django_capture_on_commit_callbacks)
    [message] = mail.outbox
    assert message.to == ["sales@shop.example"]
    assert "too expensive" in message.subject and "maria@example.org" in message.body
    assert RunAction.objects.get(run=run).status == ActionStatus.DONE


def test_a_staff_address_that_is_not_one_is_a_definition_problem() -> None:
    from saleor_journeys.journeys.definition import validate

    result = validate(one_step({"type": "notify_staff", "to": ["not an address"], "message": "hi"}))
    assert [(p.path, p.code) for p in result.problems] == [("nodes[0].to[0]", "invalid")]


# --- triggers caused by steps and by time ---------------------------------------------------


def test_a_tag_added_by_one_journey_starts_another(
    installation: Installation, maria: Contact, django_capture_on_commit_callbacks: Any
) -> None:
    tagger = published(installation, one_step({"type": "update_contact", "add_tags": ["vip"]}))
    vip = published(
        installation,
        {
            "name": "VIP welcome",
            "trigger": {"type": "tag_added", "tag": "vip"},
            "start": "hello",
            "nodes": [{"id": "hello", "type": "send", "channel": "email", "template": "vip"}],
        },
    )
    other = published(
        installation,
        {
            "name": "Other tag",
            "trigger": {"type": "tag_added", "tag": "price-sensitive"},
            "start": "hello",
            "nodes": [{"id": "hello", "type": "send", "channel": "email", "template": "cheap"}],
        },
    )
    run_journey(tagger, maria, django_capture_on_commit_callbacks)
    with FrozenClock(T0), django_capture_on_commit_callbacks(execute=True):
        runs.sweep()
    assert Run.objects.get(journey=vip, contact=maria).status == RunStatus.DONE
    assert not Run.objects.filter(journey=other).exists()
    assert maria.events.filter(type="tag_added", data__tag="vip").count() == 1


def test_a_property_date_enrols_once_when_its_day_comes(
    installation: Installation, django_capture_on_commit_callbacks: Any
) -> None:
    with FrozenClock(T0):
        journey = published(
            installation,
            {
                "name": "A week after sign-up",
                "trigger": {
                    "type": "property_date",
                    "property": "contact.properties.date_joined",
                    "offset": "7d",
                },
                "start": "hello",
                "nodes": [{"id": "hello", "type": "send", "channel": "email", "template": "week"}],
            },
        )
    Journey.objects.filter(pk=journey.pk).update()  # published_at is stamped by the database
    published_at = journey.versions.get().published_at
    due_soon = Contact.objects.create(
        installation=installation,
        email="soon@example.org",
        properties={"date_joined": (published_at - timedelta(days=6)).isoformat()},
    )
    long_ago = Contact.objects.create(
        installation=installation,
        email="old@example.org",
        properties={"date_joined": (published_at - timedelta(days=30)).isoformat()},
    )
    Contact.objects.create(
        installation=installation, email="nodate@example.org", properties={"date_joined": "soon"}
    )
    with FrozenClock(published_at + timedelta(hours=12)):
        assert runs.scan_property_dates() == 0  # a day early
    with (
        FrozenClock(published_at + timedelta(days=1, hours=1)),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert runs.scan_property_dates() == 1
        assert runs.scan_property_dates() == 0  # once
    assert list(Run.objects.filter(journey=journey).values_list("contact", flat=True)) == [
        due_soon.pk
    ]
    assert not Run.objects.filter(contact=long_ago).exists()


def test_webhooksecret_prints_and_rotates_the_signing_secret(installation: Installation) -> None:
    from io import StringIO

    from django.core.management import CommandError, call_command

    out = StringIO()
    call_command("webhooksecret", "--saleor-api-url", installation.saleor_api_url, stdout=out)
    assert out.getvalue().strip() == installation.webhook_secret
    call_command(
        "webhooksecret", "--saleor-api-url", installation.saleor_api_url, "--rotate", stdout=out
    )
    installation.refresh_from_db()
    assert out.getvalue().split()[-1] == installation.webhook_secret
    assert out.getvalue().split()[0] != installation.webhook_secret
    with pytest.raises(CommandError, match="No Saleor at"):
        call_command("webhooksecret", "--saleor-api-url", "https://other.example/graphql/")
