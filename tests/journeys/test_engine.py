"""The pure engine, driven over virtual weeks: who gets what, when, and who gets nothing."""

from __future__ import annotations

import copy
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from saleor_journeys.journeys import engine, files
from saleor_journeys.journeys.definition import Definition, Until, validate
from saleor_journeys.journeys.facts import EventFact, Facts
from saleor_journeys.journeys.timeline import Entry, run_contact

EXAMPLE = Path(__file__).parents[1] / "fixtures" / "journeys" / "abandoned-cart.yaml"
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # a Monday


def load(**changes: Any) -> Definition:
    document = files.loads(EXAMPLE.read_text(), "yaml")
    document.update(changes)
    result = validate(document)
    assert result.definition is not None, result.problems
    return result.definition


def sends(timeline: list[Entry]) -> list[tuple[datetime, str]]:
    return [(e.at, e.detail["template"]) for e in timeline if e.action == "send"]


def test_no_answer_gets_the_reminder_after_the_timeout_and_nothing_more() -> None:
    state, timeline = run_contact(
        load(), entered_at=T0, seed="a@example.org", events=[], until=T0 + timedelta(days=30)
    )

    assert sends(timeline) == [
        (T0, "cart-reminder"),
        (T0 + timedelta(days=3), "cart-second-reminder"),
    ]
    assert state.status == "done"


def test_an_answer_is_stored_and_stops_the_reminders() -> None:
    answer = EventFact("form_submitted", T0 + timedelta(days=1), {"reason": "too_expensive"})

    state, timeline = run_contact(
        load(), entered_at=T0, seed="a", events=[answer], until=T0 + timedelta(days=30)
    )

    assert sends(timeline) == [(T0, "cart-reminder")]
    updates = [e for e in timeline if e.action == "update_contact"]
    assert [(u.at, u.detail["add_tags"]) for u in updates] == [(answer.at, ["price-sensitive"])]
    assert state.status == "done"


def test_a_purchase_ends_the_run_as_a_conversion() -> None:
    order = EventFact("order_created", T0 + timedelta(hours=5))

    state, timeline = run_contact(
        load(), entered_at=T0, seed="a", events=[order], until=T0 + timedelta(days=30)
    )

    assert sends(timeline) == [(T0, "cart-reminder")]
    assert state.status == "converted"
    assert timeline[-1].action == "goal"


def test_a_purchase_in_the_same_second_as_a_due_send_wins() -> None:
    order = EventFact("order_created", T0 + timedelta(days=3))  # exactly when the timeout falls

    state, timeline = run_contact(
        load(), entered_at=T0, seed="a", events=[order], until=T0 + timedelta(days=30)
    )

    assert sends(timeline) == [(T0, "cart-reminder")]
    assert state.status == "converted"


def test_an_unrelated_event_does_not_move_a_waiting_run() -> None:
    noise = EventFact("checkout_updated", T0 + timedelta(days=1))

    _, timeline = run_contact(
        load(), entered_at=T0, seed="a", events=[noise], until=T0 + timedelta(days=2)
    )

    assert [e.action for e in timeline] == ["enter", "send", "wait"]


def test_the_trigger_is_rechecked_before_each_send() -> None:
    # The checkout was completed elsewhere (no goal event): before the second email the trigger
    # no longer holds, so the run exits instead of sending.
    def facts(now: datetime, seen: list[EventFact]) -> Facts:
        return Facts(trigger_holds=now < T0 + timedelta(days=1))

    state, timeline = run_contact(
        load(), entered_at=T0, seed="a", events=[], until=T0 + timedelta(days=30), facts=facts
    )

    assert sends(timeline) == [(T0, "cart-reminder")]
    assert state.status == "exited"
    assert timeline[-1].detail["reason"] == "what triggered the journey no longer holds"


def test_recheck_can_be_turned_off() -> None:
    definition = load(settings={"recheck_trigger": False})

    _, timeline = run_contact(
        definition,
        entered_at=T0,
        seed="a",
        events=[],
        until=T0 + timedelta(days=30),
        facts=lambda now, seen: Facts(trigger_holds=False),
    )

    assert len(sends(timeline)) == 2


def test_a_finished_run_does_nothing_more() -> None:
    definition = load()
    state, _ = run_contact(
        definition, entered_at=T0, seed="a", events=[], until=T0 + timedelta(days=30)
    )

    again = engine.step(definition, state, now=T0 + timedelta(days=90), facts=Facts())

    assert again.outcome == "idle" and again.state == state


def test_every_moving_step_has_its_own_number() -> None:
    definition = load()
    state = engine.start(definition, now=T0, seed="a")
    numbers = []
    for _ in range(3):
        result = engine.step(definition, state, now=T0, facts=Facts())
        state = result.state
        numbers.append(state.steps)

    assert numbers == [1, 2, 2]  # send, wait, then idle until the wait ends


@pytest.mark.parametrize(
    ("now", "zone", "expected"),
    [
        # Monday 09:00 UTC is 10:00 in Madrid: Tuesday 10:00 Madrid is the next tue/thu slot.
        (T0, "Europe/Madrid", datetime(2026, 11, 3, 9, 0, tzinfo=UTC)),
        # Thursday 08:59 Madrid time: the same day's 10:00 is still ahead.
        (
            datetime(2026, 11, 5, 7, 59, tzinfo=UTC),
            "Europe/Madrid",
            datetime(2026, 11, 5, 9, 0, tzinfo=UTC),
        ),
        # An unknown zone falls back to UTC.
        (T0, "Mars/Olympus", datetime(2026, 11, 3, 10, 0, tzinfo=UTC)),
    ],
)
def test_wait_until_a_weekday_and_hour_in_the_contacts_time_zone(
    now: datetime, zone: str, expected: datetime
) -> None:
    until = Until(weekdays=["tue", "thu"], hour=10)

    assert engine.next_occurrence(until, now, zone) == expected


def test_random_split_is_sticky_per_contact_and_follows_the_percentages() -> None:
    document = files.loads(EXAMPLE.read_text(), "yaml")
    document["start"] = "ab"
    document["nodes"].append(
        {
            "id": "ab",
            "type": "random_split",
            "branches": [
                {"percent": 20, "next": "second-email"},
                {"percent": 80, "next": "first-email"},
            ],
        }
    )
    definition = validate(document).definition
    assert definition is not None

    def first_template(seed: str) -> str:
        _, timeline = run_contact(
            definition, entered_at=T0, seed=seed, events=[], until=T0 + timedelta(hours=1)
        )
        return sends(timeline)[0][1]

    picks = Counter(first_template(f"contact-{i}") for i in range(2000))

    assert first_template("contact-7") == first_template("contact-7")
    assert 300 <= picks["cart-second-reminder"] <= 500  # about 20 % of 2000
    assert picks["cart-reminder"] + picks["cart-second-reminder"] == 2000


def test_wait_node_resumes_at_its_wake_time() -> None:
    document = files.loads(EXAMPLE.read_text(), "yaml")
    document["start"] = "pause"
    document["nodes"].insert(
        0, {"id": "pause", "type": "wait", "duration": "1d12h", "next": "first-email"}
    )
    definition = validate(copy.deepcopy(document)).definition
    assert definition is not None

    _, timeline = run_contact(
        definition, entered_at=T0, seed="a", events=[], until=T0 + timedelta(days=2)
    )

    assert sends(timeline) == [(T0 + timedelta(hours=36), "cart-reminder")]
