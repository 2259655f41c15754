"""Keeping the checkout and order mirrors in step with Saleor, whatever order deliveries arrive in.

Saleor does not deliver in event order (an ``order_paid`` can arrive before its
``order_created``) and retries for minutes, so each mirror row remembers the ``updatedAt`` of the
newest payload applied and ignores older ones. A checkout turned into an order is completed for
good: no late checkout delivery brings it back to life.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from saleor_journeys.commerce.models import Checkout, CheckoutLine, Order, OrderLine
from saleor_journeys.contacts.identity import normalise_language
from saleor_journeys.contacts.models import Contact
from saleor_journeys.runtime.context import IngestContext
from saleor_journeys.saleor import ids
from saleor_journeys.triggers import payloads


def _gross(money: payloads.TaxedMoney | None) -> Decimal | None:
    return money.gross.amount if money else None


def _line_fields(
    line: payloads.CheckoutLine | payloads.OrderLine, image: payloads.Image | None
) -> dict[str, Any]:
    variant = line.variant
    product = variant.product if variant else None
    category = product.category if product else None
    price = line.unit_price or line.total_price
    return {
        "saleor_line_id": line.id,
        "variant_id": variant.id if variant else "",
        "variant_name": (variant.name if variant else None) or "",
        "sku": (variant.sku if variant else None) or "",
        "product_id": product.id if product else "",
        "product_name": product.name if product else "",
        "product_slug": product.slug if product else "",
        "category_id": category.id if category else "",
        "category_name": category.name if category else "",
        "quantity": line.quantity,
        "unit_price": _gross(line.unit_price),
        "total_price": _gross(line.total_price),
        "currency": price.gross.currency if price else "",
        "image_url": image.url if image else "",
    }


def _is_stale(ctx: IngestContext, row: Checkout | Order, updated_at: Any) -> bool:
    """Older than what the row holds: by ``updatedAt``, then by ``issuedAt`` (some Saleor
    changes, such as an order expiring, do not move ``updatedAt``)."""
    if row.saleor_updated_at is None:
        return False
    newest = (row.saleor_updated_at, row.issued_at or ctx.issued_at)
    return (updated_at, ctx.issued_at) < newest


def apply_checkout(
    ctx: IngestContext, data: payloads.Checkout, contact: Contact | None
) -> tuple[Checkout, bool]:
    """Update the mirror of a checkout; returns it and whether the payload was superseded
    (older than the mirror, or about a checkout already turned into an order)."""
    row, _ = Checkout.objects.select_for_update().get_or_create(
        installation=ctx.installation, token=data.token
    )
    if _is_stale(ctx, row, data.updated_at):
        return row, True
    row.contact = contact or row.contact
    row.email = None if ctx.erased else (data.email or "").lower() or None
    row.channel_slug = data.channel.slug if data.channel else ""
    row.currency = (data.channel.currency_code if data.channel else None) or ""
    row.language_code = normalise_language(data.language_code)
    row.quantity = data.quantity
    row.subtotal = _gross(data.subtotal_price)
    row.total = _gross(data.total_price)
    row.voucher_code = data.voucher_code or ""
    row.metadata = {} if ctx.erased else {item.key: item.value for item in data.metadata}
    row.created_at = data.created or row.created_at
    row.saleor_updated_at = data.updated_at
    row.issued_at = ctx.issued_at
    row.save()
    row.lines.all().delete()
    CheckoutLine.objects.bulk_create(
        CheckoutLine(
            checkout=row,
            **_line_fields(
                line,
                line.variant.product.thumbnail if line.variant and line.variant.product else None,
            ),
        )
        for line in data.lines
    )
    # A completed checkout keeps its data current but is never active again: its events are
    # marked superseded so nothing treats them as a live cart.
    return row, row.is_completed


def apply_order(
    ctx: IngestContext, data: payloads.Order, contact: Contact | None
) -> tuple[Order, bool]:
    """Update the mirror of an order and complete the checkout it came from."""
    row, _ = Order.objects.select_for_update().get_or_create(
        installation=ctx.installation, saleor_id=data.id, defaults={"number": data.number}
    )
    checkout_token = ids.checkout_token(data.checkout_id)
    if checkout_token is not None:
        _complete_checkout(ctx, checkout_token, row, contact, data)
    if _is_stale(ctx, row, data.updated_at):
        return row, True
    row.number = data.number
    row.token = data.token
    row.contact = contact or row.contact
    row.email = None if ctx.erased else (data.user_email or "").lower() or None
    row.checkout_token = checkout_token
    row.channel_slug = data.channel.slug if data.channel else ""
    row.status = data.status
    row.origin = data.origin or ""
    row.is_paid = data.is_paid
    row.charge_status = data.charge_status or ""
    row.currency = data.total.gross.currency if data.total else ""
    row.subtotal = _gross(data.subtotal)
    row.total = _gross(data.total)
    row.total_charged = data.total_charged.amount if data.total_charged else None
    row.total_refunded = data.total_refunded.amount if data.total_refunded else None
    row.voucher_code = data.voucher_code or ""
    row.language_code = normalise_language(data.language_code_enum)
    row.created_at = data.created or row.created_at
    row.saleor_updated_at = data.updated_at
    row.issued_at = ctx.issued_at
    row.save()
    row.lines.all().delete()
    OrderLine.objects.bulk_create(
        OrderLine(order=row, **_line_fields(line, line.thumbnail)) for line in data.lines
    )
    return row, False


def _complete_checkout(
    ctx: IngestContext, token: Any, order: Order, contact: Contact | None, data: payloads.Order
) -> None:
    checkout, _ = Checkout.objects.select_for_update().get_or_create(
        installation=ctx.installation, token=token
    )
    if checkout.completed_at is None:
        checkout.completed_at = data.created or ctx.issued_at
    checkout.order = order
    checkout.contact = checkout.contact or contact
    checkout.save()
