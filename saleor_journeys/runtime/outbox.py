"""Carrying out the side effects journey steps decided: vouchers, webhooks, staff emails.

A step writes its effect as a ``RunAction`` row in the step's own transaction; after the
commit a task performs it. The effects of one run are performed in the order they were
decided (a message quoting a voucher code comes after the voucher), one worker at a time per
action (a lease), with retries and backoff; a worker that dies mid-call leaves the row pending
until its lease ends, and the next attempt is made safe by the effect itself (a voucher's code is
fixed in advance, a webhook carries its unique key, a message that was being handed over is never
handed over again).
"""

from __future__ import annotations

import logging
import random
from datetime import datetime, timedelta

from django.db.models import F, Q

from saleor_journeys import conf
from saleor_journeys.core import clock
from saleor_journeys.journeys import steps
from saleor_journeys.journeys.models import ActionStatus, RunAction
from saleor_journeys.journeys.steps.base import ActionFailed, Deferred

logger = logging.getLogger(__name__)


def performed(kind: str) -> bool:
    """Whether a step kind has an effect the outbox carries out."""
    return hasattr(steps.module(kind), "perform")


def perform_run(run_id: int) -> int:
    """Perform the run's pending actions that are due, in order; returns how many succeeded.
    Stops at the first one that must wait (a retry later, or another worker on it)."""
    done = 0
    pending = (
        RunAction.objects.filter(run_id=run_id, status=ActionStatus.PENDING)
        .order_by("pk")
        .values_list("pk", "next_attempt_at")
    )
    # The list as it is now: an action a later step adds comes with its own task.
    for action_id, next_attempt_at in pending:
        if next_attempt_at is not None and next_attempt_at > clock.now():
            return done  # the next one waits (a retry, a lease, quiet hours): so do the rest
        outcome = perform(action_id)
        if outcome != ActionStatus.DONE and outcome != ActionStatus.FAILED:
            return done
        done += outcome == ActionStatus.DONE
    return done


# How long a claimed action is left to the worker that claimed it; after that (the worker
# died) another one may try again.
LEASE = timedelta(minutes=10)


def perform(action_id: int) -> str | None:
    """Try one action once. Returns its new status, or None when it is not ours to do now.

    The action is claimed in a short transaction (a lease), carried out outside any
    transaction, and its outcome recorded in another: an effect may commit its own progress
    (a message marked as being handed over) before it calls the outside world."""
    now = clock.now()
    # Claimed by one conditional update: of two workers, the second finds the lease taken.
    claimed = (
        RunAction.objects.filter(pk=action_id, status=ActionStatus.PENDING)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .update(attempts=F("attempts") + 1, next_attempt_at=now + LEASE)
    )
    if not claimed:
        return None
    action = RunAction.objects.select_related(
        "run__contact", "run__installation", "run__journey"
    ).get(pk=action_id)
    # The contact's shop is the run's: the same row, without a second join to read it.
    action.run.contact.installation = action.run.installation
    try:
        action.result = steps.module(action.kind).perform(action)
    except Deferred as exc:
        # Not a failure: quiet hours or a frequency cap. The attempt does not count.
        action.attempts -= 1
        action.next_attempt_at = exc.until
        action.error = exc.reason
    except ActionFailed as exc:
        _failed(action, str(exc), retry=exc.retry, now=clock.now())
    except Exception as exc:  # a bug or an unexpected answer: keep the row, retry later
        logger.exception("Performing %s failed unexpectedly", action)
        _failed(action, f"unexpected error: {exc.__class__.__name__}", retry=True, now=clock.now())
    else:
        action.status = ActionStatus.DONE
        action.done_at = clock.now()
        action.error = ""
        action.next_attempt_at = None
    action.save(
        update_fields=["status", "result", "attempts", "error", "done_at", "next_attempt_at"]
    )
    return action.status


def _failed(action: RunAction, reason: str, *, retry: bool, now: datetime) -> None:
    action.error = reason
    if retry and action.attempts < conf.get("ACTION_MAX_ATTEMPTS"):
        base = conf.get("ACTION_RETRY_DELAY") * 2 ** (action.attempts - 1)
        # Jitter, so that effects failed together (Saleor down) do not retry together.
        action.next_attempt_at = now + timedelta(seconds=base * random.uniform(0.5, 1.5))  # noqa: S311
        logger.warning("%s failed (attempt %s), retrying: %s", action, action.attempts, reason)
    else:
        action.status = ActionStatus.FAILED
        action.next_attempt_at = None
        logger.error("%s failed for good: %s", action, reason)


def due_runs(limit: int = 500) -> list[int]:
    """Runs with a pending action that is due (a retry, or a task that was lost)."""
    rows = (
        RunAction.objects.filter(status=ActionStatus.PENDING, next_attempt_at__lte=clock.now())
        .order_by("next_attempt_at")
        .values_list("run_id", flat=True)[:limit]
    )
    return list(dict.fromkeys(rows))


def sweep(limit: int = 500) -> int:
    return sum(perform_run(run_id) for run_id in due_runs(limit))
