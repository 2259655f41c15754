"""The webhook endpoint: who may deliver, what is refused, and that nothing refused is stored."""

from __future__ import annotations

import json
import logging
import threading
from typing import Any

import psycopg
import pytest
from django.db import connection

from saleor_journeys.contacts.models import Contact
from saleor_journeys.events.models import Event
from saleor_journeys.saleor.models import DeliveryStatus, Installation, WebhookDelivery
from tests.conftest import Send, make_installation
from tests.fixtures import deliveries
from tests.fixtures.saleor_server import FakeSaleor
from tests.fixtures.signing import SigningKey, jwks


def _checkout_body(**changes: Any) -> bytes:
    body = deliveries.payload("checkout_updated")
    body["checkout"].update(changes)
    return deliveries.encode(body)


def assert_nothing_stored() -> None:
    assert WebhookDelivery.objects.count() == 0
    assert Event.objects.count() == 0
    assert Contact.objects.count() == 0


def test_signed_delivery_is_stored_processed_and_answered_200(send_signed: Send) -> None:
    response = send_signed(_checkout_body(), event="checkout_updated")

    assert response.status_code == 200
    assert response.json()["accepted"] is True
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.PROCESSED
    assert Event.objects.get().type == "checkout_updated"
    assert Contact.objects.get().email == "greta.g@example.org"


def test_legacy_signature_header_is_accepted(
    send_webhook: Send, installation: Installation, signing_key: SigningKey
) -> None:
    body = _checkout_body()

    response = send_webhook(
        body,
        event="checkout_updated",
        api_url=installation.saleor_api_url,
        signature=None,
        **{"X-Saleor-Signature": signing_key.sign(body)},
    )

    assert response.status_code == 200


def test_body_changed_by_one_byte_is_401(send_signed: Send, signing_key: SigningKey) -> None:
    body = _checkout_body()
    signature = signing_key.sign(body)
    tampered = body.replace(b'"quantity": 3', b'"quantity": 4')
    assert len(tampered) == len(body) and tampered != body

    response = send_signed(tampered, event="checkout_updated", signature=signature)

    assert response.status_code == 401
    assert "invalid signature" in response.json()["error"]
    assert_nothing_stored()


def test_signature_by_another_key_under_the_genuine_kid_is_401(
    send_signed: Send, signing_key: SigningKey
) -> None:
    body = _checkout_body()
    forged_signature = SigningKey().sign(body).partition("..")[2]
    # The genuine key id in the header: the check must use the key, not trust the kid.
    genuine_header = signing_key.sign(body).partition("..")[0]

    response = send_signed(
        body, event="checkout_updated", signature=f"{genuine_header}..{forged_signature}"
    )

    assert response.status_code == 401
    assert_nothing_stored()


def test_unsigned_delivery_is_401(send_signed: Send) -> None:
    response = send_signed(_checkout_body(), event="checkout_updated", signature=None)

    assert response.status_code == 401
    assert response.json()["error"] == "the request is not signed"
    assert_nothing_stored()


def test_garbage_signature_is_401(send_signed: Send) -> None:
    response = send_signed(_checkout_body(), event="checkout_updated", signature="not-a-jws")

    assert response.status_code == 401
    assert_nothing_stored()


def test_instance_that_never_installed_the_app_is_401(
    send_signed: Send, installation: Installation
) -> None:
    response = send_signed(
        _checkout_body(), event="checkout_updated", api_url="http://other-saleor:8000/graphql/"
    )

    assert response.status_code == 401
    assert "has not installed this app" in response.json()["error"]
    assert_nothing_stored()


def test_deactivated_installation_is_401(send_signed: Send, installation: Installation) -> None:
    Installation.objects.filter(pk=installation.pk).update(is_active=False)

    response = send_signed(_checkout_body(), event="checkout_updated")

    assert response.status_code == 401
    assert_nothing_stored()


def test_rotated_key_refetches_the_jwks_once_and_is_accepted(
    send_signed: Send, saleor: FakeSaleor, signing_key: SigningKey, installation: Installation
) -> None:
    rotated = SigningKey()
    saleor.jwks = jwks(rotated)
    body = _checkout_body()

    response = send_signed(body, event="checkout_updated", signature=rotated.sign(body))

    assert response.status_code == 200
    assert saleor.jwks_requests == 1
    installation.refresh_from_db()
    assert [k["kid"] for k in installation.jwks["keys"]] == [rotated.kid]
    # The old key is gone from the installation: its signatures no longer pass.
    old = _checkout_body(quantity=9)
    assert send_signed(old, event="checkout_updated").status_code == 401


