"""``saleor-journeys site``: the site key, the storefront origins (checked like the API checks
them) and the script tag, for the shop named or the only one installed."""

from __future__ import annotations

import re
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from saleor_journeys.saleor.models import Installation
from saleor_journeys.web.models import Site
from tests.conftest import make_installation

SHOP = "https://site-shop.example.com/graphql/"


@pytest.fixture
def shop(db: None) -> Installation:
    return make_installation(SHOP, {"keys": []})


@pytest.fixture
def public_url(settings: Any) -> str:
    settings.SALEOR_JOURNEYS = {**settings.SALEOR_JOURNEYS, "PUBLIC_URL": "https://j.example.com"}
    return "https://j.example.com"


def site(*args: str) -> list[str]:
    out = StringIO()
    call_command("site", *args, stdout=out)
    return out.getvalue().splitlines()


def test_it_shows_the_key_the_origins_and_the_tag_last(shop: Installation, public_url: str) -> None:
    lines = site()

    key = Site.objects.get(installation=shop).key
    assert lines == [
        f"Site of {SHOP}",
        f"Key: {key}",
        "Storefront origins: none yet; add one with --add-origin.",
        "Put this tag in every storefront page:",
        f'<script async src="{public_url}/web/journeys.js" data-site="{key}"></script>',
    ]
    assert site("--show") == lines  # the same site, not a new key


def test_without_a_public_url_it_says_what_to_replace(shop: Installation) -> None:
    lines = site()

    assert "PUBLIC_URL is not set: replace http://localhost:8000" in lines[-3]
    assert lines[-1].startswith('<script async src="http://localhost:8000/web/journeys.js"')


def test_origins_are_added_normalised_and_removed(shop: Installation, public_url: str) -> None:
    added = site(
        "--add-origin",
        "HTTPS://Shop.Example.com:443",
        "--add-origin",
        "http://localhost:3000",
        "--add-origin",
        "https://shop.example.com",
    )
    removed = site("--installation", SHOP, "--remove-origin", "http://LOCALHOST:3000")

    assert added[2:5] == [
        "Storefront origins:",
        "  https://shop.example.com",
        "  http://localhost:3000",
    ]
    assert removed[2:4] == ["Storefront origins:", "  https://shop.example.com"]
    assert Site.objects.get(installation=shop).origins == ["https://shop.example.com"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--add-origin", "http://shop.example.com"], "--add-origin: 'http://shop.example.com': "),
        (["--add-origin", "https://shop.example.com/"], "no path"),
        (["--add-origin", "https://ok.example.com", "--add-origin", "*.example.com"], "https://"),
        (["--remove-origin", "https://other.example.com"], "is not one of the site's origins"),
        (["--remove-origin", "nonsense"], "--remove-origin: "),
    ],
)
def test_bad_origins_are_refused_and_nothing_is_stored(
    shop: Installation, args: list[str], message: str
) -> None:
    Site.objects.create(installation=shop, origins=["https://shop.example.com"])

    with pytest.raises(CommandError, match=re.escape(message)):
        site(*args)

    assert Site.objects.get(installation=shop).origins == ["https://shop.example.com"]


def test_at_most_twenty_origins(shop: Installation) -> None:
    twenty = [f"https://shop{n}.example.com" for n in range(20)]
    Site.objects.create(installation=shop, origins=twenty)

    with pytest.raises(CommandError, match="At most 20 origins, not 21"):
        site("--add-origin", "https://one-more.example.com")
    site("--remove-origin", twenty[0], "--add-origin", "https://one-more.example.com")

    assert Site.objects.get(installation=shop).origins == [
        *twenty[1:],
        "https://one-more.example.com",
    ]


def test_with_several_shops_it_needs_to_be_told_which(shop: Installation) -> None:
    other = make_installation("https://other-shop.example.com/graphql/", {"keys": []})

    with pytest.raises(CommandError, match="Several shops"):
        site()
    with pytest.raises(
        CommandError, match=re.escape("No Saleor at https://nope.example.com/graphql/")
    ):
        site("--saleor-api-url", "https://nope.example.com/graphql/")
    site("--saleor-api-url", other.saleor_api_url, "--add-origin", "https://other.example.com")

    assert Site.objects.get(installation=other).origins == ["https://other.example.com"]
    assert not Site.objects.filter(installation=shop).exists()
