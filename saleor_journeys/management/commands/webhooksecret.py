"""``saleor-journeys webhooksecret --saleor-api-url URL [--rotate]``: the secret that signs the
journeys' outgoing webhooks, for the receiving system to check ``Journeys-Signature``."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from saleor_journeys.management.commands._installation import installation_for
from saleor_journeys.saleor.models import new_webhook_secret


class Command(BaseCommand):
    help = "Print (or rotate) the secret that signs a shop's outgoing journey webhooks."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--saleor-api-url", required=True, help="the shop's Saleor API URL")
        parser.add_argument(
            "--rotate", action="store_true", help="replace it; receivers must learn the new one"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        installation = installation_for(options["saleor_api_url"])
        if options["rotate"]:
            installation.webhook_secret = new_webhook_secret()
            installation.save(update_fields=["webhook_secret", "updated_at"])
        self.stdout.write(installation.webhook_secret)
