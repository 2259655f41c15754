"""The collect endpoint ``journeys.js`` sends to: ``POST /api/web/<site_key>/collect``.

The checks come cheapest first: method, site, origin, bots, content type, size, then the body
itself, then the rate limits, and only then a transaction. Every answer is JSON and is never
cached; only the site's own storefront origins get ``Access-Control-Allow-Origin``, so no other
page can read what the endpoint says.

The rate limit per IP address uses ``REMOTE_ADDR``: behind a reverse proxy the project must set
it to the client's address (see ``web/ratelimit.py``).
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from saleor_journeys import conf
from saleor_journeys.core import clock
from saleor_journeys.web import bots, collect, ratelimit, sites

CONTENT_TYPES = frozenset({"text/plain", "application/json"})
PREFLIGHT_MAX_AGE = 24 * 3600
LIMITS = {"visitor": "visitor", "ip": "IP address"}


def _answer(status: int, payload: dict[str, Any], origin: str | None) -> HttpResponse:
    response = JsonResponse(payload, status=status)
    response["Cache-Control"] = "no-store"
    # The answer depends on the Origin (allowed or not): a shared cache must not mix them.
    response["Vary"] = "Origin"
    if origin is not None:
        response["Access-Control-Allow-Origin"] = origin
    return response


def _error(status: int, message: str, origin: str | None, path: str = "") -> HttpResponse:
    return _answer(status, {"error": message, "path": path}, origin)


@csrf_exempt
def collect_view(request: HttpRequest, site_key: str) -> HttpResponse:
    if request.method not in ("POST", "OPTIONS"):
        response = _error(405, f"method {request.method} is not allowed; use POST", None)
        response["Allow"] = "POST, OPTIONS"
        return response
    site = sites.site_by_key(site_key)
    if site is None:
        return _error(404, "no installation has this site key", None)
    origin = request.headers.get("Origin", "")
    if not origin:
        return _error(403, "the request has no Origin header", None)
    if not sites.origin_allowed(site, origin):
        return _error(403, f"the origin {origin[:200]} is not a storefront of this site", None)
    if request.method == "OPTIONS":
        response = _answer(200, {}, origin)
        response["Access-Control-Allow-Methods"] = "POST, OPTIONS"
        response["Access-Control-Allow-Headers"] = "Content-Type"
        response["Access-Control-Max-Age"] = str(PREFLIGHT_MAX_AGE)
        return response
    if bots.is_bot(request.headers.get("User-Agent", "")):
        return _answer(202, {"dropped": "bot"}, origin)
    content_type = (request.content_type or "").lower()
    if content_type not in CONTENT_TYPES:
        return _error(
            415,
            f"the content type must be text/plain or application/json, not {content_type!r}",
            origin,
        )
    limit = conf.get("WEB_COLLECT_MAX_BYTES")
    length = request.headers.get("Content-Length", "")
    if length.isdigit() and int(length) > limit:
        # Refused before the body is read into memory.
        return _error(413, f"the body is larger than {limit} bytes", origin)
    body = request.read(limit + 1)
    if len(body) > limit:
        return _error(413, f"the body is larger than {limit} bytes", origin)
    try:
        batch = collect.parse(body)
    except collect.Invalid as exc:
        return _error(400, exc.message, origin, exc.path)
    now = clock.now()
    exceeded = ratelimit.check(
        installation_id=site.installation_id,
        visitor_uid=batch.v,
        ip=request.META.get("REMOTE_ADDR") or "unknown",
        events=len(batch.events),
        now=now,
    )
    if exceeded is not None:
        response = _error(
            429, f"too many events from this {LIMITS[exceeded.limit]}; try again later", origin
        )
        response["Retry-After"] = str(exceeded.retry_after)
        return response
    try:
        answer = collect.ingest(
            site, batch, now=now, user_agent=request.headers.get("User-Agent", "")
        )
    except collect.Invalid as exc:  # found while storing: nothing of the batch was kept
        return _error(400, exc.message, origin, exc.path)
    return _answer(200, answer, origin)
