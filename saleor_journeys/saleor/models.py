from __future__ import annotations

import secrets

from django.db import models


def new_webhook_secret() -> str:
    return secrets.token_urlsafe(32)


class Installation(models.Model):
    """One Saleor instance that installed the app. Every other row belongs to one of these."""

    saleor_api_url = models.URLField(max_length=512, unique=True)
    saleor_domain = models.CharField(max_length=255, blank=True)
    saleor_app_id = models.CharField(max_length=255, blank=True)
    # The app token Saleor handed over at registration. Never logged, never returned by an API.
    auth_token = models.CharField(max_length=255, blank=True)
    jwks = models.JSONField(default=dict)
    jwks_fetched_at = models.DateTimeField(null=True, blank=True)
    is_active = models.BooleanField(default=True)
    # Signs the journeys' outgoing webhooks (``Journeys-Signature``); shown by
    # ``saleor-journeys webhooksecret``.
    webhook_secret = models.CharField(max_length=64, default=new_webhook_secret)
    installed_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        app_label = "saleor_journeys"

    def __str__(self) -> str:
        return self.saleor_api_url

    def __repr__(self) -> str:
        # Spelled out so the token can never end up in a log line through repr().
        return f"<Installation {self.pk} {self.saleor_api_url}>"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending"
    PROCESSED = "processed"
    FAILED = "failed"


class WebhookDelivery(models.Model):
    """A verified webhook body exactly as Saleor sent it, stored before it is answered.

    Saleor re-sends a byte-identical body on retries, so the body's SHA-256 is the idempotency
    key: a redelivery hits the unique constraint and is stored once.
    """

    installation = models.ForeignKey(Installation, on_delete=models.CASCADE, related_name="+")
    event_type = models.CharField(max_length=64)
    body = models.TextField()
    body_sha256 = models.CharField(max_length=64)
    issued_at = models.DateTimeField(null=True)
    received_at = models.DateTimeField()
    status = models.CharField(
        max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    processed_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    # Set when the body was blanked because the person it described asked to be forgotten.
    erased = models.BooleanField(default=False)

    class Meta:
        app_label = "saleor_journeys"
        constraints = [
            models.UniqueConstraint(
                fields=["installation", "body_sha256"], name="sj_delivery_unique_body"
            ),
        ]
        indexes = [
            # The sweeper's claim: pending rows that are due.
            models.Index(
                fields=["next_attempt_at"],
                name="sj_delivery_due",
                condition=models.Q(status="pending"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} #{self.pk}"
