"""The Saleor events the app subscribes to, and what each does to contacts, mirrors and the log."""

from __future__ import annotations

from typing import Any

from saleor_journeys.commerce import mirror
from saleor_journeys.contacts import erasure, identity
from saleor_journeys.events import log
from saleor_journeys.runtime.context import IngestContext
from saleor_journeys.triggers import payloads
from saleor_journeys.triggers.registry import SaleorTrigger, WebhookGroup, register
from saleor_journeys.web import identity as web_identity

CUSTOMER = WebhookGroup("customer", "MANAGE_USERS", "customer.graphql")
CHECKOUT = WebhookGroup("checkout", "MANAGE_CHECKOUTS", "checkout.graphql")
ORDER = WebhookGroup("order", "MANAGE_ORDERS", "order.graphql")

USER_SELECTION = "user { ...CustomerFields }"
CHECKOUT_SELECTION = "checkout { ...CheckoutFields }"
ORDER_SELECTION = "order { ...OrderFields }"


def _money(value: Any) -> str | None:
    return None if value is None else f"{value:.2f}"


def on_customer(ctx: IngestContext, payload: payloads.UserEvent) -> None:
    contact = identity.upsert_from_user(ctx, payload.user)
    data = {} if ctx.erased else {"is_confirmed": payload.user.is_confirmed}
    log.append(ctx, ctx.delivery.event_type, contact, data)


def on_customer_deleted(ctx: IngestContext, payload: payloads.UserEvent) -> None:
    contact = erasure.erase(ctx, payload.user)
    log.append(ctx, ctx.delivery.event_type, contact, {})


def on_checkout(ctx: IngestContext, payload: payloads.CheckoutEvent) -> None:
    checkout = payload.checkout
    contact = identity.upsert_from_purchase(
        ctx,
        email=checkout.email,
        user=checkout.user,
        address=checkout.billing_address or checkout.shipping_address,
        language=checkout.language_code,
    )
    _, superseded = mirror.apply_checkout(ctx, checkout, contact)
    web_identity.identify_checkout(ctx, checkout, contact)
    data = {
        "checkout_token": str(checkout.token),
        "quantity": checkout.quantity,
        "lines": len(checkout.lines),
        "total": _money(checkout.total_price.gross.amount if checkout.total_price else None),
        "currency": checkout.channel.currency_code if checkout.channel else None,
        "has_email": bool(checkout.email),
    }
    log.append(ctx, ctx.delivery.event_type, contact, data, superseded=superseded)


def on_order(ctx: IngestContext, payload: payloads.OrderEvent) -> None:
    order = payload.order
    contact = identity.upsert_from_purchase(
        ctx,
        email=order.user_email,
        user=order.user,
        address=order.billing_address or order.shipping_address,
        language=order.language_code_enum,
    )
    _, superseded = mirror.apply_order(ctx, order, contact)
    data = {
        "order_number": order.number,
        "status": order.status,
        "is_paid": order.is_paid,
        "lines": len(order.lines),
        "total": _money(order.total.gross.amount if order.total else None),
        "refunded": _money(order.total_refunded.amount if order.total_refunded else None),
        "currency": order.total.gross.currency if order.total else None,
    }
    log.append(ctx, ctx.delivery.event_type, contact, data, superseded=superseded)


def _user(event: str, typename: str, handle: Any = on_customer) -> None:
    register(SaleorTrigger(event, typename, CUSTOMER, USER_SELECTION, payloads.UserEvent, handle))


def _checkout(event: str, typename: str) -> None:
    register(
        SaleorTrigger(
            event, typename, CHECKOUT, CHECKOUT_SELECTION, payloads.CheckoutEvent, on_checkout
        )
    )


def _order(event: str, typename: str) -> None:
    register(SaleorTrigger(event, typename, ORDER, ORDER_SELECTION, payloads.OrderEvent, on_order))


_user("CUSTOMER_CREATED", "CustomerCreated")
_user("CUSTOMER_UPDATED", "CustomerUpdated")
_user("ACCOUNT_CONFIRMED", "AccountConfirmed")
# Staff deleting a customer and a customer deleting their own account both mean: forget them.
_user("CUSTOMER_DELETED", "CustomerDeleted", on_customer_deleted)
_user("ACCOUNT_DELETED", "AccountDeleted", on_customer_deleted)

_checkout("CHECKOUT_CREATED", "CheckoutCreated")
_checkout("CHECKOUT_UPDATED", "CheckoutUpdated")
# A storefront writing the visitor id into the metadata only sends this one.
_checkout("CHECKOUT_METADATA_UPDATED", "CheckoutMetadataUpdated")
_checkout("CHECKOUT_FULLY_PAID", "CheckoutFullyPaid")

_order("ORDER_CREATED", "OrderCreated")
_order("ORDER_CONFIRMED", "OrderConfirmed")
_order("ORDER_UPDATED", "OrderUpdated")
_order("ORDER_PAID", "OrderPaid")
_order("ORDER_FULLY_PAID", "OrderFullyPaid")
_order("ORDER_FULFILLED", "OrderFulfilled")
_order("ORDER_CANCELLED", "OrderCancelled")
_order("ORDER_EXPIRED", "OrderExpired")
_order("ORDER_REFUNDED", "OrderRefunded")
_order("ORDER_FULLY_REFUNDED", "OrderFullyRefunded")
