"""``saleor-journeys preview TEMPLATE [--contact EMAIL] [--language es] --format eml``: the
message exactly as it would be sent (email: the MIME message; SMS: the text and its segments)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from saleor_journeys.management.commands._installation import only_or_named
from saleor_journeys.messaging import preview
from saleor_journeys.messaging.channels import RenderError
from saleor_journeys.messaging.models import Message
from saleor_journeys.runtime import embedded


class Command(BaseCommand):
    help = "Render a message template for a contact (or a sample one) and print it."

    def add_arguments(self, parser: CommandParser) -> None:
        add_message_arguments(parser)
        parser.add_argument("--format", choices=["eml", "html", "text"], default="text")

    def handle(self, *args: Any, **options: Any) -> None:
        message = rendered_message(options, marketing=True)
        self.stdout.write(format_message(message, options["format"]), ending="")


def add_message_arguments(parser: CommandParser) -> None:
    """What ``preview`` and ``sendtest`` take to pick a template, a contact and a language."""
    parser.add_argument("template", help="e.g. abandoned-cart-reminder")
    parser.add_argument("--contact", help="a contact's email (default: a sample contact)")
    parser.add_argument("--language", help="e.g. es (default: the contact's)")
    parser.add_argument("--saleor-api-url", help="the shop, when several are installed")


def rendered_message(options: dict[str, Any], *, marketing: bool) -> Message:
    embedded.ensure_migrated()
    installation = only_or_named(options["saleor_api_url"])
    contact = preview.contact_or_sample(installation, options["contact"], options["language"])
    try:
        message, _ = preview.prepare(
            installation,
            options["template"],
            contact,
            language=options["language"],
            marketing=marketing,
        )
    except RenderError as exc:
        raise CommandError(str(exc)) from exc
    return message


def format_message(message: Message, fmt: str) -> str:
    if message.channel == "email":
        from saleor_journeys.messaging.email import EmailChannel

        email = EmailChannel()

        if fmt == "eml":
            return email.build(message).message().as_string() + "\n"
        if fmt == "html":
            return message.html
        return f"Subject: {message.subject}\n\n{message.text}"
    return f"{message.text}\n-- {message.encoding}, {message.segments} segment(s)\n"
