from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client, override_settings
from django.utils import timezone

from saleor_journeys.contacts.models import Contact, ContactKind
from saleor_journeys.core.clock import FrozenClock
from saleor_journeys.events.models import Event
from saleor_journeys.messaging import tracking
from saleor_journeys.messaging.models import Message, MessageEvent, MessageStatus
from saleor_journeys.saleor.models import Installation

BASE = "https://journeys.example.com"
BROWSER = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36"
)
CART = "https://shop.example.com/cart?utm_source=email&utm_campaign=cart"
PRODUCT = "https://shop.example.com/products/red-shoes"

HTML = f"""<!doctype html>
<html><head><style>a > b {{ color: red }}</style></head><body>
<p>Hi Ann, <a class="button" title="go > on" href="{CART.replace("&", "&amp;")}">your cart</a></p>
<A HREF='{PRODUCT}' >Red shoes</A>
<abbr href="https://not-a-link.example.com/">abbr</abbr>
<a href="mailto:help@shop.example.com">write to us</a> or <a href="tel:+34600000000">call</a>
<a name="top">top</a>
<a href="https://shop.example.com/legal" data-journeys-no-track>terms</a>
<a href="{BASE}/u/some-token" data-journeys-no-track>Unsubscribe</a>
</body></html>"""


@pytest.fixture
def contact(installation: Installation) -> Contact:
    return Contact.objects.create(installation=installation, email="ann@example.com")


def make_message(
    installation: Installation,
    contact: Contact | None,
    *,
    html: str = HTML,
    sent_ago: timedelta = timedelta(hours=1),
    key: str = "run:1:1:first-email",
) -> Message:
    now = timezone.now()
    message = Message.objects.create(
        installation=installation,
        contact=contact,
        key=key,
        node="first-email",
        channel="email",
        template="cart-reminder",
        to=contact.email if contact else "ann@example.com",
        status=MessageStatus.SENT,
        created_at=now - sent_ago - timedelta(seconds=1),
        sent_at=now - sent_ago,
        provider_id="pm-1",
    )
    message.html = tracking.rewrite_links(html, message, BASE)
    message.save(update_fields=["html"])
    return message


@pytest.fixture
def message(installation: Installation, contact: Contact) -> Message:
    return make_message(installation, contact)


def click_path(message: Message, url: str) -> str:
    return f"/t/c/{tracking.click_token(message.pk, url)}"


def open_path(message: Message) -> str:
    return f"/t/o/{tracking.open_token(message.pk)}.gif"


# --- building ------------------------------------------------------------------------------


def test_rewrite_links_tracks_web_links_and_keeps_the_rest_byte_for_byte(
    message: Message,
) -> None:
    tracked = tracking.rewrite_links(HTML, message, BASE + "/")

    cart = f"{BASE}/t/c/{tracking.click_token(message.pk, CART)}"
    product = f"{BASE}/t/c/{tracking.click_token(message.pk, PRODUCT)}"
    expected = HTML.replace(f'"{CART.replace("&", "&amp;")}"', f'"{cart}"').replace(
        f"'{PRODUCT}'", f'"{product}"'
    )
    assert tracked == expected
    # The target is the unescaped href: "&amp;" in the HTML is "&" in the URL.
    assert tracking.read_click_token(cart.rsplit("/", 1)[1]) == (message.pk, CART)
    assert tracking.link_targets(tracked, BASE) == {CART, PRODUCT}
    assert tracking.link_targets(HTML, BASE) == {CART, PRODUCT}


def test_rewrite_links_escapes_the_new_href_and_reads_bare_values(message: Message) -> None:
    html = '<a href=https://shop.example.com/?a=1&b=2>bare</a><a href="">empty</a>'
    tracked = tracking.rewrite_links(html, message, BASE)
    token = tracking.click_token(message.pk, "https://shop.example.com/?a=1&b=2")
    assert tracked == f'<a href="{BASE}/t/c/{token}">bare</a><a href="">empty</a>'


@override_settings(SALEOR_JOURNEYS={"PUBLIC_URL": BASE + "/"})
def test_track_html_adds_the_pixel_at_the_end_of_the_body(message: Message) -> None:
    tracked = tracking.track_html(HTML, message)
    pixel = tracking.pixel_url(message, BASE)
    assert pixel == f"{BASE}/t/o/{tracking.open_token(message.pk)}.gif"
    assert tracked.endswith(
        f'<img src="{pixel}" width="1" height="1" alt="" '
        'style="display:block;width:1px;height:1px;border:0;" /></body></html>'
    )
    assert tracked.count("/t/c/") == 2


@override_settings(
    SALEOR_JOURNEYS={"PUBLIC_URL": BASE, "TRACK_OPENS": False, "TRACK_CLICKS": False}
)
def test_track_html_does_nothing_when_tracking_is_off(message: Message) -> None:
    assert tracking.track_html(HTML, message) == HTML


def test_track_html_without_a_public_url_leaves_the_email_untracked(message: Message) -> None:
    assert tracking.track_html(HTML, message) == HTML


# --- opens ---------------------------------------------------------------------------------


