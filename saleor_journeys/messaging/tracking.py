"""Open and click tracking of journey emails.

Building: :func:`track_html` (or :func:`rewrite_links` and :func:`add_pixel` one by one) turns a
rendered email's HTML into its tracked version: every web link goes through a signed click URL,
``<base>/t/c/<token>``, and a 1x1 image, ``<base>/t/o/<token>.gif``, is added at the end of the
body. A click token is signed (``django.core.signing``) over the message id *and* the target,
so the app never redirects anywhere it did not write into the email itself.

Recording: :func:`record_open` and :func:`record_click` store a ``MessageEvent`` for every hit,
and decide whether a person made it (``human``). Only human engagement counts: it increments
``Message.opens``/``clicks``, is logged in the contact's timeline (``email_opened``,
``email_clicked``, which journey conditions and waits see) and a click makes the contact
``monitored``. Not human are HEAD requests, known scanners and image proxies (by user agent),
and link scanners recognised by their speed: clicks on every link of a message within
``SCANNER_CLICK_WINDOW`` seconds of sending. A click inside that window is *held* (recorded,
not counted) until it is clear which it was: a second distinct link clicked inside the window
makes all of them scanner clicks; otherwise it counts once the window has passed, when the next
hit for that message arrives (:func:`settle_held_clicks`).
"""

from __future__ import annotations

import html as html_lib
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.core import signing
from django.db import transaction
from django.db.models import F

from saleor_journeys import conf
from saleor_journeys.contacts.models import Contact, ContactKind
from saleor_journeys.core import clock
from saleor_journeys.events import log
from saleor_journeys.messaging.models import Message, MessageEvent

logger = logging.getLogger(__name__)

CLICK_SALT = "saleor_journeys.click"
OPEN_SALT = "saleor_journeys.open"
NO_TRACK_ATTRIBUTE = "data-journeys-no-track"
OPEN = "open"
CLICK = "click"
# Longer targets are left as they are: the token would be as long, and MessageEvent.url is not.
MAX_TRACKED_URL = 2000

# An ``<a …>`` start tag; quoted attribute values may hold ``>``.
_A_TAG = re.compile(r"""<a(?=[\s/>])(?:[^>"']|"[^"]*"|'[^']*')*>""", re.IGNORECASE)
# One attribute of a start tag: name, then optionally ``=`` and a quoted or bare value.
_ATTRIBUTE = re.compile(r"""([^\s"'>/=]+)(?:\s*=\s*("[^"]*"|'[^']*'|[^\s"'<>`]+))?""")
_BODY_END = re.compile(r"</body\s*>", re.IGNORECASE)
_CLICK_PATH = re.compile(r"/t/c/([^/?#]+)$")


# --- tokens ---------------------------------------------------------------------------------


def _signer(salt: str) -> signing.Signer:
    # A Signer without a timestamp: an email may be read years later, and the same link of the
    # same message always gets the same token. SECRET_KEY_FALLBACKS keep old emails working
    # through a key rotation.
    return signing.Signer(salt=salt)


def click_token(message_id: int, url: str) -> str:
    return _signer(CLICK_SALT).sign_object({"m": message_id, "u": url}, compress=True)


def read_click_token(token: str) -> tuple[int, str] | None:
    """The message id and target of a click token, or None when it is not one of ours."""
    try:
        value = _signer(CLICK_SALT).unsign_object(token)
    except (signing.BadSignature, ValueError):
        return None
    if not isinstance(value, dict):
        return None
    message_id, url = value.get("m"), value.get("u")
    if not isinstance(message_id, int) or not isinstance(url, str) or not _is_web_url(url):
        return None
    return message_id, url


def open_token(message_id: int) -> str:
    return _signer(OPEN_SALT).sign_object(message_id)


def read_open_token(token: str) -> int | None:
    try:
        value = _signer(OPEN_SALT).unsign_object(token)
    except (signing.BadSignature, ValueError):
        return None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def click_url(message: Message, url: str, base_url: str) -> str:
    return f"{base_url.rstrip('/')}/t/c/{click_token(message.pk, url)}"


def pixel_url(message: Message, base_url: str) -> str:
    """The URL of the message's open pixel: ``<base_url>/t/o/<token>.gif``."""
    return f"{base_url.rstrip('/')}/t/o/{open_token(message.pk)}.gif"


