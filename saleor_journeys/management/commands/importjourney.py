"""``saleor-journeys importjourney FILE --saleor-api-url URL``: a journey file into a shop."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from saleor_journeys.journeys import files, versions
from saleor_journeys.journeys.models import Journey
from saleor_journeys.management.commands._installation import installation_for
from saleor_journeys.runtime import embedded


class Command(BaseCommand):
    help = (
        "Import a journey definition (YAML or JSON) as the draft of a journey, created if new; "
        "--publish publishes it. Importing never enrolls anyone."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--saleor-api-url", required=True)
        parser.add_argument("--slug", default="", help="Default: the file's name.")
        parser.add_argument("--publish", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        embedded.ensure_migrated()
        path: Path = options["file"]
        installation = installation_for(options["saleor_api_url"])
        try:
            definition = files.loads(path.read_text(), files.format_of(path))
        except (OSError, files.FileFormatError) as exc:
            raise CommandError(f"{path}: {exc}") from exc
        slug = options["slug"] or path.stem
        actor = f"cli:{path.name}"
        journey = Journey.objects.filter(installation=installation, slug=slug).first()
        try:
            if journey is None:
                journey = versions.create(installation, definition, actor=actor, slug=slug)
                self.stdout.write(f"Created journey {journey.slug!r} (draft).")
            else:
                versions.update_draft(journey, definition, actor=actor)
                self.stdout.write(f"Updated the draft of {journey.slug!r}.")
            if options["publish"]:
                version = versions.publish(journey, actor=actor)
                self.stdout.write(f"Published {journey.slug!r} as version {version.number}.")
        except versions.JourneyError as exc:
            for problem in exc.problems:
                self.stderr.write(f"{path}: {problem.path or '(document)'}: {problem.message}")
            raise CommandError(exc.message) from exc
