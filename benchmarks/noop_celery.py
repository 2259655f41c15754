"""The baseline of ``steps.py``: a Celery app with one task that does nothing but take an id.

Configured like the bundled project's Celery app where it matters for a task's cost (Redis
broker, ``acks_late``, prefetch multiplier 1, results ignored, no log line per finished task),
without Django and without a database. ``steps.py`` gives it a Redis database of its own, so it
never meets the app's worker.

    BENCH_BROKER_URL=redis://127.0.0.1:6379/12 celery -A noop_celery worker --concurrency 2
"""

from __future__ import annotations

import logging
import os
from typing import Any

from celery import Celery, signals

# Not the current app: in the benchmark's own process the app's shared tasks must keep
# publishing through the app's Celery app and broker.
BROKER_URL = os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/12")

app = Celery("bench_noop", set_as_current=False)
app.conf.update(
    broker_url=BROKER_URL,
    # Celery prefers the environment's CELERY_BROKER_URL (the app's, in the benchmark's own
    # process) to broker_url; these two are not overridden by it.
    broker_read_url=BROKER_URL,
    broker_write_url=BROKER_URL,
    broker_connection_retry_on_startup=True,
    task_ignore_result=True,
    worker_prefetch_multiplier=1,
)


@app.task(name="bench.noop", acks_late=True, ignore_result=True)
def noop(item_id: int) -> None:
    """Nothing: the cost of a task is all Celery's and the broker's."""


@signals.after_setup_logger.connect
def _quiet_trace(**kwargs: Any) -> None:
    # As the bundled project's LOGGING does: no line per finished task.
    logging.getLogger("celery.app.trace").setLevel(logging.WARNING)
