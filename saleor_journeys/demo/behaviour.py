"""Each customer's month at the pet shop, drawn from a seeded random generator.

A story is a list of acts at virtual times: what Saleor reports (webhook bodies), what the
storefront's ``journeys.js`` reports (page views), a click on a link in one of the emails the
customer got, and the newsletter and SMS boxes ticked at sign-up. Nothing here touches the
app; ``run`` plays the acts through its real endpoints.

The kinds of customer, in the proportions of a small shop:

- **quick buyers** fill a cart and pay within the hour (never an abandoned cart); some come
  back days later and look at what they bought, which must never bring a discount popup;
- **abandoners** leave a cart; some of them come back after the reminder and buy it;
- **browsers** open a link from an email (which ties their browser to their card), keep
  looking at one product, get the popup offer, and some buy it;
- the rest sign up and only read their email.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from saleor_journeys.demo import payloads
from saleor_journeys.demo.shop import Customer, Product, products_for

DAYS = 30


@dataclass(order=True)
class Act:
    at: datetime
    order: int
    customer: Customer = field(compare=False)
    kind: str = field(compare=False)  # webhook, subscribe, view, click
    event: str = field(default="", compare=False)  # webhook: the Saleor event
    group: str = field(default="", compare=False)  # webhook: customer, checkout or order
    body: dict[str, Any] | None = field(default=None, compare=False)
    product: Product | None = field(default=None, compare=False)  # view
    channel: str = field(default="", compare=False)  # subscribe


@dataclass
class Story:
    customer: Customer
    persona: str
    acts: list[Act] = field(default_factory=list)


class _Writer:
    def __init__(self, customer: Customer, rng: random.Random, seed: int) -> None:
        self.customer, self.rng, self.seed = customer, rng, seed
        self.acts: list[Act] = []
        self.carts = 0
        self.orders = 0

    def add(self, at: datetime, kind: str, **fields: Any) -> None:
        self.acts.append(Act(at, 0, self.customer, kind, **fields))

    def webhook(self, at: datetime, event: str, group: str, body: dict[str, Any]) -> None:
        self.add(at, "webhook", event=event, group=group, body=body)

    def views(self, at: datetime, product: Product, count: int, gap: tuple[int, int]) -> datetime:
        for _ in range(count):
            self.add(at, "view", product=product)
            at += timedelta(minutes=self.rng.randint(*gap))
        return at

    def cart(self, at: datetime, lines: list[tuple[Product, int]]) -> tuple[str, datetime]:
        """A look at the product, then a checkout created with the first line and updated with
        all lines and the address. The checkout carries the browser's visitor id in its metadata
        (``journeys_visitor_id``), which ties the browser to the customer's card."""
        self.add(at - timedelta(minutes=self.rng.randint(2, 6)), "view", product=lines[0][0])
        self.carts += 1
        token = str(
            uuid.uuid5(uuid.NAMESPACE_URL, f"demo:{self.seed}:{self.customer.number}:{self.carts}")
        )
        c = self.customer
        self.webhook(
            at,
            "checkout_created",
            "checkout",
            payloads.checkout("CheckoutCreated", c, token, lines[:1], created=at, at=at),
        )
        updated = at + timedelta(minutes=self.rng.randint(2, 9))
        self.webhook(
            updated,
            "checkout_updated",
            "checkout",
            payloads.checkout("CheckoutUpdated", c, token, lines, created=at, at=updated),
        )
        return token, updated

    def buy(
        self, at: datetime, token: str, lines: list[tuple[Product, int]], *, refund: bool
    ) -> None:
        """The order of a checkout: created, paid, fulfilled a day or two later; maybe refunded."""
        self.orders += 1
        c, number = self.customer, 1000 + self.customer.number * 10 + self.orders
        common: dict[str, Any] = {"created": at}
        self.webhook(
            at,
            "order_created",
            "order",
            payloads.order("OrderCreated", c, number, token, lines, at=at, paid=False, **common),
        )
        paid = at + timedelta(minutes=1)
        self.webhook(
            paid,
            "order_fully_paid",
            "order",
            payloads.order("OrderFullyPaid", c, number, token, lines, at=paid, paid=True, **common),
        )
        shipped = paid + timedelta(hours=self.rng.randint(18, 40))
        self.webhook(
            shipped,
            "order_fulfilled",
            "order",
            payloads.order(
                "OrderFulfilled",
                c,
                number,
                token,
                lines,
                at=shipped,
                paid=True,
                fulfilled=True,
                **common,
            ),
        )
        if refund:
            back = shipped + timedelta(days=self.rng.randint(3, 6))
            total = sum((p.price * q for p, q in lines), Decimal(0))
            self.webhook(
                back,
                "order_fully_refunded",
                "order",
                payloads.order(
                    "OrderFullyRefunded",
                    c,
                    number,
                    token,
                    lines,
                    at=back,
                    paid=True,
                    fulfilled=True,
                    refunded=total,
                    **common,
                ),
            )


