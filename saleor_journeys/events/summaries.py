"""One-line, human descriptions of logged events, made when they are read."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from saleor_journeys.events.models import Event


def _checkout(event: Event, data: dict[str, Any]) -> str:
    verb = {
        "checkout_created": "Checkout started",
        "checkout_updated": "Checkout updated",
        "checkout_metadata_updated": "Checkout metadata updated",
        "checkout_fully_paid": "Checkout fully paid",
    }[event.type]
    quantity = data.get("quantity", 0)
    items = f"{quantity} item{'s' if quantity != 1 else ''}"
    total = f", {data['total']} {data.get('currency') or ''}".rstrip() if data.get("total") else ""
    return f"{verb}: {items}{total}"


def _order(event: Event, data: dict[str, Any]) -> str:
    what = event.type.removeprefix("order_").replace("_", " ")
    total = f": {data['total']} {data.get('currency') or ''}".rstrip() if data.get("total") else ""
    return f"Order #{data.get('order_number', '?')} {what}{total}"


_CUSTOMER = {
    "customer_created": "Customer account created",
    "customer_updated": "Customer account updated",
    "account_confirmed": "Account confirmed",
    "customer_deleted": "Customer deleted; personal data erased",
    "account_deleted": "Account deleted; personal data erased",
}


def _page(data: dict[str, Any]) -> str:
    product = data.get("product") if isinstance(data.get("product"), dict) else None
    if product and product.get("name"):
        return str(product["name"])
    return str(data.get("title") or data.get("path") or data.get("url") or "a page")


def _web(event: Event, data: dict[str, Any]) -> str:
    if event.type == "page_viewed":
        return f"Viewed {_page(data)}"
    if event.type == "page_engaged":
        return f"Spent {round(float(data.get('seconds') or 0))} s on {_page(data)}"
    if event.type == "identified":
        return f"Browser identified ({data.get('source') or 'unknown'})"
    return f"Custom event {event.type.removeprefix('custom.')}"


def summarise(event: Event) -> str:
    data = event.data or {}
    if not data and event.type not in _CUSTOMER:
        return f"{event.type.replace('_', ' ').capitalize()} (details erased)"
    summary: Callable[[Event, dict[str, Any]], str]
    if event.type.startswith("checkout_"):
        summary = _checkout
    elif event.type.startswith("order_"):
        summary = _order
    elif event.type in ("page_viewed", "page_engaged", "identified") or event.type.startswith(
        "custom."
    ):
        summary = _web
    else:
        return _CUSTOMER.get(event.type, event.type.replace("_", " ").capitalize())
    text = summary(event, data)
    return f"{text} (late delivery, superseded)" if event.superseded else text