# --- building tracked HTML ------------------------------------------------------------------


def _is_web_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc)


@dataclass(frozen=True)
class _Link:
    start: int  # of the href value (with its quotes) in the HTML
    end: int
    target: str  # unescaped
    no_track: bool


def _links(html: str) -> Iterator[_Link]:
    """The ``href`` of every ``<a>`` start tag, in order."""
    for tag in _A_TAG.finditer(html):
        href: tuple[int, int, str] | None = None
        no_track = False
        # Attributes start after "<a"; the closing ">" is not part of them.
        body_start = tag.start() + 2
        for attribute in _ATTRIBUTE.finditer(html, body_start, tag.end() - 1):
            name = attribute.group(1).lower()
            if name == NO_TRACK_ATTRIBUTE:
                no_track = True
            elif name == "href" and href is None and attribute.group(2) is not None:
                raw = attribute.group(2)
                unquoted = raw[1:-1] if raw[:1] in ("'", '"') else raw
                href = (attribute.start(2), attribute.end(2), html_lib.unescape(unquoted).strip())
        if href is not None:
            yield _Link(href[0], href[1], href[2], no_track)


def _trackable(link: _Link, base_url: str) -> bool:
    return (
        not link.no_track
        and _is_web_url(link.target)
        and len(link.target) <= MAX_TRACKED_URL
        # The app's own links (unsubscribe, preferences, opt-in, tracked already) stay as they
        # are: following one is not engagement, and it must work without a detour.
        and not link.target.startswith(f"{base_url.rstrip('/')}/")
    )


def rewrite_links(html: str, message: Message, base_url: str) -> str:
    """``html`` with the ``href`` of every ``<a>`` to an ``http(s)`` URL replaced by the signed
    click URL of that target. Left alone: ``mailto:``, ``tel:`` and other schemes, links
    marked ``data-journeys-no-track`` (the unsubscribe and preferences links carry it), links
    to the app itself (``base_url``: unsubscribe, opt-in, tracked already), and targets over
    2000 characters. Everything else, including the rest of
    each tag, is kept byte for byte."""
    parts: list[str] = []
    position = 0
    for link in _links(html):
        if not _trackable(link, base_url):
            continue
        parts.append(html[position : link.start])
        tracked = click_url(message, link.target, base_url)
        parts.append(f'"{html_lib.escape(tracked, quote=True)}"')
        position = link.end
    parts.append(html[position:])
    return "".join(parts)


def add_pixel(html: str, message: Message, base_url: str) -> str:
    """``html`` with the open pixel as the last thing of its body."""
    image = (
        f'<img src="{html_lib.escape(pixel_url(message, base_url), quote=True)}" width="1" '
        'height="1" alt="" style="display:block;width:1px;height:1px;border:0;" />'
    )
    ends = list(_BODY_END.finditer(html))
    if not ends:
        return html + image
    at = ends[-1].start()
    return html[:at] + image + html[at:]


def tracking_base_url() -> str | None:
    """Where the tracking URLs point: ``PUBLIC_URL``. Without it there is no absolute URL an
    email could hold, and emails go out untracked."""
    public = conf.get("PUBLIC_URL")
    return public.rstrip("/") if public else None


def track_html(html: str, message: Message, base_url: str | None = None) -> str:
    """What the email renderer calls on the rendered HTML of a stored message (it needs its
    id): links rewritten when ``TRACK_CLICKS``, the pixel added when ``TRACK_OPENS``.
    ``base_url`` defaults to ``PUBLIC_URL``; without either, ``html`` is returned unchanged."""
    base = (base_url or tracking_base_url() or "").rstrip("/")
    if not html or not base:
        return html
    if conf.get("TRACK_CLICKS"):
        html = rewrite_links(html, message, base)
    if conf.get("TRACK_OPENS"):
        html = add_pixel(html, message, base)
    return html


def link_targets(html: str, base_url: str | None = None) -> set[str]:
    """The distinct targets a message's stored HTML links to and would track, whether or not
    its links are rewritten yet. ``base_url`` defaults to ``PUBLIC_URL``."""
    base = base_url or tracking_base_url() or ""
    targets: set[str] = set()
    for link in _links(html):
        match = _CLICK_PATH.search(urlsplit(link.target).path) if _is_web_url(link.target) else None
        decoded = read_click_token(match.group(1)) if match else None
        if decoded is not None:
            targets.add(decoded[1])
        elif _trackable(link, base):
            targets.add(link.target)
    return targets


