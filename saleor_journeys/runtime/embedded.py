"""What the embedded default (SQLite, no broker) does for itself."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

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


class Sweeper:
    """The thread started by ``start_sweeper``; ``stop()`` ends it after its current task."""

    def __init__(self, loop: Callable[[threading.Event], None]) -> None:
        self._stop = threading.Event()
        self.thread = threading.Thread(
            target=loop, args=(self._stop,), name="saleor-journeys-sweeper", daemon=True
        )
        self.thread.start()

    def stop(self) -> None:
        self._stop.set()
        self.thread.join()


def start_sweeper() -> Sweeper:
    """Without a broker there is no beat: a thread of each web process does its work here, each
    periodic task of ``schedule.beat_schedule`` on its own interval (every task is safe to run
    in two processes at once). With ``IN_PROCESS_BEAT`` off, only failed deliveries are swept."""
    from saleor_journeys.runtime import schedule, tasks

    entries = schedule.beat_schedule()
    if not conf.get("IN_PROCESS_BEAT"):
        entries = {k: v for k, v in entries.items() if v["task"] == tasks.sweep_deliveries.name}
    periodic = {entry["task"]: float(entry["schedule"]) for entry in entries.values()}
    registry = tasks.sweep_deliveries.app.tasks
    last: dict[str, float] = {}

    def loop(stop: threading.Event) -> None:
        while not stop.wait(min(periodic.values())):
            now = time.monotonic()
            for name, interval in periodic.items():
                if now - last.get(name, float("-inf")) < interval:
                    continue
                last[name] = now
                try:
                    registry[name]()  # the task's body, in this thread
                except Exception:
                    logger.exception("The embedded beat's %s failed; it tries again", name)
                finally:
                    connection.close()

    return Sweeper(loop)
