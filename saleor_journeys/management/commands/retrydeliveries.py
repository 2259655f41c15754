"""``saleor-journeys retrydeliveries``: give failed deliveries a new round of attempts."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from saleor_journeys.core import clock
from saleor_journeys.runtime.tasks import enqueue_delivery
from saleor_journeys.saleor.models import DeliveryStatus, WebhookDelivery


class Command(BaseCommand):
    help = "Queue failed webhook deliveries again, e.g. after fixing what made them fail."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--saleor-api-url", help="Only this installation's deliveries.")
        parser.add_argument("--event", help="Only deliveries of this event, e.g. order_created.")

    def handle(self, *args: Any, **options: Any) -> None:
        failed = WebhookDelivery.objects.filter(status=DeliveryStatus.FAILED)
        if options["saleor_api_url"]:
            failed = failed.filter(installation__saleor_api_url=options["saleor_api_url"])
        if options["event"]:
            failed = failed.filter(event_type=options["event"].lower())
        ids = list(failed.values_list("pk", flat=True))
        WebhookDelivery.objects.filter(pk__in=ids).update(
            status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=clock.now()
        )
        for delivery_id in ids:
            enqueue_delivery(delivery_id)
        self.stdout.write(f"Queued {len(ids)} failed deliver{'y' if len(ids) == 1 else 'ies'}.")