def test_unknown_kid_refetch_is_rate_limited(
    send_signed: Send, saleor: FakeSaleor, installation: Installation
) -> None:
    stranger = SigningKey()

    answers = [
        send_signed(body, event="checkout_updated", signature=stranger.sign(body)).status_code
        for body in (_checkout_body(quantity=n) for n in range(5))
    ]

    assert answers == [401] * 5
    assert saleor.jwks_requests == 1
    assert_nothing_stored()


def test_unreachable_jwks_on_unknown_kid_is_401_and_keeps_the_known_keys(
    send_signed: Send, saleor: FakeSaleor, signing_key: SigningKey, installation: Installation
) -> None:
    saleor.jwks_status = 500
    stranger = SigningKey()
    body = _checkout_body()

    response = send_signed(body, event="checkout_updated", signature=stranger.sign(body))

    assert response.status_code == 401
    assert saleor.jwks_requests == 1
    installation.refresh_from_db()
    assert installation.jwks == jwks(signing_key)
    assert send_signed(_checkout_body(quantity=5), event="checkout_updated").status_code == 200


def test_replayed_delivery_is_stored_once(send_signed: Send, signing_key: SigningKey) -> None:
    body = _checkout_body()
    signature = signing_key.sign(body)

    first = send_signed(body, event="checkout_updated", signature=signature)
    answers = [send_signed(body, event="checkout_updated", signature=signature) for _ in range(5)]

    assert first.json()["duplicate"] is False
    assert all(a.status_code == 200 and a.json()["duplicate"] is True for a in answers)
    assert WebhookDelivery.objects.count() == 1
    assert Event.objects.count() == 1


def test_malformed_json_is_400(send_signed: Send) -> None:
    response = send_signed(b'{"__typename": "CheckoutUpdated", ', event="checkout_updated")

    assert response.status_code == 400
    assert "malformed JSON" in response.json()["error"]
    assert_nothing_stored()


def test_payload_that_does_not_match_the_event_is_400(send_signed: Send) -> None:
    body = deliveries.payload("checkout_updated")
    del body["checkout"]

    response = send_signed(deliveries.encode(body), event="checkout_updated")

    assert response.status_code == 400
    assert "checkout: Field required" in response.json()["error"]
    assert_nothing_stored()


def test_payload_of_another_event_type_is_400(send_signed: Send) -> None:
    body = deliveries.recorded("order_created")["body"].encode()

    response = send_signed(body, event="checkout_updated")

    assert response.status_code == 400
    assert "'OrderCreated'" in response.json()["error"]
    assert_nothing_stored()


def test_payload_with_graphql_errors_and_no_user_is_400(send_signed: Send) -> None:
    body = deliveries.payload("customer_deleted")
    body["user"] = None
    body["errors"] = [{"message": "You need one of the following permissions"}]

    response = send_signed(deliveries.encode(body), event="customer_deleted", group="customer")

    assert response.status_code == 400
    assert_nothing_stored()


def test_body_over_the_size_limit_is_413(send_signed: Send, settings: Any) -> None:
    settings.SALEOR_JOURNEYS = {**settings.SALEOR_JOURNEYS, "WEBHOOK_MAX_BODY_BYTES": 4096}
    body = _checkout_body(metadata=[{"key": "padding", "value": "x" * 5000}])

    response = send_signed(body, event="checkout_updated")

    assert response.status_code == 413
    assert_nothing_stored()


def test_unknown_event_is_400(send_signed: Send) -> None:
    body = deliveries.recorded("product_updated")["body"].encode()

    response = send_signed(body, event="product_updated")

    assert response.status_code == 400
    assert response.json()["error"] == "unknown event 'product_updated'"
    assert_nothing_stored()


def test_unknown_webhook_path_is_404(send_signed: Send) -> None:
    response = send_signed(_checkout_body(), event="checkout_updated", group="catalogue")

    assert response.status_code == 404
    assert_nothing_stored()


def test_get_is_not_allowed(client: Any, installation: Installation) -> None:
    assert client.get("/api/webhooks/checkout").status_code == 405


def test_refusals_are_logged_with_their_reason(
    send_signed: Send, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="saleor_journeys"):
        send_signed(b"{nope", event="checkout_updated")

    assert any("refused with 400" in r.getMessage() for r in caplog.records)


