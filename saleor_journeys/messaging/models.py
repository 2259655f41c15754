from __future__ import annotations

from django.db import models

from saleor_journeys.saleor.models import Installation


class Template(models.Model):
    """A shop's own version of a message template, per channel and language. Without one, the
    built-in content shipped with the app is used (``messaging/builtin``)."""

    installation = models.ForeignKey(Installation, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=100)
    channel = models.CharField(max_length=16)
    language = models.CharField(max_length=8)
    subject = models.CharField(max_length=255, blank=True)
    preheader = models.CharField(max_length=255, blank=True)
    html = models.TextField(blank=True)
    text = models.TextField()
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.CharField(max_length=255, blank=True)

    class Meta:
        app_label = "saleor_journeys"
        constraints = [
            models.UniqueConstraint(
                fields=["installation", "name", "channel", "language"], name="sj_template_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.channel}, {self.language})"


class MessageStatus(models.TextChoices):
    PENDING = "pending"  # decided, not yet handed to the provider
    DEFERRED = "deferred"  # waits for the end of quiet hours or of a frequency cap
    SENDING = "sending"  # being handed over: if a crash leaves it here, it is never resent
    SENT = "sent"  # the provider accepted it
    DELIVERED = "delivered"
    BOUNCED = "bounced"
    COMPLAINED = "complained"
    FAILED = "failed"  # not sent: the reason is in ``error``
    SUPPRESSED = "suppressed"  # not sent: no consent, unsubscribed, bounced before, …
    UNKNOWN = "unknown"  # a crash while handing over: maybe sent, deliberately not resent


class Message(models.Model):
    """One message to one contact, from one journey step (or a staff test send)."""

    installation = models.ForeignKey(Installation, on_delete=models.CASCADE, related_name="+")
    contact = models.ForeignKey(
        "saleor_journeys.Contact",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="messages",
    )
    run = models.ForeignKey(
        "saleor_journeys.Run",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="messages",
    )
    node = models.CharField(max_length=64, blank=True)
    # The step's unique key (run:step:node), or ``test:<uuid>``: one message per key, ever.
    key = models.CharField(max_length=128, unique=True)
    channel = models.CharField(max_length=16)
    template = models.CharField(max_length=100)
    language = models.CharField(max_length=8, blank=True)
    marketing = models.BooleanField(default=True)
    to = models.CharField(max_length=254, blank=True)
    subject = models.CharField(max_length=998, blank=True)
    text = models.TextField(blank=True)
    html = models.TextField(blank=True)
    status = models.CharField(
        max_length=16, choices=MessageStatus.choices, default=MessageStatus.PENDING
    )
    error = models.TextField(blank=True)
    provider_id = models.CharField(max_length=255, blank=True)
    # Computed for SMS: GSM-7 or UCS-2, and how many segments the text takes.
    encoding = models.CharField(max_length=8, blank=True)
    segments = models.PositiveSmallIntegerField(null=True, blank=True)
    # Channel-specific content: a web message's kind, fields and display rules; a push's title.
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField()
    send_after = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    opens = models.PositiveIntegerField(default=0)
    clicks = models.PositiveIntegerField(default=0)

    class Meta:
        app_label = "saleor_journeys"
        indexes = [
            models.Index(fields=["contact", "channel", "sent_at"], name="sj_message_contact"),
            models.Index(fields=["run", "node"], name="sj_message_node"),
            models.Index(fields=["provider_id"], name="sj_message_provider"),
        ]

    def __str__(self) -> str:
        return f"{self.channel} {self.template} to {self.to or '?'} ({self.status})"


class MessageEvent(models.Model):
    """What happened to a message after it left: opened, clicked, delivered, bounced …
    ``human`` is false for scanners and privacy proxies, which do not count as engagement."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="events")
    type = models.CharField(max_length=32)
    at = models.DateTimeField()
    url = models.URLField(max_length=2048, blank=True)
    user_agent = models.CharField(max_length=512, blank=True)
    human = models.BooleanField(default=True)
    # The provider's own id of the event, so a webhook delivered twice is recorded once.
    provider_event_id = models.CharField(max_length=255, blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        app_label = "saleor_journeys"
        constraints = [
            models.UniqueConstraint(
                fields=["message", "provider_event_id"],
                condition=~models.Q(provider_event_id=""),
                name="sj_message_event_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.type} of {self.message_id}"


class ConsentStatus(models.TextChoices):
    UNKNOWN = "unknown"
    SUBSCRIBED = "subscribed"
    UNSUBSCRIBED = "unsubscribed"


class Consent(models.Model):
    """A contact's consent to marketing on one channel, with where and when it was given or
    withdrawn (every change is also an event in the contact's timeline)."""

    contact = models.ForeignKey(
        "saleor_journeys.Contact", on_delete=models.CASCADE, related_name="consents"
    )
    channel = models.CharField(max_length=16)
    status = models.CharField(max_length=16, choices=ConsentStatus.choices)
    source = models.CharField(max_length=64)
    at = models.DateTimeField()

    class Meta:
        app_label = "saleor_journeys"
        constraints = [
            models.UniqueConstraint(fields=["contact", "channel"], name="sj_consent_channel"),
        ]

    def __str__(self) -> str:
        return f"{self.channel}: {self.status}"


class Suppression(models.Model):
    """An address never to send to again on a channel: a hard bounce, a complaint."""

    installation = models.ForeignKey(Installation, on_delete=models.CASCADE, related_name="+")
    channel = models.CharField(max_length=16)
    address = models.CharField(max_length=254)
    reason = models.CharField(max_length=32)
    at = models.DateTimeField()

    class Meta:
        app_label = "saleor_journeys"
        constraints = [
            models.UniqueConstraint(
                fields=["installation", "channel", "address"], name="sj_suppression_address"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel} {self.address} ({self.reason})"
