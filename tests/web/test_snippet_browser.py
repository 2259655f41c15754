"""journeys.js in a real Chromium, on a storefront of its own origin, talking to a stand-in for
the app: it serves the snippet through the app's own views and takes in collect requests,
checking every body against the app's own parser of the collect protocol."""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.test import Client
from playwright.sync_api import Browser, BrowserContext, Page, Worker, expect

from saleor_journeys.web import collect
from saleor_journeys.web.snippet import ASSETS
from tests.web.storefront import Storefront

SITE_KEY = "k3y-of-the-site"
Event = dict[str, Any]


def vapid_public_key() -> str:
    point = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    )
    return base64.urlsafe_b64encode(point).rstrip(b"=").decode()


class App:
    """The app at its HTTP boundary, as the browser sees it (on ``localhost``, another site
    than the storefront on ``127.0.0.1``)."""

    def __init__(self, storefront_origin: str) -> None:
        self.storefront_origin = storefront_origin
        self.batches: list[dict[str, Any]] = []  # {"body", "headers"} of every valid batch
        self.invalid: list[tuple[str, str]] = []  # (problem, body) of every refused one
        self.pings = 0
        # The on-site messages of the answer to the next batch with a page view.
        self.messages: list[dict[str, Any]] = []
        self.push_key = vapid_public_key()
        self.status = 200
        # Set: the answer to the next batch with a page view waits until it is set again.
        self.hold: threading.Event | None = None
        self.changed = threading.Condition()
        self.django = Client()
        app = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _cors(self) -> dict[str, str]:
                origin = self.headers.get("Origin", "")
                allowed = origin == app.storefront_origin
                return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"} if allowed else {}

            def do_GET(self) -> None:
                if self.path == "/ping":
                    with app.changed:
                        app.pings += 1
                        app.changed.notify_all()
                    self._send(204, b"", {"Access-Control-Allow-Origin": "*"})
                    return
                # The snippet, through the app's real views: redirect, then the hashed file.
                response = app.django.get(self.path)
                headers = {
                    name: response[name]
                    for name in ("Content-Type", "Location", "Cache-Control")
                    if response.has_header(name)
                }
                self._send(response.status_code, response.content, headers)

            def do_OPTIONS(self) -> None:
                self._send(204, b"", self._cors())

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.path != f"/api/web/{SITE_KEY}/collect":
                    self._send(404, b"{}", {"Content-Type": "application/json"})
                    return
                if self.headers.get("Origin") != app.storefront_origin:
                    self._send(403, b"{}", {"Content-Type": "application/json"})
                    return
                try:
                    batch = collect.parse(body)
                except collect.Invalid as exc:
                    with app.changed:
                        app.invalid.append((f"{exc.path}: {exc.message}", body.decode()))
                        app.changed.notify_all()
                    self._send(400, b"{}", {"Content-Type": "application/json", **self._cors()})
                    return
                parsed = json.loads(body)
                answer: dict[str, Any] = {"visitor": batch.v, "messages": []}
                answer["push"] = {"key": app.push_key}
                hold = None
                with app.changed:
                    if any(event["type"] == "page" for event in parsed["events"]):
                        answer["messages"], app.messages = app.messages, []
                        hold, app.hold = app.hold, None
                    app.batches.append({"body": parsed, "headers": dict(self.headers)})
                    app.changed.notify_all()
                if hold is not None:
                    hold.wait(10)
                if app.status != 200:
                    self._send(app.status, b"oops", self._cors())
                    return
                data = json.dumps(answer).encode()
                self._send(200, data, {"Content-Type": "application/json", **self._cors()})

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://localhost:{self.httpd.server_address[1]}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def events(self, type: str | None = None) -> list[Event]:
        with self.changed:
            return [
                event
                for batch in self.batches
                for event in batch["body"]["events"]
                if type is None or event["type"] == type
            ]

    def wait_for(self, predicate: Callable[[], Any], timeout: float = 10.0) -> Any:
        deadline = time.monotonic() + timeout
        with self.changed:
            while not (result := predicate()):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"not received in {timeout}s; received {self.batches}")
                self.changed.wait(remaining)
        return result

    def wait_events(self, type: str, count: int = 1) -> list[Event]:
        return self.wait_for(lambda: len(found := self.events(type)) >= count and found)

    def batch_of(self, event: Event) -> dict[str, Any]:
        return next(b for b in self.batches if event in b["body"]["events"])

    def settle(self, page: Page) -> None:
        """Waits until everything the page sent before now has arrived: a request the page
        makes after them, seen by the browser after them."""
        pings = self.pings
        with page.expect_request(f"{self.url}/ping"):
            page.evaluate("url => { fetch(url, {mode: 'no-cors'}) }", f"{self.url}/ping")
        self.wait_for(lambda: self.pings > pings)


@pytest.fixture
def app(storefront: Storefront) -> Iterator[App]:
    app = App(storefront.origin)
    yield app
    app.close()
    assert app.invalid == [], "the snippet sent batches the app refuses"


@pytest.fixture
def page_errors(page: Page) -> list[str]:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


@pytest.fixture
def requests_seen(context: BrowserContext) -> list[str]:
    seen: list[str] = []
    context.on("request", lambda request: seen.append(request.url))
    return seen


