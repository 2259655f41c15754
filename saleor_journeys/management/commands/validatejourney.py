"""``saleor-journeys validatejourney FILE…``: check journey files, e.g. in a shop's CI."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from saleor_journeys.journeys import files
from saleor_journeys.journeys.definition import validate


class Command(BaseCommand):
    help = "Validate journey definition files (YAML or JSON); lists every problem with its path."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("files", nargs="+", type=Path)

    def handle(self, *args: Any, **options: Any) -> None:
        failed = 0
        for path in options["files"]:
            problems = check_file(path)
            if problems:
                failed += 1
                for line in problems:
                    self.stderr.write(f"{path}: {line}")
            else:
                self.stdout.write(f"{path}: ok")
        if failed:
            raise CommandError(f"{failed} of {len(options['files'])} file(s) have problems.")


def check_file(path: Path) -> list[str]:
    try:
        data = files.loads(path.read_text(), files.format_of(path))
    except (OSError, files.FileFormatError) as exc:
        return [str(exc)]
    return [f"{p.path or '(document)'}: {p.message} [{p.code}]" for p in validate(data).problems]
