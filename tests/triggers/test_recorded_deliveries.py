"""Real deliveries recorded from Saleor 3.24, sent byte for byte with their real signatures."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from saleor_journeys.commerce.models import Checkout, Order
from saleor_journeys.contacts.models import Contact
from saleor_journeys.events.models import Event
from saleor_journeys.saleor import keys
from saleor_journeys.saleor.models import DeliveryStatus, Installation, WebhookDelivery
from saleor_journeys.triggers import registry
from tests.fixtures import deliveries

SendRecorded = Callable[[dict[str, Any]], Any]
ALL_RECORDED = sorted((deliveries.HERE / "deliveries").glob("*.json"))


@pytest.mark.parametrize("trigger", registry.triggers(), ids=lambda t: t.name)
def test_every_registered_event_is_taken_in_from_a_real_delivery(
    trigger: registry.SaleorTrigger[Any],
    recorded_installation: Installation,
    send_recorded: SendRecorded,
) -> None:
    response = send_recorded(deliveries.recorded(trigger.name))

    assert response.status_code == 200, response.content
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.PROCESSED, delivery.last_error
    event = Event.objects.get()
    assert event.type == trigger.name
    assert event.occurred_at == deliveries.recorded_issued_at(trigger.name)


def test_every_recorded_delivery_is_stored_or_refused_as_unknown(
    recorded_installation: Installation, send_recorded: SendRecorded
) -> None:
    statuses: dict[str, set[int]] = {}
    for path in ALL_RECORDED:
        delivery = json.loads(path.read_text())
        statuses.setdefault(delivery["event"], set()).add(send_recorded(delivery).status_code)

    registered = {t.name for t in registry.triggers()}
    assert {e for e, s in statuses.items() if s == {200}} == registered & set(statuses)
    assert {e for e, s in statuses.items() if s == {400}} == set(statuses) - registered
    assert not WebhookDelivery.objects.exclude(status=DeliveryStatus.PROCESSED).exists()


def test_guest_checkout_becomes_a_contact_with_a_completed_checkout_and_an_order(
    recorded_installation: Installation, send_recorded: SendRecorded
) -> None:
    for delivery in deliveries.scenario("guest_checkout_A_order_21"):
        send_recorded(delivery)

    contact = Contact.objects.get(email="greta.g@example.org")
    assert (contact.first_name, contact.last_name) == ("Greta", "Guest")
    assert (contact.country, contact.city, contact.phone) == ("US", "Michigan City", "+12025550123")
    checkout = Checkout.objects.get(installation=recorded_installation)
    assert checkout.is_completed
    assert checkout.contact == contact
    order = Order.objects.get(number="21")
    assert checkout.order == order
    assert order.contact == contact
    assert order.checkout_token == checkout.token
    assert order.status == "FULFILLED"
    assert order.is_paid
    assert order.total_refunded and order.total_refunded > 0
    line = order.lines.get(product_name="Monospace Tee")
    assert line.category_name == "T-shirts"
    assert line.image_url.startswith("http://127.0.0.1:8000/thumbnail/")
    types = list(contact.events.order_by("occurred_at").values_list("type", flat=True))
    assert {"checkout_updated", "checkout_fully_paid", "order_created", "order_refunded"} <= set(
        types
    )
    assert len(types) == Event.objects.filter(contact=contact).count()


def test_abandoned_checkout_stays_open_with_its_lines_and_email(
    recorded_installation: Installation, send_recorded: SendRecorded
) -> None:
    for delivery in deliveries.scenario("abandoned_checkout_C"):
        send_recorded(delivery)

    checkout = Checkout.objects.get()
    assert not checkout.is_completed
    assert checkout.email == "abandoner@example.org"
    assert checkout.contact and checkout.contact.email == "abandoner@example.org"
    assert checkout.lines.count() == 2
    assert checkout.total == sum(line.total_price for line in checkout.lines.all())
    assert checkout.currency == "USD"


def test_storefront_signup_fills_the_card_from_the_account(
    recorded_installation: Installation, send_recorded: SendRecorded
) -> None:
    for delivery in deliveries.scenario("storefront_signup_jane"):
        send_recorded(delivery)

    jane = Contact.objects.get(email="jane.doe@example.org")
    assert jane.saleor_user_id == "VXNlcjo0Ng=="
    assert jane.properties["is_confirmed"] is True
    assert jane.properties["metadata"]["signup_source"] == "storefront-footer"
    assert jane.language_code == "en-gb"  # changed by her last accountUpdate


def test_email_change_keeps_one_card_under_the_new_address(
    recorded_installation: Installation, send_recorded: SendRecorded
) -> None:
    for delivery in deliveries.scenario("email_change_max"):
        send_recorded(delivery)

    max_card = Contact.objects.get(saleor_user_id=deliveries.user_id_of("email_change_max"))
    assert Contact.objects.count() == 1
    assert max_card.email == deliveries.final_email_of("email_change_max")


def test_non_ascii_names_arrive_intact(
    recorded_installation: Installation, send_recorded: SendRecorded
) -> None:
    for delivery in deliveries.scenario("non_ascii_customer"):
        send_recorded(delivery)

    assert Contact.objects.get().full_name == "Zoë Müller-Łukasz"


def test_spanish_customer_keeps_language_and_city(
    recorded_installation: Installation, send_recorded: SendRecorded
) -> None:
    send_recorded(deliveries.recorded("customer_created_es"))

    maria = Contact.objects.get()
    assert maria.language_code == "es"
    assert (maria.country, maria.city) == ("ES", "Madrid")


def test_order_paid_before_order_created_ends_in_the_same_state(
    recorded_installation: Installation, send_recorded: SendRecorded
) -> None:
    """Order #22: Saleor issued and delivered ``order_paid`` before ``order_created``."""
    for delivery in deliveries.scenario("customer_checkout_B_order_22"):
        send_recorded(delivery)

    order = Order.objects.get(number="22")
    assert order.is_paid
    assert order.total_refunded == order.total
    assert Checkout.objects.get(order=order).is_completed


