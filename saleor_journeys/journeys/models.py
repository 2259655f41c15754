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


class RunStatus(models.TextChoices):
    ACTIVE = "active"  # due to take its next step
    WAITING = "waiting"  # in a wait, until wake_at or an event
    DONE = "done"
    EXITED = "exited"
    CONVERTED = "converted"


LIVE_STATUSES = (RunStatus.ACTIVE, RunStatus.WAITING)


class Run(models.Model):
    """One contact's way through one journey: where it is, and when it must move next.

    Every wait lives here (``wake_at``); the sweeper claims due rows, so a lost task or a
    flushed broker delays a run and never loses it.
    """

    installation = models.ForeignKey(Installation, on_delete=models.CASCADE, related_name="+")
    journey = models.ForeignKey(Journey, on_delete=models.CASCADE, related_name="runs")
    # The version the contact entered: later publications do not change its path.
    version = models.ForeignKey(JourneyVersion, on_delete=models.PROTECT, related_name="runs")
    contact = models.ForeignKey(
        "saleor_journeys.Contact", on_delete=models.CASCADE, related_name="runs"
    )
    status = models.CharField(max_length=16, choices=RunStatus.choices)
    node = models.CharField(max_length=64)
    steps = models.PositiveIntegerField(default=0)
    # When the run's current wait ends (the engine's deadline).
    timer_at = models.DateTimeField(null=True, blank=True)
    # When a worker must look at the run next: the timer, or now when an event is in its inbox.
    wake_at = models.DateTimeField(null=True, blank=True)
    entered_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    seed = models.CharField(max_length=64)
    context = models.JSONField(default=dict, blank=True)
    # What started the run, to re-check it before sends: e.g. ``checkout:<token>``.
    trigger_key = models.CharField(max_length=128, blank=True)
    # Events that reached the run and are not handled yet (ids of the event log), in order.
    inbox = models.JSONField(default=list, blank=True)

    class Meta:
        app_label = "saleor_journeys"
        constraints = [
            # At most one live run per contact and journey.
            models.UniqueConstraint(
                fields=["journey", "contact"],
                condition=models.Q(status__in=["active", "waiting"]),
                name="sj_run_one_live",
            ),
        ]
        indexes = [
            models.Index(
                fields=["wake_at"],
                condition=models.Q(status__in=["active", "waiting"]),
                name="sj_run_due",
            ),
            models.Index(fields=["contact", "status"], name="sj_run_contact"),
        ]

    def __str__(self) -> str:
        return f"run {self.pk} of {self.journey_id} at {self.node} ({self.status})"


class RunStep(models.Model):
    """The log of a run: one row per step, numbered. The number is unique per run, so a step
    that is retried after a crash cannot be recorded, nor its effects queued, twice."""

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="log")
    number = models.PositiveIntegerField()
    node = models.CharField(max_length=64, blank=True)
    outcome = models.CharField(max_length=32)
    at = models.DateTimeField()
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        app_label = "saleor_journeys"
        constraints = [
            models.UniqueConstraint(fields=["run", "number"], name="sj_runstep_number"),
        ]
        indexes = [models.Index(fields=["node", "outcome"], name="sj_runstep_node")]

    def __str__(self) -> str:
        return f"{self.run_id}#{self.number} {self.node} {self.outcome}"


class ActionStatus(models.TextChoices):
    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"
    # Recorded only: no channel carries it out yet (email and SMS come with their channels).
    RECORDED = "recorded"


class RunAction(models.Model):
    """A side effect a step decided (a send, a voucher, a webhook …), written in the same
    transaction as the step. ``key`` (run, step, node) makes it unique: the outbox."""

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="actions")
    key = models.CharField(max_length=128, unique=True)
    kind = models.CharField(max_length=32)
    node = models.CharField(max_length=64)
    params = models.JSONField(default=dict)
    status = models.CharField(max_length=16, choices=ActionStatus.choices)
    created_at = models.DateTimeField()
    done_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    # What carrying it out produced (the Saleor voucher id, the HTTP status …).
    result = models.JSONField(default=dict, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        app_label = "saleor_journeys"
        indexes = [
            models.Index(fields=["kind", "status"], name="sj_runaction_kind"),
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(status="pending"),
                name="sj_runaction_due",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.key} ({self.status})"
