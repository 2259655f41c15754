"""``saleor-journeys sendtest TEMPLATE --to ADDRESS``: send a template to a staff address
through the real pipeline (rendering, the channel, the configured ``EMAIL_URL`` or Twilio)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from saleor_journeys.management.commands._installation import only_or_named
from saleor_journeys.messaging import channels, outbox, preview
from saleor_journeys.messaging.channels import RenderError, SendError
from saleor_journeys.runtime import embedded


class Command(BaseCommand):
    help = "Send a message template to a test address through the real pipeline."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("template")
        parser.add_argument("--to", required=True, help="an email address or phone number")
        parser.add_argument("--contact", help="render for this contact (default: a sample)")
        parser.add_argument("--language", help="e.g. es")
        parser.add_argument("--saleor-api-url", help="the shop, when several are installed")

    def handle(self, *args: Any, **options: Any) -> None:
        embedded.ensure_migrated()
        installation = only_or_named(options["saleor_api_url"])
        contact = preview.contact_or_sample(installation, options["contact"], options["language"])
        try:
            message, _ = preview.prepare(
                installation,
                options["template"],
                contact,
                language=options["language"],
                marketing=False,
            )
        except RenderError as exc:
            raise CommandError(str(exc)) from exc
        message.to = options["to"]
        message.subject = f"[TEST] {message.subject}" if message.subject else ""
        channel = channels.get(message.channel)
        assert channel is not None
        try:
            outbox.hand_over(channel, message)
        except SendError as exc:
            raise CommandError(f"not sent: {exc}") from exc
        self.stdout.write(f"Sent {options['template']} to {message.to} ({message.provider_id}).")
