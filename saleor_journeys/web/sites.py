"""An installation's storefront site: found by its public key, cached per process.

Every collect request names a site by its key; reading it (and its installation) per request
would be a query for nothing most of the time. An entry lives ``INSTALLATION_CACHE_SECONDS``, so
a deactivated installation or a changed list of origins reaches every process within that time.
Unknown keys are not cached: a new site is served at once.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from saleor_journeys import conf
from saleor_journeys.saleor.models import Installation
from saleor_journeys.web import origins
from saleor_journeys.web.models import Site


@dataclass
class _Entry:
    site: Site
    origins: frozenset[str]
    expires: float


_cache: dict[str, _Entry] = {}


def clear(key: str | None = None) -> None:
    """Forget cached sites (one, or all): after a site's origins change, and between tests."""
    if key is None:
        _cache.clear()
    else:
        _cache.pop(key, None)


def site_for(installation: Installation) -> Site:
    """The installation's site, made (with a new key) on first use."""
    site, _ = Site.objects.get_or_create(installation=installation)
    return site


def site_by_key(key: str) -> Site | None:
    """The site with this public key, if its installation is active."""
    entry = _cache.get(key)
    if entry is not None and entry.expires > time.monotonic():
        return entry.site
    site = (
        Site.objects.select_related("installation")
        .filter(key=key, installation__is_active=True)
        .first()
    )
    if site is None:
        clear(key)
        return None
    _cache[key] = _Entry(
        site,
        frozenset(filter(None, map(_normalised, site.origins or []))),
        time.monotonic() + conf.get("INSTALLATION_CACHE_SECONDS"),
    )
    return site


def _normalised(value: object) -> str | None:
    """An origin in the stored form (``web.origins``), or None for anything that is not one
    (``null``, a URL with a path, plain http to a public host …)."""
    if not isinstance(value, str):
        return None
    try:
        return origins.normalise_origin(value)
    except ValueError:
        return None


def origin_allowed(site: Site, origin: str) -> bool:
    """Whether ``origin`` (a request's ``Origin`` header) is one of the site's storefronts."""
    normalised = _normalised(origin)
    if normalised is None:
        return False
    entry = _cache.get(site.key)
    if entry is not None and entry.site is site:
        return normalised in entry.origins
    return any(_normalised(allowed) == normalised for allowed in site.origins or [])
