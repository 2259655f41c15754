"""The browser files of the web channel: ``journeys.js`` (the storefront snippet) and
``journeys-sw.js`` (its web push service worker), read from ``web/assets`` once per process.

The snippet is served under a name carrying its content hash, cached for a year: a storefront's
tag names ``/web/journeys.js``, which redirects (briefly cached) to the current hashed name, so a
new release reaches browsers within minutes while the file itself is fetched once.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from pathlib import Path

ASSETS = Path(__file__).resolve().parent / "assets"
SNIPPET = "journeys.js"
SERVICE_WORKER = "journeys-sw.js"
# Hex characters of the SHA-256 in the hashed name: plenty to tell releases apart.
HASH_LENGTH = 12


@dataclass(frozen=True)
class Asset:
    name: str
    body: bytes
    sha256: str

    @property
    def hash(self) -> str:
        """The short hash in the snippet's cacheable name."""
        return self.sha256[:HASH_LENGTH]

    @property
    def hashed_name(self) -> str:
        """``journeys.<hash>.js``."""
        stem, _, ext = self.name.rpartition(".")
        return f"{stem}.{self.hash}.{ext}"

    @property
    def etag(self) -> str:
        return f'"{self.sha256[:32]}"'


@functools.cache
def asset(name: str) -> Asset:
    """One of the files in ``web/assets``, read on first use and kept for the process."""
    body = (ASSETS / name).read_bytes()
    return Asset(name=name, body=body, sha256=hashlib.sha256(body).hexdigest())


def snippet() -> Asset:
    return asset(SNIPPET)


def service_worker() -> Asset:
    return asset(SERVICE_WORKER)
