"""Registration: Saleor hands over the app token; the app checks it before storing anything."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from django.test import Client

from saleor_journeys.saleor.models import Installation
from tests.fixtures import deliveries
from tests.fixtures.saleor_server import FakeSaleor


def register(client: Client, saleor: FakeSaleor, token: str, **headers: str) -> Any:
    return client.post(
        "/api/register",
        data={"auth_token": token},
        content_type="application/json",
        headers={
            "Saleor-Api-Url": saleor.api_url,
            "Saleor-Domain": saleor.domain,
            "Saleor-Schema-Version": "3.24",
            **headers,
        },
    )


@pytest.fixture
def token(saleor: FakeSaleor) -> str:
    saleor.tokens["3EQTIBhB4NAUicIZSwphNvrAdDexOU"] = "QXBwOjI="
    return "3EQTIBhB4NAUicIZSwphNvrAdDexOU"


def test_registration_confirms_the_token_fetches_the_jwks_and_stores_the_installation(
    db: None, client: Client, saleor: FakeSaleor, token: str
) -> None:
    response = register(client, saleor, token)

    assert response.status_code == 200
    assert response.json() == {"success": True}
    installation = Installation.objects.get()
    assert installation.saleor_api_url == saleor.api_url
    assert installation.saleor_domain == saleor.domain
    assert installation.saleor_app_id == "QXBwOjI="
    assert installation.auth_token == token
    assert installation.jwks == saleor.jwks
    assert saleor.graphql_requests[0]["query"].strip().endswith("{ app { id } }")


def test_the_recorded_registration_request_is_accepted(
    db: None, client: Client, saleor: FakeSaleor
) -> None:
    recorded = deliveries.recorded("register")
    saleor.tokens["3EQTIBhB4NAUicIZSwphNvrAdDexOU"] = "QXBwOjI="
    headers = {k: v for k, v in recorded["headers"].items() if k.startswith(("Saleor", "X-"))}
    headers["Saleor-Api-Url"] = saleor.api_url  # the recorded Saleor is not running here

    response = client.post(
        "/api/register",
        data=recorded["body"],
        content_type="application/json",
        headers=headers,
    )

    assert response.status_code == 200
    assert Installation.objects.get().saleor_domain == "127.0.0.1:8000"


def test_reinstall_replaces_the_token_and_keeps_one_installation(
    db: None, client: Client, saleor: FakeSaleor, token: str
) -> None:
    register(client, saleor, token)
    saleor.tokens["new-token-after-reinstall-0000"] = "QXBwOjM="

    response = register(client, saleor, "new-token-after-reinstall-0000")

    assert response.status_code == 200
    installation = Installation.objects.get()
    assert installation.auth_token == "new-token-after-reinstall-0000"
    assert installation.saleor_app_id == "QXBwOjM="


def test_token_saleor_does_not_recognise_is_refused_and_nothing_stored(
    db: None, client: Client, saleor: FakeSaleor
) -> None:
    response = register(client, saleor, "forged-token")

    assert response.status_code == 400
    assert "Invalid token" in response.json()["error"]["message"]
    assert Installation.objects.count() == 0


def test_failed_reinstall_keeps_the_working_installation(
    db: None, client: Client, saleor: FakeSaleor, token: str
) -> None:
    register(client, saleor, token)

    assert register(client, saleor, "forged-token").status_code == 400

    assert Installation.objects.get().auth_token == token


def test_unreachable_saleor_is_refused_with_a_message(db: None, client: Client) -> None:
    response = client.post(
        "/api/register",
        data={"auth_token": "x"},
        content_type="application/json",
        headers={"Saleor-Api-Url": "http://127.0.0.1:9/graphql/"},
    )

    assert response.status_code == 400
    assert "cannot reach" in response.json()["error"]["message"]
    assert Installation.objects.count() == 0


def test_saleor_without_keys_is_refused(
    db: None, client: Client, saleor: FakeSaleor, token: str
) -> None:
    saleor.jwks = {"keys": []}

    response = register(client, saleor, token)

    assert response.status_code == 400
    assert "holds no keys" in response.json()["error"]["message"]
    assert Installation.objects.count() == 0


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"not json", "the body is not JSON"),
        (b'{"token": "x"}', "the body carries no auth_token"),
        (b'["auth_token"]', "the body carries no auth_token"),
    ],
)
def test_malformed_registration_is_400(
    db: None, client: Client, saleor: FakeSaleor, body: bytes, message: str
) -> None:
    response = client.post(
        "/api/register",
        data=body,
        content_type="application/json",
        headers={"Saleor-Api-Url": saleor.api_url},
    )

    assert response.status_code == 400
    assert response.json()["error"]["message"] == message
    assert saleor.graphql_requests == []


def test_registration_without_api_url_is_400(db: None, client: Client) -> None:
    response = client.post(
        "/api/register", data={"auth_token": "x"}, content_type="application/json"
    )

    assert response.status_code == 400


def test_api_url_outside_the_allow_list_is_403_before_any_request(
    db: None, client: Client, saleor: FakeSaleor, token: str, settings: Any
) -> None:
    settings.SALEOR_JOURNEYS = {
        **settings.SALEOR_JOURNEYS,
        "ALLOWED_SALEOR_API_URLS": ["https://shop.example.com/graphql/"],
    }

    response = register(client, saleor, token)

    assert response.status_code == 403
    assert "not allowed to install" in response.json()["error"]["message"]
    assert saleor.graphql_requests == [] and saleor.jwks_requests == 0
    assert Installation.objects.count() == 0


def test_allow_listed_local_saleor_may_install_even_when_private_urls_are_off(
    db: None, client: Client, saleor: FakeSaleor, token: str, settings: Any
) -> None:
    settings.SALEOR_JOURNEYS = {
        **settings.SALEOR_JOURNEYS,
        "ALLOW_PRIVATE_SALEOR_URLS": False,
        "ALLOWED_SALEOR_API_URLS": [saleor.api_url.upper().replace("/GRAPHQL/", "/graphql/")],
    }

    assert register(client, saleor, token).status_code == 200


@pytest.mark.parametrize(
    "api_url",
    [
        "http://127.0.0.1:8000/graphql/",  # plain http
        "https://127.0.0.1:8000/graphql/",  # loopback
        "https://10.1.2.3/graphql/",  # private network
        "https://169.254.169.254/graphql/",  # link-local (cloud metadata)
        "ftp://shop.example.com/graphql/",
    ],
)
def test_private_or_insecure_saleor_is_refused_in_production(
    db: None, client: Client, settings: Any, api_url: str
) -> None:
    settings.SALEOR_JOURNEYS = {**settings.SALEOR_JOURNEYS, "ALLOW_PRIVATE_SALEOR_URLS": False}

    response = client.post(
        "/api/register",
        data={"auth_token": "x"},
        content_type="application/json",
        headers={"Saleor-Api-Url": api_url},
    )

    assert response.status_code in (400, 403)
    assert Installation.objects.count() == 0


def test_the_token_is_never_logged_nor_answered(
    db: None,
    client: Client,
    saleor: FakeSaleor,
    token: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.DEBUG):
        response = register(client, saleor, token)
        register(client, saleor, "forged-token")

    assert token not in caplog.text and "forged-token" not in caplog.text
    assert token not in response.content.decode()
    assert token not in repr(Installation.objects.get())
