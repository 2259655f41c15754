"""``saleor-journeys exportjourney SLUG --saleor-api-url URL``: a journey as a file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from saleor_journeys.journeys import files
from saleor_journeys.journeys.models import Journey
from saleor_journeys.management.commands._installation import installation_for


class Command(BaseCommand):
    help = "Print (or write) a journey's latest published version, a given one, or its draft."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")
        parser.add_argument("--saleor-api-url", required=True)
        which = parser.add_mutually_exclusive_group()
        which.add_argument("--number", type=int, help="A published version's number.")
        which.add_argument("--draft", action="store_true", help="The draft being edited.")
        parser.add_argument("--format", choices=["yaml", "json"], default=None)
        parser.add_argument("--output", type=Path, help="Default: standard output.")

    def handle(self, *args: Any, **options: Any) -> None:
        installation = installation_for(options["saleor_api_url"])
        journey = Journey.objects.filter(installation=installation, slug=options["slug"]).first()
        if journey is None:
            raise CommandError(f"No journey {options['slug']!r} in {installation}.")
        if options["draft"]:
            definition = journey.draft
        else:
            versions = journey.versions.order_by("-number")
            if options["number"]:
                versions = versions.filter(number=options["number"])
            version = versions.first()
            if version is None:
                raise CommandError(
                    f"{journey.slug} has no such published version; use --draft for the draft."
                )
            definition = version.definition
        output: Path | None = options["output"]
        fmt = options["format"] or (files.format_of(output) if output else "yaml")
        text = files.dumps(definition, fmt)
        if output:
            output.write_text(text)
            self.stdout.write(f"Wrote {output}")
        else:
            self.stdout.write(text, ending="")
