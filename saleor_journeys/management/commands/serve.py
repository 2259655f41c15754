"""``saleor-journeys serve``: the app behind gunicorn, a production HTTP server."""

from __future__ import annotations

import os
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from django.core.wsgi import get_wsgi_application
from gunicorn.app.base import BaseApplication

from saleor_journeys.runtime import embedded


class _Gunicorn(BaseApplication):
    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        return get_wsgi_application()


def _post_worker_init(worker: Any) -> None:
    embedded.start_sweeper()


class Command(BaseCommand):
    help = "Serve the app over HTTP with gunicorn."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="Address to listen on.")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument(
            "--workers",
            type=int,
            default=None,
            help="Worker processes (default: WEB_CONCURRENCY, else 2 x CPUs + 1; 1 embedded).",
        )
        parser.add_argument("--threads", type=int, default=4, help="Threads per worker.")

    def handle(self, *args: Any, **options: Any) -> None:
        is_embedded = embedded.is_embedded()
        if is_embedded:
            embedded.ensure_migrated()
        # Outside the embedded default, unsafe production settings stop the start here.
        call_command("check", deploy=not is_embedded, fail_level="ERROR")
        workers = options["workers"] or (
            1 if is_embedded else int(os.environ.get("WEB_CONCURRENCY", 2 * os.cpu_count() + 1))  # type: ignore[operator]
        )
        gunicorn_options: dict[str, Any] = {
            "bind": f"{options['host']}:{options['port']}",
            "workers": workers,
            "threads": options["threads"],
            "worker_class": "gthread",
            "accesslog": "-",
            "timeout": 30,
            "graceful_timeout": 20,
        }
        if embedded.runs_tasks_in_process():
            gunicorn_options["post_worker_init"] = _post_worker_init
        if is_embedded:
            self.stdout.write(
                "Embedded default: SQLite, tasks in process. "
                f"Manifest: http://{options['host']}:{options['port']}/api/manifest"
            )
        _Gunicorn(gunicorn_options).run()
