from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from saleor_journeys.saleor import keys
from saleor_journeys.saleor.models import Installation
from tests.fixtures import deliveries
from tests.fixtures.saleor_server import FakeSaleor
from tests.fixtures.signing import SigningKey, jwks
from tests.fixtures.smtp import smtp  # noqa: F401 - an SMTP server on loopback, for any test


@pytest.fixture(scope="session")
def signing_key() -> SigningKey:
    return SigningKey()


@pytest.fixture
def saleor(signing_key: SigningKey) -> Iterator[FakeSaleor]:
    with FakeSaleor() as server:
        server.jwks = jwks(signing_key)
        yield server


def make_installation(api_url: str, keyset: dict[str, Any], **fields: Any) -> Installation:
    return Installation.objects.create(
        saleor_api_url=api_url,
        saleor_domain=api_url.split("/")[2],
        saleor_app_id="QXBwOjI=",
        auth_token="app-token-not-for-your-eyes",
        jwks=keyset,
        jwks_fetched_at=timezone.now() - timedelta(hours=1),
        **fields,
    )


@pytest.fixture
def installation(db: None, saleor: FakeSaleor) -> Installation:
    return make_installation(saleor.api_url, saleor.jwks)


@pytest.fixture
def recorded_installation(db: None) -> Installation:
    """The Saleor the fixtures were recorded from, with the JWKS that signed them."""
    return make_installation(deliveries.RECORDED_API_URL, deliveries.recorded_jwks())


Send = Callable[..., Any]


@pytest.fixture
def send_webhook(client: Client, django_capture_on_commit_callbacks: Any) -> Send:
    """POST a body to the webhook endpoint like Saleor does; tasks run when it commits."""

    def send(
        body: bytes,
        *,
        event: str,
        api_url: str,
        signature: str | None,
        group: str = "checkout",
        **extra_headers: str,
    ) -> Any:
        headers = {"Saleor-Event": event, "Saleor-Api-Url": api_url, **extra_headers}
        if signature is not None:
            headers["Saleor-Signature"] = signature
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(
                f"/api/webhooks/{group}",
                data=body,
                content_type="application/json",
                headers=headers,
            )

    return send


@pytest.fixture
def send_recorded(send_webhook: Send) -> Callable[[dict[str, Any]], Any]:
    """Send a recorded delivery exactly as Saleor sent it: same headers, same bytes."""

    def send(delivery: dict[str, Any]) -> Any:
        headers = delivery["headers"]
        return send_webhook(
            delivery["body"].encode("utf-8"),
            event=headers["Saleor-Event"],
            api_url=headers["Saleor-Api-Url"],
            signature=headers["Saleor-Signature"],
        )

    return send


@pytest.fixture
def send_signed(send_webhook: Send, signing_key: SigningKey, installation: Installation) -> Send:
    """Sign a body with the test key and send it for ``installation``."""

    def send(body: bytes, *, event: str, **kwargs: Any) -> Any:
        kwargs.setdefault("api_url", installation.saleor_api_url)
        kwargs.setdefault("signature", signing_key.sign(body))
        return send_webhook(body, event=event, **kwargs)

    return send


@pytest.fixture(autouse=True)
def _forget_cached_installations() -> Iterator[None]:
    """Each test has its own installations; none may be served from an earlier test's cache."""
    keys.clear()
    yield
    keys.clear()
