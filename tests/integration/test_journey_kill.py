"""Journey runs when a worker dies or loses its database mid-step, with real PostgreSQL, Redis
and Celery workers (prefork, as in production).

A worker is held inside a step's transaction by a lock the test takes from a connection of its
own: PostgreSQL shows the worker's backend waiting on it. Then the worker is killed with SIGKILL
(with its pool children), or its backend is terminated by the server. Nothing of the half-done
step may be kept, and every run must still finish, each step and each effect once and only once:
through the message Redis hands out again, the sweeper, or the same worker's next task.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any
from uuid import uuid4

import psycopg
import pytest
import redis
from django.db import connection

from saleor_journeys.contacts.models import Contact
from saleor_journeys.core import clock
from saleor_journeys.events.models import Event
from saleor_journeys.journeys.models import Run, RunAction, RunStatus, RunStep
from saleor_journeys.runtime import runs, tasks
from saleor_journeys.saleor.models import Installation
from tests.celery_app import app as celery_app
from tests.integration.conftest import Worker, wait_for
from tests.integration.test_journey_faults import _contacts, _journey

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

RUNS = 5
# The worker that comes after a killed one takes its unacknowledged messages back after this long.
VISIBILITY_TIMEOUT = "2"


class KillableWorker(Worker):
    """A worker in a session of its own, whose database connections carry its name."""

    def __init__(self, log: Path, pool: str) -> None:
        super().__init__(log, pool=pool, concurrency=1, new_session=True)
        self.app_name = f"journeys-kill-{uuid4().hex[:12]}"

    def start(self, **extra_env: str) -> None:
        super().start(PGAPPNAME=self.app_name, **extra_env)

    def text(self) -> str:
        return self.log.read_text(errors="replace")


StartWorker = Callable[..., KillableWorker]


@pytest.fixture
def start_worker(tmp_path: Path, broker: redis.Redis) -> Iterator[StartWorker]:
    started: list[KillableWorker] = []

    def start(name: str, pool: str = "prefork", **extra_env: str) -> KillableWorker:
        worker = KillableWorker(tmp_path / f"{name}.log", pool)
        started.append(worker)
        worker.start(**extra_env)
        wait_for(lambda: " ready." in worker.text(), worker, timeout=20)
        return worker

    yield start
    for worker in started:
        try:
            worker.stop()
        except subprocess.TimeoutExpired:
            worker.kill_group()
            worker.output.close()


class Hold:
    """A lock taken in a transaction of the test's own connection, kept until released."""

    def __init__(self, sql: str, params: tuple[Any, ...] = ()) -> None:
        db = connection.settings_dict
        self.conn = psycopg.connect(
            dbname=db["NAME"],
            user=db["USER"],
            host=db["HOST"] or "127.0.0.1",
            port=db["PORT"] or 5432,
            application_name="journeys-kill-holder",
        )
        self.pid = self.conn.info.backend_pid
        self.conn.execute(sql, params)  # psycopg opens the transaction: the lock stays

    def release(self) -> None:
        if not self.conn.closed:
            self.conn.rollback()
            self.conn.close()

    def __enter__(self) -> Hold:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


def _table_lock(model: Any) -> Hold:
    return Hold(f'LOCK TABLE "{model._meta.db_table}" IN ACCESS EXCLUSIVE MODE')


def _contact_row_locks(ids: list[int]) -> Hold:
    contacts = Run.objects.filter(pk__in=ids).values_list("contact_id", flat=True)
    return Hold(
        f'SELECT id FROM "{Contact._meta.db_table}" WHERE id = ANY(%s) FOR UPDATE',
        (list(contacts),),
    )


