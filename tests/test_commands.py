"""Operator commands: retrying failed deliveries, revoking keys, replay safety, email URLs."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command
from django.test import Client

from saleor_journeys.auth import api_keys
from saleor_journeys.auth.models import ApiKey
from saleor_journeys.events.models import Event
from saleor_journeys.project.environment import email_settings
from saleor_journeys.saleor.models import DeliveryStatus, Installation, WebhookDelivery
from tests.conftest import Send
from tests.fixtures import deliveries


def test_retrydeliveries_processes_failed_deliveries_again(
    installation: Installation, send_signed: Send, django_capture_on_commit_callbacks: object
) -> None:
    send_signed(deliveries.recorded("checkout_updated")["body"].encode(), event="checkout_updated")
    Event.objects.all().delete()
    WebhookDelivery.objects.update(status=DeliveryStatus.FAILED, attempts=8)
    out = StringIO()

    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        call_command("retrydeliveries", "--event", "checkout_updated", stdout=out)

    assert out.getvalue().strip() == "Queued 1 failed delivery."
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.PROCESSED, 1)
    assert Event.objects.count() == 1


def test_revokeapikey_stops_the_key_and_lists_keys(
    installation: Installation, client: Client
) -> None:
    row, key = api_keys.create(installation, "exporter")
    listing = StringIO()

    call_command("revokeapikey", row.prefix, stdout=StringIO())
    call_command("revokeapikey", stdout=listing)

    assert ApiKey.objects.get().revoked_at is not None
    assert f"{row.prefix}  revoked  exporter" in listing.getvalue()
    response = client.post(
        "/graphql/",
        data={"query": "{ contacts(first: 1) { edges { cursor } } }"},
        content_type="application/json",
        headers={"Authorization": f"Bearer {key}"},
    )
    assert response.status_code == 401
    with pytest.raises(CommandError, match="No active API key"):
        call_command("revokeapikey", row.prefix)


def test_replay_refuses_to_replace_the_keys_of_a_real_installation(
    recorded_installation: Installation,
) -> None:
    # recorded_installation holds an app token, as one registered by a real Saleor does.
    with pytest.raises(CommandError, match="has installed this app here"):
        call_command("replay", str(deliveries.HERE / "deliveries"), stdout=StringIO())

    assert WebhookDelivery.objects.count() == 0


def test_replay_without_a_jwks_is_a_clear_error(db: None, tmp_path: Path) -> None:
    (tmp_path / "001_checkout_updated.json").write_text(
        (deliveries.HERE / "checkout_updated.json").read_text()
    )

    with pytest.raises(CommandError, match=r"No jwks\.json"):
        call_command("replay", str(tmp_path), stdout=StringIO())


@pytest.mark.parametrize(
    ("url", "backend", "anymail"),
    [
        ("smtp://u:p@mail.example.com:587/?tls=True", "django.core.mail.backends.smtp", None),
        ("console://", "django.core.mail.backends.console", None),
        (
            "anymail+sendgrid://SG.key@/",
            "anymail.backends.sendgrid",
            {"SENDGRID_API_KEY": "SG.key"},
        ),
        (
            "anymail+mailgun://key-1@/?sender_domain=mg.example.com",
            "anymail.backends.mailgun",
            {"MAILGUN_API_KEY": "key-1", "MAILGUN_SENDER_DOMAIN": "mg.example.com"},
        ),
        ("anymail+amazon-ses://", "anymail.backends.amazon_ses", {}),
    ],
)
def test_email_url_selects_the_backend(url: str, backend: str, anymail: object) -> None:
    config = email_settings(url)

    assert config["EMAIL_BACKEND"].startswith(backend)
    assert config.get("ANYMAIL") == anymail
    if url.startswith("smtp"):
        assert (config["EMAIL_HOST"], config["EMAIL_PORT"], config["EMAIL_USE_TLS"]) == (
            "mail.example.com",
            587,
            True,
        )


def test_unknown_email_url_scheme_is_a_clear_error() -> None:
    with pytest.raises(ImproperlyConfigured, match="EMAIL_URL scheme 'carrier-pigeon'"):
        email_settings("carrier-pigeon://coop")


def test_app_page_may_be_framed_by_the_dashboard_and_nothing_else_may(client: Client) -> None:
    assert "X-Frame-Options" not in client.get("/app/").headers
