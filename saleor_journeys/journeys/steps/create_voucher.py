"""Create a single-use Saleor voucher for the contact; later steps read ``voucher.code``.

The code is fixed when the step is decided (a keyed hash of the step's unique key), so a
message later in the flow can quote it, and so creating it twice is impossible: Saleor refuses
a second voucher with the same code, and a retry after a crash finds the first one instead.
Saleor cannot restrict a voucher to one email; the voucher is single use, once per customer,
and carries the contact's email and the run in its private metadata for the shop's staff.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from saleor_journeys.journeys import durations
from saleor_journeys.journeys.durations import Duration
from saleor_journeys.journeys.steps.base import ActionFailed, Linear, Step, Visit, act

if TYPE_CHECKING:
    from saleor_journeys.journeys.models import RunAction


class CreateVoucherNode(Linear):
    type: Literal["create_voucher"]
    percent: float = Field(gt=0, le=100)
    valid_for: Duration = "7d"
    name: str = Field(default="Journey voucher", min_length=1, max_length=255)
    prefix: str = Field(default="J", pattern=r"^[A-Z0-9]{1,10}$")
    channel: str | None = None
    """The Saleor channel slug; by default the channel of the contact's latest order or
    checkout, else the ``VOUCHER_CHANNEL`` setting."""


def enter(node: CreateVoucherNode, visit: Visit) -> Step:
    return act(node, visit)


def code_for(key: str, prefix: str, secret: str) -> str:
    """Unguessable, and the same for the same step: ``J-7KQ2M9XW4D``."""
    digest = hmac.new(secret.encode(), f"voucher:{key}".encode(), hashlib.sha256).digest()
    return f"{prefix}-{base64.b32encode(digest).decode()[:10]}"


def prepare(key: str, params: dict[str, Any], now: datetime, secret: str) -> dict[str, Any]:
    """Fix the code and expiry at decision time; merged into the run's context (later steps
    quote ``voucher.code``) and into the action's parameters."""
    expires_at = now + durations.parse(params.get("valid_for") or "7d")
    voucher = {
        "code": code_for(key, params.get("prefix") or "J", secret),
        "percent": params["percent"],
        "starts_at": now.isoformat(),
        "expires_at": expires_at.isoformat(),
    }
    return {"voucher": voucher}


CREATE = """
mutation JourneyVoucherCreate($input: VoucherInput!) {
  voucherCreate(input: $input) {
    voucher { id }
    errors { field code message }
  }
}
"""
FIND = """
query JourneyVoucherFind($code: String!) {
  vouchers(first: 5, filter: {search: $code}) {
    edges { node { id codes(first: 5) { edges { node { code } } } } }
  }
}
"""
CHANNEL = """
query JourneyVoucherChannel($slug: String!) { channel(slug: $slug) { id } }
"""
LIST = """
mutation JourneyVoucherList($id: ID!, $input: VoucherChannelListingInput!) {
  voucherChannelListingUpdate(id: $id, input: $input) {
    voucher { id }
    errors { field code message }
  }
}
"""
TAG = """
mutation JourneyVoucherTag($id: ID!, $input: [MetadataInput!]!) {
  updatePrivateMetadata(id: $id, input: $input) {
    errors { field code message }
  }
}
"""


def _call(action: RunAction, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    from saleor_journeys.saleor.client import SaleorError, execute

    installation = action.run.installation
    try:
        data = execute(installation.saleor_api_url, installation.auth_token, query, variables)
    except SaleorError as exc:
        # A refusal (no MANAGE_DISCOUNTS) will not change by retrying; a timeout may.
        retry = "refused" not in str(exc)
        raise ActionFailed(str(exc), retry=retry) from exc
    return data if isinstance(data, dict) else {}


def _errors(payload: Any) -> list[dict[str, Any]]:
    return list(payload.get("errors") or []) if isinstance(payload, dict) else []


def _find(action: RunAction, code: str) -> str | None:
    data = _call(action, FIND, {"code": code})
    for edge in (data.get("vouchers") or {}).get("edges", []):
        codes = [e["node"]["code"] for e in edge["node"]["codes"]["edges"]]
        if code in codes:
            return str(edge["node"]["id"])
    return None


def _channel_slug(action: RunAction) -> str:
    from saleor_journeys import conf
    from saleor_journeys.commerce.models import Checkout, Order

    explicit = action.params.get("channel")
    if explicit:
        return str(explicit)
    contact = action.run.contact
    for model in (Order, Checkout):
        slug = (
            model.objects.filter(contact=contact)
            .exclude(channel_slug="")
            .order_by("-saleor_updated_at")
            .values_list("channel_slug", flat=True)
            .first()
        )
        if slug:
            return str(slug)
    fallback = conf.get("VOUCHER_CHANNEL")
    if not fallback:
        raise ActionFailed(
            "no Saleor channel for the voucher: the contact has no order or checkout, and "
            "neither the node's channel nor the VOUCHER_CHANNEL setting is set",
            retry=False,
        )
    return str(fallback)


def perform(action: RunAction) -> dict[str, Any]:
    voucher = action.params["voucher"]
    code = voucher["code"]
    contact = action.run.contact
    created = _call(
        action,
        CREATE,
        {
            "input": {
                "type": "ENTIRE_ORDER",
                "name": action.params.get("name") or "Journey voucher",
                "addCodes": [code],
                "discountValueType": "PERCENTAGE",
                "singleUse": True,
                "usageLimit": 1,
                "applyOncePerCustomer": True,
                "onlyForStaff": False,
                "startDate": voucher["starts_at"],
                "endDate": voucher["expires_at"],
            }
        },
    ).get("voucherCreate")
    errors = _errors(created)
    voucher_id = (created or {}).get("voucher", {}) or {}
    voucher_id = voucher_id.get("id") if isinstance(voucher_id, dict) else None
    if errors and any(e.get("code") in ("UNIQUE", "ALREADY_EXISTS") for e in errors):
        voucher_id = _find(action, code)  # made by an earlier attempt that did not record it
    elif errors:
        raise ActionFailed(f"Saleor refused the voucher: {errors[0].get('message')}", retry=False)
    if not voucher_id:
        raise ActionFailed("Saleor did not return the voucher", retry=True)
    slug = _channel_slug(action)
    channel = _call(action, CHANNEL, {"slug": slug}).get("channel")
    if not isinstance(channel, dict) or not channel.get("id"):
        raise ActionFailed(f"Saleor has no channel {slug!r}", retry=False)
    listing = _call(
        action,
        LIST,
        {
            "id": voucher_id,
            "input": {
                "addChannels": [{"channelId": channel["id"], "discountValue": voucher["percent"]}]
            },
        },
    ).get("voucherChannelListingUpdate")
    if _errors(listing):
        raise ActionFailed(
            f"Saleor refused the voucher's channel: {_errors(listing)[0].get('message')}",
            retry=False,
        )
    metadata = [
        {"key": "journeys_recipient_email", "value": contact.email or ""},
        {"key": "journeys_run", "value": action.key},
    ]
    _call(action, TAG, {"id": voucher_id, "input": metadata})
    return {"voucher_id": voucher_id, "code": code, "channel": slug}
