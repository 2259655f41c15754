from __future__ import annotations

from django.db import models

from saleor_journeys.contacts.models import Contact
from saleor_journeys.saleor.models import Installation, WebhookDelivery


class Event(models.Model):
    """One fact in the append-only event log: what happened, to whom, when."""

    installation = models.ForeignKey(Installation, on_delete=models.CASCADE, related_name="+")
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="events"
    )
    # The Saleor event name in lower case (``checkout_updated``) or the name of a tracked event.
    type = models.CharField(max_length=64)
    source = models.CharField(max_length=32, default="saleor")
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField()
    # Unique per installation: the same fact delivered twice is logged once.
    key = models.CharField(max_length=128)
    data = models.JSONField(default=dict, blank=True)
    # The fact was older than what the mirrors already knew (a late delivery); it is logged but
    # did not change the checkout or order it describes.
    superseded = models.BooleanField(default=False)
    delivery = models.ForeignKey(
        WebhookDelivery, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        app_label = "saleor_journeys"
        constraints = [
            models.UniqueConstraint(fields=["installation", "key"], name="sj_event_unique_key"),
        ]
        indexes = [
            models.Index(fields=["contact", "-occurred_at"], name="sj_event_contact_time"),
            models.Index(
                fields=["installation", "type", "-occurred_at"], name="sj_event_type_time"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.type} at {self.occurred_at:%Y-%m-%d %H:%M:%S}"
