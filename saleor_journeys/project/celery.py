"""The bundled project's Celery app. A host project uses its own and the app's shared tasks."""

from __future__ import annotations

import os
from typing import Any

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saleor_journeys.project.settings")

app = Celery("saleor_journeys")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["saleor_journeys.runtime"])


@app.on_after_configure.connect
def add_periodic_tasks(sender: Celery, **kwargs: Any) -> None:
    from saleor_journeys.runtime.schedule import beat_schedule

    for name, entry in beat_schedule().items():
        sender.add_periodic_task(entry["schedule"], sender.signature(entry["task"]), name=name)
