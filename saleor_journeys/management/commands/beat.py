"""``saleor-journeys beat``: the Celery beat that runs the periodic sweeps. Run exactly one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = "Run the Celery beat of the bundled project (exactly one per deployment)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--loglevel", default="INFO")

    def handle(self, *args: Any, **options: Any) -> None:
        if getattr(settings, "CELERY_TASK_ALWAYS_EAGER", False):
            raise CommandError(
                "CELERY_BROKER_URL is not set; the embedded default sweeps inside `serve`."
            )
        from saleor_journeys.project.celery import app

        # Beat keeps the time of its last runs in a small file of its own.
        data_dir = Path(getattr(settings, "DATA_DIR", "."))
        data_dir.mkdir(parents=True, exist_ok=True)
        schedule = f"--schedule={data_dir / 'celerybeat-schedule'}"
        app.start(["beat", f"--loglevel={options['loglevel']}", schedule])
