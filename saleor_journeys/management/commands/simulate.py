"""``saleor-journeys simulate JOURNEY --events EVENTS.jsonl --until 30d``: what would happen."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from saleor_journeys.core import clock
from saleor_journeys.journeys import builtin, durations, files
from saleor_journeys.journeys.definition import validate
from saleor_journeys.journeys.simulation import SimulationError, parse_events, simulate
from saleor_journeys.runtime import embedded


class Command(BaseCommand):
    help = (
        "Run a journey (a definition file or a built-in: "
        + ", ".join(builtin.NAMES)
        + ") against Saleor webhook bodies over virtual time and print what it would do. "
        "Nothing is sent and nothing is kept."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("journey", help="A YAML/JSON definition file or a built-in's name.")
        parser.add_argument(
            "--events",
            type=Path,
            required=True,
            help='JSON lines: {"at": ISO-8601 or "+2h", "event": "CHECKOUT_UPDATED", '
            '"payload": <the webhook body>}',
        )
        parser.add_argument("--until", default="30d", help="How long to run (from --start).")
        parser.add_argument(
            "--start", help="ISO-8601 time offsets count from (default: the first event's time)."
        )
        parser.add_argument("--format", choices=["text", "json"], default="text")
        parser.add_argument(
            "--set",
            action="append",
            default=[],
            metavar="NAME=VALUE",
            help="A built-in's parameter, e.g. --set answer_within=3d (repeatable).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        embedded.ensure_migrated()
        definition = _definition(options["journey"], _parameters(options["set"]))
        try:
            lines = options["events"].read_text().splitlines()
        except OSError as exc:
            raise CommandError(f"cannot read {options['events']}: {exc}") from exc
        start = _start(options["start"], lines)
        try:
            events = parse_events(lines, start=start)
            until = start + durations.parse(options["until"])
            timeline = simulate(definition, events, start=start, until=until)
        except (SimulationError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        for line in timeline:
            if options["format"] == "json":
                self.stdout.write(json.dumps(line.as_dict()))
            else:
                what = f"{line.action} {line.channel} {line.template}".strip()
                why = f" ({line.reason})" if line.reason else ""
                self.stdout.write(
                    f"{line.at:%Y-%m-%d %H:%M}  {line.contact:<30} {line.node:<20} {what}{why}"
                )


def _parameters(pairs: list[str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise CommandError(f"--set {pair!r}: expected NAME=VALUE")
        # Numbers stay numbers (a percentage, an hour); everything else is text.
        values[name] = int(value) if value.isdigit() else value
    return values


def _definition(name: str, parameters: dict[str, Any]) -> dict[str, Any]:
    path = Path(name)
    if path.exists() and parameters:
        raise CommandError("--set applies to built-in journeys; edit the file instead")
    if path.exists():
        try:
            data = files.loads(path.read_text(), files.format_of(path))
        except files.FileFormatError as exc:
            raise CommandError(f"{path}: {exc}") from exc
    else:
        try:
            data = builtin.load(name, parameters)
        except KeyError as exc:
            raise CommandError(f"{name} is neither a file nor {exc.args[0]}") from exc
        except builtin.TemplateError as exc:
            raise CommandError(str(exc)) from exc
    problems = validate(data).problems
    if problems:
        listed = "\n".join(f"  {p.path or '(document)'}: {p.message}" for p in problems)
        raise CommandError(f"{name} is not a valid journey:\n{listed}")
    return data


def _start(given: str | None, lines: list[str]) -> datetime:
    if given:
        try:
            return datetime.fromisoformat(given)
        except ValueError as exc:
            raise CommandError(f"--start {given!r} is not an ISO-8601 time") from exc
    for line in lines:
        try:
            at = json.loads(line).get("at", "")
            return datetime.fromisoformat(at)
        except (ValueError, AttributeError, TypeError):
            continue
    return clock.now()