def test_pixel_records_a_human_open(client: Client, message: Message, contact: Contact) -> None:
    response = client.get(open_path(message), headers={"User-Agent": BROWSER})

    assert response.status_code == 200
    assert response["Content-Type"] == "image/gif"
    assert response["Cache-Control"] == "no-store"
    assert response.content.startswith(b"GIF89a\x01\x00\x01\x00")
    event = MessageEvent.objects.get(message=message)
    assert (event.type, event.human, event.user_agent) == ("open", True, BROWSER)
    message.refresh_from_db()
    assert (message.opens, message.clicks) == (1, 0)
    timeline = Event.objects.get(contact=contact)
    assert timeline.type == "email_opened"
    assert timeline.data["template"] == "cart-reminder"
    assert timeline.data["node"] == "first-email"

    # Read again: counted again, but "opened" is one fact in the timeline.
    client.get(open_path(message), headers={"User-Agent": BROWSER})
    message.refresh_from_db()
    assert message.opens == 2
    assert Event.objects.filter(contact=contact).count() == 1
    contact.refresh_from_db()
    assert contact.kind == ContactKind.IDENTIFIED  # an open alone does not monitor anyone


@pytest.mark.parametrize(
    "user_agent",
    [
        "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)",
        "Mozilla/5.0",
        "",
    ],
)
def test_proxy_opens_are_recorded_but_not_human(
    client: Client, message: Message, user_agent: str
) -> None:
    response = client.get(open_path(message), headers={"User-Agent": user_agent})

    assert response.status_code == 200
    event = MessageEvent.objects.get(message=message)
    assert (event.type, event.human, event.data["reason"]) == ("open", False, "user_agent")
    message.refresh_from_db()
    assert message.opens == 0
    assert not Event.objects.exists()


def test_a_tampered_pixel_is_404_and_records_nothing(client: Client, message: Message) -> None:
    token = tracking.open_token(message.pk)
    response = client.get(f"/t/o/{token[:-1]}{'A' if token[-1] != 'A' else 'B'}.gif")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/plain")
    # A click token is not an open token.
    assert client.get(f"/t/o/{tracking.click_token(message.pk, CART)}.gif").status_code == 404
    assert not MessageEvent.objects.exists()


# --- clicks --------------------------------------------------------------------------------


def test_a_click_redirects_and_makes_the_contact_monitored(
    client: Client, message: Message, contact: Contact
) -> None:
    response = client.get(click_path(message, CART), headers={"User-Agent": BROWSER})

    assert response.status_code == 302
    assert response["Location"] == CART
    assert response["Cache-Control"] == "no-store"
    event = MessageEvent.objects.get(message=message)
    assert (event.type, event.url, event.human) == ("click", CART, True)
    message.refresh_from_db()
    assert message.clicks == 1
    contact.refresh_from_db()
    assert contact.kind == ContactKind.MONITORED
    timeline = Event.objects.get(contact=contact)
    assert timeline.type == "email_clicked"
    assert timeline.source == "email"
    assert timeline.data == {
        "message": message.pk,
        "template": "cart-reminder",
        "node": "first-email",
        "run": None,
        "journey": None,
        "url": CART,
    }


def test_a_head_request_is_not_a_human_click(
    client: Client, message: Message, contact: Contact
) -> None:
    response = client.head(click_path(message, CART), headers={"User-Agent": BROWSER})

    assert response.status_code == 302
    assert response["Location"] == CART
    event = MessageEvent.objects.get(message=message)
    assert (event.human, event.data["reason"]) == (False, "head")
    message.refresh_from_db()
    assert message.clicks == 0
    contact.refresh_from_db()
    assert contact.kind == ContactKind.IDENTIFIED
    assert not Event.objects.exists()


@pytest.mark.parametrize(
    "user_agent",
    [
        "python-requests/2.32.3",
        "Mozilla/5.0 (compatible; Barracuda Sentinel (EE))",
        "Mimecast Safe Links",
        "Proofpoint URL Defense",
        "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17928; Pro)",
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "",
    ],
)
def test_scanner_user_agents_do_not_click(
    client: Client, message: Message, contact: Contact, user_agent: str
) -> None:
    response = client.get(click_path(message, CART), headers={"User-Agent": user_agent})

    assert response.status_code == 302
    event = MessageEvent.objects.get(message=message)
    assert (event.human, event.data["reason"]) == (False, "user_agent")
    message.refresh_from_db()
    assert message.clicks == 0
    contact.refresh_from_db()
    assert contact.kind == ContactKind.IDENTIFIED


def _tamper(token: str) -> str:
    payload, signature = token.rsplit(":", 1)
    return f"{payload}:{signature[:-1]}{'A' if signature[-1] != 'A' else 'B'}"