def _daytime(rng: random.Random, day: datetime) -> datetime:
    return day.replace(
        hour=rng.randint(8, 20), minute=rng.randint(0, 59), second=rng.randint(0, 59)
    )


def story(customer: Customer, rng: random.Random, start: datetime, seed: int) -> Story:
    w = _Writer(customer, rng, seed)
    aisle = products_for(customer.pet)
    signup = _daytime(rng, start + timedelta(days=rng.randint(0, 17)))

    # Before signing up, some look around anonymously (kept a few hours, then dropped unless
    # they are identified within the window).
    if rng.random() < 0.4:
        w.views(signup - timedelta(minutes=rng.randint(20, 90)), rng.choice(aisle), 2, (2, 6))

    w.webhook(signup, "customer_created", "customer", payloads.customer_created(customer, signup))
    if customer.email_consent:
        w.add(signup + timedelta(minutes=1), "subscribe", channel="email")
    if customer.sms_consent:
        w.add(signup + timedelta(minutes=1), "subscribe", channel="sms")

    draw = rng.random()
    persona = "reader"
    if draw < 0.30:
        persona = "quick-buyer"
        at = _daytime(rng, signup + timedelta(days=rng.randint(1, 6)))
        lines = [(p, rng.randint(1, 2)) for p in rng.sample(aisle, rng.randint(1, 3))]
        token, updated = w.cart(at, lines)
        w.buy(
            updated + timedelta(minutes=rng.randint(15, 100)),
            token,
            lines,
            refund=rng.random() < 0.15,
        )
        if rng.random() < 0.5:
            # Back a few days later, looking at what they bought: no popup may offer it.
            later = _daytime(rng, updated + timedelta(days=rng.randint(3, 7)))
            w.views(later, lines[0][0], 3, (3, 8))
    elif draw < 0.65:
        persona = "abandoner"
        at = _daytime(rng, signup + timedelta(days=rng.randint(0, 8)))
        lines = [(p, 1) for p in rng.sample(aisle, rng.randint(1, 2))]
        token, updated = w.cart(at, lines)
        if rng.random() < 0.4:
            persona = "abandoner-who-came-back"
            w.buy(
                _daytime(rng, updated + timedelta(days=rng.randint(1, 3))),
                token,
                lines,
                refund=False,
            )
    elif draw < 0.85:
        persona = "browser"
        # Reads the welcome email a day or so later and opens its link; then keeps coming
        # back to one product.
        clicked = signup + timedelta(hours=rng.randint(20, 40))
        w.add(clicked, "click")
        favourite = rng.choice(aisle)
        at = w.views(clicked + timedelta(minutes=3), favourite, 3, (4, 12))
        at = w.views(at + timedelta(minutes=rng.randint(5, 20)), favourite, 1, (1, 2))
        if rng.random() < 0.45:
            persona = "browser-who-bought"
            bought = _daytime(rng, at + timedelta(days=rng.randint(1, 2)))
            token, updated = w.cart(bought, [(favourite, 1)])
            w.buy(
                updated + timedelta(minutes=rng.randint(5, 30)),
                token,
                [(favourite, 1)],
                refund=False,
            )
    return Story(customer, persona, w.acts)


def plan(customers: list[Customer], seed: int, start: datetime) -> tuple[list[Story], list[Act]]:
    """Every story, and all their acts in time order (ties in the order they were written)."""
    # One generator per customer: a customer's story does not change with the number of others.
    rngs = {c.number: random.Random(f"{seed}:{c.number}") for c in customers}  # noqa: S311
    stories = [story(c, rngs[c.number], start, seed) for c in customers]
    end = start + timedelta(days=DAYS)
    acts = [a for s in stories for a in s.acts if a.at < end]
    for number, act in enumerate(acts):
        act.order = number
    return stories, sorted(acts)
