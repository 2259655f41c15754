"""Each customer's month at the pet shop, drawn from a seeded random generator.

A story is a list of acts at virtual times: what Saleor reports (webhook bodies), what the
storefront's ``journeys.js`` reports (page views), a click on a link in one of the emails the
customer got (maybe followed by the answer to the storefront form it leads to), and the
newsletter and SMS boxes ticked at sign-up. Nothing here touches the app; ``run`` plays the
acts through its real endpoints.

The kinds of customer, in the proportions of a small shop:

- **quick buyers** fill a cart and pay within the hour (never an abandoned cart); some come
  back days later and look at what they bought, which must never bring a discount popup;
  **repeat buyers** are quick buyers who order again a week or so later;
- **abandoners** leave a cart; some of them come back after the reminder and buy it, some
  answer the reminder's "why not?" form (they no longer want it, and say why);
- **browsers** open a link from an email (which ties their browser to their card), keep
  looking at one product, get the popup offer, and some buy it;
- the rest sign up and only read their email.

Whatever their kind, some answer the welcome email's interests form (their pet, what they are
interested in, maybe a phone number) within a day or two; the others get its reminder. The
answers are drawn from a generator of their own, so the rest of a customer's month is the same
whether they answer or not.
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
    # click: the ``LINKS`` name of the link to open ("" for any storefront link of the latest
    # emails) and, when the page it opens is a form the customer answers, the form's name and
    # its fields as ``journeys.js`` sends them.
    link: str = field(default="", compare=False)
    form: str = field(default="", compare=False)
    fields: dict[str, Any] = field(default_factory=dict, compare=False)


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

    def cart(
        self, at: datetime, lines: list[tuple[Product, int]], *, look: bool = True
    ) -> tuple[str, datetime]:
        """A look at the product (unless ``look`` is false: a "buy it again" from the order
        history), then a checkout created with the first line and updated with all lines and
        the address. The checkout carries the browser's visitor id in its metadata
        (``journeys_visitor_id``), which ties the browser to the customer's card."""
        if look:
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


INTERESTS = ("food", "accessories", "care")
REASONS = (  # the cart form's reasons, and how often they are given
    ("too_expensive", 5),
    ("found_it_elsewhere", 2),
    ("shipping_costs", 2),
    ("just_looking", 1),
)


def welcome_answers(customer: Customer, answers: random.Random) -> dict[str, Any]:
    """The interests form as ``journeys.js`` reads it: the ``pet`` radio button, one checkbox
    per interest (a checked box without a value is ``true``; unchecked ones are not sent) and
    the phone number when one is typed in."""
    fields: dict[str, Any] = {"pet": customer.pet.slug}
    for interest in sorted(answers.sample(INTERESTS, answers.randint(1, 2)), key=INTERESTS.index):
        fields[f"interest_{interest}"] = True
    phone = customer.phone
    if phone is None and answers.random() < 0.5:
        phone = (
            f"+3462{answers.randrange(1000000, 9999999)}"
            if customer.language == "es"
            else f"+1737555{answers.randrange(1000, 9999)}"
        )
    if phone is not None:
        fields["phone"] = phone
    return fields


def cart_answers(answers: random.Random) -> dict[str, Any]:
    """The cart form: "I no longer want it" and the reason picked."""
    reasons = [reason for reason, _ in REASONS]
    weights = [weight for _, weight in REASONS]
    return {"answer": "no_longer_want_it", "reason": answers.choices(reasons, weights)[0]}


def _awake(rng: random.Random, earliest: datetime, days: int) -> datetime:
    """A waking hour on one of the ``days`` days after ``earliest``'s day, not before it."""
    at = _daytime(rng, earliest + timedelta(days=rng.randint(0, days)))
    return max(at, earliest + timedelta(minutes=rng.randint(5, 50)))