def _state(installation: Installation) -> dict[str, Any]:
    orders = {
        o.number: (o.status, o.is_paid, o.total, o.total_refunded, o.email, o.lines.count())
        for o in Order.objects.filter(installation=installation)
    }
    checkouts = {
        str(c.token): (c.is_completed, c.email, c.quantity, c.total, c.lines.count())
        for c in Checkout.objects.filter(installation=installation)
    }
    contacts = {
        c.email: (c.first_name, c.last_name, c.saleor_user_id, c.country, c.language_code)
        for c in Contact.objects.filter(installation=installation, erased_at=None)
    }
    return {"orders": orders, "checkouts": checkouts, "contacts": contacts}


def _replay(paths: list[Path], send_recorded: SendRecorded) -> None:
    for path in paths:
        send_recorded(json.loads(path.read_text()))


def test_reversed_arrival_order_ends_in_the_same_state(
    recorded_installation: Installation, send_recorded: SendRecorded
) -> None:
    """Whatever order deliveries arrive in, the mirrors end where Saleor ended."""
    _replay(ALL_RECORDED, send_recorded)
    in_order = _state(recorded_installation)
    Installation.objects.all().delete()
    keys.clear()
    again = deliveries_installation()

    _replay(list(reversed(ALL_RECORDED)), send_recorded)

    assert _state(again) == in_order
    assert in_order["orders"]["22"][1] is True


def test_late_checkout_update_never_reopens_a_completed_checkout(
    recorded_installation: Installation, send_recorded: SendRecorded
) -> None:
    scenario = deliveries.scenario("guest_checkout_A_order_21")
    order_created = next(d for d in scenario if d["event"] == "order_created")
    checkout_updates = [d for d in scenario if d["event"].startswith("checkout_")]

    send_recorded(order_created)
    for delivery in checkout_updates:
        send_recorded(delivery)

    checkout = Checkout.objects.get()
    assert checkout.is_completed
    assert checkout.order == Order.objects.get(number="21")
    late = Event.objects.filter(type__startswith="checkout_")
    assert late.count() == len(checkout_updates)
    assert all(late.values_list("superseded", flat=True))


def test_older_checkout_update_does_not_undo_a_newer_one(
    recorded_installation: Installation, send_recorded: SendRecorded
) -> None:
    first, second, third = deliveries.scenario("abandoned_checkout_C")

    send_recorded(third)
    send_recorded(second)
    send_recorded(first)

    checkout = Checkout.objects.get()
    assert checkout.email == "abandoner@example.org"
    assert checkout.lines.count() == 2
    assert Event.objects.filter(superseded=True).count() == 2


def test_order_without_user_links_by_email(
    recorded_installation: Installation, send_recorded: SendRecorded
) -> None:
    send_recorded(deliveries.recorded_by_seq(37))

    order = Order.objects.get()
    assert order.contact is not None
    assert order.contact.email == order.email


def test_event_amounts_are_decimals_in_the_mirror(
    recorded_installation: Installation, send_recorded: SendRecorded
) -> None:
    send_recorded(deliveries.recorded("order_created"))

    order = Order.objects.get()
    assert isinstance(order.total, Decimal)
    assert order.total == sum(line.total_price for line in order.lines.all())


def deliveries_installation() -> Installation:
    from tests.conftest import make_installation

    return make_installation(deliveries.RECORDED_API_URL, deliveries.recorded_jwks())
