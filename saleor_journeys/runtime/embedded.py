"""What the embedded default (SQLite, no broker) does for itself."""

from __future__ import annotations

import logging
import threading

from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from saleor_journeys import conf

logger = logging.getLogger(__name__)


def is_embedded() -> bool:
    """SQLite: the single-machine default, which migrates itself."""
    return connection.vendor == "sqlite"


def runs_tasks_in_process() -> bool:
    """No broker: tasks run where they are queued, and no beat sweeps."""
    return bool(getattr(settings, "CELERY_TASK_ALWAYS_EAGER", False))


def ensure_migrated() -> None:
    """Apply pending migrations to the embedded database; production migrates on purpose."""
    if not is_embedded():
        return
    executor = MigrationExecutor(connection)
    if executor.migration_plan(executor.loader.graph.leaf_nodes()):
        logger.info("Migrating the embedded database %s", settings.DATABASES["default"]["NAME"])
        call_command("migrate", interactive=False, verbosity=0)


def start_sweeper() -> threading.Thread:
    """Without a broker there is no beat: a thread of each web process sweeps deliveries whose
    processing failed, so they are retried all the same."""
    from saleor_journeys.runtime import deliveries

    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(conf.get("SWEEP_INTERVAL")):
            try:
                deliveries.sweep()
            except Exception:
                logger.exception("The embedded sweeper failed; it tries again")
            finally:
                connection.close()

    thread = threading.Thread(target=loop, name="saleor-journeys-sweeper", daemon=True)
    thread.start()
    return thread
