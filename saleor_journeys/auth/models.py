from __future__ import annotations

from django.db import models

from saleor_journeys.saleor.models import Installation


class ApiKey(models.Model):
    """A key for the GraphQL API, scoped to one installation. Only its hash is stored."""

    installation = models.ForeignKey(Installation, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=100)
    # The public part of the key, used to find the row without scanning hashes.
    prefix = models.CharField(max_length=16, unique=True)
    key_sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        app_label = "saleor_journeys"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