def _query(sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _backends(worker: KillableWorker) -> list[int]:
    rows = _query(
        "SELECT pid FROM pg_stat_activity WHERE application_name = %s ORDER BY pid",
        [worker.app_name],
    )
    return [pid for (pid,) in rows]


def _wait_blocked(
    worker: KillableWorker, hold: Hold, *, besides: int | None = None
) -> tuple[int, str]:
    """The worker's backend that waits for the test's lock (another one than ``besides``,
    which may still be on its way out): its pid and its statement."""
    found: list[tuple[Any, ...]] = []

    def blocked() -> bool:
        found[:] = _query(
            "SELECT pid, wait_event_type, query FROM pg_stat_activity"
            " WHERE application_name = %s AND %s = ANY(pg_blocking_pids(pid)) AND pid <> %s",
            [worker.app_name, hold.pid, besides or 0],
        )
        return bool(found)

    wait_for(blocked, worker, timeout=20)
    [(pid, wait_event_type, query)] = found
    assert wait_event_type == "Lock"
    return pid, query


def _group_alive(pgid: int) -> bool:
    """Whether any process of the group still lives (zombies do not count)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        state, _ppid, pgrp = stat.rsplit(")", 1)[1].split()[:3]
        if int(pgrp) == pgid and state not in ("Z", "X"):
            return True
    return False


def _log_of(worker: KillableWorker) -> Worker:
    """Something ``wait_for`` shows the log of, and does not give up on since it is dead."""
    return Worker(worker.log)


def _kill(worker: KillableWorker) -> None:
    assert worker.process is not None
    pgid = os.getpgid(worker.process.pid)
    assert pgid == worker.process.pid != os.getpgid(0)  # its own group, not pytest's
    worker.kill_group()
    wait_for(lambda: not _group_alive(pgid), _log_of(worker), timeout=10)


def _unacked(broker: redis.Redis) -> list[str]:
    """Ids of the run-stepping task messages Redis has handed out and not seen acknowledged
    (the tasks that carry out the steps' sends come and go beside them)."""
    raw: dict[bytes, bytes] = broker.hgetall("unacked")  # type: ignore[assignment]
    headers = [json.loads(value)[0]["headers"] for value in raw.values()]
    return sorted(h["id"] for h in headers if h["task"] == "saleor_journeys.advance_runs")


def _send(run_ids: list[int]) -> str:
    task_id = str(uuid4())
    celery_app.send_task("saleor_journeys.advance_runs", args=[run_ids], task_id=task_id)
    return task_id


def _send_sweep() -> str:
    task_id = str(uuid4())
    celery_app.send_task("saleor_journeys.sweep_runs", task_id=task_id)
    return task_id


def _task_line(worker: KillableWorker, task_id: str, what: str) -> str | None:
    for line in worker.text().splitlines():
        if f"[{task_id}] {what}" in line:
            return line
    return None


@dataclass
class Shape:
    """What a run that nothing disturbed leaves: its steps, its effects, the contact's events."""

    steps: list[tuple[str, str]]
    actions: list[tuple[str, str]]
    events: list[tuple[str, str]]


def _enrol(installation: Installation, monkeypatch: pytest.MonkeyPatch) -> tuple[list[int], Shape]:
    """Enrol RUNS contacts with no task sent (the test sends its own), and run one more contact
    through the journey in this process, undisturbed, as the reference."""
    journey = _journey(installation)
    with monkeypatch.context() as patch:
        patch.setattr(tasks, "enqueue_run", lambda run_id: None)
        # Nor the reference's send: a worker performing it would hold the locks the tests take.
        patch.setattr(tasks, "enqueue_actions", lambda run_id: None)
        enrolled = [
            runs.enroll(journey, contact, now=clock.now())
            for contact in _contacts(installation, RUNS + 1)
        ]
        ids = [run.pk for run in enrolled if run is not None]
        assert len(ids) == RUNS + 1
        reference = ids.pop()
        assert runs.advance(reference) > 0
    run = Run.objects.select_related("contact").get(pk=reference)
    assert run.status == RunStatus.DONE
    assert (run.contact.score, run.contact.tags) == (1, ["seen"])
    shape = Shape(
        steps=list(run.log.order_by("number").values_list("node", "outcome")),
        actions=sorted(run.actions.values_list("kind", "node")),
        events=_events(run.contact),
    )
    assert len(shape.steps) >= 3 and len(shape.actions) == 2
    return ids, shape


def _events(contact: Contact) -> list[tuple[str, str]]:
    return sorted(Event.objects.filter(contact=contact).values_list("type", "source"))


def _untouched(ids: list[int]) -> None:
    """Each run is as enrolment left it: no step, no effect, no change to the card."""
    for run in Run.objects.filter(pk__in=ids).select_related("contact"):
        assert (run.status, run.steps, run.node) == (RunStatus.ACTIVE, 0, "tag")
        assert list(run.log.values_list("number", "outcome")) == [(0, "enter")]
        assert (run.contact.score, run.contact.tags) == (0, [])
        assert _events(run.contact) == []
    assert not RunAction.objects.filter(run_id__in=ids).exists()


def _done(ids: list[int]) -> bool:
    return Run.objects.filter(pk__in=ids, status=RunStatus.DONE).count() == len(ids)


def _each_once(ids: list[int], shape: Shape) -> None:
    """Each run finished as the undisturbed one did: each step, each effect, the card, once."""
    checked = 0
    for run in Run.objects.filter(pk__in=ids).select_related("contact"):
        assert run.status == RunStatus.DONE
        log = list(run.log.order_by("number").values_list("number", "node", "outcome"))
        assert [number for number, _, _ in log] == list(range(len(shape.steps)))
        assert [(node, outcome) for _, node, outcome in log] == shape.steps
        assert sorted(run.actions.values_list("kind", "node")) == shape.actions
        assert (run.contact.score, run.contact.tags) == (1, ["seen"])
        assert _events(run.contact) == shape.events
        checked += 1
    assert checked == len(ids)
    assert RunStep.objects.filter(run_id__in=ids).count() == len(ids) * len(shape.steps)
    assert RunAction.objects.filter(run_id__in=ids).count() == len(ids) * len(shape.actions)


def _kill_mid_step(
    ids: list[int], start_worker: StartWorker, broker: redis.Redis, hold: Callable[[], Hold]
) -> tuple[str, str]:
    """Start a worker, let it block inside the first run's step, SIGKILL it and its pool, and
    release the lock. Returns the task's id and the statement the step was blocked in."""
    worker = start_worker("killed")
    with hold() as held:
        task_id = _send(ids)
        pid, query = _wait_blocked(worker, held)
        # Acknowledged late: Redis handed the message out and still keeps it.
        assert _unacked(broker) == [task_id]
        assert broker.llen("celery") == 0

        _kill(worker)

        # The server does not know yet: the dead worker's backend still waits, in its
        # transaction, holding what the half-done step wrote.
        assert _backends(worker) == [pid]
    # Released: the backend finds its client gone and PostgreSQL aborts the transaction.
    wait_for(lambda: not _backends(worker), _log_of(worker), timeout=20)
    _untouched(ids)
    assert _unacked(broker) == [task_id]  # nobody acknowledged it
    return task_id, query


def test_killed_mid_step_keeps_nothing_and_redis_hands_the_message_to_the_next_worker(
    installation: Installation,
    start_worker: StartWorker,
    broker: redis.Redis,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ids, shape = _enrol(installation, monkeypatch)

    # Cut after the step and the card's change were written, before the outbox row.
    task_id, query = _kill_mid_step(ids, start_worker, broker, lambda: _table_lock(RunAction))
    assert query.startswith(f'INSERT INTO "{RunAction._meta.db_table}"')

    # No sweeper: only the message Redis hands out again finishes the runs.
    worker = start_worker("next", TEST_CELERY_VISIBILITY_TIMEOUT=VISIBILITY_TIMEOUT)
    wait_for(lambda: _done(ids), worker, timeout=20)
    assert _task_line(worker, task_id, "received")
    _each_once(ids, shape)
    wait_for(lambda: not _unacked(broker), worker, timeout=10)
    _each_once(ids, shape)


def test_killed_mid_step_the_sweeper_finishes_and_the_late_message_changes_nothing(
    installation: Installation,
    start_worker: StartWorker,
    broker: redis.Redis,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ids, shape = _enrol(installation, monkeypatch)

    # Cut with the run claimed, before its step's row (the step log is locked).
    task_id, query = _kill_mid_step(ids, start_worker, broker, lambda: _table_lock(RunStep))
    assert query.startswith(f'INSERT INTO "{RunStep._meta.db_table}"')

    # The sweeper (the beat's task, on a worker that does not take messages back) gets there
    # first.
    sweeper = start_worker("sweeper")
    sweep_id = _send_sweep()
    wait_for(lambda: _task_line(sweeper, sweep_id, "succeeded"), sweeper, timeout=20)
    line = _task_line(sweeper, sweep_id, "succeeded")
    assert line is not None and line.endswith(f": {RUNS}"), line
    # The sweep claims the runs and hands them out in a task of their own: wait for it.
    wait_for(lambda: _done(ids), sweeper, timeout=20)
    _each_once(ids, shape)
    sweeper.stop()
    assert _unacked(broker) == [task_id]

    # Then Redis hands the killed worker's message out again: it finds nothing to do.
    worker = start_worker("next", TEST_CELERY_VISIBILITY_TIMEOUT=VISIBILITY_TIMEOUT)
    wait_for(lambda: _task_line(worker, task_id, "succeeded"), worker, timeout=20)
    line = _task_line(worker, task_id, "succeeded")
    assert line is not None and line.endswith(": 0"), line
    wait_for(lambda: not _unacked(broker), worker, timeout=10)
    _each_once(ids, shape)


@pytest.mark.parametrize("pool", ["prefork", "solo"])
def test_connections_dropped_mid_step_the_worker_reconnects_and_runs_finish_once(
    pool: str,
    installation: Installation,
    start_worker: StartWorker,
    broker: redis.Redis,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ids, shape = _enrol(installation, monkeypatch)
    worker = start_worker("worker", pool)

    # Cut after the step's row was written, before the card's change (its row is locked).
    with _contact_row_locks(ids) as held:
        first = _send(ids)
        later = _send(ids)  # a later task for the same runs, as a new event would send
        pid, query = _wait_blocked(worker, held)
        assert query.startswith(f'UPDATE "{Contact._meta.db_table}"')

        # What a database restart does to the worker: the server drops its connections.
        assert _backends(worker) == [pid]
        assert _query("SELECT pg_terminate_backend(%s)", [pid]) == [(True,)]

        # That run fails alone (the sweeper or a later task has it); the worker lives,
        # reconnects for the batch's next run, and blocks on the same lock again.
        wait_for(lambda: "Database error on run" in worker.text(), worker, timeout=20)
        new_pid, query = _wait_blocked(worker, held, besides=pid)
        assert new_pid != pid
        assert query.startswith(f'UPDATE "{Contact._meta.db_table}"')
        assert worker.process is not None and worker.process.poll() is None
        # The dropped transaction left nothing (and the new one shows nothing yet).
        _untouched(ids)

    wait_for(lambda: _done(ids), worker, timeout=20)
    per_run = len(shape.steps) - 1
    wait_for(lambda: _task_line(worker, later, "succeeded"), worker, timeout=10)
    line = _task_line(worker, first, "succeeded")
    assert line is not None and line.endswith(f": {(RUNS - 1) * per_run}"), line
    line = _task_line(worker, later, "succeeded")  # the run whose connection was dropped
    assert line is not None and line.endswith(f": {per_run}"), line
    _each_once(ids, shape)

    # Still serving: the periodic sweep finds nothing left to do.
    sweep_id = _send_sweep()
    wait_for(lambda: _task_line(worker, sweep_id, "succeeded"), worker, timeout=20)
    line = _task_line(worker, sweep_id, "succeeded")
    assert line is not None and line.endswith(": 0"), line
    assert _unacked(broker) == []
    _each_once(ids, shape)
