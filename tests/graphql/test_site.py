"""The storefront settings in the API: the site key and script tag, the storefront origins and
how they are checked and stored, one shop at a time."""

from __future__ import annotations

import sys
from typing import Any

import pytest
from django.test import Client

from saleor_journeys.auth import api_keys
from saleor_journeys.saleor.models import Installation
from saleor_journeys.web import origins, sites
from saleor_journeys.web.models import Site
from tests.conftest import make_installation
from tests.graphql.conftest import gql

SITE = "{ site { key origins snippet pushPublicKey } }"
UPDATE = """
mutation Update($origins: [String!]!) {
  siteUpdate(origins: $origins) { site { key origins } errors { code message path } }
}
"""


@pytest.fixture
def shop(db: None) -> Installation:
    return make_installation("https://site-shop.example.com/graphql/", {"keys": []})


@pytest.fixture
def key(shop: Installation) -> str:
    return api_keys.create(shop, "tests")[1]


@pytest.fixture
def public_url(settings: Any) -> str:
    settings.SALEOR_JOURNEYS = {**settings.SALEOR_JOURNEYS, "PUBLIC_URL": "https://j.example.com/"}
    return "https://j.example.com"


@pytest.fixture
def no_push(monkeypatch: pytest.MonkeyPatch) -> None:
    """Web push is not available: importing it fails."""
    monkeypatch.setitem(sys.modules, "saleor_journeys.web.push", None)


def site_of(client: Client, key: str) -> dict[str, Any]:
    body = gql(client, SITE, key).json()
    assert "errors" not in body, body
    return body["data"]["site"]


def update(client: Client, key: str, values: list[str]) -> dict[str, Any]:
    body = gql(client, UPDATE, key, origins=values).json()
    assert "errors" not in body, body
    return body["data"]["siteUpdate"]


# --- reading ----------------------------------------------------------------------------------


def test_site_is_made_on_first_read_with_its_key_and_snippet(
    client: Client, key: str, shop: Installation, public_url: str, no_push: None
) -> None:
    first = site_of(client, key)
    again = site_of(client, key)

    site = Site.objects.get(installation=shop)
    assert first == again
    assert first == {
        "key": site.key,
        "origins": [],
        "snippet": f'<script async src="{public_url}/web/journeys.js" '
        f'data-site="{site.key}"></script>',
        "pushPublicKey": None,
    }


def test_without_a_public_url_the_snippet_points_where_the_request_came(
    client: Client, key: str, no_push: None
) -> None:
    snippet = site_of(client, key)["snippet"]

    assert snippet.startswith('<script async src="http://testserver/web/journeys.js" data-site=')


def test_the_push_key_is_the_sites_vapid_public_key(
    client: Client, key: str, shop: Installation, monkeypatch: pytest.MonkeyPatch
) -> None:
    import types

    push = types.ModuleType("saleor_journeys.web.push")
    push.public_key = lambda site: f"BPz-{site.key}"  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "saleor_journeys.web.push", push)

    assert site_of(client, key)["pushPublicKey"] == f"BPz-{Site.objects.get().key}"


def test_real_push_key_is_made_once_and_kept(client: Client, key: str, shop: Installation) -> None:
    first = site_of(client, key)["pushPublicKey"]
    again = site_of(client, key)["pushPublicKey"]

    assert first == again == Site.objects.get(installation=shop).vapid_public_key
    assert len(first) == 87  # an uncompressed P-256 point, base64url without padding


# --- origins ----------------------------------------------------------------------------------


