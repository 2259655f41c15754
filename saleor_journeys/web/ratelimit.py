"""Events per minute from one visitor and from one IP address, counted in Django's cache.

Fixed one-minute windows: a counter per key and minute, raised with ``cache.incr`` and made
with ``cache.add`` when the window has none yet. Both are atomic in the shared caches (Redis,
Memcached, the database cache), so every web process counts into the same window. With
Django's default in-memory cache each process counts alone: a project with several web
processes sets a shared ``CACHES["default"]`` for the limits to hold as configured (the
bundled project: ``CACHE_URL=redis://…``).

The IP address is ``REMOTE_ADDR``. Behind a reverse proxy or load balancer that is the proxy's
address, and every visitor would share one limit: the project must then set ``REMOTE_ADDR`` to
the client's address (e.g. gunicorn's ``--forwarded-allow-ips`` with the proxy setting the
header, or a middleware that reads the proxy's ``X-Forwarded-For`` it trusts).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from django.core.cache import cache

from saleor_journeys import conf

WINDOW_SECONDS = 60


@dataclass(frozen=True)
class Exceeded:
    """A limit was passed: which one, and in how many seconds its window ends."""

    limit: str
    retry_after: int


def _count(key: str, events: int, timeout: int) -> int:
    """Add ``events`` to the window's counter and return the new total."""
    # incr first: in the common case (a window already counting) it is the only call.
    for _ in range(2):
        try:
            return cache.incr(key, events)
        except ValueError:  # no counter yet for this window
            pass
        if cache.add(key, events, timeout):
            return events
        # Another process made it between the two calls: count into theirs.
    return events


def check(
    *, installation_id: int, visitor_uid: str, ip: str, events: int, now: datetime
) -> Exceeded | None:
    """Count ``events`` against the visitor's and the IP address's limits of this minute, both
    per installation (one shop's traffic never uses up another's allowance).

    Refused events count too: a client that keeps sending during its penalty does not get a
    fresh allowance before the window ends.
    """
    timestamp = now.timestamp()
    window = int(timestamp // WINDOW_SECONDS)
    retry_after = max(1, math.ceil((window + 1) * WINDOW_SECONDS - timestamp))
    # The counter outlives its window a little, so a late incr never restarts it.
    timeout = retry_after + WINDOW_SECONDS
    limits = (
        ("ip", f"sj:web:rate:ip:{installation_id}:{ip}:{window}", conf.get("WEB_RATE_PER_IP")),
        (
            "visitor",
            f"sj:web:rate:v:{installation_id}:{visitor_uid}:{window}",
            conf.get("WEB_RATE_PER_VISITOR"),
        ),
    )
    exceeded: Exceeded | None = None
    for name, key, limit in limits:
        if _count(key, events, timeout) > limit and exceeded is None:
            exceeded = Exceeded(name, retry_after)
    return exceeded
