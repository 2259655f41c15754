"""``saleor-journeys retrydeliveries``: give failed deliveries a new round of attempts."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from saleor_journeys.core import clock
from saleor_journeys.runtime.tasks import process_deliveries
from saleor_journeys.saleor.models import DeliveryStatus, WebhookDelivery
from saleor_journeys.saleor.registration import normalise_api_url


class Command(BaseCommand):
    help = "Queue failed webhook deliveries again, e.g. after fixing what made them fail."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--saleor-api-url", help="Only this installation's deliveries.")
        parser.add_argument("--event", help="Only deliveries of this event, e.g. order_created.")

    def handle(self, *args: Any, **options: Any) -> None:
        failed = WebhookDelivery.objects.filter(status=DeliveryStatus.FAILED)
        if options["saleor_api_url"]:
            api_url = normalise_api_url(options["saleor_api_url"])
            failed = failed.filter(installation__saleor_api_url=api_url)
        if options["event"]:
            failed = failed.filter(event_type=options["event"].lower())
        ids = list(failed.values_list("pk", flat=True))
        WebhookDelivery.objects.filter(pk__in=ids).update(
            status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=clock.now()
        )
        # Published before the command exits (no background publisher); if the broker is
        # down, the sweeper picks the rows up all the same.
        for start in range(0, len(ids), 100):
            try:
                process_deliveries.delay(ids[start : start + 100])
            except Exception as exc:
                self.stderr.write(f"Could not queue them ({exc}); the sweeper will process them.")
                break
        self.stdout.write(f"Queued {len(ids)} failed deliver{'y' if len(ids) == 1 else 'ies'}.")
