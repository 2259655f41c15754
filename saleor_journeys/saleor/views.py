"""HTTP endpoints of the Saleor App protocol: manifest, registration, webhooks."""

from __future__ import annotations

import json
import logging

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from saleor_journeys import conf
from saleor_journeys.saleor import headers, manifest, registration, webhooks
from saleor_journeys.triggers import registry

logger = logging.getLogger(__name__)


def base_url(request: HttpRequest) -> str:
    public = conf.get("PUBLIC_URL")
    return (public or request.build_absolute_uri("/")).rstrip("/")


@require_GET
def manifest_view(request: HttpRequest) -> JsonResponse:
    document = manifest.build(base_url(request))
    return JsonResponse(document.model_dump(by_alias=True))


def _error(status: int, message: str) -> JsonResponse:
    # Saleor shows ``error.message`` of a refused registration on the failed installation.
    return JsonResponse({"error": {"message": message}}, status=status)


@csrf_exempt
@require_POST
def register_view(request: HttpRequest) -> JsonResponse:
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        return _error(400, "the body is not JSON")
    token = body.get("auth_token") if isinstance(body, dict) else None
    if not isinstance(token, str):
        return _error(400, "the body carries no auth_token")
    api_url = headers.read(request.headers, headers.API_URL)
    if not api_url:
        return _error(400, "the request names no Saleor-Api-Url")
    try:
        registration.register(
            api_url=api_url,
            domain=headers.read(request.headers, headers.DOMAIN),
            auth_token=token,
        )
    except registration.RegistrationError as exc:
        logger.warning("Registration from %s refused: %s", api_url, exc.message)
        return _error(exc.status, exc.message)
    return JsonResponse({"success": True})


@csrf_exempt
@require_POST
def webhook_view(request: HttpRequest, group: str) -> JsonResponse:
    if group not in registry.group_names():
        return JsonResponse({"error": f"no webhook {group!r}"}, status=404)
    length = request.headers.get("Content-Length", "")
    if length.isdigit() and int(length) > conf.get("WEBHOOK_MAX_BODY_BYTES"):
        # Refused before the body is read into memory.
        return JsonResponse({"error": "the body is too large"}, status=413)
    event = headers.read(request.headers, headers.EVENT)
    try:
        receipt = webhooks.receive(
            api_url=headers.read(request.headers, headers.API_URL),
            event=event,
            signature=headers.read(request.headers, headers.SIGNATURE),
            body=request.body,
        )
    except webhooks.WebhookRejected as exc:
        logger.warning("Webhook %r refused with %s: %s", event, exc.status, exc.reason)
        return JsonResponse({"error": exc.reason}, status=exc.status)
    return JsonResponse(
        {"accepted": True, "duplicate": receipt.duplicate, "delivery": receipt.delivery_id}
    )
