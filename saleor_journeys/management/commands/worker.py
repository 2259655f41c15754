"""``saleor-journeys worker``: a Celery worker of the bundled project."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = "Run a Celery worker that processes deliveries (and later, journeys)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--concurrency", type=int, default=None)
        parser.add_argument("--loglevel", default="INFO")

    def handle(self, *args: Any, **options: Any) -> None:
        if getattr(settings, "CELERY_TASK_ALWAYS_EAGER", False):
            raise CommandError(
                "CELERY_BROKER_URL is not set, so tasks run inside the web process and no "
                "worker is needed. Set it (redis://… or amqp://…) to run workers."
            )
        from saleor_journeys.project.celery import app

        argv = ["worker", f"--loglevel={options['loglevel']}"]
        if options["concurrency"]:
            argv.append(f"--concurrency={options['concurrency']}")
        app.worker_main(argv)
