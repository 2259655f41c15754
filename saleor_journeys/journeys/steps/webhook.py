"""Call the shop's own systems: a signed JSON POST to an HTTPS URL outside our network.

The body carries the step's unique key as ``id`` (and the ``Journeys-Delivery`` header), so a
receiver can drop the rare second delivery of a step retried after a crash.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from saleor_journeys.journeys.steps.base import ActionFailed, Linear, Step, Visit, act

if TYPE_CHECKING:
    from saleor_journeys.journeys.models import RunAction


class WebhookNode(Linear):
    type: Literal["webhook"]
    url: str = Field(pattern=r"^https?://")
    data: dict[str, Any] = Field(default_factory=dict)
    """Fixed data to send along, e.g. ``{"audience": "retarget-dogs"}``."""


def enter(node: WebhookNode, visit: Visit) -> Step:
    return act(node, visit)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """``Journeys-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def body_for(action: RunAction) -> dict[str, Any]:
    run = action.run
    contact = run.contact
    return {
        "id": action.key,
        "journey": run.journey.slug,
        "node": action.node,
        "run": run.pk,
        "contact": {
            "email": contact.email,
            "first_name": contact.first_name,
            "last_name": contact.last_name,
            "saleor_user_id": contact.saleor_user_id,
            "tags": contact.tags,
        },
        "context": {k: v for k, v in run.context.items() if k != "event"},
        "data": action.params.get("data") or {},
    }


def perform(action: RunAction) -> dict[str, Any]:
    import requests

    from saleor_journeys import conf
    from saleor_journeys.core import clock, outbound
    from saleor_journeys.saleor.client import USER_AGENT

    body = json.dumps(body_for(action), sort_keys=True).encode()
    secret = action.run.installation.webhook_secret
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Journeys-Delivery": action.key,
        "Journeys-Signature": signature(secret, int(clock.now().timestamp()), body),
    }
    try:
        response = outbound.post(
            action.params["url"],
            body,
            headers,
            timeout=conf.get("OUTGOING_WEBHOOK_TIMEOUT"),
            require_https=conf.get("OUTGOING_WEBHOOK_REQUIRE_HTTPS"),
            allowed_networks=conf.get("OUTGOING_WEBHOOK_ALLOWED_NETWORKS"),
        )
    except outbound.RefusedAddress as exc:
        raise ActionFailed(f"refused: {exc}", retry=False) from exc
    except requests.RequestException as exc:
        raise ActionFailed(f"cannot reach the URL: {exc.__class__.__name__}", retry=True) from exc
    if response.status_code >= 500 or response.status_code == 429:
        raise ActionFailed(f"the URL answered HTTP {response.status_code}", retry=True)
    if response.status_code >= 300:
        raise ActionFailed(f"the URL answered HTTP {response.status_code}", retry=False)
    return {"status": response.status_code}
