"""``saleor-journeys createapikey --saleor-api-url URL``: a GraphQL API key for one shop."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from saleor_journeys.auth import api_keys
from saleor_journeys.management.commands._installation import installation_for
from saleor_journeys.runtime import embedded


class Command(BaseCommand):
    help = "Create an API key for the GraphQL API of one installation; prints it last."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--saleor-api-url", required=True, help="e.g. https://shop/graphql/")
        parser.add_argument("--name", default="cli", help="A label to recognise the key by.")

    def handle(self, *args: Any, **options: Any) -> None:
        embedded.ensure_migrated()
        installation = installation_for(options["saleor_api_url"])
        row, key = api_keys.create(installation, options["name"])
        self.stdout.write(
            f"Created API key {row.name!r} for {installation.saleor_api_url}. Store it now; it is"
        )
        self.stdout.write("not shown again. Use it as 'Authorization: Bearer <key>'.")
        self.stdout.write(key)
