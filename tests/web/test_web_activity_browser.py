"""The seeds' web-activity flow end to end, in a real browser against the running app.

Headless Chromium opens a storefront on its own origin with the one ``journeys.js`` tag. The
visitor browses anonymously, then follows a tracked link from an email of the shop and becomes
the person's monitored card, with the visits of the last 3 hours and not the older one. Looking
at the same product three times starts the built-in web-activity journey: a single-use voucher is
made in Saleor and a popup with the discount on that product appears on its page, not on other
pages, and never for a product the person already bought. A page on a foreign origin is refused.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from playwright.sync_api import Browser, Page, expect
from pytest_django.live_server_helper import LiveServer

from saleor_journeys.auth import api_keys
from saleor_journeys.commerce.models import Order, OrderLine
from saleor_journeys.contacts.models import Contact, ContactKind
from saleor_journeys.core import clock
from saleor_journeys.events.models import Event
from saleor_journeys.journeys import builtin, versions
from saleor_journeys.journeys.models import Journey, Run
from saleor_journeys.messaging import tracking
from saleor_journeys.messaging.models import Message, MessageStatus
from saleor_journeys.saleor.models import Installation
from saleor_journeys.web.models import Site, Visitor
from saleor_journeys.web.sites import site_for
from tests.fixtures.saleor_server import FakeSaleor
from tests.fixtures.saleor_vouchers import SaleorVouchers
from tests.graphql.conftest import gql
from tests.web.storefront import Storefront

pytestmark = pytest.mark.django_db(transaction=True)

HOODIE = {"id": "UHJvZHVjdDoxMzI=", "name": "Blue Hoodie", "price": "35.00", "currency": "USD"}
SCARF = {"id": "UHJvZHVjdDoxNjA=", "name": "Red Scarf", "price": "12.00", "currency": "USD"}
SWEATSHIRTS = {"id": "Q2F0ZWdvcnk6Mjk=", "name": "Sweatshirts"}

CARD = """
query Card($id: ID!) {
  contactById(id: $id) {
    state email
    visitors { uid identifiedBy }
    timeline(first: 50, kinds: [VISIT]) { edges { node { type data } } }
  }
}
"""


def _page(app: str, site: Site, *, title: str, product: dict[str, str] | None = None) -> str:
    declared = ""
    if product is not None:
        declared = (
            '<script type="application/json" data-journeys-page>'
            f'{{"product": {json.dumps(product)}, "category": {json.dumps(SWEATSHIRTS)}}}</script>'
        )
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title>{declared}"
        f'<script async src="{app}/web/journeys.js" data-site="{site.key}"></script>'
        f"</head><body><h1>{title}</h1></body></html>"
    )


def _wait(predicate: Callable[[], Any], timeout: float = 20.0) -> Any:
    """Poll the database until what the browser sent has been stored (and run through)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("the app did not get there in time")


@pytest.fixture
def vouchers(saleor: FakeSaleor) -> SaleorVouchers:
    handler = SaleorVouchers()
    saleor.handler = handler
    return handler


@pytest.fixture
def shop(
    installation: Installation,
    vouchers: SaleorVouchers,
    live_server: LiveServer,
    settings: Any,
) -> Iterator[tuple[Storefront, Site]]:
    settings.SALEOR_JOURNEYS = {
        **settings.SALEOR_JOURNEYS,
        "PUBLIC_URL": live_server.url,
        "VOUCHER_CHANNEL": "default-channel",
    }
    with Storefront() as storefront:
        site = site_for(installation)
        site.origins = [storefront.origin]
        site.save(update_fields=["origins"])
        app = live_server.url
        storefront.pages.update(
            {
                "/about": _page(app, site, title="About us"),
                "/blog/grooming": _page(app, site, title="Grooming tips"),
                "/products/blue-hoodie": _page(app, site, title="Blue Hoodie", product=HOODIE),
                "/products/red-scarf": _page(app, site, title="Red Scarf", product=SCARF),
            }
        )
        journey = versions.create(installation, builtin.load("web-activity"), actor="tests")
        versions.publish(journey, actor="tests")
        yield storefront, site


@pytest.fixture
def ana(installation: Installation) -> Contact:
    """A customer the shop knows by email (identified) who bought the red scarf last week."""
    contact = Contact.objects.create(
        installation=installation, email="ana@example.com", first_name="Ana"
    )
    order = Order.objects.create(
        installation=installation,
        saleor_id="T3JkZXI6OTAx",
        number="901",
        contact=contact,
        status="FULFILLED",
        channel_slug="default-channel",
        created_at=clock.now() - timedelta(days=7),
    )
    OrderLine.objects.create(
        order=order,
        saleor_line_id="T3JkZXJMaW5lOjE=",
        product_id=SCARF["id"],
        product_name=SCARF["name"],
        quantity=1,
        unit_price=Decimal("12.00"),
        total_price=Decimal("12.00"),
        currency="USD",
    )
    return contact


# Headless Chromium says so in its user agent, and link scanners are recognised by it: the
# person in this test browses with the user agent of an ordinary desktop Chrome.
DESKTOP_CHROME = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(user_agent=DESKTOP_CHROME)
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def _views(contact_ids: list[int], path: str) -> int:
    return Event.objects.filter(
        contact_id__in=contact_ids, type="page_viewed", data__path=path
    ).count()


def _visit(page: Page, url: str) -> None:
    page.goto(url)
    page.wait_for_function("window.journeys && window.journeys.loaded === true")


