"""Executing journeys for real: enrolling contacts, stepping runs, sweeping due ones.

The engine decides; this module reads the facts it needs, and writes each step, its effects and
the run's new state in one transaction. A run row is claimed with ``SELECT … FOR UPDATE SKIP
LOCKED``, so two workers (or two sweepers) never step the same run at once, and a step number
that exists already can never be written again.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import cached_property, lru_cache, partial
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, OuterRef, Subquery, Sum

from saleor_journeys import conf
from saleor_journeys.commerce.models import Checkout, Order
from saleor_journeys.contacts import score
from saleor_journeys.contacts.models import Contact
from saleor_journeys.core import clock
from saleor_journeys.events import log
from saleor_journeys.events.models import Event
from saleor_journeys.journeys import definition as d
from saleor_journeys.journeys import durations, steps
from saleor_journeys.journeys.engine import FINISHED, Action, RunState, start, step
from saleor_journeys.journeys.evaluate import holds
from saleor_journeys.journeys.facts import EventFact, Facts
from saleor_journeys.journeys.models import (
    LIVE_STATUSES,
    ActionStatus,
    Journey,
    JourneyStatus,
    JourneyVersion,
    Run,
    RunAction,
    RunStatus,
    RunStep,
)
from saleor_journeys.journeys.steps.wait_for_event import WaitForEventNode
from saleor_journeys.journeys.versions import current_version
from saleor_journeys.messaging.models import Consent, ConsentStatus
from saleor_journeys.runtime import outbox

logger = logging.getLogger(__name__)

# How far back a contact's events are known to conditions ("did X within 30d").
EVENT_HORIZON = timedelta(days=90)
# Orders that do not count as purchases.
VOID_ORDER_STATUSES = ("CANCELED", "EXPIRED", "DRAFT", "UNCONFIRMED")


@lru_cache(maxsize=512)
def _definition(version_id: int) -> d.Definition:
    """A published version, parsed once per process (versions never change)."""
    version = JourneyVersion.objects.get(pk=version_id)
    return d.Definition.model_validate(version.definition)


def event_fact(event: Event) -> EventFact:
    return EventFact(event.type, event.occurred_at, event.data or {})


def facts_for(run: Run, now: datetime) -> Facts:
    return contact_facts(
        run.contact,
        now,
        since=min(run.entered_at, now) - EVENT_HORIZON,
        trigger_holds=partial(trigger_holds, run),
    )


class StoredFacts(Facts):
    """Facts about a stored contact. The card's own fields are read at once; what needs a
    query (orders, events, consents, whether the trigger still holds) is read on first use and
    kept: most steps (a send, a wait) look at none of it."""

    _stored: tuple[Contact, datetime, Callable[[], bool]]

    def __init__(
        self, contact: Contact, now: datetime, since: datetime, holds: Callable[[], bool]
    ) -> None:
        # Not the dataclass __init__: it would store defaults over the lazy fields below.
        fields = {
            "contact": {
                "email": contact.email,
                "phone": contact.phone.strip() or None,
                "first_name": contact.first_name,
                "last_name": contact.last_name,
                "country": contact.country,
                "city": contact.city,
                "language_code": contact.language_code,
                "score": score.value(contact, now),
                "properties": contact.properties,
            },
            "tags": frozenset(contact.tags),
            "time_zone": contact.time_zone or "UTC",
        }
        for name, value in fields.items():
            object.__setattr__(self, name, value)
        object.__setattr__(self, "_stored", (contact, since, holds))

    @cached_property
    def _orders(self) -> tuple[int, Decimal]:
        contact = self._stored[0]
        orders = Order.objects.filter(contact=contact).exclude(status__in=VOID_ORDER_STATUSES)
        row = orders.aggregate(count=Count("pk"), total=Sum("total"))
        return row["count"], row["total"] or Decimal(0)

    @cached_property
    def order_count(self) -> int:
        return self._orders[0]

    @cached_property
    def order_total(self) -> Decimal:
        return self._orders[1]

    @cached_property
    def consents(self) -> frozenset[str]:
        contact = self._stored[0]
        subscribed = Consent.objects.filter(contact=contact, status=ConsentStatus.SUBSCRIBED)
        return frozenset(subscribed.values_list("channel", flat=True))

    @cached_property
    def events(self) -> tuple[EventFact, ...]:
        contact, since, _ = self._stored
        events = Event.objects.filter(contact=contact, occurred_at__gte=since)
        return tuple(event_fact(e) for e in events.order_by("occurred_at")[:500])

    @cached_property
    def trigger_holds(self) -> bool:
        return self._stored[2]()


def contact_facts(
    contact: Contact,
    now: datetime,
    *,
    since: datetime,
    trigger_holds: Callable[[], bool] = lambda: True,
) -> Facts:
    """What conditions may know about the contact now (journey steps, on-site rules); events
    from ``since`` on."""
    return StoredFacts(contact, now, since, trigger_holds)


def trigger_holds(run: Run) -> bool:
    """Whether what started the run is still so: an abandoned checkout still open and full."""
    kind, _, key = run.trigger_key.partition(":")
    if kind == "checkout":
        return Checkout.objects.filter(
            installation_id=run.installation_id,
            token=key,
            completed_at=None,
            quantity__gt=0,
            email__isnull=False,
        ).exists()
    return True


def _seed(contact: Contact) -> str:
    return hashlib.sha256(f"{contact.installation_id}:{contact.pk}".encode()).hexdigest()[:32]


def may_enter(journey: Journey, definition: d.Definition, contact: Contact, now: datetime) -> bool:
    """Entry rules: one live run per contact and journey; re-entry never / after / always."""
    runs = Run.objects.filter(journey=journey, contact=contact)
    if runs.filter(status__in=LIVE_STATUSES).exists():
        return False
    reentry = definition.settings.reentry
    if reentry.policy == "always" or not runs.exists():
        return True
    if reentry.policy == "never":
        return False
    window = durations.parse(reentry.after or "0s") if reentry.after else timedelta()
    return not runs.filter(entered_at__gt=now - window).exists()


def enroll(
    journey: Journey,
    contact: Contact,
    *,
    now: datetime,
    trigger_key: str = "",
    context: dict[str, Any] | None = None,
) -> Run | None:
    """Start a run of the journey's current version for the contact, if the rules allow;
    ``context`` is what the trigger knows for the steps (the product a web trigger fired for)."""
    version = current_version(journey)
    if version is None or journey.status != JourneyStatus.ACTIVE or contact.erased_at:
        return None
    definition = _definition(version.pk)
    if not may_enter(journey, definition, contact, now):
        return None
    state = start(definition, now=now, seed=_seed(contact))
    try:
        with transaction.atomic():
            run = Run.objects.create(
                installation_id=journey.installation_id,
                journey=journey,
                version=version,
                contact=contact,
                status=RunStatus.ACTIVE,
                node=state.node,
                entered_at=now,
                wake_at=now,
                seed=state.seed,
                trigger_key=trigger_key,
                context=dict(context or {}),
            )
            RunStep.objects.create(run=run, number=0, node=state.node, outcome="enter", at=now)
    except IntegrityError:
        return None  # a live run of this contact appeared meanwhile (one live run at most)
    transaction.on_commit(lambda: _enqueue(run.pk))
    return run


def _enqueue(run_id: int) -> None:
    from saleor_journeys.runtime.tasks import enqueue_run

    enqueue_run(run_id)


def on_event(event: Event) -> None:
    """A new event of the log: enrol contacts in journeys it triggers, and hand it to the
    contact's live runs (goals, waits for an event). Called in the event's own transaction."""
    contact = event.contact
    if contact is None:
        return
    now = clock.now()
    live = list(
        Run.objects.select_for_update(of=("self",))
        .filter(contact=contact, status__in=LIVE_STATUSES)
        .order_by("pk")
    )
    for run in live:
        definition = _definition(run.version_id)
        if not _listens(definition, run, event.type):
            continue
        run.inbox = [*run.inbox, event.pk]
        run.wake_at = now
        run.save(update_fields=["inbox", "wake_at"])
        if any(goal.event == event.type for goal in definition.settings.goals):
            # A goal ends the run the moment it arrives, before any send that is due.
            advance(run.pk)
        else:
            transaction.on_commit(partial(_enqueue, run.pk))
    if event.superseded:
        return  # late news about a checkout or order: it starts nothing
    fact = event_fact(event)
    web: list[tuple[Journey, d.WebActivityTrigger]] = []
    for journey, _version, trigger in _live_triggers(installation_id=event.installation_id):
        if isinstance(trigger, d.WebActivityTrigger):
            web.append((journey, trigger))
        elif _triggered(trigger, fact, now):
            enroll(journey, contact, now=now, trigger_key=f"event:{event.pk}")
    if web:
        from saleor_journeys.web import activity  # it imports this module

        for journey, firing in activity.evaluate(event, web):
            enroll(journey, contact, now=now, trigger_key=firing.key, context=firing.context)


def _listens(definition: d.Definition, run: Run, event_type: str) -> bool:
    """Whether an event of this type can change the run: a goal of its journey, the event its
    wait is for, or any event for a run about to step (the step it is at is offered it). A run
    waiting for time alone is not woken for nothing."""
    if any(goal.event == event_type for goal in definition.settings.goals):
        return True
    if run.status != RunStatus.WAITING:
        return True
    node = definition.node(run.node)
    return isinstance(node, WaitForEventNode) and node.event == event_type


def _live_triggers(
    kind: type | None = None, *, journey_id: int | None = None, installation_id: int | None = None
) -> Iterator[tuple[Journey, JourneyVersion, d.Trigger]]:
    """The active journeys (of one shop, or one journey) with their current version's trigger,
    only those of ``kind`` when given."""
    live = JourneyVersion.objects.filter(journey__status=JourneyStatus.ACTIVE)
    if journey_id is not None:
        live = live.filter(journey_id=journey_id)
    if installation_id is not None:
        live = live.filter(journey__installation_id=installation_id)
    # One query however many journeys are live (this runs for every event): each active
    # journey's newest version, with its journey, without the (cached) definition.
    newest = JourneyVersion.objects.filter(journey=OuterRef("journey")).order_by("-number")
    live = live.filter(pk=Subquery(newest.values("pk")[:1]))
    for version in (
        live.select_related("journey").defer("definition", "journey__draft").order_by("journey_id")
    ):
        trigger = _definition(version.pk).trigger
        if kind is None or isinstance(trigger, kind):
            yield version.journey, version, trigger


def _triggered(trigger: d.Trigger, fact: EventFact, now: datetime) -> bool:
    if isinstance(trigger, d.TagAddedTrigger):
        return fact.type == "tag_added" and fact.data.get("tag") == trigger.tag
    if not isinstance(trigger, d.EventTrigger) or trigger.event != fact.type:
        return False
    return trigger.filter is None or holds(
        trigger.filter, Facts(), event=fact, now=now, entered_at=now
    )


def advance(run_id: int) -> int:
    """Step a run as far as it can go now; returns the number of steps taken (0 when the run is
    gone, finished, not due, or being stepped by another worker)."""
    with transaction.atomic():
        run = (
            Run.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("contact")
            # A paused (or archived) journey holds its runs where they are until it resumes.
            .filter(pk=run_id, status__in=LIVE_STATUSES, journey__status=JourneyStatus.ACTIVE)
            .first()
        )
        if run is None:
            return 0
        now = clock.now()
        definition = _definition(run.version_id)
        state = RunState(
            node=run.node,
            status=run.status,  # type: ignore[arg-type]
            entered_at=run.entered_at,
            seed=run.seed,
            steps=run.steps,
            wake_at=run.timer_at,
            context=run.context,
        )
        inbox = (
            list(Event.objects.filter(pk__in=run.inbox).order_by("occurred_at", "pk"))
            if run.inbox
            else []
        )
        new_events: list[Event] = []
        taken_steps: list[RunStep] = []
        facts: Facts | None = None
        for offered in [*inbox, None]:
            event = event_fact(offered) if offered is not None else None
            while state.status not in FINISHED:
                # Read once per call, again only after a step changed the card.
                facts = facts if facts is not None else facts_for(run, now)
                result = step(definition, state, now=now, facts=facts, event=event)
                event = None  # an event is offered once
                if result.outcome == "idle":
                    break
                taken_steps.append(
                    _step(run, result.state.steps, result.node, result.outcome, result.reason, now)
                )
                state = result.state
                for action in result.actions:
                    context, tags = _act(run, state.steps, action, now)
                    if action.kind == "update_contact":
                        facts = None
                    if context:
                        state = replace(state, context={**state.context, **context})
                    new_events += _tag_events(run, state.steps, tags, now)
                if state.status == "waiting":
                    break
        RunStep.objects.bulk_create(taken_steps)  # one statement for the steps of this call
        _save(run, state, now)
        for new_event in new_events:
            on_event(new_event)  # after the save: the event may reach this very run too
    if (
        run.status == RunStatus.WAITING
        and run.wake_at
        and run.wake_at - now <= timedelta(minutes=10)
    ):
        _hint(run.pk, run.wake_at)
    return len(taken_steps)


def _step(
    run: Run, number: int, node: str | None, outcome: str, reason: str, now: datetime
) -> RunStep:
    return RunStep(
        run=run,
        number=number,
        node=node or "",
        outcome=outcome,
        at=now,
        detail={"reason": reason} if reason else {},
    )


def _record(
    run: Run, number: int, node: str | None, outcome: str, reason: str, now: datetime
) -> None:
    _step(run, number, node, outcome, reason, now).save(force_insert=True)


def _act(run: Run, number: int, action: Action, now: datetime) -> tuple[dict[str, Any], list[str]]:
    """Write the effect to the outbox, in the step's transaction. Effects on the card itself
    happen right here; others are performed after the commit (``outbox``). Returns what the
    step adds to the run's context, and the tags it added to the contact."""
    module = steps.module(action.kind)
    key = f"{run.pk}:{number}:{action.node}"
    params = dict(action.params)
    context: dict[str, Any] = {}
    added: list[str] = []
    if hasattr(module, "prepare"):
        context = module.prepare(key, params, now, settings.SECRET_KEY)
        params.update(context)
    if hasattr(module, "apply"):
        added = module.apply(run.contact, params)
        status = ActionStatus.DONE
    elif outbox.performed(action.kind):
        status = ActionStatus.PENDING
        transaction.on_commit(partial(_enqueue_actions, run.pk))
    else:
        status = ActionStatus.RECORDED  # a send: carried out once its channel exists
    RunAction.objects.create(
        run=run,
        key=key,
        kind=action.kind,
        node=action.node,
        params=params,
        status=status,
        created_at=now,
        done_at=now if status == ActionStatus.DONE else None,
        next_attempt_at=now if status == ActionStatus.PENDING else None,
    )
    return context, added


