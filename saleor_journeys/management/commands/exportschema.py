"""``saleor-journeys exportschema``: write the GraphQL schema file that is committed."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from saleor_journeys.graphql.schema import SCHEMA_FILE, sdl


class Command(BaseCommand):
    help = "Write the printed GraphQL schema to saleor_journeys/graphql/schema.graphql."

    def handle(self, *args: Any, **options: Any) -> None:
        SCHEMA_FILE.write_text(sdl())
        self.stdout.write(f"Wrote {SCHEMA_FILE}")
