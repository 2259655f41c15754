"""The open pixel and the click redirect of journey emails (``messaging.tracking``).

Both answer the reader first: a failure to record a hit is logged, and the reader still gets
the image or reaches the link. A token that is not ours, or was changed, is a plain 404: the
redirect only ever goes where the app itself pointed the link.
"""

from __future__ import annotations

import base64
import logging

from django.http import HttpRequest, HttpResponse, HttpResponseNotFound, HttpResponseRedirect
from django.views.decorators.http import require_http_methods

from saleor_journeys.messaging import tracking
from saleor_journeys.web import links

logger = logging.getLogger(__name__)

# A transparent 1x1 GIF.
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


def _not_found() -> HttpResponseNotFound:
    return HttpResponseNotFound("not found", content_type="text/plain; charset=utf-8")


def _private(response: HttpResponse) -> HttpResponse:
    # Every hit must reach the app, and none of these URLs belongs in a search index.
    response["Cache-Control"] = "no-store"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


@require_http_methods(["GET", "HEAD"])
def open_view(request: HttpRequest, token: str) -> HttpResponse:
    message_id = tracking.read_open_token(token)
    if message_id is None:
        return _not_found()
    try:
        tracking.record_open(
            message_id,
            user_agent=request.headers.get("User-Agent", ""),
            head=request.method == "HEAD",
        )
    except Exception:
        logger.exception("Could not record an open of message %s", message_id)
    return _private(HttpResponse(PIXEL, content_type="image/gif"))


@require_http_methods(["GET", "HEAD"])
def click_view(request: HttpRequest, token: str) -> HttpResponse:
    decoded = tracking.read_click_token(token)
    if decoded is None:
        return _not_found()
    message_id, url = decoded
    target = url
    try:
        event = tracking.record_click(
            message_id,
            url,
            user_agent=request.headers.get("User-Agent", ""),
            head=request.method == "HEAD",
        )
        # A person's click carries who they are to the shop's own storefront, so the browser
        # they read the email in is tied to their card; a scanner's never does.
        contact = event.message.contact if event is not None and event.human else None
        if contact is not None and contact.erased_at is None:
            target = links.storefront_url(url, contact, "link")
    except Exception:
        logger.exception("Could not record a click of message %s", message_id)
    return _private(HttpResponseRedirect(target))