def test_the_web_activity_flow_in_the_browser(
    shop: tuple[Storefront, Site],
    ana: Contact,
    vouchers: SaleorVouchers,
    live_server: LiveServer,
    page: Page,
    client: Client,
) -> None:
    storefront, site = shop
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    # 1. Anonymous browsing: a visit long ago (moved back past the 3-hour window), then two now.
    _visit(page, storefront.url("/about"))
    visitor = _wait(lambda: Visitor.objects.filter(installation=site.installation).first())
    anonymous = visitor.contact
    assert anonymous.kind == ContactKind.ANONYMOUS and anonymous.email is None
    _wait(lambda: _views([anonymous.pk], "/about") == 1)
    Event.objects.filter(contact=anonymous, data__path="/about").update(
        occurred_at=clock.now() - timedelta(hours=3, minutes=5)
    )
    _visit(page, storefront.url("/blog/grooming"))
    _visit(page, storefront.url("/products/blue-hoodie"))
    _wait(lambda: _views([anonymous.pk], "/products/blue-hoodie") == 1)

    # 2. Ana follows a link of an email the shop sent her an hour ago: the click is counted,
    # the storefront gets who she is, and this browser becomes her monitored card.
    email = Message.objects.create(
        installation=site.installation,
        contact=ana,
        key="test:web-activity-browser",
        channel="email",
        template="cross-sell",
        to="ana@example.com",
        status=MessageStatus.SENT,
        created_at=clock.now() - timedelta(hours=1),
        sent_at=clock.now() - timedelta(hours=1),
    )
    link = tracking.click_url(email, storefront.url("/products/blue-hoodie"), live_server.url)
    page.goto(link)
    expect(page).to_have_url(storefront.url("/products/blue-hoodie"))  # the token is removed
    _wait(lambda: Visitor.objects.get(pk=visitor.pk).contact_id == ana.pk)
    ana.refresh_from_db()
    assert ana.kind == ContactKind.MONITORED
    email.refresh_from_db()
    assert email.clicks == 1

    # The card, through the API: the visits of the last 3 hours are hers, the older one is not.
    key = api_keys.create(site.installation, "tests")[1]
    card = gql(client, CARD, key, id=str(ana.pk)).json()["data"]["contactById"]
    assert card["state"] == "MONITORED"
    assert card["visitors"] == [{"uid": visitor.uid, "identifiedBy": "link"}]
    visited = {e["node"]["data"]["path"] for e in card["timeline"]["edges"]}
    assert {"/blog/grooming", "/products/blue-hoodie"} <= visited
    assert "/about" not in visited
    assert Event.objects.filter(contact=anonymous, data__path="/about").count() == 1

    # 3. She keeps looking at the hoodie: the third view within the hour starts the journey,
    # which makes a single-use voucher in Saleor and queues the popup for that product's page.
    journey = Journey.objects.get(installation=site.installation)
    _visit(page, storefront.url("/products/blue-hoodie"))
    run = _wait(lambda: Run.objects.filter(journey=journey, contact=ana).first())
    assert run.context["product"]["id"] == HOODIE["id"]
    queued = _wait(
        lambda: (
            Message.objects.filter(contact=ana, channel="web", status=MessageStatus.SENT)
            .exclude(data={})
            .first()
        )
    )
    [voucher] = vouchers.vouchers.values()
    code = voucher["code"]

    # The popup shows on her next view of the hoodie, with the product and her code, as text.
    _visit(page, storefront.url("/products/blue-hoodie"))
    popup = page.locator("journeys-message")
    expect(popup).to_have_count(1)
    expect(popup.locator("h2")).to_have_text("Still thinking about Blue Hoodie?")
    expect(popup.locator("p").first).to_contain_text(code)
    assert page.evaluate("document.querySelector('journeys-message').shadowRoot !== null")

    # Not on another page, and not twice. Leaving the page sends the impression.
    _visit(page, storefront.url("/about"))
    _wait(lambda: Message.objects.get(pk=queued.pk).status == MessageStatus.DELIVERED)
    _wait(lambda: _views([ana.pk], "/about") == 1)
    page.wait_for_load_state("networkidle")
    expect(page.locator("journeys-message")).to_have_count(0)
    _visit(page, storefront.url("/products/blue-hoodie"))
    page.wait_for_load_state("networkidle")
    expect(page.locator("journeys-message")).to_have_count(0)

    # 4. The scarf she bought: however often she looks at it, no journey and no popup.
    for _ in range(4):
        _visit(page, storefront.url("/products/red-scarf"))
        page.wait_for_load_state("networkidle")
        expect(page.locator("journeys-message")).to_have_count(0)
    _wait(lambda: _views([ana.pk], "/products/red-scarf") == 4)
    assert Run.objects.filter(journey=journey).count() == 1
    assert len(vouchers.vouchers) == 1
    assert errors == []


def test_a_storefront_on_a_foreign_origin_is_refused(
    shop: tuple[Storefront, Site],
    live_server: LiveServer,
    page: Page,
    caplog: pytest.LogCaptureFixture,
) -> None:
    _, site = shop
    collect = f"/api/web/{site.key}/collect"
    with Storefront() as foreign:
        foreign.pages["/"] = _page(live_server.url, site, title="Not the shop")
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        _visit(page, foreign.url("/"))
        page.wait_for_load_state("networkidle")
        # Nor can the foreign page read an answer of the app.
        blocked = page.evaluate(
            """url => fetch(url, {method: 'POST', body: '{}'})
                 .then(() => 'read', error => error.name)""",
            f"{live_server.url}{collect}",
        )

    assert blocked == "TypeError"
    refused = [
        r.status_code  # type: ignore[attr-defined]
        for r in caplog.records
        if r.name == "django.request" and collect in r.getMessage()
    ]
    assert refused == [403, 403]  # the snippet's page view, then the page's own fetch
    assert not Visitor.objects.exists()
    assert not Event.objects.filter(source="web").exists()
    assert errors == []
