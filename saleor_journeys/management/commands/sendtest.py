"""``saleor-journeys sendtest TEMPLATE --to ADDRESS``: send a template to a staff address
through the real pipeline (rendering, the channel, the configured ``EMAIL_URL`` or Twilio)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from saleor_journeys.management.commands.preview import add_message_arguments, rendered_message
from saleor_journeys.messaging import channels, outbox
from saleor_journeys.messaging.channels import SendError


class Command(BaseCommand):
    help = "Send a message template to a test address through the real pipeline."

    def add_arguments(self, parser: CommandParser) -> None:
        add_message_arguments(parser)
        parser.add_argument("--to", required=True, help="an email address or phone number")

    def handle(self, *args: Any, **options: Any) -> None:
        message = rendered_message(options, marketing=False)
        message.to = options["to"]
        message.subject = f"[TEST] {message.subject}" if message.subject else ""
        channel = channels.get(message.channel)
        assert channel is not None
        try:
            outbox.hand_over(channel, message)
        except SendError as exc:
            raise CommandError(f"not sent: {exc}") from exc
        self.stdout.write(f"Sent {options['template']} to {message.to} ({message.provider_id}).")