def test_origins_are_stored_in_the_form_browsers_send(
    client: Client, key: str, shop: Installation
) -> None:
    result = update(
        client,
        key,
        [
            " HTTPS://Shop.Example.com:443 ",
            "https://shop.example.com",
            "http://localhost:3000",
            "http://127.0.0.1",
            "https://bücher.example",
            "https://shop.example.com:8443",
            "http://[::1]:8000",
        ],
    )

    expected = [
        "https://shop.example.com",
        "http://localhost:3000",
        "http://127.0.0.1",
        "https://xn--bcher-kva.example",
        "https://shop.example.com:8443",
        "http://[::1]:8000",
    ]
    assert result == {"site": {"key": Site.objects.get().key, "origins": expected}, "errors": []}
    assert Site.objects.get(installation=shop).origins == expected
    assert update(client, key, [])["site"]["origins"] == []


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("shop.example.com", "starts with https://"),
        ("http://shop.example.com", "uses https"),
        ("https://shop.example.com/", "no path"),
        ("https://shop.example.com/shop", "no path"),
        ("https://shop.example.com?utm=1", "no path, query"),
        ("https://shop.example.com#top", "no path, query"),
        ("https://*.example.com", "wildcards"),
        ("ftp://shop.example.com", "starts with https://"),
        ("https://ann:secret@shop.example.com", "no user name"),
        ("https://shop.example.com:99999", "port"),
        ("https://shop.example.com:0", "port"),
        ("https://shop.example.com:http", "port"),
        ("https://exa mple.com", "no spaces"),
        ("https://-shop.example.com", "not a valid host name"),
        ("https://shop..example.com", "not a valid host name"),
        ("https://", "host is missing"),
        ("", "scheme://host[:port]"),
        ("   ", "scheme://host[:port]"),
    ],
)
def test_a_bad_origin_is_refused_by_its_index_and_nothing_is_stored(
    client: Client, key: str, shop: Installation, value: str, says: str
) -> None:
    Site.objects.create(installation=shop, origins=["https://old.example.com"])

    result = update(client, key, ["https://shop.example.com", value])

    assert result["site"] is None
    [problem] = result["errors"]
    assert (problem["code"], problem["path"]) == ("INVALID", "origins[1]")
    assert says in problem["message"]
    assert Site.objects.get(installation=shop).origins == ["https://old.example.com"]


def test_at_most_twenty_distinct_origins(client: Client, key: str, shop: Installation) -> None:
    twenty = [f"https://shop{n}.example.com" for n in range(20)]

    with_duplicates = update(client, key, [*twenty, twenty[0].upper()])
    too_many = update(client, key, [*twenty, "https://one-more.example.com"])

    assert with_duplicates["errors"] == [] and with_duplicates["site"]["origins"] == twenty
    assert too_many["site"] is None
    assert too_many["errors"] == [
        {"code": "TOO_MANY", "message": "at most 20 origins, not 21", "path": "origins"}
    ]
    assert Site.objects.get(installation=shop).origins == twenty


def test_the_collect_endpoint_sees_new_origins_at_once(
    client: Client, key: str, shop: Installation, django_capture_on_commit_callbacks: Any
) -> None:
    site = sites.site_for(shop)
    assert sites.site_by_key(site.key) is not None  # cached with no origins

    with django_capture_on_commit_callbacks(execute=True):
        update(client, key, ["https://shop.example.com"])

    cached = sites.site_by_key(site.key)
    assert cached is not None and sites.origin_allowed(cached, "https://shop.example.com")


def test_a_key_reads_and_changes_only_its_own_shops_site(
    client: Client, key: str, shop: Installation, no_push: None
) -> None:
    other = make_installation("https://other-shop.example.com/graphql/", {"keys": []})
    other_key = api_keys.create(other, "other")[1]
    update(client, key, ["https://shop.example.com"])

    theirs = site_of(client, other_key)
    update(client, other_key, ["https://other.example.com"])

    ours = Site.objects.get(installation=shop)
    assert theirs["key"] != ours.key and theirs["origins"] == []
    assert ours.origins == ["https://shop.example.com"]
    assert Site.objects.get(installation=other).origins == ["https://other.example.com"]


def test_the_site_needs_an_api_key(client: Client, db: None) -> None:
    response = gql(client, SITE, None)

    assert response.status_code == 401
    assert response.json()["data"] is None


# --- the shared rules -------------------------------------------------------------------------


def test_origin_of_a_url_is_its_stored_form_or_none() -> None:
    assert origins.origin_of("HTTPS://Shop.Example.com:443/products/x?y=1") == (
        "https://shop.example.com"
    )
    assert origins.origin_of("http://shop.example.com/x") == "http://shop.example.com"
    assert origins.origin_of("/products/x") is None
    assert origins.origin_of("mailto:ann@example.com") is None
    assert origins.origin_of("https://ann@shop.example.com/") is None
