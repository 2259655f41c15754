"""``saleor-journeys revokeapikey PREFIX``: stop a GraphQL API key from working."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from saleor_journeys.auth.models import ApiKey
from saleor_journeys.core import clock


class Command(BaseCommand):
    help = "Revoke an API key, named by its prefix (the part after 'sj_'), or list the keys."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("prefix", nargs="?", help="e.g. 3f9a0c1b2d4e; omit to list keys")

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["prefix"]:
            for key in ApiKey.objects.select_related("installation").order_by("created_at"):
                state = "revoked" if key.revoked_at else "active"
                self.stdout.write(
                    f"{key.prefix}  {state:<8} {key.name:<20} {key.installation.saleor_api_url}"
                )
            return
        revoked = ApiKey.objects.filter(prefix=options["prefix"], revoked_at=None).update(
            revoked_at=clock.now()
        )
        if not revoked:
            raise CommandError(f"No active API key with prefix {options['prefix']!r}.")
        self.stdout.write(f"Revoked API key {options['prefix']}.")
