from __future__ import annotations

from typing import Any

from django.db import models

from saleor_journeys.saleor.models import Installation


class JourneyStatus(models.TextChoices):
    DRAFT = "draft"  # never published
    ACTIVE = "active"
    PAUSED = "paused"
    ARCHIVED = "archived"


class Journey(models.Model):
    """A flow of one shop: its editable draft, and its published versions."""

    installation = models.ForeignKey(Installation, on_delete=models.CASCADE, related_name="+")
    slug = models.SlugField(max_length=100)
    name = models.CharField(max_length=200)
    status = models.CharField(
        max_length=16, choices=JourneyStatus.choices, default=JourneyStatus.DRAFT
    )
    # The definition being edited; it may be invalid until it is published.
    draft = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Who changed it last: ``api-key:<name>``, a staff email, or ``cli``.
    updated_by = models.CharField(max_length=255, blank=True)

    class Meta:
        app_label = "saleor_journeys"
        constraints = [
            models.UniqueConstraint(fields=["installation", "slug"], name="sj_journey_slug"),
        ]

    def __str__(self) -> str:
        return self.slug


class ImmutableVersionError(Exception):
    """A published version never changes; publish a new one instead."""


class JourneyVersion(models.Model):
    """A published, immutable definition. Contacts stay on the version they entered."""

    journey = models.ForeignKey(Journey, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    definition = models.JSONField()
    published_at = models.DateTimeField(auto_now_add=True)
    published_by = models.CharField(max_length=255, blank=True)

    class Meta:
        app_label = "saleor_journeys"
        constraints = [
            models.UniqueConstraint(fields=["journey", "number"], name="sj_journey_version"),
        ]
        ordering = ["journey", "number"]

    def __str__(self) -> str:
        return f"{self.journey.slug} v{self.number}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise ImmutableVersionError(f"{self} is published and cannot change")
        super().save(*args, **kwargs)
