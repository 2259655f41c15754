"""``saleor-journeys demo``: a virtual pet shop lives 30 days through the app, in under a minute.

The demo always runs on the embedded default with a database of its own in ``--output``: the
command starts itself again in a child process whose environment names that folder as the data
directory and has no ``DATABASE_URL`` or broker, so a real database is never opened.
See docs/demo.md.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

CHILD = "SALEOR_JOURNEYS_DEMO_CHILD"
# Beyond a few processes the shares are small and merging them costs more than it saves.
MAX_JOBS = 4
# What could point the child elsewhere than its own embedded database, mail and SMS stand-ins.
STRIPPED = (
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "CACHE_URL",
    "EMAIL_URL",
    "ANYMAIL_WEBHOOK_SECRET",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "DEBUG",
)


class Command(BaseCommand):
    help = "Run a virtual pet shop through the built-in journeys for 30 virtual days."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--customers", type=int, default=200, help="How many (default 200).")
        parser.add_argument(
            "--seed", type=int, default=2026, help="Same seed, same month (default 2026)."
        )
        parser.add_argument(
            "--output",
            type=Path,
            default=Path("saleor-journeys-demo"),
            help="Folder for the database, emails, SMS and report (./saleor-journeys-demo).",
        )
        parser.add_argument(
            "--jobs",
            type=int,
            default=min(os.cpu_count() or 1, MAX_JOBS),
            help=f"Processes to play the customers in (default: the CPUs, at most {MAX_JOBS}).",
        )
        parser.add_argument(
            "--serve", action="store_true", help="Then serve the app on the demo database."
        )
        parser.add_argument("--port", type=int, default=8000, help="Port for --serve (8000).")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["customers"] < 1:
            raise CommandError("--customers must be at least 1.")
        if options["jobs"] < 1:
            raise CommandError("--jobs must be at least 1.")
        output: Path = options["output"].expanduser().resolve()
        if os.environ.get(CHILD) == str(output):
            self._run(output, options)
            return
        self._start_child(output, options)

    def _start_child(self, output: Path, options: dict[str, Any]) -> None:
        from saleor_journeys.demo import run, texts

        try:
            run.prepare_output(output)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        data = output / "data"
        if data.exists():
            import shutil

            shutil.rmtree(data)  # a fresh database every time
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in STRIPPED and not k.startswith(("SALEOR_JOURNEYS_", "TWILIO_"))
        }
        env.update(
            {
                CHILD: str(output),
                "DJANGO_SETTINGS_MODULE": "saleor_journeys.project.settings",
                "SALEOR_JOURNEYS_DATA_DIR": str(data),
                "SALEOR_JOURNEYS_PUBLIC_URL": f"http://127.0.0.1:{options['port']}",
                "SALEOR_JOURNEYS_VOUCHER_CHANNEL": "default-channel",
                "EMAIL_URL": "memory://",
                # --serve shows the month as it ended: the real clock is past its waits.
                "SALEOR_JOURNEYS_IN_PROCESS_BEAT": "0",
                "TWILIO_ACCOUNT_SID": texts.ACCOUNT_SID,
                "TWILIO_AUTH_TOKEN": texts.AUTH_TOKEN,
                "TWILIO_FROM": texts.SENDER,
                "NO_PROXY": "127.0.0.1,localhost",
                "LOG_LEVEL": os.environ.get("LOG_LEVEL", "ERROR"),
            }
        )
        command = [sys.executable, "-m", "saleor_journeys.cli", "demo"]
        command += ["--customers", str(options["customers"]), "--seed", str(options["seed"])]
        command += ["--output", str(output), "--port", str(options["port"])]
        command += ["--jobs", str(options["jobs"])]
        if options["serve"]:
            command.append("--serve")
        child = subprocess.Popen(command, env=env)  # noqa: S603 - this very command, again
        try:
            code = child.wait()
        except KeyboardInterrupt:
            child.wait()  # Ctrl-C reached the child too (--serve): it stops on its own
            return
        if code:
            raise CommandError(f"The demo stopped with exit code {code}.")

    def _run(self, output: Path, options: dict[str, Any]) -> None:
        from saleor_journeys.demo import report, run

        started = time.monotonic()
        self.stdout.write(
            f"A pet shop with {options['customers']} customers lives {run.behaviour.DAYS} days "
            f"(seed {options['seed']}); everything stays in {output}."
        )
        result = run.play(
            options["customers"],
            options["seed"],
            out=getattr(self.stdout, "_out", sys.stdout),
            jobs=options["jobs"],
        )
        summary = report.write(result, output)
        self.stdout.write("")
        self.stdout.write(summary)
        self.stdout.write(
            f"Done in {time.monotonic() - started:.1f} s. Open {output / 'report.html'}"
        )
        if options["serve"]:
            self.stdout.write(
                f"\nServing the demo shop at http://127.0.0.1:{options['port']}/graphql/ "
                f"with the API key\n  {result.api_key}\n(Ctrl-C stops it.)"
            )
            call_command("serve", host="127.0.0.1", port=options["port"], workers=1)