def html(app: App, body: str = "", *, title: str = "Shop", head: str = "", **attrs: str) -> str:
    data = "".join(f' data-{name.replace("_", "-")}="{value}"' for name, value in attrs.items())
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title>{head}"
        f'<script async src="{app.url}/web/journeys.js" data-site="{SITE_KEY}"{data}></script>'
        f"</head><body>{body}</body></html>"
    )


def loaded(page: Page) -> None:
    page.wait_for_function("window.journeys && window.journeys.loaded === true")


def hide(page: Page, hidden: bool = True) -> None:
    """What a browser does when the tab goes to the background (or comes back)."""
    page.evaluate(
        """hidden => {
            Object.defineProperty(document, 'visibilityState',
                {configurable: true, get: () => hidden ? 'hidden' : 'visible'});
            document.dispatchEvent(new Event('visibilitychange'));
        }""",
        hidden,
    )


def stop_the_clock(page: Page) -> None:
    """Time in the page moves only when the test says (``page.clock.run_for``)."""
    page.clock.install(time=0)
    page.clock.pause_at(1000)


def stored_ids(page: Page, context: BrowserContext, storefront: Storefront) -> tuple[Any, Any]:
    cookie = next(
        (c for c in context.cookies(storefront.url()) if c["name"] == "journeys_vid"), None
    )
    return cookie, page.evaluate("localStorage.getItem('journeys_vid')")


# --- the visitor and page views ----------------------------------------------------------------


def test_the_visitor_id_is_kept_across_pages_and_in_a_cookie(
    app: App, storefront: Storefront, page: Page, context: BrowserContext, browser: Browser
) -> None:
    storefront.pages["/"] = html(app, '<a href="/products/hoodie">Hoodie</a>', title="Home")
    storefront.pages["/products/hoodie"] = html(app, title="Blue Hoodie")

    page.goto(storefront.url("/"))
    home = app.wait_events("page")[0]
    page.click("text=Hoodie")
    product = app.wait_events("page", 2)[1]

    first, second = app.batch_of(home), app.batch_of(product)
    visitor = first["body"]["v"]
    assert re.fullmatch(r"[A-Za-z0-9_-]{8,64}", visitor)
    assert second["body"]["v"] == visitor
    assert home["url"] == storefront.url("/") and home["title"] == "Home"
    assert product["url"] == storefront.url("/products/hoodie")
    assert product["title"] == "Blue Hoodie"
    assert product["referrer"] == storefront.url("/")
    assert home["id"] != product["id"]
    # A simple CORS request (no preflight) from the storefront's page.
    headers = first["headers"]
    assert headers["Content-Type"] == "text/plain;charset=UTF-8"
    assert headers["Origin"] == storefront.origin
    assert "Cookie" not in headers

    cookie, stored = stored_ids(page, context, storefront)
    assert stored == visitor
    assert cookie is not None and cookie["value"] == visitor
    assert cookie["path"] == "/" and cookie["sameSite"] == "Lax" and not cookie["httpOnly"]
    expires = datetime.fromtimestamp(cookie["expires"], UTC)
    assert expires > datetime.now(UTC) + timedelta(days=364)
    # The storefront's server gets it with every request (for the checkout's metadata).
    assert page.evaluate("document.cookie").count(f"journeys_vid={visitor}") == 1

    other = browser.new_context()
    try:
        other.new_page().goto(storefront.url("/"))
        app.wait_events("page", 3)
    finally:
        other.close()
    assert app.batch_of(app.events("page")[2])["body"]["v"] != visitor


def test_a_page_view_carries_the_product_and_category_the_page_declares(
    app: App, storefront: Storefront, page: Page
) -> None:
    declared = {
        "product": {
            "id": "UHJvZHVjdDoxMzI=",
            "name": "Blue Hoodie",
            "image": "/media/hoodie.jpg",
            "price": "35.00",
            "currency": "USD",
        },
        "variant": {"id": "UHJvZHVjdFZhcmlhbnQ6MzQ2", "name": "L"},
        "category": {"id": "Q2F0ZWdvcnk6Mjk=", "name": "Sweatshirts"},
    }
    tag = f"<script type='application/json' data-journeys-page>{json.dumps(declared)}</script>"
    storefront.pages["/products/blue-hoodie"] = html(app, tag, title="Blue Hoodie")

    page.goto(storefront.url("/products/blue-hoodie"))

    view = app.wait_events("page")[0]
    assert view["product"] == {**declared["product"], "image": storefront.url("/media/hoodie.jpg")}
    assert view["variant"] == declared["variant"]
    assert view["category"] == declared["category"]


def test_declared_fields_the_app_would_refuse_are_left_out_not_the_page_view(
    app: App, storefront: Storefront, page: Page
) -> None:
    declared = {
        "product": {
            "id": 132,
            "name": "Hoodie",
            "price": "$35",
            "currency": "usd",
            "image": "javascript:alert(1)",
            "url": "https://shop.example.com/products/hoodie",
            "colour": "blue",
        },
        "category": {"name": "no id"},
    }
    tag = f"<script type='application/json' data-journeys-page>{json.dumps(declared)}</script>"
    storefront.pages["/p"] = html(app, tag)

    page.goto(storefront.url("/p"))

    view = app.wait_events("page")[0]
    assert view["product"] == {
        "id": "132",
        "name": "Hoodie",
        "url": "https://shop.example.com/products/hoodie",
    }
    assert "category" not in view


