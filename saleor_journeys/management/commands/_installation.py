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
