from __future__ import annotations

from typing import Any

from django.test import Client
from graphql import parse

from saleor_journeys import __version__
from saleor_journeys.triggers import registry

DESIGN_TRIGGERS = {
    "CUSTOMER_CREATED",
    "CUSTOMER_UPDATED",
    "CUSTOMER_DELETED",
    "ACCOUNT_CONFIRMED",
    "CHECKOUT_CREATED",
    "CHECKOUT_UPDATED",
    "CHECKOUT_FULLY_PAID",
    "ORDER_CREATED",
    "ORDER_CONFIRMED",
    "ORDER_FULLY_PAID",
    "ORDER_FULFILLED",
    "ORDER_CANCELLED",
    "ORDER_REFUNDED",
}


def test_manifest_lists_every_registered_event_with_a_valid_query(client: Client) -> None:
    manifest = client.get("/api/manifest", headers={"Saleor-Schema-Version": "3.24"}).json()

    events = {e for webhook in manifest["webhooks"] for e in webhook["asyncEvents"]}
    assert events == {t.event for t in registry.triggers()}
    assert events >= DESIGN_TRIGGERS
    for webhook in manifest["webhooks"]:
        document = parse(webhook["query"])  # a syntax error would raise
        assert document.definitions[0].operation.value == "subscription"
        for event in webhook["asyncEvents"]:
            typename = registry.get(event).typename
            assert f"... on {typename} " in webhook["query"]


def test_manifest_asks_for_the_least_permissions(client: Client) -> None:
    manifest = client.get("/api/manifest").json()

    assert manifest["permissions"] == [
        "MANAGE_CHECKOUTS",
        "MANAGE_DISCOUNTS",  # the create_voucher step
        "MANAGE_ORDERS",
        "MANAGE_USERS",
    ]
    assert "MANAGE_APPS" not in manifest["permissions"]


def test_manifest_has_the_fields_saleor_requires(client: Client) -> None:
    manifest = client.get("/api/manifest").json()

    assert manifest["id"] == "saleor.journeys"
    assert manifest["version"] == __version__
    assert manifest["name"] == "Journeys"
    assert manifest["requiredSaleorVersion"] == ">=3.20"
    assert all(w["isActive"] and w["name"] and w["targetUrl"] for w in manifest["webhooks"])


def test_manifest_urls_come_from_the_request(client: Client) -> None:
    manifest = client.get("/api/manifest", HTTP_HOST="localhost").json()

    assert manifest["tokenTargetUrl"] == "http://localhost/api/register"
    assert manifest["appUrl"] == "http://localhost/app/"
    assert {w["targetUrl"] for w in manifest["webhooks"]} == {
        f"http://localhost/api/webhooks/{g.name}" for g in registry.groups()
    }


def test_manifest_urls_come_from_the_public_url_setting(client: Client, settings: Any) -> None:
    settings.SALEOR_JOURNEYS = {
        **settings.SALEOR_JOURNEYS,
        "PUBLIC_URL": "https://journeys.example.com/",
    }

    manifest = client.get("/api/manifest").json()

    assert manifest["tokenTargetUrl"] == "https://journeys.example.com/api/register"
    assert all(
        w["targetUrl"].startswith("https://journeys.example.com/api/webhooks/")
        for w in manifest["webhooks"]
    )


def test_each_webhook_path_accepts_its_own_group(client: Client) -> None:
    manifest = client.get("/api/manifest", HTTP_HOST="localhost").json()

    for webhook in manifest["webhooks"]:
        path = webhook["targetUrl"].removeprefix("http://localhost")
        # Unsigned, so refused, but routed (401, not 404).
        assert client.post(path, data=b"{}", content_type="application/json").status_code == 401