# --- who clicked ----------------------------------------------------------------------------

_SCANNER_AGENTS = re.compile(
    "|".join(
        [
            # Image proxies and privacy protection: they fetch for the reader, or ahead of them.
            r"googleimageproxy",
            r"ggpht\.com",
            r"yahoomailproxy",
            r"^mozilla/5\.0$",  # Apple Mail Privacy Protection
            # Link checkers of mail servers and security gateways.
            r"microsoft office existence discovery",
            r"ms-office",
            r"bingpreview",
            r"safelinks",
            r"barracuda",
            r"mimecast",
            r"proofpoint",
            r"messagelabs",
            r"symantec",
            r"trend ?micro",
            r"sophos",
            r"fortiguard",
            r"ironport",
            r"forcepoint",
            r"zscaler",
            r"trustwave",
            r"scanner",
            # Programs, not browsers.
            r"python-requests",
            r"python-urllib",
            r"aiohttp",
            r"python-httpx",
            r"^curl/",
            r"^wget/",
            r"go-http-client",
            r"^java/",
            r"okhttp",
            r"libwww-perl",
            r"apache-httpclient",
            r"node-fetch",
            r"^axios/",
            r"headlesschrome",
            r"phantomjs",
            # Crawlers and link previews.
            r"\bbot\b",
            r"robot",
            r"googlebot",
            r"bingbot",
            r"applebot",
            r"yandexbot",
            r"duckduckbot",
            r"slackbot",
            r"twitterbot",
            r"linkedinbot",
            r"discordbot",
            r"telegrambot",
            r"facebookexternalhit",
            r"whatsapp",
            r"skypeuripreview",
            r"crawler",
            r"spider",
            r"preview",
        ]
    ),
    re.IGNORECASE,
)
# Office fetches links it displays (Word, Outlook's link checks); it opens clicked ones in the
# browser. Its image loads are the reader opening the email in Outlook.
_CLICK_ONLY_SCANNER_AGENTS = re.compile(r"microsoft office|microsoft outlook", re.IGNORECASE)


def is_scanner_agent(user_agent: str, kind: str = CLICK) -> bool:
    """Whether a user agent is a proxy, scanner or program rather than a person's mail client or
    browser. An empty one is never a person."""
    agent = user_agent.strip()
    if not agent:
        return True
    if kind == CLICK and _CLICK_ONLY_SCANNER_AGENTS.search(agent):
        return True
    return bool(_SCANNER_AGENTS.search(agent))


def _window_start(message: Message) -> datetime:
    if message.sent_at is not None:
        return message.sent_at
    # Not marked sent (yet): a hit may come in before the outbox stores the send time.
    times = [t for t in (message.created_at, message.send_after) if t is not None]
    return max(times)


def window_end(message: Message) -> datetime:
    return _window_start(message) + timedelta(seconds=conf.get("SCANNER_CLICK_WINDOW"))


# --- recording ------------------------------------------------------------------------------


def _lock(message_id: int, provider_event_id: str) -> tuple[Message | None, MessageEvent | None]:
    """The message, locked for the change, and the event a provider sent already under this
    id (its webhook delivered again), if any."""
    message = (
        Message.objects.select_for_update(of=("self",))
        .select_related("contact", "run")
        .filter(pk=message_id)
        .first()
    )
    if message is None or not provider_event_id:
        return message, None
    return message, message.events.filter(provider_event_id=provider_event_id).first()


def record_open(
    message_id: int,
    *,
    user_agent: str = "",
    head: bool = False,
    at: datetime | None = None,
    count: bool = True,
    data: dict[str, Any] | None = None,
    provider_event_id: str = "",
) -> MessageEvent | None:
    """Store an open of a message; None when the message does not exist (any more).

    ``count=False`` records it without counting it anywhere (a provider's open while the app
    tracks opens itself)."""
    now = clock.now()
    at = at or now
    with transaction.atomic():
        message, seen = _lock(message_id, provider_event_id)
        if message is None or seen is not None:
            return seen
        reason = "head" if head else "user_agent" if is_scanner_agent(user_agent, OPEN) else ""
        event = MessageEvent.objects.create(
            message=message,
            type=OPEN,
            at=at,
            user_agent=user_agent[:512],
            human=not reason,
            provider_event_id=provider_event_id,
            data={**(data or {}), **({"reason": reason} if reason else {}), "counted": count},
        )
        if event.human and count:
            _engaged(message, event)
        settle_held_clicks(message, now)
    return event


