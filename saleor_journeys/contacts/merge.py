"""Two cards that turn out to be one person: merging them, and taking a merge back.

:func:`merge` moves everything of ``other`` to ``keep`` in one transaction and logs a
``contacts_merged`` event on ``keep`` whose data is the complete record of what it changed.
:func:`unmerge` reads that record and puts everything back. The merged card is not deleted
(so it can come back): it loses its email and Saleor user id (both unique per installation),
its tags, interests and score, and its ``properties["merged_into"]`` names the card it went to.

The same function merges a visitor's anonymous card into the person at identification
(``web.identity``), with ``events_since``: only the recent events are that person's.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Model

from saleor_journeys.commerce.models import Checkout, Order
from saleor_journeys.contacts import score
from saleor_journeys.contacts.models import Contact, ContactKind
from saleor_journeys.events import log
from saleor_journeys.events.models import Event
from saleor_journeys.journeys.models import LIVE_STATUSES, Run, RunStatus, RunStep
from saleor_journeys.messaging.models import Consent, ConsentStatus, Message
from saleor_journeys.runtime import runs
from saleor_journeys.web.models import PushSubscription, Visitor

MERGED = "contacts_merged"
UNMERGED = "contacts_unmerged"
# The key of ``Contact.properties`` that marks a merged card: the id of the card it went to.
MERGED_INTO = "merged_into"

_KIND_RANK = {ContactKind.ANONYMOUS: 0, ContactKind.IDENTIFIED: 1, ContactKind.MONITORED: 2}
# Filled on ``keep`` from ``other`` when ``keep`` has none.
_PROFILE_FIELDS = (
    "first_name",
    "last_name",
    "phone",
    "language_code",
    "country",
    "city",
    "time_zone",
)
# Unique per installation: they leave ``other`` before they can fill a blank of ``keep``.
_UNIQUE_FIELDS = ("email", "saleor_user_id")
# What the merge changes on ``other``, restored from the record by ``unmerge``.
_OTHER_FIELDS = ("email", "saleor_user_id", "properties", "tags", "interests", "score")
# Rows that simply change hands, by the name they have in the record.
_MOVED: dict[str, type[Model]] = {
    "messages": Message,
    "push_subscriptions": PushSubscription,
    "checkouts": Checkout,
    "orders": Order,
}


def is_merged(contact: Contact) -> bool:
    return MERGED_INTO in (contact.properties or {})


def current(contact: Contact) -> Contact:
    """The card a merged card went to (following merges of merges), or ``contact`` itself."""
    seen = {contact.pk}
    while is_merged(contact):
        target = Contact.objects.filter(
            pk=contact.properties[MERGED_INTO], installation_id=contact.installation_id
        ).first()
        if target is None or target.pk in seen:
            break
        seen.add(target.pk)
        contact = target
    return contact


def _lock(*ids: int) -> dict[int, Contact]:
    """The contacts, locked in ascending id order, so that two merges of the same cards wait
    for each other instead of deadlocking."""
    rows = Contact.objects.select_for_update().filter(pk__in=ids).order_by("pk")
    return {row.pk: row for row in rows}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _rank(kind: str) -> int:
    return _KIND_RANK.get(ContactKind(kind), 0)


def merge(
    keep: Contact,
    other: Contact,
    *,
    reason: str,
    now: datetime,
    events_since: datetime | None = None,
) -> Event:
    """Merge ``other`` into ``keep``; returns the ``contacts_merged`` event (on ``keep``) that
    :func:`unmerge` takes back. ``events_since``: move only the events that occurred at or
    after it (the others stay on ``other``). Raises ``ValueError`` when the cards cannot be
    merged (the same card, two installations, erased, merged already)."""
    if keep.pk == other.pk:
        raise ValueError("a contact cannot be merged into itself")
    if keep.installation_id != other.installation_id:
        raise ValueError("contacts of different installations cannot be merged")
    with transaction.atomic():
        locked = _lock(keep.pk, other.pk)
        if len(locked) != 2:
            raise ValueError("one of the contacts no longer exists")
        k, o = locked[keep.pk], locked[other.pk]
        for card in (k, o):
            if card.erased_at is not None:
                raise ValueError(f"contact {card.pk} is erased")
            if is_merged(card):
                raise ValueError(f"contact {card.pk} is already merged into another one")

        record: dict[str, Any] = {
            "other": o.pk,
            "reason": reason,
            "at": now.isoformat(),
            "events_since": _iso(events_since),
            "other_before": {**_snapshot(o, _OTHER_FIELDS), "score_at": _iso(o.score_at)},
        }
        record["moved"], points = _move_rows(k, o, now, events_since)
        record["exited_runs"] = _move_runs(k, o, now)
        record["moved"]["runs"] = list(
            Run.objects.filter(contact=o).order_by("pk").values_list("pk", flat=True)
        )
        Run.objects.filter(contact=o).update(contact=k)
        record["consents"] = _merge_consents(k, o)
        record["keep"] = _merge_card(k, o, points, now)

        o.email = None
        o.saleor_user_id = ""
        o.tags, o.interests = [], []
        o.properties = {**o.properties, MERGED_INTO: k.pk}
        o.score = max(score.decayed(o.score, o.score_at, now) - points, 0.0)
        o.score_at = now
        o.save()
        # ``keep`` takes a unique value only once ``other`` has let go of it.
        for field, value in record["keep"]["unique"].items():
            setattr(k, field, value)
        k.save()

        event = log.record(
            installation_id=k.installation_id,
            contact=k,
            type=MERGED,
            source="contacts",
            key=f"contacts:merged:{o.pk}:{uuid.uuid4().hex}",
            occurred_at=now,
            received_at=now,
            data=record,
            hand_to_journeys=False,
        )
    keep.refresh_from_db()
    other.refresh_from_db()
    return event


def _snapshot(contact: Contact, fields: tuple[str, ...]) -> dict[str, Any]:
    return {field: getattr(contact, field) for field in fields}


def _move_rows(
    k: Contact, o: Contact, now: datetime, events_since: datetime | None
) -> tuple[dict[str, Any], float]:
    """Move ``other``'s events (from ``events_since``), messages, visitors, push
    subscriptions, checkouts and orders; returns their ids and the score points that go with
    the events."""
    moved: dict[str, Any] = {}
    events = Event.objects.filter(contact=o)
    if events_since is not None:
        events = events.filter(occurred_at__gte=events_since)
    rows = list(events.order_by("pk").values_list("pk", "type", "received_at"))
    moved["events"] = [pk for pk, _, _ in rows]
    Event.objects.filter(pk__in=moved["events"]).update(contact=k)

    whole = score.decayed(o.score, o.score_at, now)
    if events_since is None:
        points = whole
    else:
        # Only the moved events' share: what each added, decayed since it was added.
        earned = sum(score.decayed(score.weight(t), at, now) for _, t, at in rows)
        points = min(earned, whole)

    visitors = Visitor.objects.filter(contact=o).order_by("pk")
    moved["visitors"] = [
        [v.pk, _iso(v.identified_at), v.identified_by]
        for v in visitors.only("pk", "identified_at", "identified_by")
    ]
    visitors.update(contact=k)
    for name, model in _MOVED.items():
        queryset = model._default_manager.filter(contact=o)
        moved[name] = list(queryset.order_by("pk").values_list("pk", flat=True))
        queryset.update(contact=k)
    return moved, points


def _move_runs(k: Contact, o: Contact, now: datetime) -> list[dict[str, Any]]:
    """One live run per contact and journey: ``other``'s live runs in journeys where ``keep``
    has one end with the reason ``merged``. Returns what they were, to resume them."""
    busy = set(
        Run.objects.filter(contact=k, status__in=LIVE_STATUSES).values_list("journey_id", flat=True)
    )
    exited: list[dict[str, Any]] = []
    for run in Run.objects.select_for_update().filter(
        contact=o, status__in=LIVE_STATUSES, journey_id__in=busy
    ):
        exited.append(
            {
                "run": run.pk,
                "status": run.status,
                "steps": run.steps,
                "wake_at": _iso(run.wake_at),
                "timer_at": _iso(run.timer_at),
                "inbox": run.inbox,
            }
        )
        runs.end(run, node=run.node, reason="merged", now=now)
    return exited


def _wins(theirs: Consent, ours: Consent) -> bool:
    """Whether ``other``'s consent replaces ``keep``'s: the most recent decision counts; a
    decision beats no decision, and a refusal beats a grant of the same moment."""
    if theirs.status == ConsentStatus.UNKNOWN:
        return False
    if ours.status == ConsentStatus.UNKNOWN:
        return True
    if theirs.at != ours.at:
        return theirs.at > ours.at
    return theirs.status == ConsentStatus.UNSUBSCRIBED and ours.status != theirs.status


def _consent_values(consent: Consent) -> dict[str, Any]:
    return {"status": consent.status, "source": consent.source, "at": consent.at.isoformat()}


def _merge_consents(k: Contact, o: Contact) -> dict[str, Any]:
    ours = {c.channel: c for c in Consent.objects.select_for_update().filter(contact=k)}
    moved: list[dict[str, Any]] = []
    changed: list[dict[str, Any]] = []
    for theirs in Consent.objects.select_for_update().filter(contact=o).order_by("pk"):
        mine = ours.get(theirs.channel)
        if mine is None:
            moved.append({"id": theirs.pk, "values": _consent_values(theirs)})
        elif _wins(theirs, mine):
            before = _consent_values(mine)
            mine.status, mine.source, mine.at = theirs.status, theirs.source, theirs.at
            mine.save()
            changed.append({"id": mine.pk, "before": before, "after": _consent_values(mine)})
    Consent.objects.filter(pk__in=[m["id"] for m in moved]).update(contact=k)
    return {"moved": moved, "changed": changed}


def _merge_card(k: Contact, o: Contact, points: float, now: datetime) -> dict[str, Any]:
    """Fill ``keep``'s blanks from ``other``, add its properties, tags and interests, sum the
    scores; returns what was added, to take exactly that back."""
    filled = {
        field: getattr(o, field)
        for field in _PROFILE_FIELDS
        if getattr(o, field) and not getattr(k, field)
    }
    unique = {field: getattr(o, field) for field in _UNIQUE_FIELDS if getattr(o, field)}
    unique = {field: value for field, value in unique.items() if not getattr(k, field)}
    properties = {
        key: value
        for key, value in o.properties.items()
        if key not in k.properties and key != MERGED_INTO
    }
    tags = [tag for tag in o.tags if tag not in k.tags]
    interests = [item for item in o.interests if item not in k.interests]
    kind = k.kind if _rank(k.kind) >= _rank(o.kind) else o.kind
    change = {
        "filled": filled,
        "unique": unique,
        "properties": properties,
        "tags": tags,
        "interests": interests,
        "kind": [k.kind, kind],
        "points": points,
    }
    for field, value in filled.items():
        setattr(k, field, value)
    k.properties = {**k.properties, **properties}
    k.tags = [*k.tags, *tags]
    k.interests = [*k.interests, *interests]
    k.kind = kind
    k.score = score.decayed(k.score, k.score_at, now) + points
    k.score_at = now
    return change


def unmerge(event: Event, *, now: datetime) -> Contact:
    """Take back the merge ``event`` records; returns the card that comes back. What changed
    since the merge stays where it is: a row that left ``keep`` since, a field or a consent
    decided anew. Raises ``ValueError`` when ``event`` is not a merge, was taken back already,
    or its cards are gone or erased."""
    if event.type != MERGED:
        raise ValueError(f"event {event.pk} is not a merge of contacts")
    record = event.data or {}
    if "other" not in record or event.contact_id is None:
        raise ValueError(f"the record of merge {event.pk} is gone (the contact was erased)")
    with transaction.atomic():
        locked = _lock(event.contact_id, record["other"])
        if Event.objects.filter(
            installation_id=event.installation_id, key=f"contacts:unmerged:{event.pk}"
        ).exists():
            raise ValueError(f"merge {event.pk} was already taken back")
        if len(locked) != 2:
            raise ValueError(f"a contact of merge {event.pk} no longer exists")
        k, o = locked[event.contact_id], locked[record["other"]]
        if o.properties.get(MERGED_INTO) != k.pk:
            raise ValueError(f"contact {o.pk} is no longer merged into contact {k.pk}")

        moved = record["moved"]
        Event.objects.filter(pk__in=moved["events"], contact=k).update(contact=o)
        for name, model in _MOVED.items():
            model._default_manager.filter(pk__in=moved[name], contact=k).update(contact=o)
        for pk, identified_at, identified_by in moved["visitors"]:
            Visitor.objects.filter(pk=pk, contact=k).update(
                contact=o, identified_at=_time(identified_at), identified_by=identified_by
            )
        Run.objects.filter(pk__in=moved["runs"], contact=k).update(contact=o)
        _resume_runs(record["exited_runs"], o, now)
        _restore_consents(record["consents"], k, o)
        _restore_cards(record, k, o, now)

        log.record(
            installation_id=k.installation_id,
            contact=k,
            type=UNMERGED,
            source="contacts",
            key=f"contacts:unmerged:{event.pk}",
            occurred_at=now,
            received_at=now,
            data={"merge": event.pk, "other": o.pk},
            hand_to_journeys=False,
        )
    return o


def _resume_runs(exited: list[dict[str, Any]], o: Contact, now: datetime) -> None:
    """Runs the merge ended go on where they were, unless something happened to them since
    or ``other`` has a live run in that journey again."""
    for before in exited:
        run = Run.objects.select_for_update().filter(pk=before["run"], contact=o).first()
        if run is None or run.status != RunStatus.EXITED or run.steps != before["steps"] + 1:
            continue
        if Run.objects.filter(
            journey_id=run.journey_id, contact=o, status__in=LIVE_STATUSES
        ).exists():
            continue
        RunStep.objects.filter(run=run, number=run.steps, outcome="exit").delete()
        run.steps = before["steps"]
        run.status = before["status"]
        run.finished_at = None
        run.timer_at = _time(before["timer_at"])
        # A wait that ended meanwhile is due now: the sweeper steps it.
        run.wake_at = _time(before["wake_at"])
        run.inbox = before["inbox"]
        run.save()


def _restore_consents(record: dict[str, Any], k: Contact, o: Contact) -> None:
    """Consents go back as they were; a decision made since the merge is the person's latest
    word, and stays on ``keep``."""
    taken = set(Consent.objects.filter(contact=o).values_list("channel", flat=True))
    for moved in record["moved"]:
        consent = Consent.objects.select_for_update().filter(pk=moved["id"], contact=k).first()
        if (
            consent is not None
            and consent.channel not in taken
            and _consent_values(consent) == moved["values"]
        ):
            consent.contact = o
            consent.save(update_fields=["contact"])
    for change in record["changed"]:
        mine = Consent.objects.select_for_update().filter(pk=change["id"], contact=k).first()
        if mine is None or _consent_values(mine) != change["after"]:
            continue
        before = change["before"]
        mine.status, mine.source = before["status"], before["source"]
        mine.at = datetime.fromisoformat(before["at"])
        mine.save()


def _restore_cards(record: dict[str, Any], k: Contact, o: Contact, now: datetime) -> None:
    change = record["keep"]
    for field, value in {**change["filled"], **change["unique"]}.items():
        if getattr(k, field) == value:
            setattr(k, field, None if field == "email" else "")
    k.properties = {
        key: value
        for key, value in k.properties.items()
        if key not in change["properties"] or change["properties"][key] != value
    }
    k.tags = [tag for tag in k.tags if tag not in change["tags"]]
    k.interests = [item for item in k.interests if item not in change["interests"]]
    before_kind, merged_kind = change["kind"]
    if k.kind == merged_kind:
        k.kind = before_kind
    merged_at = datetime.fromisoformat(record["at"])
    share = score.decayed(change["points"], merged_at, now)
    k.score = max(score.decayed(k.score, k.score_at, now) - share, 0.0)
    k.score_at = now
    # ``keep`` lets go of the unique values before ``other`` takes them back.
    k.save()

    before = record["other_before"]
    for field in ("email", "saleor_user_id"):
        value = before[field]
        if value and (
            Contact.objects.filter(installation_id=o.installation_id, **{field: value})
            .exclude(pk=o.pk)
            .exists()
        ):
            raise ValueError(f"another contact has taken the {field} {value!r} since the merge")
    for field in _OTHER_FIELDS:
        setattr(o, field, before[field])
    o.score_at = _time(before["score_at"])
    o.save()