def test_route_changes_of_a_single_page_storefront_are_page_views(
    app: App, storefront: Storefront, page: Page
) -> None:
    storefront.pages["/"] = html(app, title="Home")
    page.goto(storefront.url("/"))
    app.wait_events("page")
    loaded(page)

    page.evaluate(
        """() => {
            history.pushState({}, '', '/categories/sweatshirts');
            document.title = 'Sweatshirts';
            const tag = document.createElement('script');
            tag.type = 'application/json';
            tag.dataset.journeysPage = '';
            tag.textContent = JSON.stringify(
                {category: {id: 'Q2F0ZWdvcnk6Mjk=', name: 'Sweatshirts'}});
            document.body.append(tag);
        }"""
    )
    category = app.wait_events("page", 2)[1]
    assert category["url"] == storefront.url("/categories/sweatshirts")
    assert category["title"] == "Sweatshirts"
    assert category["referrer"] == storefront.url("/")
    assert category["category"] == {"id": "Q2F0ZWdvcnk6Mjk=", "name": "Sweatshirts"}

    # A jump within the page is not a page view; the page's own call with data is.
    page.evaluate("history.pushState({}, '', '#reviews')")
    page.evaluate("journeys('page', {product: {id: 'UHJvZHVjdDoxMzI=', name: 'Blue Hoodie'}})")
    explicit = app.wait_events("page", 3)[2]
    assert explicit["product"] == {"id": "UHJvZHVjdDoxMzI=", "name": "Blue Hoodie"}

    page.go_back()  # popstate
    page.go_back()
    back = app.wait_events("page", 4)[3]
    assert back["url"] == storefront.url("/")
    app.settle(page)
    assert len(app.events("page")) == 4


def test_a_route_that_renders_its_product_late_is_counted_with_it(
    app: App, storefront: Storefront, page: Page
) -> None:
    # A framework changes the URL first, shows a skeleton, then streams the page in.
    storefront.pages["/"] = html(app, "<main id='main'>Home</main>", title="Home")
    stop_the_clock(page)
    page.goto(storefront.url("/"))
    app.wait_events("page")
    loaded(page)

    page.evaluate("history.pushState({}, '', '/products/blue-hoodie')")
    page.clock.run_for(100)
    page.evaluate("document.getElementById('main').textContent = 'Loading…'")
    page.clock.run_for(150)
    page.evaluate(
        """() => {
            document.title = 'Blue Hoodie';
            const tag = document.createElement('script');
            tag.type = 'application/json';
            tag.dataset.journeysPage = '';
            tag.textContent = JSON.stringify(
                {product: {id: 'UHJvZHVjdDoxMzI=', name: 'Blue Hoodie'}});
            document.getElementById('main').replaceChildren(tag, 'Blue Hoodie');
        }"""
    )
    page.clock.run_for(150)
    app.settle(page)
    assert len(app.events("page")) == 1  # still rendering

    page.clock.run_for(100)

    view = app.wait_events("page", 2)[1]
    assert view["url"] == storefront.url("/products/blue-hoodie")
    assert view["title"] == "Blue Hoodie"
    assert view["product"] == {"id": "UHJvZHVjdDoxMzI=", "name": "Blue Hoodie"}

    # A page that never stops changing (a ticking carousel) is counted all the same.
    page.evaluate(
        """() => setInterval(() => {
            document.getElementById('main').textContent = String(Math.random());
        }, 50)"""
    )
    page.evaluate("history.pushState({}, '', '/categories/sweatshirts')")
    page.clock.run_for(2_900)
    app.settle(page)
    assert len(app.events("page")) == 2
    page.clock.run_for(200)
    assert app.wait_events("page", 3)[2]["url"] == storefront.url("/categories/sweatshirts")


def test_engaged_time_counts_only_the_time_the_page_is_visible(
    app: App, storefront: Storefront, page: Page
) -> None:
    storefront.pages["/"] = html(app)
    stop_the_clock(page)
    page.goto(storefront.url("/"))
    view = app.wait_events("page")[0]

    page.clock.run_for(5_000)
    hide(page)
    first = app.wait_events("engaged")[0]
    page.clock.run_for(60_000)  # in the background: not engaged
    hide(page, False)
    page.clock.run_for(3_400)
    hide(page)
    second = app.wait_events("engaged", 2)[1]

    assert (first["seconds"], second["seconds"]) == (5, 3)
    assert first["page"] == second["page"] == view["id"]
    assert first["url"] == storefront.url("/")
    # Each report went as a beacon when the page was hidden.
    assert app.batch_of(first)["headers"]["Sec-Fetch-Mode"] == "no-cors"
    assert app.batch_of(first)["headers"]["Content-Type"] == "text/plain;charset=UTF-8"