def record_click(
    message_id: int,
    url: str,
    *,
    user_agent: str = "",
    head: bool = False,
    at: datetime | None = None,
    count: bool = True,
    data: dict[str, Any] | None = None,
    provider_event_id: str = "",
) -> MessageEvent | None:
    """Store a click of a message's link; None when the message does not exist (any more)."""
    now = clock.now()
    at = at or now
    with transaction.atomic():
        message, seen = _lock(message_id, provider_event_id)
        if message is None or seen is not None:
            return seen
        url = url[:2048]
        extra: dict[str, Any] = {}
        if head:
            extra["reason"] = "head"
        elif is_scanner_agent(user_agent, CLICK):
            extra["reason"] = "user_agent"
        if at < window_end(message):
            in_window = list(
                message.events.filter(type=CLICK, at__lt=window_end(message)).only("url", "data")
            )
            clicked = {e.url for e in in_window} | {url}
            links = link_targets(message.html)
            if len(clicked) >= 2 or (links and links <= clicked):
                # Every link, or two different ones, within seconds: a link scanner.
                extra.setdefault("reason", "scanner_window")
                held = [e for e in in_window if e.data.get("held")]
                for other in held:
                    other.data = {**other.data, "held": False, "reason": "scanner_window"}
                MessageEvent.objects.bulk_update(held, ["data"])
            elif "reason" not in extra:
                extra["held"] = True
        event = MessageEvent.objects.create(
            message=message,
            type=CLICK,
            at=at,
            url=url,
            user_agent=user_agent[:512],
            human="reason" not in extra and not extra.get("held"),
            provider_event_id=provider_event_id,
            data={**(data or {}), **extra, "counted": count},
        )
        if event.human and count:
            _engaged(message, event)
        settle_held_clicks(message, now)
    return event


def settle_held_clicks(message: Message, now: datetime | None = None) -> int:
    """Once a message's scanner window has passed, its held clicks that no scanner verdict
    reached count as human. Called on every hit of the message; returns how many were settled.
    Runs in the caller's transaction, with the message locked."""
    now = now or clock.now()
    if now < window_end(message):
        return 0
    settled = 0
    for event in message.events.filter(type=CLICK, data__held=True).order_by("at", "pk"):
        event.human = True
        event.data = {**event.data, "held": False, "settled_at": now.isoformat()}
        event.save(update_fields=["human", "data"])
        if event.data.get("counted", True):
            _engaged(message, event)
        settled += 1
    return settled


def _engaged(message: Message, event: MessageEvent) -> None:
    """A person opened or clicked: count it, log it in the contact's timeline (so journeys hear
    of it) and, for a click, mark the contact as monitored."""
    if event.type == OPEN:
        Message.objects.filter(pk=message.pk).update(opens=F("opens") + 1)
    else:
        Message.objects.filter(pk=message.pk).update(clicks=F("clicks") + 1)
    contact = message.contact
    if contact is None or contact.erased_at is not None:
        return
    now = clock.now()
    if event.type == CLICK and contact.kind != ContactKind.MONITORED:
        Contact.objects.filter(pk=contact.pk).update(kind=ContactKind.MONITORED, updated_at=now)
        contact.kind = ContactKind.MONITORED
    # An email read five times is one "opened" fact; every human click is its own. Pushes and
    # on-site messages carry tracked links too: their facts are named after their channel.
    channel = message.channel or "email"
    key = (
        f"{channel}:{message.pk}:opened"
        if event.type == OPEN
        else f"{channel}:click:{event.pk}:clicked"
    )
    data: dict[str, Any] = {
        "message": message.pk,
        "template": message.template,
        "node": message.node,
        "run": message.run_id,
        "journey": message.run.journey_id if message.run is not None else None,
    }
    if event.type == CLICK:
        data["url"] = event.url
    log.record(
        installation_id=message.installation_id,
        contact=contact,
        type=f"{channel}_opened" if event.type == OPEN else f"{channel}_clicked",
        source=channel,
        key=key,
        occurred_at=event.at,
        received_at=now,
        data=data,
    )
