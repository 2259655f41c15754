"""Pages that are not part of a protocol: the app page and the health check."""

from __future__ import annotations

from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.http import require_GET

from saleor_journeys import __version__


@xframe_options_exempt  # shown inside the Saleor Dashboard, which is on another origin
@require_GET
def app_page(request: HttpRequest) -> HttpResponse:
    """What the Saleor Dashboard shows when the app is opened, until the extension lands."""
    return render(request, "saleor_journeys/app.html", {"version": __version__})


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        return JsonResponse({"status": "database unavailable"}, status=503)
    return JsonResponse({"status": "ok", "version": __version__})