def test_custom_events_wait_for_the_page_to_be_left_and_go_as_one_beacon(
    app: App, storefront: Storefront, page: Page
) -> None:
    storefront.pages["/"] = html(app, '<a href="/next">next</a>')
    storefront.pages["/next"] = "<!doctype html><title>next</title>"
    page.goto(storefront.url("/"))
    app.wait_events("page")
    loaded(page)

    page.evaluate("journeys('track', 'wishlist_added', {product: 'UHJvZHVjdDoxMzI=', qty: 2})")
    page.evaluate("journeys('track', 'size_guide_opened')")
    app.settle(page)
    assert app.events("track") == []

    page.click("text=next")

    tracks = app.wait_events("track", 2)
    assert [(t["name"], t["props"]) for t in tracks] == [
        ("wishlist_added", {"product": "UHJvZHVjdDoxMzI=", "qty": 2}),
        ("size_guide_opened", {}),
    ]
    batch = app.batch_of(tracks[0])
    assert batch is app.batch_of(tracks[1])
    assert batch["headers"]["Sec-Fetch-Mode"] == "no-cors"  # sendBeacon
    assert all(isinstance(t["age"], int) and t["age"] >= 0 for t in tracks)
    assert len({t["id"] for t in tracks}) == 2


# --- privacy -----------------------------------------------------------------------------------

PRIVACY_SIGNALS = {
    "do_not_track": "Object.defineProperty(Navigator.prototype, 'doNotTrack', {get: () => '1'})",
    "global_privacy_control": (
        "Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', {get: () => true})"
    ),
}


@pytest.mark.parametrize("signal", sorted(PRIVACY_SIGNALS))
def test_a_browser_asking_not_to_be_tracked_sends_nothing(
    app: App,
    storefront: Storefront,
    page: Page,
    context: BrowserContext,
    requests_seen: list[str],
    signal: str,
) -> None:
    context.add_init_script(PRIVACY_SIGNALS[signal])
    form = (
        "<form data-journeys-form='newsletter' action='/thanks'>"
        "<input type='email' name='email' value='jane@example.org'><button>Join</button></form>"
    )
    storefront.pages["/"] = html(app, form)
    storefront.pages["/thanks"] = html(app)

    page.goto(storefront.url("/?sj=identity-token"))
    loaded(page)
    page.evaluate("journeys('track', 'wishlist_added')")
    page.evaluate("journeys('identify', 'jane@example.org')")
    page.click("text=Join")
    page.wait_for_url(re.compile(r".*/thanks\?email=.*"))
    loaded(page)
    hide(page)
    app.settle(page)

    assert app.batches == []
    assert not any("/collect" in url for url in requests_seen)
    assert stored_ids(page, context, storefront) == (None, None)


def test_with_consent_required_nothing_is_sent_nor_stored_until_consent(
    app: App, storefront: Storefront, page: Page, context: BrowserContext
) -> None:
    storefront.pages["/"] = html(app, "<a href='/p'>p</a>", consent="required")
    storefront.pages["/p"] = html(app, title="Product", consent="required")

    page.goto(storefront.url("/"))
    loaded(page)
    page.evaluate("journeys('track', 'before_consent')")
    page.evaluate("journeys('identify', 'jane@example.org')")
    page.click("a[href='/p']")
    loaded(page)
    app.settle(page)
    assert app.batches == []
    assert stored_ids(page, context, storefront) == (None, None)

    page.evaluate("journeys('consent', true)")

    view = app.wait_events("page")[0]
    assert view["url"] == storefront.url("/p") and view["title"] == "Product"
    visitor = app.batch_of(view)["body"]["v"]
    cookie, stored = stored_ids(page, context, storefront)
    assert cookie is not None and cookie["value"] == stored == visitor

    # Withdrawn: the id is forgotten and nothing more is sent.
    page.evaluate("journeys('consent', false)")
    page.evaluate("journeys('track', 'after_withdrawal')")
    hide(page)
    app.settle(page)
    assert stored_ids(page, context, storefront) == (None, None)
    assert [e["type"] for e in app.events()] == ["page"]


# --- identification ----------------------------------------------------------------------------


def test_identify_sends_the_email_and_properties_at_once(
    app: App, storefront: Storefront, page: Page
) -> None:
    storefront.pages["/"] = html(app)
    page.goto(storefront.url("/"))
    app.wait_events("page")
    loaded(page)

    page.evaluate("journeys('identify', ' Jane.Doe@Example.org ', {first_name: 'Jane'})")

    identify = app.wait_events("identify")[0]
    assert identify["email"] == "Jane.Doe@Example.org"
    assert identify["props"] == {"first_name": "Jane"}
    assert "form" not in identify


