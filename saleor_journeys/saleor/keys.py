"""The installations webhooks come from and their signing keys, cached per process.

Every webhook needs the installation and its parsed public keys; reading and parsing them per
request would cost more than the rest of the check. An entry lives ``INSTALLATION_CACHE_SECONDS``;
an unknown key id always looks at the database, then at Saleor (rate-limited), before failing.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from saleor_journeys import conf
from saleor_journeys.core import clock
from saleor_journeys.saleor import client, jws
from saleor_journeys.saleor.models import Installation

logger = logging.getLogger(__name__)


@dataclass
class _Entry:
    installation: Installation
    keys: dict[str, Any]
    expires: float


_cache: dict[str, _Entry] = {}


def clear(api_url: str | None = None) -> None:
    """Forget cached installations (one, or all): after a registration, and between tests."""
    if api_url is None:
        _cache.clear()
    else:
        _cache.pop(api_url, None)


def _remember(installation: Installation) -> _Entry:
    entry = _Entry(
        installation,
        jws.public_keys(installation.jwks),
        time.monotonic() + conf.get("INSTALLATION_CACHE_SECONDS"),
    )
    _cache[installation.saleor_api_url] = entry
    return entry


def installation_for(api_url: str) -> Installation | None:
    """The active installation of this Saleor API URL. Unknown URLs are not cached, so a new
    installation is served at once."""
    entry = _cache.get(api_url)
    if entry is not None and entry.expires > time.monotonic():
        return entry.installation
    installation = Installation.objects.filter(saleor_api_url=api_url, is_active=True).first()
    if installation is None:
        clear(api_url)
        return None
    return _remember(installation).installation


def _keys(installation: Installation) -> dict[str, Any]:
    entry = _cache.get(installation.saleor_api_url)
    if entry is None or entry.installation.pk != installation.pk:
        entry = _remember(installation)
    return entry.keys


def refresh(installation: Installation) -> bool:
    """Refetch the JWKS after an unknown key id, at most once per ``JWKS_REFETCH_INTERVAL``.

    Returns True when a new key set was stored. The interval is claimed with a conditional
    UPDATE, so concurrent requests (or a flood of forged ones) cause one fetch, not many.
    """
    now = clock.now()
    cutoff = now - timedelta(seconds=conf.get("JWKS_REFETCH_INTERVAL"))
    if installation.jwks_fetched_at and installation.jwks_fetched_at > cutoff:
        return False
    claimed = Installation.objects.filter(
        pk=installation.pk, jwks_fetched_at=installation.jwks_fetched_at
    ).update(jwks_fetched_at=now)
    if not claimed:
        return False
    installation.jwks_fetched_at = now
    try:
        jwks = client.fetch_jwks(installation.saleor_api_url)
    except client.SaleorError as exc:
        logger.warning("JWKS refetch for %s failed: %s", installation.saleor_api_url, exc)
        return False
    if jwks == installation.jwks:
        return False
    Installation.objects.filter(pk=installation.pk).update(jwks=jwks)
    installation.jwks = jwks
    _remember(installation)
    logger.info("Signing keys of %s changed; stored the new JWKS", installation.saleor_api_url)
    return True


def _reload(installation: Installation) -> bool:
    """Pick up keys another process stored (a re-install, a refetch); True if they changed."""
    stored = Installation.objects.filter(pk=installation.pk).values_list("jwks", "jwks_fetched_at")
    if not stored:
        return False
    jwks, fetched_at = stored[0]
    installation.jwks_fetched_at = fetched_at
    if jwks == installation.jwks:
        return False
    installation.jwks = jwks
    _remember(installation)
    return True


def verify(installation: Installation, signature: str, body: bytes) -> None:
    """Check a webhook signature; on an unknown key id look for new keys once, then decide."""
    try:
        jws.verify(signature, body, _keys(installation))
    except jws.UnknownKeyError:
        if not (_reload(installation) or refresh(installation)):
            raise
        jws.verify(signature, body, _keys(installation))
