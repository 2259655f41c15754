"""The bundled project's Celery app. A host project uses its own and the app's shared tasks."""

from __future__ import annotations

import os
from typing import Any

from celery import Celery
from celery.signals import task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saleor_journeys.project.settings")

app = Celery("saleor_journeys")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["saleor_journeys.runtime"])


@app.on_after_configure.connect
def add_periodic_tasks(sender: Celery, **kwargs: Any) -> None:
    from saleor_journeys.runtime.schedule import beat_schedule

    for name, entry in beat_schedule().items():
        sender.add_periodic_task(entry["schedule"], sender.signature(entry["task"]), name=name)


@task_prerun.connect
def drop_broken_connections(**kwargs: Any) -> None:
    """Workers keep their database connection between tasks (``CELERY_DB_REUSE_MAX``); one
    that broke (a database restart) or grew too old is dropped before the next task."""
    from django.db import close_old_connections

    close_old_connections()