def test_a_marked_form_identifies_the_visitor_without_passwords_tokens_or_cards(
    app: App, storefront: Storefront, page: Page
) -> None:
    form = """
      <form data-journeys-form="newsletter" action="/thanks" method="get">
        <input type="email" name="contact" value="jane@example.org">
        <fieldset name="details"><input name="first_name" value="Jane"></fieldset>
        <input type="password" name="password" value="hunter2">
        <input type="hidden" name="csrf" value="secret-token">
        <input name="card" autocomplete="cc-number" value="4111111111111111">
        <input name="coupon" data-journeys-ignore value="SAVE10">
        <input type="checkbox" name="newsletter" checked>
        <input type="checkbox" name="sms">
        <select name="size"><option>M</option><option selected>L</option></select>
        <button>Subscribe</button>
      </form>
      <form action="/thanks" method="get"><input type="email" name="email" value="x@example.org">
        <button>Unmarked</button></form>"""
    storefront.pages["/"] = html(app, form)
    storefront.pages["/thanks"] = html(app, title="Thanks")

    page.goto(storefront.url("/"))
    app.wait_events("page")
    loaded(page)
    page.click("text=Unmarked")
    app.wait_events("page", 2)
    page.go_back()
    app.wait_events("page", 3)
    loaded(page)
    page.click("text=Subscribe")

    identify = app.wait_for(lambda: app.events("identify"))
    assert len(identify) == 1
    assert identify[0]["email"] == "jane@example.org"
    assert identify[0]["form"] == "newsletter"
    assert identify[0]["props"] == {"first_name": "Jane", "newsletter": True, "size": "L"}


def test_the_link_parameter_is_sent_and_taken_out_of_the_address_bar(
    app: App, storefront: Storefront, page: Page
) -> None:
    storefront.pages["/products/hoodie"] = html(app)

    page.goto(storefront.url("/products/hoodie?utm_source=email&sj=12.3.l.1kX9Q.aB-c_d&size=L"))

    link = app.wait_events("link")[0]
    assert link["token"] == "12.3.l.1kX9Q.aB-c_d"
    view = app.wait_events("page")[0]
    clean = storefront.url("/products/hoodie?utm_source=email&size=L")
    assert view["url"] == clean
    assert page.url == clean
    # The identity first, so that the page view is counted for the person.
    events = app.batch_of(view)["body"]["events"]
    assert [e["type"] for e in events] == ["link", "page"]


def test_a_different_link_parameter_can_be_configured(
    app: App, storefront: Storefront, page: Page
) -> None:
    storefront.pages["/"] = html(app, link_param="who")

    page.goto(storefront.url("/?sj=stays&who=tok3n"))

    assert app.wait_events("link")[0]["token"] == "tok3n"
    assert page.url == storefront.url("/?sj=stays")


# --- on-site messages --------------------------------------------------------------------------


def _shadow_html(page: Page, selector: str = "journeys-message") -> str:
    return page.eval_on_selector(selector, "host => host.shadowRoot.innerHTML")


def test_a_popup_shows_server_text_as_text_and_runs_no_script(
    app: App, storefront: Storefront, page: Page, page_errors: list[str]
) -> None:
    storefront.pages["/"] = html(app)
    app.messages = [
        {
            "id": 7,
            "kind": "popup",
            "title": '<img src=x onerror="window.pwned = 1">Still thinking?',
            "body": "<script>window.pwned = 2</script>10 % off today",
            "image": "javascript:window.pwned = 3",
            "cta": {"label": "<b>See it</b>", "url": "javascript:window.pwned = 4"},
            "products": [],
        }
    ]

    page.goto(storefront.url("/"))

    title = page.locator("journeys-message h2")
    expect(title).to_have_text('<img src=x onerror="window.pwned = 1">Still thinking?')
    expect(page.locator("journeys-message p")).to_have_text(
        "<script>window.pwned = 2</script>10 % off today"
    )
    inside = _shadow_html(page)
    assert "<img" not in inside and "<script" not in inside and "<b>" not in inside
    assert page.locator("journeys-message a").count() == 0  # no javascript: link
    assert page.evaluate("window.pwned") is None
    assert page.evaluate("document.querySelector('journeys-message').shadowRoot !== null")

    page.locator("journeys-message button[aria-label=Close]").click()
    expect(page.locator("journeys-message")).to_have_count(0)
    hide(page)
    actions = [(e["message"], e["action"]) for e in app.wait_events("message", 2)]
    assert actions == [(7, "shown"), (7, "dismissed")]
    assert page_errors == []


def test_the_shop_css_does_not_reach_into_a_message_nor_the_message_css_out(
    app: App, storefront: Storefront, page: Page
) -> None:
    shop_css = """<style>
        body * { display: none !important; color: rgb(255, 0, 0) !important; }
        body { color: rgb(255, 0, 0); font-size: 40px; font-family: monospace; }
        div { color: rgb(255, 0, 0); }
        h2 { font-size: 7px; }
    </style>"""
    storefront.pages["/"] = html(app, "<h2 id='own'>The shop's heading</h2>", head=shop_css)
    app.messages = [
        {
            "id": 8,
            "kind": "popup",
            "title": "Still thinking about the Blue Hoodie?",
            "body": "10 % off it today.",
            "image": "https://cdn.example.com/hoodie.jpg",
            "cta": {"label": "See it again", "url": storefront.url("/p")},
        }
    ]
    page.goto(storefront.url("/"))
    shop_heading = page.eval_on_selector("#own", "h => getComputedStyle(h).fontSize")

    title = page.locator("journeys-message h2")
    expect(title).to_be_visible()
    expect(page.locator("journeys-message a")).to_be_visible()
    style = title.evaluate(
        "t => { const s = getComputedStyle(t); return [s.color, s.fontSize, s.fontFamily] }"
    )
    assert style[0] != "rgb(255, 0, 0)"
    assert style[1] == "19px"
    assert "monospace" not in style[2]
    # And the message's own styles stay inside it.
    assert page.eval_on_selector("#own", "h => getComputedStyle(h).fontSize") == shop_heading
    assert page.eval_on_selector("#own", "h => getComputedStyle(h).display") == "none"


