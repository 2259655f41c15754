"""The read API: API-key authentication, contacts and their timelines, one shop at a time."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from saleor_journeys.auth import api_keys
from saleor_journeys.auth.models import ApiKey
from saleor_journeys.graphql.schema import SCHEMA_FILE, sdl
from saleor_journeys.saleor.models import Installation
from tests.conftest import make_installation
from tests.fixtures.signing import SigningKey, jwks
from tests.graphql.conftest import gql

CONTACT_QUERY = """
query Contact($email: String!) {
  contact(email: $email) {
    email firstName lastName kind country city languageCode properties
    timeline(first: 50) { edges { node { type occurredAt summary superseded } } }
  }
}
"""
CONTACTS_QUERY = """
query Contacts($search: String, $first: Int, $after: String) {
  contacts(search: $search, first: $first, after: $after) {
    edges { cursor node { email } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


def test_contact_has_its_properties_and_a_timeline_of_events(client: Client, key: str) -> None:
    response = gql(client, CONTACT_QUERY, key, email="Jane.Doe@example.org")

    assert response.status_code == 200
    contact = response.json()["data"]["contact"]
    assert contact["email"] == "jane.doe@example.org"
    assert (contact["firstName"], contact["kind"]) == ("Jane", "IDENTIFIED")
    assert contact["properties"]["metadata"]["marketing_consent"] == "true"
    nodes = [edge["node"] for edge in contact["timeline"]["edges"]]
    assert [n["type"] for n in nodes] == [
        "customer_updated",
        "account_confirmed",
        "customer_created",
    ]
    assert nodes == sorted(nodes, key=lambda n: n["occurredAt"], reverse=True)
    assert nodes[-1]["summary"] == "Customer account created"


def test_timeline_summaries_describe_checkouts_and_orders(client: Client, key: str) -> None:
    contact = gql(client, CONTACT_QUERY, key, email="greta.g@example.org").json()["data"]["contact"]

    summaries = {e["node"]["type"]: e["node"]["summary"] for e in contact["timeline"]["edges"]}
    assert summaries["order_created"] == "Order #21 created: 115.00 USD"
    assert summaries["checkout_fully_paid"].startswith("Checkout fully paid: 3 items")


def test_unknown_email_is_null(client: Client, key: str) -> None:
    response = gql(client, CONTACT_QUERY, key, email="nobody@example.org")

    assert response.json() == {"data": {"contact": None}}


def test_contacts_are_searchable_and_paginated(client: Client, key: str) -> None:
    everyone = gql(client, CONTACTS_QUERY, key, first=100).json()["data"]["contacts"]
    emails = [edge["node"]["email"] for edge in everyone["edges"]]
    first_page = gql(client, CONTACTS_QUERY, key, first=2).json()["data"]["contacts"]
    second_page = gql(
        client, CONTACTS_QUERY, key, first=2, after=first_page["pageInfo"]["endCursor"]
    ).json()["data"]["contacts"]
    found = gql(client, CONTACTS_QUERY, key, search="GRETA", first=10).json()["data"]["contacts"]

    assert len(emails) == 4 and "abandoner@example.org" in emails
    assert first_page["pageInfo"]["hasNextPage"] is True
    assert [e["node"]["email"] for e in first_page["edges"] + second_page["edges"]] == emails
    assert {e["node"]["email"] for e in found["edges"]} == {
        "greta.g@example.org",
        "greta.guest@example.org",
    }


def test_page_size_above_the_limit_is_an_error(client: Client, key: str) -> None:
    response = gql(client, CONTACTS_QUERY, key, first=1000).json()

    assert response["data"]["contacts"] is None
    assert "exceeds the `first` limit of 100" in response["errors"][0]["message"]


@pytest.mark.parametrize(
    ("authorization", "message"),
    [
        (None, "authentication required"),
        ("Bearer sj_000000000000_wrong", "the API key is not valid"),
        ("Bearer not-a-key", "authentication required"),
        ("Basic dXNlcjpwYXNz", "authentication required"),
    ],
)
def test_missing_or_wrong_key_is_an_auth_error_never_data(
    client: Client, key: str, authorization: str | None, message: str
) -> None:
    headers = {"Authorization": authorization} if authorization else {}

    response = client.post(
        "/graphql/",
        data={"query": CONTACTS_QUERY, "variables": {"first": 10}},
        content_type="application/json",
        headers=headers,
    )

    assert response.status_code == 401
    body = response.json()
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert message in body["errors"][0]["message"]


def test_tampered_key_with_a_real_prefix_is_refused(client: Client, key: str) -> None:
    tampered = key[:-1] + ("A" if key[-1] != "A" else "B")

    assert gql(client, CONTACTS_QUERY, tampered, first=5).status_code == 401


def test_revoked_key_is_refused(client: Client, key: str) -> None:
    ApiKey.objects.update(revoked_at=timezone.now())

    assert gql(client, CONTACTS_QUERY, key, first=5).status_code == 401


def test_a_key_sees_only_its_own_shop(
    client: Client, key: str, shop: Installation, signing_key: SigningKey
) -> None:
    other = make_installation("http://second-shop:8000/graphql/", jwks(SigningKey()))
    other_key = api_keys.create(other, "other")[1]

    theirs = gql(client, CONTACTS_QUERY, other_key, first=10).json()["data"]["contacts"]
    jane = gql(client, CONTACT_QUERY, other_key, email="jane.doe@example.org").json()

    assert theirs["edges"] == []
    assert jane == {"data": {"contact": None}}


def test_graphiql_page_needs_no_key_but_holds_no_data(client: Client, db: None) -> None:
    response = client.get("/graphql/", headers={"Accept": "text/html"})

    assert response.status_code == 200
    assert b"graphiql" in response.content.lower()


def test_createapikey_prints_the_key_last_and_stores_only_its_hash(
    client: Client, shop: Installation
) -> None:
    out = StringIO()

    call_command("createapikey", "--saleor-api-url", shop.saleor_api_url, stdout=out)

    key = out.getvalue().strip().splitlines()[-1]
    row = ApiKey.objects.get()
    assert key.startswith("sj_") and key not in row.key_sha256 and row.prefix in key
    assert gql(client, CONTACTS_QUERY, key, first=1).status_code == 200


def test_createapikey_for_an_unknown_shop_is_a_clear_error(shop: Installation) -> None:
    with pytest.raises(
        CommandError, match=re.escape("No Saleor at https://nope.example.com/graphql/")
    ):
        call_command("createapikey", "--saleor-api-url", "https://nope.example.com/graphql/")

    assert ApiKey.objects.count() == 0


def test_committed_schema_matches_the_code() -> None:
    assert SCHEMA_FILE.read_text() == sdl(), (
        "The GraphQL schema changed: review it and run `saleor-journeys exportschema`."
    )


def test_schema_exposes_no_token_or_raw_delivery() -> None:
    text = sdl().lower()

    assert "token" not in text.replace("checkout_token", "")
    assert "body" not in text
