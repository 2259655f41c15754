"""Serving ``journeys.js`` and ``journeys-sw.js`` (``web.snippet``), under ``/web/``.

``urlpatterns`` is included by ``saleor_journeys.urls``:

- ``/web/journeys.js``: the URL in storefront tags; a redirect to the current hashed name,
  cached five minutes, so a release reaches every storefront that soon.
- ``/web/journeys.<hash>.js``: the file, cached for a year (``immutable``); a hash that is
  not the current one is a 404 rather than another release under a wrong name.
- ``/web/journeys-sw.js``: the service worker, briefly cached. Browsers only run a service
  worker from the storefront's own origin, so shops copy or proxy it from here.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseNotFound, HttpResponseRedirect
from django.urls import path, re_path, reverse
from django.views.decorators.http import condition, require_http_methods

from saleor_journeys.web import snippet
from saleor_journeys.web.snippet import Asset

SHORT_CACHE = "public, max-age=300"
LONG_CACHE = "public, max-age=31536000, immutable"


def _file(asset: Asset, cache_control: str) -> HttpResponse:
    response = HttpResponse(asset.body, content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = cache_control
    response["X-Content-Type-Options"] = "nosniff"
    # Loaded by storefronts on other origins: also with crossorigin="anonymous" (for
    # subresource integrity) and from pages that require CORP (cross-origin isolation).
    response["Access-Control-Allow-Origin"] = "*"
    response["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response


@require_http_methods(["GET", "HEAD"])
def snippet_view(request: HttpRequest) -> HttpResponse:
    target = reverse("saleor_journeys:web-snippet-file", args=[snippet.snippet().hash])
    response = HttpResponseRedirect(target)
    response["Cache-Control"] = SHORT_CACHE
    return response


def _snippet_etag(request: HttpRequest, digest: str) -> str | None:
    asset = snippet.snippet()
    return asset.etag if digest == asset.hash else None


@require_http_methods(["GET", "HEAD"])
@condition(etag_func=_snippet_etag)
def snippet_file_view(request: HttpRequest, digest: str) -> HttpResponse:
    asset = snippet.snippet()
    if digest != asset.hash:
        return HttpResponseNotFound("not found", content_type="text/plain; charset=utf-8")
    return _file(asset, LONG_CACHE)


@require_http_methods(["GET", "HEAD"])
@condition(etag_func=lambda request: snippet.service_worker().etag)
def service_worker_view(request: HttpRequest) -> HttpResponse:
    return _file(snippet.service_worker(), SHORT_CACHE)


urlpatterns = [
    path("journeys.js", snippet_view, name="web-snippet"),
    re_path(r"^journeys\.(?P<digest>[0-9a-f]+)\.js$", snippet_file_view, name="web-snippet-file"),
    path("journeys-sw.js", service_worker_view, name="web-service-worker"),
]
