from __future__ import annotations

import secrets

from django.db import models

from saleor_journeys.contacts.models import Contact
from saleor_journeys.saleor.models import Installation


def new_site_key() -> str:
    return secrets.token_urlsafe(12)


class Site(models.Model):
    """An installation's storefront settings: the public key in the snippet's URL, the origins
    allowed to send tracking events, and the VAPID key pair of its web push."""

    installation = models.OneToOneField(Installation, on_delete=models.CASCADE, related_name="site")
    # Public: it is in every storefront page. It names the installation, it grants nothing.
    key = models.CharField(max_length=32, unique=True, default=new_site_key)
    # Exact origins (``https://shop.example.com``) allowed to call the collect endpoint.
    origins = models.JSONField(default=list, blank=True)
    # VAPID: the private key (PEM) signs push requests; the public key (base64url, uncompressed
    # P-256 point) is what browsers subscribe with. Made on first use.
    vapid_private_key = models.TextField(blank=True)
    vapid_public_key = models.CharField(max_length=128, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        app_label = "saleor_journeys"

    def __str__(self) -> str:
        return f"site {self.key}"


class Visitor(models.Model):
    """One browser, by the first-party id ``journeys.js`` keeps in it. Every visitor belongs to
    a contact: an anonymous one until the visitor is identified, then the person's card."""

    installation = models.ForeignKey(Installation, on_delete=models.CASCADE, related_name="+")
    uid = models.CharField(max_length=64)
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="visitors")
    created_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    identified_at = models.DateTimeField(null=True, blank=True)
    # How: ``link`` (a tracked link of a message), ``card_link``, ``form``, ``api``, ``checkout``.
    identified_by = models.CharField(max_length=16, blank=True)

    class Meta:
        app_label = "saleor_journeys"
        constraints = [
            models.UniqueConstraint(fields=["installation", "uid"], name="sj_visitor_unique_uid"),
        ]
        indexes = [models.Index(fields=["contact"], name="sj_visitor_contact")]

    def __str__(self) -> str:
        return f"visitor {self.uid}"


class PushSubscription(models.Model):
    """A browser's web push subscription (the Push API's endpoint and keys)."""

    installation = models.ForeignKey(Installation, on_delete=models.CASCADE, related_name="+")
    contact = models.ForeignKey(
        Contact, on_delete=models.CASCADE, related_name="push_subscriptions"
    )
    visitor = models.ForeignKey(
        Visitor, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    endpoint = models.URLField(max_length=2048)
    p256dh = models.CharField(max_length=255)
    auth = models.CharField(max_length=64)
    created_at = models.DateTimeField()
    last_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        app_label = "saleor_journeys"
        constraints = [
            models.UniqueConstraint(
                fields=["installation", "endpoint"], name="sj_push_unique_endpoint"
            ),
        ]
        indexes = [models.Index(fields=["contact"], name="sj_push_contact")]

    def __str__(self) -> str:
        return f"push subscription {self.pk}"


class WebRule(models.Model):
    """An on-site message shown by rule rather than by a journey: where (a URL pattern), to
    whom (conditions on the card), how often (a cap per visitor)."""

    installation = models.ForeignKey(Installation, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=200)
    # A web template (``channel: web``): its kind (popup, banner, frame) and its fields.
    template = models.CharField(max_length=100)
    # fnmatch-style pattern on the page's path, ``/products/*``; empty: every page.
    url_pattern = models.CharField(max_length=500, blank=True)
    # A journey condition document (``journeys.conditions``) over the contact; empty: everyone.
    conditions = models.JSONField(default=dict, blank=True)
    # At most this many impressions per contact per day (0: no cap).
    cap_per_day = models.PositiveSmallIntegerField(default=1)
    priority = models.SmallIntegerField(default=0)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        app_label = "saleor_journeys"
        indexes = [models.Index(fields=["installation", "active"], name="sj_webrule_active")]

    def __str__(self) -> str:
        return self.name
