"""Merging two cards of one person, and taking the merge back exactly."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from saleor_journeys.commerce.models import Checkout, Order
from saleor_journeys.contacts import merge, score
from saleor_journeys.contacts.models import Contact, ContactKind
from saleor_journeys.core.clock import FrozenClock
from saleor_journeys.events import log
from saleor_journeys.events.models import Event
from saleor_journeys.journeys import versions
from saleor_journeys.journeys.models import Journey, Run, RunStatus, RunStep
from saleor_journeys.messaging.models import Consent, ConsentStatus, Message, MessageStatus
from saleor_journeys.runtime import runs
from saleor_journeys.saleor.models import Installation
from saleor_journeys.web.models import PushSubscription, Visitor
from tests.conftest import make_installation

T0 = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
HOLD = {
    "trigger": {"type": "manual"},
    "start": "pause",
    "nodes": [{"id": "pause", "type": "wait", "duration": "30d"}],
}


def journey(installation: Installation, slug: str) -> Journey:
    created = versions.create(installation, {**HOLD, "name": slug}, actor="tests")
    versions.publish(created, actor="tests")
    created.refresh_from_db()
    return created


def event(contact: Contact, type: str, at: datetime, **data: Any) -> Event:
    return log.record(
        installation_id=contact.installation_id,
        contact=contact,
        type=type,
        source="tests",
        key=f"tests:{uuid.uuid4().hex}",
        occurred_at=at,
        received_at=at,
        data=data,
        hand_to_journeys=False,
    )


def consent(contact: Contact, channel: str, status: str, at: datetime) -> Consent:
    return Consent.objects.create(
        contact=contact, channel=channel, status=status, source="tests", at=at
    )


def card(contact: Contact) -> dict[str, Any]:
    """Everything about a card a merge may touch, as the database has it."""
    contact.refresh_from_db()
    fields = {
        f.attname: getattr(contact, f.attname)
        for f in Contact._meta.concrete_fields
        if f.attname not in ("updated_at", "score", "score_at")
    }
    return {
        **fields,
        "score": round(score.value(contact, T0 + timedelta(days=1)), 4),
        "events": sorted(contact.events.values_list("pk", "data")),
        "messages": sorted(contact.messages.values_list("pk", flat=True)),
        "visitors": sorted(Visitor.objects.filter(contact=contact).values_list("pk", "uid")),
        "push": sorted(PushSubscription.objects.filter(contact=contact).values_list("pk")),
        "checkouts": sorted(contact.checkouts.values_list("pk", flat=True)),
        "orders": sorted(contact.orders.values_list("pk", flat=True)),
        "consents": sorted(contact.consents.values_list("pk", "channel", "status", "source", "at")),
        "runs": sorted(
            Run.objects.filter(contact=contact).values_list(
                "pk", "status", "steps", "node", "wake_at", "timer_at", "finished_at"
            )
        ),
        "steps": sorted(RunStep.objects.filter(run__contact=contact).values_list("pk", "outcome")),
    }


@pytest.fixture
def two_cards(installation: Installation) -> tuple[Contact, Contact]:
    """Ann's card from her account, and the card of the work address she also used."""
    keep = Contact.objects.create(
        installation=installation,
        email="ann@example.com",
        kind=ContactKind.IDENTIFIED,
        first_name="Ann",
        properties={"plan": "gold", "source": "account"},
        tags=["vip"],
        interests=["shoes"],
        score=8.0,
        score_at=T0 - timedelta(days=14),
    )
    other = Contact.objects.create(
        installation=installation,
        email="ann.lee@work.example",
        saleor_user_id="VXNlcjo0Mg==",
        kind=ContactKind.MONITORED,
        first_name="Annie",
        last_name="Lee",
        phone="+34600111222",
        city="Madrid",
        properties={"company": "Acme", "source": "form"},
        tags=["b2b", "vip"],
        interests=["bags"],
        score=3.0,
        score_at=T0,
    )
    for contact, subject in ((keep, "keep"), (other, "other")):
        for days in (1, 5, 40):
            event(contact, "page_viewed", T0 - timedelta(days=days), who=subject)
    # Email: Ann refused on her work card yesterday, after granting on her account's card.
    consent(keep, "email", ConsentStatus.SUBSCRIBED, T0 - timedelta(days=10))
    consent(other, "email", ConsentStatus.UNSUBSCRIBED, T0 - timedelta(days=1))
    # SMS: her refusal on the account's card is newer than an old grant on the work card.
    consent(keep, "sms", ConsentStatus.UNSUBSCRIBED, T0 - timedelta(days=5))
    consent(other, "sms", ConsentStatus.SUBSCRIBED, T0 - timedelta(days=30))
    # Push: only the work card has a decision.
    consent(other, "push", ConsentStatus.SUBSCRIBED, T0 - timedelta(days=2))

    Message.objects.create(
        installation=installation,
        contact=other,
        key="tests:message",
        channel="email",
        template="welcome",
        to=other.email,
        status=MessageStatus.SENT,
        created_at=T0 - timedelta(days=3),
    )
    visitor = Visitor.objects.create(
        installation=installation,
        uid="v_work_laptop",
        contact=other,
        created_at=T0 - timedelta(days=9),
        last_seen_at=T0 - timedelta(days=1),
        identified_at=T0 - timedelta(days=8),
        identified_by="form",
    )
    PushSubscription.objects.create(
        installation=installation,
        contact=other,
        visitor=visitor,
        endpoint="https://push.example.net/send/abc",
        p256dh="key",
        auth="auth",
        created_at=T0 - timedelta(days=2),
    )
    Checkout.objects.create(
        installation=installation, token=uuid.uuid4(), contact=other, email=other.email
    )
    Order.objects.create(
        installation=installation,
        saleor_id="T3JkZXI6MQ==",
        number="17",
        contact=other,
        total=Decimal("25.00"),
    )
    both = journey(installation, "welcome")
    only_other = journey(installation, "win-back")
    with FrozenClock(T0 - timedelta(days=1)):
        runs.enroll(both, keep, now=T0 - timedelta(days=1))
        runs.enroll(both, other, now=T0 - timedelta(days=1))
        runs.enroll(only_other, other, now=T0 - timedelta(days=1))
    return keep, other