def _enqueue_actions(run_id: int) -> None:
    from saleor_journeys.runtime.tasks import enqueue_actions

    enqueue_actions(run_id)


def _tag_events(run: Run, number: int, tags: list[str], now: datetime) -> list[Event]:
    """``tag_added`` events in the log, so journeys can start on a tag and waits can wait
    for one; the key makes a retried step add none twice."""
    return [
        log.record(
            installation_id=run.installation_id,
            contact=run.contact,
            type="tag_added",
            source="journeys",
            key=f"journeys:{run.pk}:{number}:tag:{tag}",
            occurred_at=now,
            received_at=now,
            data={"tag": tag, "journey": run.journey_id},
            hand_to_journeys=False,  # handed over once the run's step is saved
        )
        for tag in tags
    ]


def _save(run: Run, state: RunState, now: datetime) -> None:
    run.node = state.node
    run.status = state.status
    run.steps = state.steps
    run.context = dict(state.context)
    run.inbox = []
    run.timer_at = state.wake_at
    if state.status in FINISHED:
        run.wake_at = None
        run.finished_at = now
    elif state.status == "active":
        run.wake_at = now
    else:
        run.wake_at = state.wake_at
    run.save()


def _hint(run_id: int, at: datetime) -> None:
    from saleor_journeys.runtime.tasks import hint_run

    transaction.on_commit(lambda: hint_run(run_id, at))