def test_messages_report_shown_clicked_and_dismissed(
    app: App, storefront: Storefront, page: Page
) -> None:
    body = "<h1>Home</h1><div data-journeys-frame='home-recs'></div>"
    storefront.pages["/"] = html(app, body)
    storefront.pages["/sale"] = html(app, title="Sale")
    app.messages = [
        {"id": 1, "kind": "popup", "title": "Welcome back", "body": "Hello.", "cta": None},
        {
            "id": 2,
            "kind": "banner",
            "title": "Summer sale",
            "body": "Everything 20 % off.",
            "cta": {"label": "Shop the sale", "url": storefront.url("/sale")},
        },
        {
            "id": 3,
            "kind": "frame",
            "slot": "home-recs",
            "title": "You might like",
            "products": [
                {
                    "id": "UHJvZHVjdDo3Mg==",
                    "name": "Green Hoodie",
                    "image": "https://cdn.example.com/green.jpg",
                    "url": storefront.url("/products/green-hoodie"),
                    "price": "30.00",
                    "currency": "USD",
                },
                {"id": "UHJvZHVjdDo3Mw==", "name": "Bad link", "url": "javascript:alert(1)"},
            ],
        },
        {"id": 4, "kind": "frame", "slot": "not-on-this-page", "title": "Nowhere", "products": []},
        {"id": 5, "kind": "unknown", "title": "Ignored"},
    ]

    page.goto(storefront.url("/"))

    popup = page.locator("journeys-message[data-id='1'] [role=dialog]")
    expect(popup).to_be_visible()
    # The keyboard is in the dialog, on its close button.
    expect(page.locator("journeys-message[data-id='1'] button[aria-label=Close]")).to_be_focused()
    frame = page.locator("[data-journeys-frame=home-recs] journeys-message")
    expect(frame.locator("h2")).to_have_text("You might like")
    expect(frame.locator("a")).to_have_count(1)
    expect(frame.locator("a")).to_contain_text("Green Hoodie")
    expect(frame.locator("a")).to_contain_text("30.00 USD")
    expect(page.locator("journeys-message")).to_have_count(3)

    page.keyboard.press("Escape")
    expect(popup).to_have_count(0)
    page.locator("journeys-message[data-id='2'] a").click()
    page.wait_for_url(storefront.url("/sale"))

    actions = [(e["message"], e["action"]) for e in app.wait_events("message", 5)]
    assert sorted(actions) == [
        (1, "dismissed"),
        (1, "shown"),
        (2, "clicked"),
        (2, "shown"),
        (3, "shown"),
    ]


def test_a_message_is_shown_once_and_only_on_the_page_it_was_answered_for(
    app: App, storefront: Storefront, page: Page
) -> None:
    storefront.pages["/"] = html(app)
    page.goto(storefront.url("/"))
    app.wait_events("page")
    loaded(page)
    banner = {"id": 11, "kind": "banner", "title": "Summer sale"}

    app.messages = [banner]
    page.evaluate("journeys('page')")
    expect(page.locator("journeys-message")).to_have_count(1)
    # The same message in another answer is not shown a second time.
    app.messages = [banner]
    with page.expect_response(re.compile(".*/collect")) as answered:
        page.evaluate("journeys('page')")
    answered.value.finished()
    page.evaluate("new Promise(resolve => setTimeout(resolve))")
    expect(page.locator("journeys-message")).to_have_count(1)

    # An answer that comes back after the visitor moved on to another route is not shown;
    # the answer for the route they are on is.
    app.messages = [{**banner, "id": 12, "title": "For the sweatshirts"}]
    app.hold = held = threading.Event()
    page.evaluate("history.pushState({}, '', '/categories/sweatshirts')")
    app.wait_events("page", 4)
    app.messages = [{**banner, "id": 13, "title": "For the hoodies"}]
    page.evaluate("history.pushState({}, '', '/categories/hoodies')")
    expect(page.locator("journeys-message[data-id='13']")).to_have_count(1)
    with page.expect_response(re.compile(".*/collect")) as late:
        held.set()
    late.value.finished()
    page.evaluate("new Promise(resolve => setTimeout(resolve))")
    expect(page.locator("journeys-message[data-id='12']")).to_have_count(0)


# --- web push ----------------------------------------------------------------------------------

PERMISSION_SPY = """
    window.permissionRequests = 0;
    Object.defineProperty(Notification, 'permission', {get: () => 'default'});
    Notification.requestPermission = () => {
        window.permissionRequests += 1;
        return Promise.resolve('denied');
    };
"""


