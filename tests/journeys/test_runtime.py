"""Journeys running on real Saleor deliveries, with the clock moved by days."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from saleor_journeys.contacts.models import Contact
from saleor_journeys.core.clock import FrozenClock
from saleor_journeys.events import log
from saleor_journeys.journeys import builtin, files, versions
from saleor_journeys.journeys.models import Journey, Run, RunAction, RunStatus, RunStep
from saleor_journeys.runtime import runs
from saleor_journeys.saleor.models import Installation
from tests.fixtures import deliveries

SendRecorded = Callable[[dict[str, Any]], Any]
CART = Path(__file__).parents[1] / "fixtures" / "journeys" / "abandoned-cart.yaml"
WELCOME = {
    "name": "Welcome",
    "trigger": {"type": "event", "event": "customer_created"},
    "start": "hello",
    "nodes": [
        {"id": "hello", "type": "send", "channel": "email", "template": "welcome", "next": "later"},
        {"id": "later", "type": "wait", "duration": "2d", "next": "tips"},
        {"id": "tips", "type": "send", "channel": "email", "template": "tips"},
    ],
}


def published(installation: Installation, definition: dict[str, Any]) -> Journey:
    journey = versions.create(installation, definition, actor="tests")
    versions.publish(journey, actor="tests")
    journey.refresh_from_db()
    return journey


def sent(journey: Journey) -> list[str]:
    return list(
        RunAction.objects.filter(run__journey=journey, kind="send")
        .order_by("pk")
        .values_list("params__template", flat=True)
    )


def updated_at(delivery: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(json.loads(delivery["body"])["checkout"]["updatedAt"])


@pytest.fixture
def cart_journey(recorded_installation: Installation) -> Journey:
    return published(recorded_installation, files.loads(CART.read_text(), "yaml"))


def test_an_abandoned_cart_gets_the_reminder_then_the_second_one(
    cart_journey: Journey, send_recorded: SendRecorded
) -> None:
    scenario = deliveries.scenario("abandoned_checkout_C")
    for delivery in scenario:
        send_recorded(delivery)
    left_at = updated_at(scenario[-1])

    with FrozenClock(left_at + timedelta(hours=1, minutes=59)):
        assert runs.scan_abandoned_checkouts() == 0  # not abandoned yet
    with FrozenClock(left_at + timedelta(hours=2, minutes=1)) as clock:
        assert runs.scan_abandoned_checkouts() == 1
        runs.sweep()
        assert sent(cart_journey) == ["cart-reminder"]
        clock.advance(timedelta(days=2, hours=23))
        runs.sweep()
        assert sent(cart_journey) == ["cart-reminder"]  # the answer may still come
        clock.advance(timedelta(hours=2))
        runs.sweep()
        assert runs.scan_abandoned_checkouts() == 0  # the same checkout never enrols twice

    run = Run.objects.get()
    assert sent(cart_journey) == ["cart-reminder", "cart-second-reminder"]
    assert run.status == RunStatus.DONE
    assert run.contact.email == "abandoner@example.org"
    outcomes = list(run.log.order_by("number").values_list("node", "outcome"))
    assert outcomes == [
        ("first-email", "enter"),
        ("first-email", "action"),
        ("wait-answer", "wait"),
        ("wait-answer", "timeout"),
        ("second-email", "action"),
        ("done", "exit"),
    ]


def test_a_purchase_ends_the_cart_journey_before_the_second_email(
    cart_journey: Journey, send_recorded: SendRecorded
) -> None:
    scenario = deliveries.scenario("guest_checkout_A_order_21")
    before_order = [d for d in scenario if d["event"].startswith("checkout_")]
    order_created = next(d for d in scenario if d["event"] == "order_created")
    for delivery in before_order:
        send_recorded(delivery)
    left_at = max(updated_at(d) for d in before_order)

    with FrozenClock(left_at + timedelta(hours=3)) as clock:
        runs.scan_abandoned_checkouts()
        runs.sweep()
        send_recorded(order_created)  # the order arrives while the run waits for an answer
        runs.sweep()
        clock.advance(timedelta(days=10))
        runs.sweep()

    run = Run.objects.get()
    assert run.status == RunStatus.CONVERTED
    assert sent(cart_journey) == ["cart-reminder"]
    assert run.log.order_by("-number").first().outcome == "goal"  # type: ignore[union-attr]


def test_an_event_trigger_enrols_once_and_waits_durably(
    recorded_installation: Installation, send_recorded: SendRecorded
) -> None:
    journey = published(recorded_installation, WELCOME)
    signup = deliveries.scenario("storefront_signup_jane")
    created_at = datetime.fromisoformat(json.loads(signup[1]["body"])["issuedAt"])

    with FrozenClock(created_at + timedelta(minutes=1)) as clock:
        for delivery in signup:
            send_recorded(delivery)
        send_recorded(signup[1])  # Saleor's retry of customer_created
        runs.sweep()
        assert sent(journey) == ["welcome"]
        clock.advance(timedelta(days=1))
        assert runs.sweep() == 0
        clock.advance(timedelta(days=1, seconds=1))
        runs.sweep()
        runs.sweep()

    assert sent(journey) == ["welcome", "tips"]
    run = Run.objects.get()
    assert run.contact.email == "jane.doe@example.org"
    assert run.status == RunStatus.DONE
    numbers = list(run.log.values_list("number", flat=True))
    assert sorted(numbers) == list(range(len(numbers)))


def test_reentry_never_keeps_a_contact_to_one_run(
    recorded_installation: Installation, send_recorded: SendRecorded
) -> None:
    journey = published(recorded_installation, WELCOME)
    jane = deliveries.scenario("storefront_signup_jane")[1]
    send_recorded(jane)
    runs.sweep()
    contact = Contact.objects.get(email="jane.doe@example.org")

    assert runs.enroll(journey, contact, now=datetime.now().astimezone()) is None
    assert Run.objects.count() == 1


def test_reentry_after_a_while(
    recorded_installation: Installation, send_recorded: SendRecorded
) -> None:
    definition = {**WELCOME, "settings": {"reentry": {"policy": "after", "after": "30d"}}}
    journey = published(recorded_installation, definition)
    send_recorded(deliveries.scenario("storefront_signup_jane")[1])
    contact = Contact.objects.get(email="jane.doe@example.org")
    first = Run.objects.get()
    Run.objects.filter(pk=first.pk).update(status=RunStatus.DONE)

    with FrozenClock(first.entered_at + timedelta(days=29)):
        assert runs.enroll(journey, contact, now=first.entered_at + timedelta(days=29)) is None
    later = first.entered_at + timedelta(days=31)
    with FrozenClock(later):
        assert runs.enroll(journey, contact, now=later) is not None


def test_update_contact_changes_the_card_once(
    recorded_installation: Installation, send_recorded: SendRecorded
) -> None:
    definition = {
        "name": "Tagger",
        "trigger": {"type": "event", "event": "customer_created"},
        "start": "tag",
        "nodes": [
            {"id": "tag", "type": "update_contact", "add_tags": ["new"], "score": 5},
        ],
    }
    published(recorded_installation, definition)

    send_recorded(deliveries.scenario("storefront_signup_jane")[1])
    runs.sweep()
    runs.sweep()

    jane = Contact.objects.get(email="jane.doe@example.org")
    assert (jane.tags, jane.score) == (["new"], 5)
    assert RunAction.objects.get().status == "done"


def test_paused_and_draft_journeys_enrol_nobody(
    recorded_installation: Installation, send_recorded: SendRecorded
) -> None:
    paused = published(recorded_installation, WELCOME)
    versions.transition(paused, "pause", actor="tests")
    versions.create(recorded_installation, {**WELCOME, "name": "Draft only"}, actor="tests")

    send_recorded(deliveries.scenario("storefront_signup_jane")[1])

    assert Run.objects.count() == 0


def test_a_paused_journey_holds_its_runs_until_it_resumes(
    recorded_installation: Installation, send_recorded: SendRecorded
) -> None:
    journey = published(recorded_installation, WELCOME)
    signup = deliveries.scenario("storefront_signup_jane")
    created_at = datetime.fromisoformat(json.loads(signup[1]["body"])["issuedAt"])

    with FrozenClock(created_at + timedelta(minutes=1)) as clock:
        send_recorded(signup[1])
        runs.sweep()
        assert sent(journey) == ["welcome"]
        versions.transition(journey, "pause", actor="tests")
        clock.advance(timedelta(days=3))  # the wait is over, but the journey is paused
        assert runs.due() == []
        assert runs.advance(Run.objects.get().pk) == 0
        assert sent(journey) == ["welcome"]
        versions.transition(journey, "resume", actor="tests")
        runs.sweep()

    assert sent(journey) == ["welcome", "tips"]
    assert Run.objects.get().status == RunStatus.DONE


def test_a_run_stays_on_the_version_it_entered(
    recorded_installation: Installation, send_recorded: SendRecorded
) -> None:
    journey = published(recorded_installation, WELCOME)
    send_recorded(deliveries.scenario("storefront_signup_jane")[1])
    runs.sweep()
    changed = json.loads(json.dumps(WELCOME))
    changed["nodes"][2]["template"] = "tips-v2"
    versions.update_draft(journey, changed, actor="tests")
    versions.publish(journey, actor="tests")

    with FrozenClock(Run.objects.get().entered_at + timedelta(days=3)):
        runs.sweep()

    assert sent(journey) == ["welcome", "tips"]
    assert Run.objects.get().version.number == 1
    assert RunStep.objects.filter(outcome="action").count() == 2


def test_claimed_runs_are_not_handed_out_again_until_their_lease_ends(
    recorded_installation: Installation,
) -> None:
    journey = published(recorded_installation, {**WELCOME, "trigger": {"type": "manual"}})
    start = datetime.fromisoformat("2026-11-02T09:00:00+00:00")
    contacts = [
        Contact.objects.create(installation=recorded_installation, email=f"c{i}@example.org")
        for i in range(5)
    ]
    with FrozenClock(start) as clock:
        for contact in contacts:
            runs.enroll(journey, contact, now=start)
        first = runs.claim_due(3)
        second = runs.claim_due(3)
        assert len(first) == 3 and len(second) == 2 and not set(first) & set(second)
        assert runs.claim_due(3) == []
        clock.advance(timedelta(minutes=14))
        assert runs.claim_due(10) == []
        clock.advance(timedelta(minutes=2))  # the 15-minute lease is over: a lost task's runs
        assert sorted(runs.claim_due(10)) == sorted(first + second)


WAIT_FOR_FORM = {
    "name": "Waits for a form",
    "trigger": {"type": "event", "event": "customer_created"},
    "start": "hello",
    "nodes": [
        {"id": "hello", "type": "send", "channel": "email", "template": "welcome", "next": "ask"},
        {
            "id": "ask",
            "type": "wait_for_event",
            "event": "form_submitted",
            "timeout": "3d",
            "next": "thanks",
            "timeout_next": "reminder",
        },
        {"id": "thanks", "type": "send", "channel": "email", "template": "thanks"},
        {"id": "reminder", "type": "send", "channel": "email", "template": "reminder"},
    ],
}


def _event(
    contact: Contact, type: str, at: datetime, key: str, data: dict[str, Any] | None = None
) -> None:
    log.record(
        installation_id=contact.installation_id,
        contact=contact,
        type=type,
        source="tests",
        key=key,
        occurred_at=at,
        received_at=at,
        data=data or {},
    )


def test_only_events_a_run_can_use_wake_it(
    recorded_installation: Installation, send_recorded: SendRecorded
) -> None:
    """A run waiting for a form is not stepped for a page view; the form ends its wait."""
    journey = published(recorded_installation, WAIT_FOR_FORM)
    signup = deliveries.scenario("storefront_signup_jane")
    created_at = datetime.fromisoformat(json.loads(signup[1]["body"])["issuedAt"])
    with FrozenClock(created_at + timedelta(minutes=1)) as clock:
        for delivery in signup:
            send_recorded(delivery)
        runs.sweep()
        run = Run.objects.get(journey=journey)
        assert (run.status, run.node) == (RunStatus.WAITING, "ask")
        timer = run.wake_at

        clock.advance(timedelta(hours=1))
        _event(run.contact, "page_viewed", clock.at, "tests:view")
        run.refresh_from_db()
        assert (run.inbox, run.wake_at) == ([], timer)
        assert runs.sweep() == 0

        _event(run.contact, "form_submitted", clock.at, "tests:form")
        run.refresh_from_db()
        assert len(run.inbox) == 1 and run.wake_at == clock.at
        runs.sweep()

    assert sent(journey) == ["welcome", "thanks"]


def test_facts_are_read_from_the_database_only_when_a_step_asks(
    recorded_installation: Installation, send_recorded: SendRecorded
) -> None:
    send_recorded(deliveries.scenario("storefront_signup_jane")[1])
    contact = Contact.objects.get(email="jane.doe@example.org")
    now = datetime.now().astimezone()
    _event(contact, "page_viewed", now, "tests:seen")

    with CaptureQueriesContext(connection) as built:
        facts = runs.contact_facts(contact, now, since=now - timedelta(days=1))
    with CaptureQueriesContext(connection) as read:
        assert [e.type for e in facts.events][-1] == "page_viewed"
        assert (facts.order_count, facts.order_total) == (0, 0)
        assert facts.events == facts.events and facts.order_count == 0
    assert len(built) == 0
    assert len(read) == 2  # the events once, the orders (count and total) once


def _form(contact: Contact, form: str, fields: dict[str, Any], at: datetime, key: str) -> None:
    _event(contact, "form_submitted", at, key, {"form": form, "fields": fields})


def test_the_built_in_cart_journey_hears_its_own_form_and_tags_too_expensive(
    recorded_installation: Installation,
    send_recorded: SendRecorded,
    django_capture_on_commit_callbacks: Any,
    smtp: Any,
) -> None:
    journey = published(recorded_installation, builtin.load("abandoned-cart"))
    cart = deliveries.recorded("checkout_updated")
    send_recorded(cart)
    with (
        FrozenClock(updated_at(cart) + timedelta(hours=2, seconds=1)) as clock,
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert runs.scan_abandoned_checkouts() == 1
        runs.sweep()
        run = Run.objects.get(journey=journey)
        assert (run.status, run.node) == (RunStatus.WAITING, "wait-for-answer")

        clock.advance(timedelta(hours=1))
        reason = {"answer": "no_longer_want_it", "reason": "too_expensive"}
        _form(run.contact, "welcome-interests", {"pet": "dog"}, clock.at, "tests:other-form")
        runs.sweep()
        run.refresh_from_db()
        assert (run.status, run.node) == (RunStatus.WAITING, "wait-for-answer")

        _form(run.contact, "cart-feedback", reason, clock.at, "tests:cart-form")
        runs.sweep()

    run.refresh_from_db()
    assert run.status == RunStatus.DONE
    nodes = list(run.log.order_by("number").values_list("node", flat=True))
    assert nodes[-4:-1] == ["store-reason", "too-expensive", "tag-price-sensitive"], nodes
    run.contact.refresh_from_db()
    assert "price-sensitive" in run.contact.tags
    assert run.contact.properties["cart_feedback"] == "answered"
    assert sent(journey) == ["abandoned-cart-reminder"]