def due(limit: int = 500, journey_id: int | None = None) -> list[int]:
    candidates = Run.objects.filter(
        status__in=LIVE_STATUSES, wake_at__lte=clock.now(), journey__status=JourneyStatus.ACTIVE
    )
    if journey_id is not None:
        candidates = candidates.filter(journey_id=journey_id)
    return list(candidates.order_by("wake_at", "pk").values_list("pk", flat=True)[:limit])


def sweep(limit: int = 500, journey_id: int | None = None) -> int:
    """Step due runs here and now (a wait that ended, an event in its inbox, a lost task).
    For the simulator, tests and brokerless setups; with workers, ``claim_due`` hands them out."""
    return sum(1 for run_id in due(limit, journey_id) if advance(run_id))


def claim_due(limit: int) -> list[int]:
    """Claim up to ``limit`` due runs for the workers: ``SELECT … FOR UPDATE SKIP LOCKED``,
    then their ``wake_at`` moves a lease ahead, so the next sweep does not hand them out again
    while they wait in the queue. If their task is lost, the lease ends and a sweep claims them
    again; stepping a run twice is a no-op, so an early second claim costs only time."""
    now = clock.now()
    lease = timedelta(seconds=conf.get("RUN_CLAIM_LEASE"))
    with transaction.atomic():
        ids = list(
            Run.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(
                status__in=LIVE_STATUSES, wake_at__lte=now, journey__status=JourneyStatus.ACTIVE
            )
            .order_by("wake_at")
            .values_list("pk", flat=True)[:limit]
        )
        if ids:
            Run.objects.filter(pk__in=ids).update(wake_at=now + lease)
    return ids