def story(
    customer: Customer,
    rng: random.Random,
    start: datetime,
    seed: int,
    answers: random.Random | None = None,
) -> Story:
    """A customer's month. ``rng`` draws what they do; ``answers`` whether and what they
    answer in the storefront's forms (and whether a quick buyer comes back for more), so
    those draws leave the rest of the story as it is."""
    w = _Writer(customer, rng, seed)
    answers = answers or random.Random(f"{seed}:{customer.number}:answers")  # noqa: S311
    aisle = products_for(customer.pet)
    signup = _daytime(rng, start + timedelta(days=rng.randint(0, 17)))
    # The welcome email's interests form: browsers open the email's link anyway and answer it
    # more often than not; of the others, a few open it just to answer.
    answers_welcome = answers.random()
    welcome = welcome_answers(customer, answers)
    repeat = answers.random() < 0.3

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
        paid = updated + timedelta(minutes=rng.randint(15, 100))
        w.buy(paid, token, lines, refund=rng.random() < 0.15)
        if rng.random() < 0.5:
            # Back a few days later, looking at what they bought: no popup may offer it.
            later = _daytime(rng, updated + timedelta(days=rng.randint(3, 7)))
            w.views(later, lines[0][0], 3, (3, 8))
        if repeat:
            # Orders again a week or so later, "buy it again" from their order history, while
            # the post-purchase journey of the first order still runs.
            persona = "repeat-buyer"
            again = _daytime(answers, paid + timedelta(days=answers.randint(5, 11)))
            more = [(answers.choice(lines)[0], 1)]
            token, updated = w.cart(again, more, look=False)
            w.buy(updated + timedelta(minutes=answers.randint(10, 40)), token, more, refund=False)
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
        elif answers.random() < 0.5:
            # Reads the reminder (sent two hours after the cart was left) within a day and
            # tells the shop why not, through the form its feedback link opens.
            persona = "abandoner-who-answered"
            w.add(
                _awake(answers, updated + timedelta(hours=4), days=1),
                "click",
                link="feedback",
                form="cart-feedback",
                fields=cart_answers(answers),
            )
    elif draw < 0.85:
        persona = "browser"
        # Reads the welcome email a day or so later and opens its link (the interests form,
        # which most of them answer); then keeps coming back to one product.
        clicked = signup + timedelta(hours=rng.randint(20, 40))
        if answers_welcome < 0.6:
            w.add(clicked, "click", link="form", form="welcome-interests", fields=welcome)
            answers_welcome = 1.0  # answered
        else:
            w.add(clicked, "click", link="form")
        favourite = rng.choice(aisle)
        at = w.views(clicked + timedelta(minutes=3), favourite, 3, (4, 12))
        at = w.views(at + timedelta(minutes=rng.randint(5, 20)), favourite, 1, (1, 2))
        if rng.random() < 0.45:
            persona = "browser-who-bought"
            bought = _daytime(rng, at + timedelta(days=rng.randint(1, 2)))
            if answers.random() < 0.5:
                # Takes the popup's offer the same day, while the web-activity journey still
                # waits to send its reminder.
                bought = at + timedelta(hours=answers.randint(2, 8))
            token, updated = w.cart(bought, [(favourite, 1)])
            w.buy(
                updated + timedelta(minutes=rng.randint(5, 30)),
                token,
                [(favourite, 1)],
                refund=False,
            )
    if answers_welcome < 0.1:
        # Opens the welcome email just to answer its form, before the 3-day reminder.
        w.add(
            _awake(answers, signup + timedelta(hours=2), days=2),
            "click",
            link="form",
            form="welcome-interests",
            fields=welcome,
        )
    return Story(customer, persona, w.acts)


def plan(customers: list[Customer], seed: int, start: datetime) -> tuple[list[Story], list[Act]]:
    """Every story, and all their acts in time order (ties in the order they were written)."""
    # One generator per customer: a customer's story does not change with the number of others.
    rngs = {c.number: random.Random(f"{seed}:{c.number}") for c in customers}  # noqa: S311
    answers = {c.number: random.Random(f"{seed}:{c.number}:answers") for c in customers}  # noqa: S311
    stories = [story(c, rngs[c.number], start, seed, answers[c.number]) for c in customers]
    end = start + timedelta(days=DAYS)
    acts = [a for s in stories for a in s.acts if a.at < end]
    for number, act in enumerate(acts):
        act.order = number
    return stories, sorted(acts)
