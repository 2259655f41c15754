"""What the API tests share: a shop with recorded contacts, its API key, and a client call."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from saleor_journeys.auth import api_keys
from saleor_journeys.saleor.models import Installation
from tests.fixtures import deliveries

SendRecorded = Callable[[dict[str, Any]], Any]


def gql(client: Client, query: str, key: str | None, **variables: Any) -> Any:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return client.post(
        "/graphql/",
        data={"query": query, "variables": variables},
        content_type="application/json",
        headers=headers,
    )


@pytest.fixture
def shop(recorded_installation: Installation, send_recorded: SendRecorded) -> Installation:
    for name in ("guest_checkout_A_order_21", "storefront_signup_jane", "abandoned_checkout_C"):
        for delivery in deliveries.scenario(name):
            send_recorded(delivery)
    return recorded_installation


@pytest.fixture
def key(shop: Installation) -> str:
    return api_keys.create(shop, "tests")[1]
