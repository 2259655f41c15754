"""What a template may use, as plain data: the contact, their cart or last order, what earlier
steps produced (a voucher), links. Never model instances (see ``sandbox``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from functools import partial
from typing import Any

from saleor_journeys import conf
from saleor_journeys.commerce.models import Checkout, Order
from saleor_journeys.contacts.models import Contact

_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "PLN": "zł", "JPY": "¥", "BRL": "R$", "MXN": "$"}
_SYMBOL_AFTER = {"EUR", "PLN"}


def money(amount: Decimal | None, currency: str, language: str) -> str:
    """``$12.50`` / ``12,50 €``: the currency of the cart, the decimal mark of the language."""
    if amount is None:
        return ""
    decimals = 0 if currency == "JPY" else 2
    number = f"{amount:,.{decimals}f}"
    if language.startswith(("es", "de", "fr", "it", "pt", "pl")):
        number = number.replace(",", " ").replace(".", ",")
    symbol = _SYMBOLS.get(currency, currency)
    if currency in _SYMBOL_AFTER or symbol == currency:
        return f"{number} {symbol}"
    return f"{symbol}{number}"


def _lines(lines: Any, language: str) -> list[dict[str, Any]]:
    return [
        {
            "name": line.product_name,
            "variant": line.variant_name if line.variant_name != line.product_name else "",
            "quantity": line.quantity,
            "price": money(line.unit_price, line.currency, language),
            "total": money(line.total_price, line.currency, language),
            "image": line.image_url,
            "category": line.category_name,
        }
        for line in lines
    ]


def _checkout(contact: Contact, trigger_key: str, language: str) -> dict[str, Any] | None:
    checkouts = Checkout.objects.filter(contact=contact)
    kind, _, token = trigger_key.partition(":")
    checkout = (
        checkouts.filter(token=token).first()
        if kind == "checkout"
        else checkouts.filter(completed_at=None).order_by("-saleor_updated_at").first()
    )
    if checkout is None:
        return None
    return {
        "token": str(checkout.token),
        "lines": _lines(checkout.lines.order_by("pk"), language),
        "quantity": checkout.quantity,
        "total": money(checkout.total, checkout.currency, language),
        "currency": checkout.currency,
    }


def _order(contact: Contact, language: str) -> dict[str, Any] | None:
    order = Order.objects.filter(contact=contact).order_by("-created_at", "-pk").first()
    if order is None:
        return None
    return {
        "number": order.number,
        "lines": _lines(order.lines.order_by("pk"), language),
        "total": money(order.total, order.currency, language),
        "currency": order.currency,
    }


def _voucher(run_context: dict[str, Any]) -> dict[str, Any] | None:
    voucher = run_context.get("voucher")
    if not isinstance(voucher, dict):
        return None
    return {
        **voucher,
        "expires": datetime.fromisoformat(voucher["expires_at"])
        if voucher.get("expires_at")
        else None,
    }


class Later:
    """A context value read on first use, once: Django's templates call a callable they meet,
    so a template that never mentions the cart costs no query for it. Templates only ever see
    what it returns (plain data)."""

    def __init__(self, load: Callable[[], Any]) -> None:
        self._load = load
        self._done = False
        self._value: Any = None

    def __call__(self) -> Any:
        if not self._done:
            self._value, self._done = self._load(), True
        return self._value


def resolve(value: Any) -> Any:
    """A context value as a template would see it (a ``Later`` read)."""
    return value() if isinstance(value, Later) else value


def build(
    contact: Contact,
    *,
    language: str,
    run_context: dict[str, Any] | None = None,
    trigger_key: str = "",
    links: dict[str, str] | None = None,
) -> dict[str, Any]:
    checkout = Later(partial(_checkout, contact, trigger_key, language))
    shop_links: dict[str, Any] = {**conf.get("LINKS"), **(links or {})}
    if "checkout" in shop_links:
        shop_links["checkout"] = Later(partial(_checkout_link, shop_links["checkout"], checkout))
    return {
        "contact": _card(contact, language),
        "shop": _shop(contact),
        "checkout": checkout,
        "order": Later(partial(_order, contact, language)),
        "voucher": _voucher(run_context or {}),
        # What a web-activity trigger knew: the product looked at and its page.
        "product": (run_context or {}).get("product"),
        "page": (run_context or {}).get("page"),
        "links": shop_links,
        "unsubscribe_url": (links or {}).get("unsubscribe", ""),
        "preferences_url": (links or {}).get("preferences", ""),
    }


def _checkout_link(link: str, checkout: Later) -> str:
    cart = checkout()
    return link.replace("{checkout}", cart["token"]) if cart else link


def build_sample(contact: Contact, *, language: str) -> dict[str, Any]:
    """The context for an unsaved sample contact (previews): no cart or order of theirs."""
    return {
        "contact": {**_card(contact, language), "interests": ["dogs"]},
        "shop": _shop(contact),
        "checkout": None,
        "order": {"number": "1001", "lines": [], "total": money(Decimal("54.90"), "USD", language)},
        "voucher": None,
        "product": None,
        "page": None,
        "links": dict(conf.get("LINKS")),
        "unsubscribe_url": "",
        "preferences_url": "",
    }


def _card(contact: Contact, language: str) -> dict[str, Any]:
    return {
        "email": contact.email or "",
        "first_name": contact.first_name,
        "last_name": contact.last_name,
        "city": contact.city,
        "country": contact.country,
        "language": language,
        "tags": list(contact.tags),
        "interests": list(contact.interests),
        "properties": {k: v for k, v in contact.properties.items() if k != "metadata"},
    }


def _shop(contact: Contact) -> dict[str, str]:
    return {"name": contact.installation.saleor_domain or "our shop"}
