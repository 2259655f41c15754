"""Finding the installation a command is about, with the error a user can act on."""

from __future__ import annotations

from django.core.management.base import CommandError

from saleor_journeys.saleor.models import Installation
from saleor_journeys.saleor.registration import normalise_api_url


def installation_for(api_url: str) -> Installation:
    url = normalise_api_url(api_url)
    installation = Installation.objects.filter(saleor_api_url=url).first()
    if installation is None:
        known = ", ".join(Installation.objects.values_list("saleor_api_url", flat=True))
        raise CommandError(
            f"No Saleor at {url} has installed the app. Installed: {known or 'none yet'}."
        )
    return installation


def only_or_named(api_url: str | None) -> Installation:
    """The named shop, or the only one installed."""
    if api_url:
        return installation_for(api_url)
    installations = list(Installation.objects.filter(is_active=True)[:2])
    if len(installations) == 1:
        return installations[0]
    if not installations:
        raise CommandError("No Saleor has installed the app yet.")
    raise CommandError("Several shops have installed the app: name one with --saleor-api-url.")