def test_merge_moves_everything_to_the_kept_card(two_cards: tuple[Contact, Contact]) -> None:
    keep, other = two_cards
    kept_score = score.value(keep, T0)
    other_score = score.value(other, T0)
    others_run_in_both = Run.objects.get(contact=other, journey__slug="welcome")

    with FrozenClock(T0):
        merged = merge.merge(keep, other, reason="staff", now=T0)

    assert merged.type == "contacts_merged" and merged.contact == keep
    assert keep.events.filter(type="page_viewed").count() == 6
    assert other.events.count() == 0
    assert keep.messages.count() == 1 and keep.checkouts.count() == 1
    assert keep.orders.count() == 1 and keep.push_subscriptions.count() == 1
    assert Visitor.objects.get().contact == keep
    # Blanks filled, nothing of Ann's own card overwritten; tags and interests united.
    assert (keep.first_name, keep.last_name, keep.phone, keep.city) == (
        "Ann",
        "Lee",
        "+34600111222",
        "Madrid",
    )
    assert keep.email == "ann@example.com" and keep.saleor_user_id == "VXNlcjo0Mg=="
    assert keep.properties == {"plan": "gold", "source": "account", "company": "Acme"}
    assert keep.tags == ["vip", "b2b"] and keep.interests == ["shoes", "bags"]
    assert keep.kind == ContactKind.MONITORED
    assert score.value(keep, T0) == pytest.approx(kept_score + other_score, abs=0.01)
    # Consents: the newest decision wins, a refusal never yields to an older grant.
    consents = {c.channel: c.status for c in keep.consents.all()}
    assert consents == {
        "email": ConsentStatus.UNSUBSCRIBED,
        "sms": ConsentStatus.UNSUBSCRIBED,
        "push": ConsentStatus.SUBSCRIBED,
    }
    # Runs: one live run per journey; the second one ended with the reason.
    assert Run.objects.filter(contact=keep).count() == 3
    others_run_in_both.refresh_from_db()
    assert others_run_in_both.status == RunStatus.EXITED
    assert others_run_in_both.log.get(outcome="exit").detail == {"reason": "merged"}
    assert Run.objects.get(journey__slug="win-back").status == RunStatus.ACTIVE
    # The merged card stays, emptied of what must be unique, pointing to Ann's card.
    assert other.email is None and other.saleor_user_id == ""
    assert other.properties["merged_into"] == keep.pk and other.tags == []
    assert merge.current(other) == keep