def scan_abandoned_checkouts(limit: int = 1000, journey_id: int | None = None) -> int:
    """Enrol the contacts of checkouts left alone long enough, for each journey that wants them."""
    now = clock.now()
    enrolled = 0
    for journey, version, trigger in _live_triggers(
        d.CheckoutAbandonedTrigger, journey_id=journey_id
    ):
        assert isinstance(trigger, d.CheckoutAbandonedTrigger)
        quiet_since = now - durations.parse(trigger.after)
        started = Run.objects.filter(journey=journey).values("trigger_key")
        candidates = (
            Checkout.objects.filter(
                installation_id=journey.installation_id,
                completed_at=None,
                quantity__gt=0,
                contact__isnull=False,
                saleor_updated_at__lte=quiet_since,
                # Checkouts abandoned long before the journey existed are not its business.
                saleor_updated_at__gte=min(version.published_at, quiet_since) - timedelta(days=1),
            )
            .exclude(email=None)
            .select_related("contact")
            .order_by("saleor_updated_at")
        )
        keys = {row["trigger_key"] for row in started}
        for checkout in candidates[:limit]:
            key = f"checkout:{checkout.token}"
            if key in keys or checkout.contact is None:
                continue
            with transaction.atomic():
                if enroll(journey, checkout.contact, now=now, trigger_key=key):
                    enrolled += 1
    return enrolled


