"""The signing keys of each installation: parsed once per process, refetched on rotation."""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import timedelta
from typing import Any

from saleor_journeys import conf
from saleor_journeys.core import clock
from saleor_journeys.saleor import client, jws
from saleor_journeys.saleor.models import Installation

logger = logging.getLogger(__name__)

# (installation id, digest of its JWKS) -> parsed keys. Parsing a JWK costs more than checking
# a signature, so it is done once per process and key set.
_parsed: dict[tuple[int, str], dict[str, Any]] = {}


def _digest(jwks: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(jwks, sort_keys=True).encode()).hexdigest()


def keys_of(installation: Installation) -> dict[str, Any]:
    cache_key = (installation.pk, _digest(installation.jwks))
    keys = _parsed.get(cache_key)
    if keys is None:
        keys = jws.public_keys(installation.jwks)
        _parsed[cache_key] = keys
    return keys


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
    logger.info("Signing keys of %s changed; stored the new JWKS", installation.saleor_api_url)
    return True


def verify(installation: Installation, signature: str, body: bytes) -> None:
    """Check a webhook signature, refetching the JWKS once if the key id is unknown."""
    try:
        jws.verify(signature, body, keys_of(installation))
    except jws.UnknownKeyError:
        if not refresh(installation):
            raise
        jws.verify(signature, body, keys_of(installation))
