from __future__ import annotations

from django.db import models

from saleor_journeys.saleor.models import Installation


class ContactKind(models.TextChoices):
    ANONYMOUS = "anonymous"
    IDENTIFIED = "identified"
    MONITORED = "monitored"


class Contact(models.Model):
    """The card of one person in one installation."""

    installation = models.ForeignKey(Installation, on_delete=models.CASCADE, related_name="+")
    # NULL (unique per installation only when set) once erased or while only a visitor is known.
    email = models.EmailField(max_length=254, null=True, blank=True)  # noqa: DJ001
    saleor_user_id = models.CharField(max_length=255, blank=True)
    kind = models.CharField(
        max_length=16, choices=ContactKind.choices, default=ContactKind.IDENTIFIED
    )
    first_name = models.CharField(max_length=255, blank=True)
    last_name = models.CharField(max_length=255, blank=True)
    phone = models.CharField(max_length=32, blank=True)
    language_code = models.CharField(max_length=35, blank=True)
    country = models.CharField(max_length=2, blank=True)
    city = models.CharField(max_length=255, blank=True)
    properties = models.JSONField(default=dict, blank=True)
    tags = models.JSONField(default=list, blank=True)
    interests = models.JSONField(default=list, blank=True)
    # The behavioural score as of ``score_at``; it halves every ``SCORE_HALF_LIFE_DAYS``
    # (``contacts.score``), so it is always read through ``contacts.score.value``.
    score = models.FloatField(default=0)
    score_at = models.DateTimeField(null=True, blank=True)
    # IANA name (``Europe/Madrid``); waits "until 10:00" use it. Empty: the shop's (UTC).
    time_zone = models.CharField(max_length=64, blank=True)
    # ``updatedAt`` of the newest Saleor user payload applied, so older ones cannot win.
    saleor_updated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    erased_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        app_label = "saleor_journeys"
        constraints = [
            models.UniqueConstraint(
                fields=["installation", "email"], name="sj_contact_unique_email"
            ),
            models.UniqueConstraint(
                fields=["installation", "saleor_user_id"],
                condition=~models.Q(saleor_user_id=""),
                name="sj_contact_unique_saleor_user",
            ),
        ]
        indexes = [models.Index(fields=["installation", "-updated_at"], name="sj_contact_recent")]

    def __str__(self) -> str:
        return self.email or f"contact #{self.pk}"

    @property
    def full_name(self) -> str:
        return " ".join(part for part in (self.first_name, self.last_name) if part)


class Erasure(models.Model):
    """A person erased on Saleor's request, remembered without personal data.

    Saleor may still deliver (or retry) older events about that person after the deletion; they
    are recognised by the user id or the email's hash and dropped instead of re-creating the card.
    """

    installation = models.ForeignKey(Installation, on_delete=models.CASCADE, related_name="+")
    saleor_user_id = models.CharField(max_length=255, blank=True)
    email_sha256 = models.CharField(max_length=64, blank=True)
    # ``issuedAt`` of the deletion: events issued before it are about the erased person.
    issued_at = models.DateTimeField()
    erased_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        app_label = "saleor_journeys"
        indexes = [
            models.Index(fields=["installation", "email_sha256"], name="sj_erasure_email"),
            models.Index(fields=["installation", "saleor_user_id"], name="sj_erasure_user"),
        ]

    def __str__(self) -> str:
        return f"erasure of {self.saleor_user_id or self.email_sha256[:12]}"