_DATE_FIELDS = ("created_at", "saleor_updated_at")


def _date_value(contact: Contact, path: list[str]) -> datetime | None:
    """The date at ``contact.<path>``: a card field, or an ISO date in its properties."""
    if path[0] in _DATE_FIELDS:
        value: Any = getattr(contact, path[0])
    else:
        value = contact.properties if path[0] == "properties" else None
        for part in path[1:]:
            value = value.get(part) if isinstance(value, dict) else None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None  # not a date: the trigger does not apply to this contact
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def scan_property_dates(limit: int = 5000, journey_id: int | None = None) -> int:
    """Enrol contacts whose date property plus the trigger's offset has come ("7 days after
    signup"): once per contact and date, and only for dates that came after the journey was
    published (give or take a day), never for a whole history at once."""
    now = clock.now()
    enrolled = 0
    for journey, version, trigger in _live_triggers(d.PropertyDateTrigger, journey_id=journey_id):
        assert isinstance(trigger, d.PropertyDateTrigger)
        offset = durations.parse(trigger.offset) if trigger.offset else timedelta()
        since = version.published_at - timedelta(days=1)
        path = trigger.property.split(".")[1:]
        contacts = Contact.objects.filter(installation_id=journey.installation_id, erased_at=None)
        if path[0] in _DATE_FIELDS:
            contacts = contacts.filter(
                **{f"{path[0]}__gte": since - offset, f"{path[0]}__lte": now - offset}
            )
        elif path[0] == "properties" and len(path) > 1:
            contacts = contacts.filter(**{f"properties__{'__'.join(path[1:])}__isnull": False})
        else:
            continue  # validation accepts only dates the card has
        started = set(
            Run.objects.filter(journey=journey, trigger_key__startswith="date:").values_list(
                "contact_id", "trigger_key"
            )
        )
        for contact in contacts.order_by("pk").iterator(chunk_size=500):
            date = _date_value(contact, path)
            if date is None or not since <= date + offset <= now:
                continue
            key = f"date:{trigger.property}:{date.date().isoformat()}"[:128]
            if (contact.pk, key) in started:
                continue
            with transaction.atomic():
                if enroll(journey, contact, now=now, trigger_key=key):
                    enrolled += 1
            if enrolled >= limit:
                return enrolled
    return enrolled


def exit_run(run_id: int, *, node: str, reason: str) -> bool:
    """End a live run from outside the engine (a send that failed with ``on_failure: exit``).
    The run's row lock orders this with any step in progress."""
    now = clock.now()
    with transaction.atomic():
        run = Run.objects.select_for_update().filter(pk=run_id, status__in=LIVE_STATUSES).first()
        if run is None:
            return False
        end(run, node=node, reason=reason, now=now)
    return True


def end(run: Run, *, node: str, reason: str, now: datetime) -> None:
    """Exit a live run whose row the caller has locked: one ``exit`` step with the reason."""
    run.steps += 1
    _record(run, run.steps, node, "exit", reason, now)
    run.status = RunStatus.EXITED
    run.finished_at = now
    run.wake_at = run.timer_at = None
    run.inbox = []
    run.save()
