"""Saleor 3.24 webhook bodies for the demo shop, field for field like the recorded deliveries
(``tests/fixtures/saleor/deliveries``): the envelope, the user, the checkout with its lines and
prices, the order with its lines, fulfilments and charges."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from saleor_journeys.demo.shop import CHANNEL, CURRENCY, STOREFRONT, Customer, Product, saleor_id

VERSION = "3.24.0-a.0"
Lines = Sequence[tuple[Product, int]]


def _iso(at: datetime) -> str:
    return at.isoformat()


def _money(amount: Decimal) -> dict[str, Any]:
    return {"amount": float(amount), "currency": CURRENCY}


def _taxed(amount: Decimal) -> dict[str, Any]:
    return {
        "gross": _money(amount),
        "net": _money(amount),
        "tax": _money(Decimal(0)),
        "currency": CURRENCY,
    }


def envelope(
    typename: str, at: datetime, principal: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "__typename": typename,
        "issuedAt": _iso(at),
        "version": VERSION,
        "issuingPrincipal": principal,
    }


def _address(c: Customer, *, names: bool) -> dict[str, Any]:
    country, city, postal = c.city
    address: dict[str, Any] = {}
    if names:
        address = {"firstName": c.first_name, "lastName": c.last_name}
    address.update({"city": city, "postalCode": postal})
    address["country"] = (
        {"code": country, "country": "Spain" if country == "ES" else "United States of America"}
        if names
        else {"code": country}
    )
    address["phone"] = c.phone or ""
    return address


def customer_created(c: Customer, at: datetime) -> dict[str, Any]:
    return {
        **envelope("CustomerCreated", at),
        "user": {
            "id": c.user_id,
            "email": c.email,
            "firstName": c.first_name,
            "lastName": c.last_name,
            "isActive": True,
            "isConfirmed": False,
            "isStaff": False,
            "languageCode": c.language_code,
            "dateJoined": _iso(at),
            "updatedAt": _iso(at),
            "lastLogin": None,
            "note": None,
            "externalReference": None,
            "defaultBillingAddress": _address(c, names=True) if c.phone else None,
            "defaultShippingAddress": None,
            "metadata": [
                {"key": "marketing_consent", "value": "true" if c.email_consent else "false"},
                {"key": "signup_source", "value": "storefront-footer"},
            ],
            "privateMetadata": [],
        },
    }


def _user_ref(c: Customer) -> dict[str, Any]:
    return {
        "id": c.user_id,
        "email": c.email,
        "firstName": c.first_name,
        "lastName": c.last_name,
        "isActive": True,
        "isConfirmed": True,
    }


def _product(p: Product) -> dict[str, Any]:
    return {
        "id": p.id,
        "name": p.name,
        "slug": p.slug,
        "category": {"id": p.category.id, "name": p.category.name, "slug": p.category.slug},
        "productType": {"id": saleor_id("ProductType", 20), "name": p.product_type},
    }


def _thumbnail(p: Product) -> dict[str, Any]:
    return {"url": p.image, "alt": p.name}


def _checkout_line(token: str, p: Product, quantity: int) -> dict[str, Any]:
    price = _taxed(p.price)
    return {
        "id": saleor_id("CheckoutLine", str(uuid.uuid5(uuid.NAMESPACE_URL, f"{token}/{p.slug}"))),
        "quantity": quantity,
        "isGift": False,
        "variant": {
            "id": p.variant_id,
            "sku": p.sku,
            "name": "Standard",
            "product": {**_product(p), "thumbnail": _thumbnail(p)},
            "pricing": {"onSale": False, "price": price, "priceUndiscounted": price},
        },
        "unitPrice": price,
        "undiscountedUnitPrice": _money(p.price),
        "totalPrice": _taxed(p.price * quantity),
        "metadata": [],
    }


def _total(lines: Lines) -> Decimal:
    return sum((p.price * q for p, q in lines), Decimal(0))


def checkout(
    typename: str, c: Customer, token: str, lines: Lines, *, created: datetime, at: datetime
) -> dict[str, Any]:
    total = _total(lines)
    with_address = bool(lines) and typename == "CheckoutUpdated"
    return {
        **envelope(typename, at),
        "checkout": {
            "id": saleor_id("Checkout", token),
            "token": token,
            "created": _iso(created),
            "updatedAt": _iso(at),
            "lastChange": _iso(at),
            "email": c.email,
            "languageCode": c.language_code,
            "user": _user_ref(c),
            "channel": CHANNEL,
            "isShippingRequired": True,
            "quantity": sum(q for _, q in lines),
            "voucherCode": None,
            "discount": _money(Decimal(0)),
            "discountName": None,
            "chargeStatus": "NONE",
            "authorizeStatus": "NONE",
            "billingAddress": _address(c, names=False) if with_address else None,
            "shippingAddress": _address(c, names=False) if with_address else None,
            "lines": [_checkout_line(token, p, q) for p, q in lines],
            "subtotalPrice": _taxed(total),
            "shippingPrice": _taxed(Decimal(0)),
            "totalPrice": _taxed(total),
            "metadata": [
                {"key": "journeys_visitor_id", "value": c.visitor_id},
                {"key": "utm_source", "value": "storefront"},
            ],
            "privateMetadata": [],
        },
    }


STAFF = {"__typename": "User", "id": saleor_id("User", 21), "email": "admin@petshop.example"}


def order(
    typename: str,
    c: Customer,
    number: int,
    checkout_token: str,
    lines: Lines,
    *,
    created: datetime,
    at: datetime,
    paid: bool,
    fulfilled: bool = False,
    refunded: Decimal = Decimal(0),
) -> dict[str, Any]:
    total = _total(lines)
    token = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{STOREFRONT}/orders/{number}"))
    order_lines = []
    for p, q in lines:
        order_lines.append(
            {
                "id": saleor_id(
                    "OrderLine", str(uuid.uuid5(uuid.NAMESPACE_URL, f"{token}/{p.slug}"))
                ),
                "productName": p.name,
                "variantName": "Standard",
                "productSku": p.sku,
                "productVariantId": p.variant_id,
                "quantity": q,
                "quantityFulfilled": q if fulfilled else 0,
                "isGift": False,
                "variant": {"id": p.variant_id, "sku": p.sku, "product": _product(p)},
                "thumbnail": _thumbnail(p),
                "unitPrice": _taxed(p.price),
                "undiscountedUnitPrice": _taxed(p.price),
                "totalPrice": _taxed(p.price * q),
                "metadata": [],
            }
        )
    fulfillments = []
    if fulfilled:
        fulfillments.append(
            {
                "id": saleor_id("Fulfillment", number),
                "status": "FULFILLED",
                "trackingNumber": f"1Z999AA1{number:08d}",
                "created": _iso(at),
                "lines": [
                    {
                        "id": saleor_id("FulfillmentLine", f"{number}-{i}"),
                        "quantity": line["quantity"],
                        "orderLine": {"id": line["id"]},
                    }
                    for i, line in enumerate(order_lines)
                ],
            }
        )
    charged = total if paid else Decimal(0)
    return {
        **envelope(typename, at, STAFF if typename != "OrderCreated" else None),
        "order": {
            "id": saleor_id("Order", token),
            "number": str(number),
            "token": token,
            "created": _iso(created),
            "updatedAt": _iso(at),
            "status": "FULFILLED" if fulfilled else "UNFULFILLED",
            "origin": "CHECKOUT",
            "original": None,
            "userEmail": c.email,
            "user": _user_ref(c),
            "channel": CHANNEL,
            "checkoutId": saleor_id("Checkout", checkout_token),
            "languageCodeEnum": c.language_code,
            "customerNote": "",
            "redirectUrl": None,
            "isPaid": paid,
            "paymentStatus": "FULLY_CHARGED" if paid else "NOT_CHARGED",
            "chargeStatus": "FULL" if paid else "NONE",
            "authorizeStatus": "FULL" if paid else "NONE",
            "voucherCode": None,
            "voucher": None,
            "discounts": [],
            "shippingMethodName": "Default",
            "shippingAddress": _address(c, names=True),
            "billingAddress": _address(c, names=True),
            "lines": order_lines,
            "fulfillments": fulfillments,
            "subtotal": _taxed(total),
            "shippingPrice": _taxed(Decimal(0)),
            "total": _taxed(total),
            "undiscountedTotal": _taxed(total),
            "totalCharged": _money(charged),
            "totalRefunded": _money(refunded),
            "totalGrantedRefund": _money(Decimal(0)),
            "metadata": [{"key": "journeys_visitor_id", "value": c.visitor_id}],
            "privateMetadata": [],
        },
    }
