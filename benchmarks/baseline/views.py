"""The one view: read the body, parse it, store it with one INSERT, answer."""

from __future__ import annotations

import json

from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

# Created by benchmarks/ingest.py; see TABLE_DDL there.
_INSERT = "INSERT INTO ingest (event_type, body, received_at) VALUES (%s, %s, now()) RETURNING id"


@csrf_exempt
def ingest(request: HttpRequest, group: str) -> JsonResponse:
    if request.method != "POST":
        return JsonResponse({"error": "POST only"}, status=405)
    body = request.body
    try:
        payload = json.loads(body)
    except ValueError:
        return JsonResponse({"error": "the body is not JSON"}, status=400)
    with connection.cursor() as cursor:
        cursor.execute(_INSERT, [str(payload.get("__typename", "")), body.decode("utf-8")])
        (row_id,) = cursor.fetchone()
    return JsonResponse({"accepted": True, "delivery": row_id})


def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})