def test_push_permission_is_asked_only_when_the_shop_or_the_visitor_asks(
    app: App, storefront: Storefront, page: Page, context: BrowserContext
) -> None:
    context.add_init_script(PERMISSION_SPY)
    sw = ("text/javascript", (ASSETS / "journeys-sw.js").read_bytes())
    storefront.pages["/journeys-sw.js"] = sw
    button = (
        "<button onclick=\"journeys('push').then(r => window.pushResult = r)\">Get alerts</button>"
    )
    storefront.pages["/"] = html(app, button, sw="/journeys-sw.js")
    prompt = {"id": 21, "kind": "push_prompt", "title": "Get price drops", "body": "Only those."}
    app.messages = [prompt]

    page.goto(storefront.url("/"))
    expect(page.locator("journeys-message").get_by_text("Get price drops")).to_be_visible()
    hide(page)
    app.settle(page)
    assert page.evaluate("window.permissionRequests") == 0

    page.locator("journeys-message").get_by_text("Not now").click()
    expect(page.locator("journeys-message")).to_have_count(0)
    assert page.evaluate("window.permissionRequests") == 0

    app.messages = [{**prompt, "id": 22}]
    page.reload()
    page.locator("journeys-message").get_by_text("Allow").click()
    page.wait_for_function("window.permissionRequests === 1")

    page.click("text=Get alerts")
    page.wait_for_function("window.permissionRequests === 2")
    page.wait_for_function("window.pushResult === false")  # denied: no subscription
    hide(page)
    actions = [(e["message"], e["action"]) for e in app.wait_events("message", 4)]
    assert sorted(actions) == [(21, "dismissed"), (21, "shown"), (22, "clicked"), (22, "shown")]
    assert app.events("push") == []


def test_no_push_prompt_without_a_service_worker_on_the_storefront(
    app: App, storefront: Storefront, page: Page, context: BrowserContext
) -> None:
    context.add_init_script(PERMISSION_SPY)
    storefront.pages["/"] = html(app)  # no data-sw
    app.messages = [{"id": 23, "kind": "push_prompt", "title": "Get price drops"}]

    page.goto(storefront.url("/"))
    app.wait_events("page")
    loaded(page)
    assert page.evaluate("journeys('push')") is False
    app.settle(page)

    expect(page.locator("journeys-message")).to_have_count(0)
    assert page.evaluate("window.permissionRequests") == 0


FAKE_PUSH_SERVICE = """
    // Headless Chromium has no push service: the browser's side of it is replaced.
    window.subscriptions = [];
    PushManager.prototype.getSubscription = () => Promise.resolve(null);
    PushManager.prototype.subscribe = options => {
        window.subscriptions.push({
            userVisibleOnly: options.userVisibleOnly,
            key: Array.from(new Uint8Array(options.applicationServerKey)),
        });
        const json = {
            endpoint: 'https://push.example.net/wpush/v2/gAAAAABm',
            expirationTime: null,
            keys: {
                p256dh: 'BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAk'
                    + 'j7I99e8QcYP7DkM',
                auth: 'tBHItJI5svbpez7KI4CCXg',
            },
        };
        return Promise.resolve({endpoint: json.endpoint, toJSON: () => json});
    };
"""


def test_accepting_push_subscribes_with_the_app_key_and_sends_the_subscription(
    app: App, storefront: Storefront, page: Page, context: BrowserContext
) -> None:
    context.grant_permissions(["notifications"], origin=storefront.origin)
    context.add_init_script(FAKE_PUSH_SERVICE)
    storefront.pages["/journeys-sw.js"] = (
        "text/javascript",
        (ASSETS / "journeys-sw.js").read_bytes(),
    )
    button = (
        "<button onclick=\"journeys('push').then(r => window.pushResult = r)\">Get alerts</button>"
    )
    storefront.pages["/"] = html(app, button, sw="/journeys-sw.js")

    page.goto(storefront.url("/"))
    app.wait_events("page")
    page.click("text=Get alerts")

    push = app.wait_events("push")[0]
    assert push["subscription"]["endpoint"] == "https://push.example.net/wpush/v2/gAAAAABm"
    assert push["subscription"]["keys"]["auth"] == "tBHItJI5svbpez7KI4CCXg"
    page.wait_for_function("window.pushResult === true")
    [subscribed] = page.evaluate("window.subscriptions")
    assert subscribed["userVisibleOnly"] is True
    padded = app.push_key + "=" * (-len(app.push_key) % 4)
    assert bytes(subscribed["key"]) == base64.urlsafe_b64decode(padded)
    # The storefront's service worker is the one registered.
    scope = page.evaluate("navigator.serviceWorker.ready.then(r => r.active.scriptURL)")
    assert scope == storefront.url("/journeys-sw.js")


@pytest.fixture
def service_worker(storefront: Storefront, page: Page, context: BrowserContext) -> Worker:
    """journeys-sw.js registered by a storefront page, with notifications allowed."""
    context.grant_permissions(["notifications"], origin=storefront.origin)
    storefront.pages["/"] = "<!doctype html><title>shop</title>"
    storefront.pages["/journeys-sw.js"] = (
        "text/javascript",
        (ASSETS / "journeys-sw.js").read_bytes(),
    )
    page.goto(storefront.url("/"))
    with context.expect_event("serviceworker") as started:
        page.evaluate(
            "navigator.serviceWorker.register('/journeys-sw.js')"
            ".then(() => navigator.serviceWorker.ready)"
        )
    return started.value


