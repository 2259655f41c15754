"""``saleor-journeys sendtest TEMPLATE --to ADDRESS``: send a template to a staff address
through the real pipeline (rendering, the channel, the configured ``EMAIL_URL`` or Twilio)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from saleor_journeys.core import clock
from saleor_journeys.management.commands._installation import only_or_named
from saleor_journeys.messaging import preview
from saleor_journeys.messaging.channels import RenderError, SendError
from saleor_journeys.messaging.models import MessageStatus
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
            channel = preview.channel_of(installation, options["template"])
            language = options["language"] or preview.language_of(contact)
            message = preview.message_for(
                installation, contact, options["template"], channel, language, marketing=False
            )
            preview.render(message, contact, channel)
        except RenderError as exc:
            raise CommandError(str(exc)) from exc
        message.to = options["to"]
        message.subject = f"[TEST] {message.subject}" if message.subject else ""
        message.status = MessageStatus.SENDING
        message.save()
        try:
            message.provider_id = channel.send(message)
        except SendError as exc:
            message.status, message.error = MessageStatus.FAILED, str(exc)
            message.save(update_fields=["status", "error"])
            raise CommandError(f"not sent: {exc}") from exc
        message.status, message.sent_at = MessageStatus.SENT, clock.now()
        message.save(update_fields=["status", "sent_at", "provider_id"])
        self.stdout.write(f"Sent {options['template']} to {message.to} ({message.provider_id}).")
