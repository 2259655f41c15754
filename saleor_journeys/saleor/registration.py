"""Registering an installation when Saleor hands over the app token."""

from __future__ import annotations

import ipaddress
import logging
import socket
from urllib.parse import urlsplit

from django.db import transaction

from saleor_journeys import conf
from saleor_journeys.core import clock
from saleor_journeys.saleor import client, keys
from saleor_journeys.saleor.models import Installation

logger = logging.getLogger(__name__)


class RegistrationError(Exception):
    """Registration is refused; the message is shown to the admin in the Saleor Dashboard."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def normalise_api_url(url: str) -> str:
    parts = urlsplit(url.strip())
    return parts._replace(scheme=parts.scheme.lower(), netloc=parts.netloc.lower()).geturl()


def _is_public_host(host: str) -> bool:
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global:
            return False
    return True


def check_api_url(api_url: str) -> None:
    """Refuse a Saleor the settings do not allow, before the app makes any request to it."""
    parts = urlsplit(api_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise RegistrationError(400, f"Saleor-Api-Url {api_url!r} is not an http(s) URL")
    allowed = [normalise_api_url(u) for u in conf.get("ALLOWED_SALEOR_API_URLS")]
    if allowed:
        if api_url not in allowed:
            raise RegistrationError(403, f"{api_url} is not allowed to install this app")
        return
    if conf.get("ALLOW_PRIVATE_SALEOR_URLS"):
        return
    if parts.scheme != "https":
        raise RegistrationError(403, "Saleor must be reached over https")
    if not _is_public_host(parts.hostname):
        raise RegistrationError(
            403, f"{parts.hostname} is not a public address (see ALLOW_PRIVATE_SALEOR_URLS)"
        )


def register(*, api_url: str, domain: str, auth_token: str) -> Installation:
    """Confirm the token with Saleor, fetch its JWKS, and store (or replace) the installation."""
    api_url = normalise_api_url(api_url)
    check_api_url(api_url)
    if not auth_token:
        raise RegistrationError(400, "the request carries no auth_token")
    try:
        app_id = client.app_id(api_url, auth_token)
        jwks = client.fetch_jwks(api_url)
    except client.SaleorError as exc:
        raise RegistrationError(400, str(exc)) from exc
    with transaction.atomic():
        installation, created = Installation.objects.update_or_create(
            saleor_api_url=api_url,
            defaults={
                "saleor_domain": domain,
                "saleor_app_id": app_id,
                "auth_token": auth_token,
                "jwks": jwks,
                "jwks_fetched_at": clock.now(),
                "is_active": True,
            },
        )
    keys.clear(api_url)
    logger.info("%s installation for %s (app %s)", "New" if created else "Renewed", api_url, app_id)
    return installation