# What the browser does when a push message arrives: returns the notifications then shown.
PUSH = """async payload => {
    const event = new PushEvent('push', {data: payload});
    const waits = [];
    event.waitUntil = promise => waits.push(promise);
    self.dispatchEvent(event);
    await Promise.all(waits);
    return (await self.registration.getNotifications()).map(n =>
        ({title: n.title, body: n.body, tag: n.tag, icon: n.icon, data: n.data}));
}"""

# What the browser does when the notification is clicked; opening a window is recorded.
CLICK_THE_NOTIFICATION = """async () => {
    const opened = [];
    Object.defineProperty(self.clients, 'openWindow',
        {value: url => { opened.push(url); return Promise.resolve(null); }});
    const [notification] = await self.registration.getNotifications();
    const event = new NotificationEvent('notificationclick', {notification});
    const waits = [];
    event.waitUntil = promise => waits.push(promise);
    self.dispatchEvent(event);
    await Promise.all(waits);
    return {opened, left: (await self.registration.getNotifications()).length};
}"""


def test_the_service_worker_shows_the_pushed_notification_and_opens_its_url(
    storefront: Storefront, service_worker: Worker
) -> None:
    payload = {
        "title": "Back in stock",
        "body": "The Blue Hoodie is back in L.",
        "url": storefront.url("/products/blue-hoodie"),
        "icon": "https://cdn.example.com/hoodie.png",
        "tag": "stock-132",
    }

    [shown] = service_worker.evaluate(PUSH, json.dumps(payload))

    assert shown == {
        "title": "Back in stock",
        "body": "The Blue Hoodie is back in L.",
        "tag": "stock-132",
        "icon": "https://cdn.example.com/hoodie.png",
        "data": {"url": storefront.url("/products/blue-hoodie")},
    }
    clicked = service_worker.evaluate(CLICK_THE_NOTIFICATION)
    assert clicked == {"opened": [storefront.url("/products/blue-hoodie")], "left": 0}


def test_the_service_worker_shows_a_bad_push_safely(service_worker: Worker) -> None:
    payload = {"title": "Sale", "url": "javascript:alert(1)", "icon": "data:image/png;base64,AA"}

    [shown] = service_worker.evaluate(PUSH, json.dumps(payload))

    assert (shown["title"], shown["icon"], shown["data"].get("url")) == ("Sale", "", None)
    assert service_worker.evaluate(CLICK_THE_NOTIFICATION) == {"opened": [], "left": 0}


def test_the_service_worker_shows_a_push_that_is_not_json_as_its_text(
    storefront: Storefront, service_worker: Worker
) -> None:
    [shown] = service_worker.evaluate(PUSH, "Your order has shipped")

    assert shown["body"] == "Your order has shipped"
    assert shown["title"] == storefront.origin.removeprefix("http://")


# --- loading and robustness --------------------------------------------------------------------


def test_calls_made_before_the_snippet_loaded_are_replayed(
    app: App, storefront: Storefront, page: Page
) -> None:
    queued = """<script>
        window.journeys = window.journeys || function () {
            (journeys.q = journeys.q || []).push(arguments);
        };
        journeys('track', 'early_bird', {n: 1});
        journeys('page', {category: {id: 'Q2F0ZWdvcnk6Mjk=', name: 'Sweatshirts'}});
    </script>"""
    storefront.pages["/"] = html(app, "<a href='/x'>x</a>", head=queued)
    storefront.pages["/x"] = "<!doctype html><title>x</title>"

    page.goto(storefront.url("/"))
    view = app.wait_events("page")[0]
    loaded(page)
    page.click("text=x")

    track = app.wait_events("track")[0]
    assert (track["name"], track["props"]) == ("early_bird", {"n": 1})
    # The page's own page view replaced the automatic one.
    assert view["category"] == {"id": "Q2F0ZWdvcnk6Mjk=", "name": "Sweatshirts"}
    assert len(app.events("page")) == 1


def test_mistakes_and_a_failing_app_never_break_the_page(
    app: App, storefront: Storefront, page: Page, page_errors: list[str]
) -> None:
    storefront.pages["/"] = html(app)
    app.status = 500

    page.goto(storefront.url("/"))
    app.wait_events("page")
    loaded(page)
    for call in (
        "journeys('track', 'Not A Name')",
        "journeys('track', 'big', {blob: 'x'.repeat(5000)})",
        "journeys('identify', 'not-an-email')",
        "journeys('identify')",
        "journeys('page', 'not an object')",
        "journeys('no_such_command')",
        "journeys()",
    ):
        page.evaluate(call)
    hide(page)
    app.settle(page)

    assert page_errors == []
    assert app.events("track") == [] and app.events("identify") == []
    assert len(app.events("page")) == 2


def test_an_unreachable_app_never_breaks_the_page(
    storefront: Storefront, page: Page, page_errors: list[str]
) -> None:
    storefront.pages["/"] = (
        "<!doctype html><title>t</title>"
        f'<script async src="{storefront.url("/journeys.js")}" data-site="{SITE_KEY}"'
        ' data-endpoint="http://127.0.0.1:9"></script>'
    )
    storefront.pages["/journeys.js"] = ("text/javascript", (ASSETS / "journeys.js").read_bytes())

    page.goto(storefront.url("/"))
    loaded(page)
    page.evaluate("journeys('identify', 'jane@example.org')")
    hide(page)

    assert page_errors == []
