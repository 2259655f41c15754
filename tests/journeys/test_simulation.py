"""``saleor-journeys simulate``: the built-in seed flows over virtual weeks, on real deliveries."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime, timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from saleor_journeys.contacts.models import Contact
from saleor_journeys.journeys import builtin
from saleor_journeys.journeys.definition import validate
from saleor_journeys.journeys.models import Journey, Run
from saleor_journeys.triggers import registry
from tests.fixtures import deliveries

START = datetime.fromisoformat("2026-11-02T09:00:00+00:00")  # a Monday


def taken(delivery: dict[str, Any]) -> bool:
    """Deliveries of events the app subscribes to (the recordings hold others too)."""
    return registry.get(delivery["event"]) is not None


def events_file(tmp_path: Path, items: Iterable[tuple[str, dict[str, Any]]]) -> Path:
    path = tmp_path / "events.jsonl"
    lines = []
    for at, delivery in items:
        body = json.loads(delivery["body"])
        lines.append(json.dumps({"at": at, "event": delivery["event"].upper(), "payload": body}))
    path.write_text("\n".join(lines) + "\n")
    return path


def simulate(journey: str, events: Path, until: str = "30d") -> list[dict[str, Any]]:
    out = StringIO()
    call_command(
        "simulate",
        journey,
        "--events",
        str(events),
        "--until",
        until,
        "--start",
        START.isoformat(),
        "--format",
        "json",
        stdout=out,
    )
    return [json.loads(line) for line in out.getvalue().splitlines()]


def sends(timeline: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    return [(t["at"], t["channel"], t["template"]) for t in timeline if t["action"] == "send"]


def at(delta: timedelta) -> str:
    return (START + delta).isoformat()


@pytest.mark.parametrize("name", builtin.NAMES)
def test_every_built_in_journey_is_valid(name: str) -> None:
    assert validate(builtin.load(name)).ok


def test_abandoned_cart_reminds_twice_when_nobody_answers(db: None, tmp_path: Path) -> None:
    cart = deliveries.scenario("abandoned_checkout_C")
    events = events_file(tmp_path, [(f"+{i}m", d) for i, d in enumerate(cart)])

    timeline = simulate("abandoned-cart", events)

    abandoned = timedelta(minutes=2, hours=2, seconds=1)  # last update + 2 h
    assert sends(timeline) == [
        (at(abandoned), "email", "abandoned-cart-reminder"),
        (at(abandoned + timedelta(days=2)), "email", "abandoned-cart-second-reminder"),
    ]
    assert {t["contact"] for t in timeline} == {"abandoner@example.org"}
    assert timeline[-1]["action"] == "exit"


def test_abandoned_cart_stops_at_the_order(db: None, tmp_path: Path) -> None:
    scenario = deliveries.scenario("guest_checkout_A_order_21")
    checkout = [d for d in scenario if d["event"].startswith("checkout_")]
    orders = [d for d in scenario if d["event"].startswith("order_") and taken(d)]
    items = [(f"+{i}m", d) for i, d in enumerate(checkout)]
    items += [(f"+{3 * 60 + i}m", d) for i, d in enumerate(orders)]  # bought after the email

    timeline = simulate("abandoned-cart", events_file(tmp_path, items))

    # The order stops the reminders and is thanked with a voucher (seed step 4).
    assert [s[2] for s in sends(timeline)] == [
        "abandoned-cart-reminder",
        "abandoned-cart-thank-you",
    ]
    goal = next(t for t in timeline if t["action"] == "goal")
    after = [(t["node"], t["action"]) for t in timeline[timeline.index(goal) + 1 :]]
    assert after == [
        ("thank-you-voucher", "create_voucher"),
        ("thank-you", "send"),
        ("converted", "exit"),
    ]
    assert {t["contact"] for t in timeline} == {"greta.g@example.org"}
    assert goal["at"] == timeline[-1]["at"]  # at once, not at the next sweep


def test_template_timings_are_parameters(db: None, tmp_path: Path) -> None:
    cart = deliveries.scenario("abandoned_checkout_C")
    events = events_file(tmp_path, [(f"+{i}m", d) for i, d in enumerate(cart)])
    out = StringIO()
    call_command(
        "simulate",
        "abandoned-cart",
        "--events",
        str(events),
        "--start",
        START.isoformat(),
        "--set",
        "abandoned_after=1h",
        "--set",
        "answer_within=5d",
        "--format",
        "json",
        stdout=out,
    )
    timeline = [json.loads(line) for line in out.getvalue().splitlines()]
    abandoned = timedelta(minutes=2, hours=1, seconds=1)  # last update + 1 h
    assert sends(timeline) == [
        (at(abandoned), "email", "abandoned-cart-reminder"),
        (at(abandoned + timedelta(days=5)), "email", "abandoned-cart-second-reminder"),
    ]
    with pytest.raises(CommandError, match="has no parameter wait_for"):
        call_command("simulate", "abandoned-cart", "--events", str(events), "--set", "wait_for=1d")
    with pytest.raises(CommandError, match=r"trigger.after"):
        call_command(
            "simulate", "abandoned-cart", "--events", str(events), "--set", "abandoned_after=soon"
        )


def test_a_cart_bought_before_two_hours_gets_nothing(db: None, tmp_path: Path) -> None:
    scenario = deliveries.scenario("guest_checkout_A_order_21")
    items = [(f"+{i}m", d) for i, d in enumerate(scenario) if taken(d)]

    assert simulate("abandoned-cart", events_file(tmp_path, items)) == []


def test_welcome_runs_the_seed_flow_over_three_weeks(db: None, tmp_path: Path) -> None:
    signup = [d for d in deliveries.scenario("storefront_signup_jane") if taken(d)]

    timeline = simulate("welcome", events_file(tmp_path, [("+0m", d) for d in signup]))

    video = timedelta(days=3 + 4)
    invitation = video + timedelta(days=5)  # Monday 2026-11-14 … the next Thursday 09:00 UTC
    webinar = datetime.fromisoformat("2026-11-19T09:00:00+00:00") - START
    assert sends(timeline) == [
        (at(timedelta()), "email", "welcome-material"),
        (at(timedelta(days=3)), "email", "welcome-form-reminder"),
        (at(video), "email", "welcome-video"),
        (at(invitation), "email", "webinar-invitation"),
        # Jane gave no phone number and no SMS consent: the webinar-day SMS is skipped.
        (at(webinar), "email", "webinar-today"),
        (at(webinar + timedelta(days=3)), "email", "webinar-survey"),
    ]
    assert {t["contact"] for t in timeline} == {"jane.doe@example.org"}


def test_nothing_is_kept(db: None, tmp_path: Path) -> None:
    cart = deliveries.scenario("abandoned_checkout_C")

    simulate("abandoned-cart", events_file(tmp_path, [("+0m", d) for d in cart]))

    assert not Journey.objects.exists()
    assert not Run.objects.exists()
    assert not Contact.objects.exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"at": "+1h", "event": "CHECKOUT_UPDATED"}', "line 1: needs at, event and payload"),
        ("not json", "line 1: not JSON"),
        ('{"at": "soon", "event": "CHECKOUT_UPDATED", "payload": {}}', "line 1: bad time"),
        ('{"at": "+1h", "event": "PRODUCT_UPDATED", "payload": {}}', "not an event the app takes"),
        ('{"at": "+1h", "event": "CHECKOUT_UPDATED", "payload": {"a": 1}}', "line 1:"),
    ],
)
def test_bad_event_lines_are_clear_errors(
    db: None, tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text(content + "\n")

    with pytest.raises(CommandError, match=message):
        simulate("abandoned-cart", path)


def test_an_unknown_journey_is_a_clear_error(db: None, tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text("")

    with pytest.raises(CommandError, match="neither a file nor"):
        simulate("birthday", path)
