"""Celery tasks. They take ids, are safe to run twice, and leave the Celery app to the host."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from celery import shared_task
from django.db import InterfaceError, OperationalError, close_old_connections

from saleor_journeys import conf
from saleor_journeys.runtime import deliveries, outbox, runs
from saleor_journeys.runtime.publisher import BatchPublisher

logger = logging.getLogger(__name__)

# Runs per task message when the sweeper hands out a wave: enough to make the message cheap,
# few enough to spread a wave over every worker process.
RUNS_PER_TASK = 50


@shared_task(name="saleor_journeys.process_deliveries", acks_late=True, ignore_result=True)
def process_deliveries(delivery_ids: list[int]) -> int:
    """Process stored deliveries; ids already processed (or gone) are skipped."""
    return sum(deliveries.process(delivery_id) for delivery_id in delivery_ids)


@shared_task(name="saleor_journeys.sweep_deliveries", ignore_result=True)
def sweep_deliveries() -> int:
    """Periodic: process deliveries whose task was lost (broker flushed, worker killed)."""
    return deliveries.sweep()


@shared_task(name="saleor_journeys.advance_runs", acks_late=True, ignore_result=True)
def advance_runs(run_ids: list[int]) -> int:
    """Step journey runs; a run that is finished, gone or being stepped elsewhere is skipped."""
    return sum(_each(runs.advance, run_ids, "run"))


def _each(work: Callable[[int], int], ids: list[int], what: str) -> Iterator[int]:
    """Do each id on its own: a dropped database connection fails that id, not the batch (the
    sweeper has the ones that fail; the next id gets a fresh connection)."""
    for item_id in ids:
        try:
            yield work(item_id)
        except (OperationalError, InterfaceError):
            logger.warning("Database error on %s %s; the sweeper retries it", what, item_id)
            close_old_connections()
            yield 0


@shared_task(name="saleor_journeys.sweep_runs", ignore_result=True)
def sweep_runs() -> int:
    """Periodic: hand every due run (ended waits, events in inboxes, lost tasks) to the workers,
    in batches, so that a wave of runs due at once is stepped by all of them in parallel."""
    if sweep_runs.app.conf.task_always_eager:
        return runs.sweep()
    deadline = time.monotonic() + conf.get("RUN_SWEEP_INTERVAL") * 0.8
    batch = conf.get("RUN_SWEEP_BATCH")
    claimed = 0
    while time.monotonic() < deadline:
        ids = runs.claim_due(batch)
        for start in range(0, len(ids), RUNS_PER_TASK):
            advance_runs.delay(ids[start : start + RUNS_PER_TASK])
        claimed += len(ids)
        if len(ids) < batch:
            break
    return claimed


@shared_task(name="saleor_journeys.scan_abandoned_checkouts", ignore_result=True)
def scan_abandoned_checkouts() -> int:
    """Periodic: enrol contacts whose checkout has been left alone long enough."""
    return runs.scan_abandoned_checkouts()


@shared_task(name="saleor_journeys.perform_actions", acks_late=True, ignore_result=True)
def perform_actions(run_ids: list[int]) -> int:
    """Carry out the pending side effects of runs (vouchers, webhooks …), in order per run."""
    return sum(_each(outbox.perform_run, run_ids, "actions of run"))


@shared_task(name="saleor_journeys.sweep_actions", ignore_result=True)
def sweep_actions() -> int:
    """Periodic: side effects due for a retry, or whose task was lost."""
    return outbox.sweep()


@shared_task(name="saleor_journeys.scan_property_dates", ignore_result=True)
def scan_property_dates() -> int:
    """Periodic: enrol contacts whose date property (plus the offset) has come."""
    return runs.scan_property_dates()


_publisher = BatchPublisher(lambda ids: process_deliveries.delay(ids))
_run_publisher = BatchPublisher(lambda ids: advance_runs.delay(ids))
_action_publisher = BatchPublisher(lambda ids: perform_actions.delay(ids))


def _hand_over(task: Any, publisher: BatchPublisher, item_id: int, what: str) -> None:
    """Give an id to a worker. Without a broker the task runs here and now; with one, the
    publisher thread sends it. Either way a failure only delays the work: a sweeper has it."""
    if task.app.conf.task_always_eager:
        try:
            task.delay([item_id])
        except Exception:
            logger.exception("Processing %s %s failed; the sweeper retries", what, item_id)
        return
    publisher.submit(item_id)


def enqueue_delivery(delivery_id: int) -> None:
    _hand_over(process_deliveries, _publisher, delivery_id, "delivery")


def enqueue_run(run_id: int) -> None:
    _hand_over(advance_runs, _run_publisher, run_id, "run")


def enqueue_actions(run_id: int) -> None:
    _hand_over(perform_actions, _action_publisher, run_id, "actions of run")


def hint_run(run_id: int, at: datetime) -> None:
    """A wait ends soon: a task at that time shortens the latency; the sweeper is the guarantee."""
    if advance_runs.app.conf.task_always_eager:
        return  # no broker to hold a timed task: the sweeper wakes the run
    try:
        advance_runs.apply_async(([run_id],), eta=at)
    except Exception:
        logger.warning("Could not schedule run %s; the sweeper will wake it", run_id)


# The web channel's tasks (the anonymous-data purge) register with the rest, so a host project's
# ``autodiscover_tasks(["saleor_journeys.runtime"])`` finds every task of the app.
from saleor_journeys.web import tasks as _web_tasks  # noqa: E402, F401