def test_unmerge_restores_both_cards_exactly(two_cards: tuple[Contact, Contact]) -> None:
    keep, other = two_cards
    before = (card(keep), card(other))

    with FrozenClock(T0):
        merged = merge.merge(keep, other, reason="staff", now=T0)
    with FrozenClock(T0 + timedelta(hours=1)):
        back = merge.unmerge(merged, now=T0 + timedelta(hours=1))

    assert back == other
    after_keep, after_other = card(keep), card(other)
    # Ann's card also has the two bookkeeping events now; nothing else differs.
    logged = {pk for pk, _ in after_keep["events"]} - {pk for pk, _ in before[0]["events"]}
    assert Event.objects.filter(pk__in=logged).count() == 2
    assert set(Event.objects.filter(pk__in=logged).values_list("type", flat=True)) == {
        "contacts_merged",
        "contacts_unmerged",
    }
    after_keep["events"] = [e for e in after_keep["events"] if e[0] not in logged]
    assert (after_keep, after_other) == before
    assert Run.objects.get(contact=other, journey__slug="welcome").status == RunStatus.ACTIVE


def test_a_merge_is_taken_back_once(two_cards: tuple[Contact, Contact]) -> None:
    keep, other = two_cards
    merged = merge.merge(keep, other, reason="staff", now=T0)
    merge.unmerge(merged, now=T0)

    with pytest.raises(ValueError, match="already taken back"):
        merge.unmerge(merged, now=T0)
    not_a_merge = keep.events.filter(type="page_viewed").first()
    assert not_a_merge is not None
    with pytest.raises(ValueError, match="is not a merge"):
        merge.unmerge(not_a_merge, now=T0)


def test_what_changed_after_the_merge_stays(two_cards: tuple[Contact, Contact]) -> None:
    keep, other = two_cards
    merged = merge.merge(keep, other, reason="staff", now=T0)
    # After the merge Ann subscribes to SMS again and fills her own last name.
    sms = keep.consents.get(channel="sms")
    sms.status, sms.at = ConsentStatus.SUBSCRIBED, T0 + timedelta(minutes=5)
    sms.save()
    Contact.objects.filter(pk=keep.pk).update(last_name="Lee-Smith")

    merge.unmerge(merged, now=T0 + timedelta(minutes=10))

    keep.refresh_from_db()
    assert keep.last_name == "Lee-Smith"
    assert keep.consents.get(channel="sms").status == ConsentStatus.SUBSCRIBED
    # What the merge filled and nothing touched since goes back.
    assert keep.phone == "" and keep.consents.get(channel="email").status == "subscribed"


def test_only_events_from_the_given_time_move(two_cards: tuple[Contact, Contact]) -> None:
    keep, other = two_cards

    merge.merge(keep, other, reason="visitor:form", now=T0, events_since=T0 - timedelta(days=5))

    moved = keep.events.filter(type="page_viewed", data__who="other")
    assert moved.count() == 2  # 1 and 5 days old; the one 40 days old stays
    assert list(other.events.values_list("occurred_at", flat=True)) == [T0 - timedelta(days=40)]


def test_cards_that_cannot_be_merged_are_refused(two_cards: tuple[Contact, Contact]) -> None:
    keep, other = two_cards
    with pytest.raises(ValueError, match="into itself"):
        merge.merge(keep, keep, reason="staff", now=T0)
    elsewhere = make_installation("https://elsewhere.example.com/graphql/", {"keys": []})
    stranger = Contact.objects.create(installation=elsewhere, email="ann@example.com")
    with pytest.raises(ValueError, match="different installations"):
        merge.merge(keep, stranger, reason="staff", now=T0)
    Contact.objects.filter(pk=other.pk).update(erased_at=T0)
    with pytest.raises(ValueError, match="is erased"):
        merge.merge(keep, other, reason="staff", now=T0)
    third = Contact.objects.create(installation=keep.installation, email="c@example.com")
    merge.merge(keep, third, reason="staff", now=T0)
    with pytest.raises(ValueError, match="already merged"):
        merge.merge(keep, third, reason="staff", now=T0)
    # Nothing of the refused merges happened.
    assert keep.events.filter(type="contacts_merged").count() == 1
