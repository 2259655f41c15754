"""``CUSTOMER_DELETED`` and ``ACCOUNT_DELETED`` erase the person's personal data."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from saleor_journeys.commerce.models import Checkout, Order
from saleor_journeys.contacts.models import Contact
from saleor_journeys.events.models import Event
from saleor_journeys.runtime import deliveries as runtime
from saleor_journeys.saleor import webhooks
from saleor_journeys.saleor.models import Installation, WebhookDelivery
from tests.conftest import Send
from tests.fixtures import deliveries
from tests.fixtures.signing import SigningKey

SendRecorded = Callable[[dict[str, Any]], Any]


def test_staff_deleting_a_customer_erases_the_card_and_the_raw_deliveries(
    recorded_installation: Installation, send_recorded: SendRecorded
) -> None:
    for delivery in deliveries.scenario("staff_deleted_customer"):
        send_recorded(delivery)

    contact = Contact.objects.get()
    assert contact.erased_at is not None
    assert contact.email is None
    assert (contact.first_name, contact.last_name, contact.phone, contact.city) == ("", "", "", "")
    assert contact.properties == {}
    assert all(event.data == {} for event in contact.events.all())
    assert contact.events.filter(type="customer_deleted").exists()
    stored = WebhookDelivery.objects.filter(event_type__startswith="customer_")
    assert stored.count() == 2
    assert all(d.erased and d.body == "" for d in stored)
    everything = "".join(WebhookDelivery.objects.values_list("body", flat=True))
    assert "churned.customer@example.org" not in everything
    assert "Churn" not in everything


def test_customer_deleting_their_own_account_is_erased_too(
    recorded_installation: Installation, send_recorded: SendRecorded
) -> None:
    for delivery in deliveries.scenario("self_deletion_gina"):
        send_recorded(delivery)

    assert not Contact.objects.filter(email="gone.soon@example.org").exists()
    assert Contact.objects.get().erased_at is not None


def test_checkouts_and_orders_lose_the_email_but_keep_the_amounts(
    installation: Installation, send_signed: Send
) -> None:
    for delivery in deliveries.scenario("customer_checkout_B_order_22"):
        group = delivery["event"].split("_")[0]
        send_signed(delivery["body"].encode(), event=delivery["event"], group=group)
    jane = Contact.objects.get(email="jane.doe@example.org")
    total = Order.objects.get(number="22").total
    deletion = deliveries.payload("customer_deleted")
    deletion["user"].update(id=jane.saleor_user_id, email="jane.doe@example.org")

    send_signed(deliveries.encode(deletion), event="customer_deleted", group="customer")

    jane.refresh_from_db()
    order = Order.objects.get(number="22")
    assert jane.erased_at is not None
    assert order.email is None and order.total == total and order.contact == jane
    assert Checkout.objects.get(order=order).email is None
    assert not Contact.objects.filter(email="jane.doe@example.org").exists()


def test_late_delivery_about_an_erased_person_does_not_bring_them_back(
    installation: Installation, send_signed: Send
) -> None:
    created = deliveries.payload("customer_created")
    deleted = deliveries.payload("customer_deleted")
    deleted["user"].update(id=created["user"]["id"], email=created["user"]["email"])
    deleted["issuedAt"] = "2030-01-01T00:00:00+00:00"
    late_checkout = deliveries.payload("checkout_updated")
    late_checkout["checkout"]["email"] = created["user"]["email"]

    send_signed(deliveries.encode(created), event="customer_created", group="customer")
    send_signed(deliveries.encode(deleted), event="customer_deleted", group="customer")
    # Saleor retries the creation and delivers an older checkout after the deletion.
    created["issuedAt"] = "2029-12-31T23:59:00+00:00"
    send_signed(deliveries.encode(created), event="customer_created", group="customer")
    response = send_signed(deliveries.encode(late_checkout), event="checkout_updated")

    assert response.status_code == 200
    assert not Contact.objects.filter(email=created["user"]["email"]).exists()
    assert Checkout.objects.get().email is None
    assert all(d.body == "" for d in WebhookDelivery.objects.exclude(event_type="checkout_updated"))
    late = WebhookDelivery.objects.get(event_type="checkout_updated")
    assert late.erased and late.body == ""


def test_someone_registering_again_after_erasure_gets_a_new_card(
    installation: Installation, send_signed: Send
) -> None:
    created = deliveries.payload("customer_created")
    deleted = deliveries.payload("customer_deleted")
    deleted["user"].update(id=created["user"]["id"], email=created["user"]["email"])
    deleted["issuedAt"] = "2030-01-01T00:00:00+00:00"
    again = deliveries.payload("customer_created")
    again["issuedAt"] = "2030-02-01T00:00:00+00:00"
    again["user"]["id"] = "VXNlcjo5OTk="

    for body, event in ((created, "customer_created"), (deleted, "customer_deleted")):
        send_signed(deliveries.encode(body), event=event, group="customer")
    send_signed(deliveries.encode(again), event="customer_created", group="customer")

    assert Contact.objects.filter(email=created["user"]["email"], erased_at=None).count() == 1
    assert Contact.objects.filter(erased_at__isnull=False).count() == 1


def test_erasure_blanks_failed_deliveries_that_name_the_person(
    installation: Installation, send_signed: Send
) -> None:
    created = deliveries.payload("customer_created")
    broken = deliveries.payload("checkout_updated")
    broken["checkout"]["email"] = created["user"]["email"].upper()
    send_signed(deliveries.encode(created), event="customer_created", group="customer")
    send_signed(deliveries.encode(broken), event="checkout_updated")
    failed = WebhookDelivery.objects.get(event_type="checkout_updated")
    Event.objects.filter(delivery=failed).delete()  # as if its processing had failed
    WebhookDelivery.objects.filter(pk=failed.pk).update(status="failed")
    deleted = deliveries.payload("customer_deleted")
    deleted["user"].update(id=created["user"]["id"], email=created["user"]["email"])
    deleted["issuedAt"] = "2030-01-01T00:00:00+00:00"

    send_signed(deliveries.encode(deleted), event="customer_deleted", group="customer")

    failed.refresh_from_db()
    assert failed.erased and failed.body == ""


def test_erasure_leaves_deliveries_of_a_longer_address_alone(
    installation: Installation, send_signed: Send
) -> None:
    created = deliveries.payload("customer_created")
    other = deliveries.payload("checkout_updated")
    other["checkout"]["email"] = "jo" + created["user"]["email"]
    send_signed(deliveries.encode(other), event="checkout_updated")
    deleted = deliveries.payload("customer_deleted")
    deleted["user"].update(id=created["user"]["id"], email=created["user"]["email"])

    send_signed(deliveries.encode(deleted), event="customer_deleted", group="customer")

    kept = WebhookDelivery.objects.get(event_type="checkout_updated")
    assert not kept.erased and kept.body
    assert Contact.objects.filter(email="jo" + created["user"]["email"]).exists()


def test_a_pending_delivery_erased_before_processing_is_done_without_errors(
    installation: Installation,
    send_signed: Send,
    signing_key: SigningKey,
    django_capture_on_commit_callbacks: Any,
) -> None:
    created = deliveries.payload("customer_created")
    body = deliveries.encode(created)
    with django_capture_on_commit_callbacks(execute=False):  # its task is still on its way
        receipt = webhooks.receive(
            api_url=installation.saleor_api_url,
            event="customer_created",
            signature=signing_key.sign(body),
            body=body,
        )
    pending = WebhookDelivery.objects.get(pk=receipt.delivery_id)
    deleted = deliveries.payload("customer_deleted")
    deleted["user"].update(id=created["user"]["id"], email=created["user"]["email"])
    send_signed(deliveries.encode(deleted), event="customer_deleted", group="customer")

    assert runtime.process(pending.pk) is False

    pending.refresh_from_db()
    assert (pending.status, pending.attempts, pending.last_error) == ("processed", 0, "")
    assert not Contact.objects.filter(email=created["user"]["email"]).exists()
