"""API keys: ``sj_<prefix>_<secret>``, stored as the SHA-256 of the whole key."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.http import HttpRequest

from saleor_journeys.auth.models import ApiKey
from saleor_journeys.auth.principal import AuthenticationFailed, Principal
from saleor_journeys.core import clock
from saleor_journeys.saleor.models import Installation

PREFIX = "sj"


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def create(installation: Installation, name: str) -> tuple[ApiKey, str]:
    """Create a key; returns the row and the key itself, which is never seen again."""
    prefix = secrets.token_hex(6)
    key = f"{PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    row = ApiKey.objects.create(
        installation=installation, name=name, prefix=prefix, key_sha256=_hash(key)
    )
    return row, key


def lookup(key: str) -> ApiKey | None:
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != PREFIX:
        return None
    row = (
        ApiKey.objects.select_related("installation")
        .filter(prefix=parts[1], revoked_at=None, installation__is_active=True)
        .first()
    )
    if row is None or not hmac.compare_digest(row.key_sha256, _hash(key)):
        return None
    return row


class ApiKeyAuthenticator:
    """``Authorization: Bearer sj_…``."""

    def authenticate(self, request: HttpRequest) -> Principal | None:
        scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not credentials.startswith(f"{PREFIX}_"):
            return None
        row = lookup(credentials.strip())
        if row is None:
            raise AuthenticationFailed("the API key is not valid")
        now = clock.now()
        # Written at most once a minute, so reads do not turn into a write each.
        ApiKey.objects.filter(pk=row.pk).exclude(
            last_used_at__gt=now - timedelta(minutes=1)
        ).update(last_used_at=now)
        return Principal(installation=row.installation, actor=f"api-key:{row.name}")