def _swap_target(token: str, message_id: int, url: str) -> str:
    """The signature of ``token`` over another payload: the same message, another target."""
    _, signature = token.rsplit(":", 1)
    body = json.dumps({"m": message_id, "u": url}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(body).decode().rstrip("=") + ":" + signature


def test_tampered_tokens_and_changed_targets_are_404_and_record_nothing(
    client: Client, message: Message
) -> None:
    token = tracking.click_token(message.pk, CART)
    for bad in [
        _tamper(token),
        _swap_target(token, message.pk, "https://evil.example.com/"),
        _swap_target(token, message.pk + 1, CART),
        tracking.open_token(message.pk),  # an open token is not a click token
        "not-a-token",
    ]:
        response = client.get(f"/t/c/{bad}", headers={"User-Agent": BROWSER})
        assert response.status_code == 404, bad
        assert response["Content-Type"].startswith("text/plain")
        assert "Location" not in response

    assert not MessageEvent.objects.exists()
    message.refresh_from_db()
    assert message.clicks == 0


def test_a_click_of_a_deleted_message_still_reaches_its_target(
    client: Client, message: Message
) -> None:
    path = click_path(message, CART)
    message.delete()

    response = client.get(path, headers={"User-Agent": BROWSER})

    assert response.status_code == 302
    assert response["Location"] == CART
    assert not MessageEvent.objects.exists()


def test_clicks_on_every_link_right_after_sending_are_a_scanner(
    client: Client, installation: Installation, contact: Contact
) -> None:
    message = make_message(installation, contact, sent_ago=timedelta(seconds=1))
    sent_at = message.sent_at
    assert sent_at is not None

    with FrozenClock(sent_at + timedelta(seconds=2)) as clock:
        first = client.get(click_path(message, CART), headers={"User-Agent": BROWSER})
        # Held: not counted until it is clear who clicked.
        held = MessageEvent.objects.get(message=message)
        assert (held.human, held.data["held"]) == (False, True)
        clock.advance(timedelta(seconds=1))
        second = client.get(click_path(message, PRODUCT), headers={"User-Agent": BROWSER})

    assert (first.status_code, second.status_code) == (302, 302)
    assert first["Location"] == CART
    events = list(MessageEvent.objects.filter(message=message).order_by("pk"))
    assert [(e.url, e.human, e.data["reason"]) for e in events] == [
        (CART, False, "scanner_window"),
        (PRODUCT, False, "scanner_window"),
    ]
    message.refresh_from_db()
    assert message.clicks == 0
    contact.refresh_from_db()
    assert contact.kind == ContactKind.IDENTIFIED
    assert not Event.objects.exists()

    # The person, later.
    with FrozenClock(sent_at + timedelta(minutes=5)):
        later = client.get(click_path(message, CART), headers={"User-Agent": BROWSER})

    assert later.status_code == 302
    last = MessageEvent.objects.filter(message=message).latest("pk")
    assert last.human is True
    assert MessageEvent.objects.filter(message=message, human=True).count() == 1
    message.refresh_from_db()
    assert message.clicks == 1
    contact.refresh_from_db()
    assert contact.kind == ContactKind.MONITORED
    assert Event.objects.get(contact=contact).type == "email_clicked"


def test_a_single_early_click_counts_once_the_window_has_passed(
    client: Client, installation: Installation, contact: Contact
) -> None:
    message = make_message(installation, contact, sent_ago=timedelta(seconds=1))
    sent_at = message.sent_at
    assert sent_at is not None

    with FrozenClock(sent_at + timedelta(seconds=3)):
        client.get(click_path(message, CART), headers={"User-Agent": BROWSER})
    message.refresh_from_db()
    assert message.clicks == 0

    # The next hit of the message after the window settles it: a person, who then read it again.
    with FrozenClock(sent_at + timedelta(minutes=1)):
        client.get(open_path(message), headers={"User-Agent": BROWSER})

    click = MessageEvent.objects.get(message=message, type="click")
    assert (click.human, click.data["held"]) == (True, False)
    message.refresh_from_db()
    assert (message.clicks, message.opens) == (1, 1)
    contact.refresh_from_db()
    assert contact.kind == ContactKind.MONITORED
    clicked = Event.objects.get(contact=contact, type="email_clicked")
    assert clicked.occurred_at == sent_at + timedelta(seconds=3)


def test_the_only_link_clicked_right_after_sending_is_a_scanner(
    client: Client, installation: Installation, contact: Contact
) -> None:
    html = f'<html><body><a href="{CART}">cart</a></body></html>'
    message = make_message(installation, contact, html=html, sent_ago=timedelta(seconds=1))
    sent_at = message.sent_at
    assert sent_at is not None

    with FrozenClock(sent_at + timedelta(seconds=2)):
        client.get(click_path(message, CART), headers={"User-Agent": BROWSER})

    event = MessageEvent.objects.get(message=message)
    assert (event.human, event.data["reason"]) == (False, "scanner_window")


@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_tracking_urls_answer_only_get_and_head(
    client: Client, message: Message, method: str
) -> None:
    response: Any = getattr(client, method)(click_path(message, CART))
    assert response.status_code == 405
    assert not MessageEvent.objects.exists()


def test_a_click_reaches_its_target_when_recording_fails(
    client: Client, message: Message, monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("database down")

    monkeypatch.setattr(tracking, "record_click", broken)
    response = client.get(click_path(message, CART), headers={"User-Agent": BROWSER})

    assert response.status_code == 302
    assert response["Location"] == CART
    assert "Could not record a click" in caplog.text