@pytest.mark.django_db(transaction=True)
def test_database_lock_answers_503_so_saleor_retries(
    send_signed: Send, installation: Installation
) -> None:
    """A write that cannot get its lock in time answers 503 (Saleor retries 5xx, not 4xx)."""
    table = WebhookDelivery._meta.db_table
    dsn = connection.settings_dict
    locked = threading.Event()
    release = threading.Event()

    def hold_lock() -> None:
        with (
            psycopg.connect(
                host=dsn["HOST"] or "127.0.0.1",
                port=dsn["PORT"] or 5432,
                user=dsn["USER"],
                dbname=dsn["NAME"],
            ) as other,
            other.transaction(),
        ):
            other.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
            locked.set()
            release.wait(10)

    holder = threading.Thread(target=hold_lock)
    holder.start()
    try:
        assert locked.wait(5)
        response = send_signed(_checkout_body(), event="checkout_updated")
    finally:
        release.set()
        holder.join()

    assert response.status_code == 503
    assert "database unavailable" in response.json()["error"]
    assert WebhookDelivery.objects.count() == 0
    # Saleor's retry of the same bytes then goes through.
    assert send_signed(_checkout_body(), event="checkout_updated").status_code == 200
    assert WebhookDelivery.objects.count() == 1


def test_second_installation_does_not_see_the_first_ones_data(
    send_signed: Send, installation: Installation
) -> None:
    other_key = SigningKey()
    other = make_installation("http://second-shop:8000/graphql/", jwks(other_key))
    body = _checkout_body()

    send_signed(body, event="checkout_updated")
    # The same bytes from another shop are that shop's own delivery, not a duplicate.
    response = send_signed(
        body, event="checkout_updated", api_url=other.saleor_api_url, signature=other_key.sign(body)
    )

    assert response.json()["duplicate"] is False
    assert Contact.objects.filter(installation=installation).count() == 1
    assert Contact.objects.filter(installation=other).count() == 1
    first, second = (Contact.objects.get(installation=i) for i in (installation, other))
    assert first.pk != second.pk
    assert list(first.events.values_list("installation", flat=True)) == [installation.pk]
    # A key of one shop does not sign for the other.
    forged = send_signed(
        _checkout_body(quantity=7),
        event="checkout_updated",
        api_url=other.saleor_api_url,
    )
    assert forged.status_code == 401


def test_body_is_stored_byte_for_byte(send_signed: Send) -> None:
    body = _checkout_body(email="zoe.m\u00fcller@example.org")
    assert b"\\u00fc" in body

    send_signed(body, event="checkout_updated")

    assert WebhookDelivery.objects.get().body.encode() == body
    assert json.loads(WebhookDelivery.objects.get().body)["checkout"]["email"].startswith("zoe.m")


def test_keys_stored_by_another_process_are_used_without_asking_saleor(
    send_signed: Send, saleor: FakeSaleor, installation: Installation
) -> None:
    assert send_signed(_checkout_body(quantity=1), event="checkout_updated").status_code == 200
    rotated = SigningKey()
    # A re-install handled by another web process stored new keys; this one has the old cached.
    Installation.objects.filter(pk=installation.pk).update(jwks=jwks(rotated))
    body = _checkout_body(quantity=2)

    response = send_signed(body, event="checkout_updated", signature=rotated.sign(body))

    assert response.status_code == 200
    assert saleor.jwks_requests == 0


def test_deactivation_applies_once_the_cached_installation_expires(
    send_signed: Send, installation: Installation, settings: Any
) -> None:
    settings.SALEOR_JOURNEYS = {**settings.SALEOR_JOURNEYS, "INSTALLATION_CACHE_SECONDS": 0}
    assert send_signed(_checkout_body(quantity=1), event="checkout_updated").status_code == 200
    Installation.objects.filter(pk=installation.pk).update(is_active=False)

    response = send_signed(_checkout_body(quantity=2), event="checkout_updated")

    assert response.status_code == 401
    assert WebhookDelivery.objects.count() == 1


def test_api_url_is_matched_whatever_the_case_of_scheme_and_host(
    send_signed: Send, installation: Installation
) -> None:
    shouted = installation.saleor_api_url.replace("http://127.0.0.1", "HTTP://127.0.0.1")

    response = send_signed(_checkout_body(), event="checkout_updated", api_url=shouted)

    assert response.status_code == 200


def test_signature_with_non_ascii_characters_is_401(
    send_webhook: Send, signing_key: SigningKey, installation: Installation
) -> None:
    body = _checkout_body()
    header, _, sig = signing_key.sign(body).partition("..")

    response = send_webhook(
        body,
        event="checkout_updated",
        api_url=installation.saleor_api_url,
        signature=f"{header}\u00e9\u00e9..{sig}",  # dropped by a lax base64 decoder
    )

    assert response.status_code == 401
    assert_nothing_stored()
