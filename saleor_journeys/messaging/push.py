"""The web push channel: a notification to every browser the contact subscribed in.

A push template (``channel: push``) has a ``title``, a ``body``, a ``url`` (opened on a click)
and an ``icon`` per language, rendered as plain text. The URL goes through click tracking like
an email's links (``messaging.tracking``), so a click counts as engagement and carries who the
person is to the storefront. The payload, encrypted for each subscription (RFC 8291,
``aes128gcm``) by ``pywebpush`` and signed with the installation's VAPID key (RFC 8292), is the
JSON the storefront's service worker (``journeys-sw.js``) shows::

    {"title": "…", "body": "…", "url": "https://…", "icon": "https://…", "tag": "<message id>"}

A push service that answers 404 or 410 has dropped the subscription (the person unsubscribed,
cleared the site's data, or the browser rotated it): it is deleted. The message is sent when at
least one push service took it; otherwise it fails, and is tried again only when a service was
busy or unreachable (429, 5xx, a network error).

Whether a push may go (consent, quiet hours, caps) is decided in ``messaging.policy``.
"""

from __future__ import annotations

import json
import logging
from email.utils import parseaddr
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from py_vapid import Vapid, VapidException  # type: ignore[import-untyped]
from pywebpush import WebPushException, webpush  # type: ignore[import-untyped]

from saleor_journeys import conf
from saleor_journeys.core import clock, outbound
from saleor_journeys.messaging import channels, content, sandbox, tracking
from saleor_journeys.messaging.channels import Capabilities, Rendered, RenderError, SendError
from saleor_journeys.messaging.models import Message
from saleor_journeys.web import push as subscriptions
from saleor_journeys.web.models import PushSubscription, Site

if TYPE_CHECKING:
    from saleor_journeys.contacts.models import Contact

logger = logging.getLogger(__name__)

TIMEOUT = 10.0
"""Seconds to wait for a push service (connecting, then reading)."""

MAX_PAYLOAD = 3993
"""The largest plaintext one ``aes128gcm`` record of 4096 bytes holds (4096 - 86 header -
16 tag - 1 delimiter): push services must take 4096-byte bodies, not more."""

FIELDS = ("title", "body", "url", "icon")
NO_SUBSCRIPTION = "the contact has no web push subscription"
_GONE = (404, 410)


def subject() -> str:
    """The VAPID ``sub`` claim: ``WEB_PUSH_SUBJECT``, else ``mailto:`` the address journey
    emails are sent from. Push services use it to reach the sender of a misbehaving push."""
    configured: str = conf.get("WEB_PUSH_SUBJECT")
    if configured:
        return configured
    address = parseaddr(conf.get("EMAIL_FROM") or settings.DEFAULT_FROM_EMAIL)[1]
    return f"mailto:{address}" if address else ""


def session() -> requests.Session:
    """The HTTP session pushes are sent with: every connection is checked like a journey
    webhook's (``core.outbound``), since endpoints come from browsers. A factory, so that a
    host project can replace it (a proxy, other timeouts)."""
    return outbound.guarded_session(subscriptions.allowed_networks())


def _web_url(value: str) -> bool:
    try:
        parts = urlsplit(value)
    except ValueError:  # an unclosed IPv6 bracket …
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


class PushChannel:
    name = "push"
    capabilities = Capabilities(tracking=True, quiet_hours=True, needs_explicit_consent=False)

    def address_problem(self, contact: Contact) -> str:
        return NO_SUBSCRIPTION

    def address(self, contact: Contact) -> str | None:
        """``push:<contact id>`` while the contact has a subscription: pushes go to all of
        them, so the contact is the address."""
        if contact.pk is None or not contact.push_subscriptions.exists():
            return None
        return f"push:{contact.pk}"

    def render(self, message: Message, contact: Contact, context: dict[str, Any]) -> Rendered:
        language = message.language or contact.language_code
        source = content.source(contact.installation, message.template, self.name, language)
        values: dict[str, str] = {}
        try:
            for name in FIELDS:
                text = sandbox.render(source.fields.get(name, ""), context, html=False)
                values[name] = " ".join(text.split())
        except Exception as exc:  # a syntax error, a filter failing on this contact's data …
            raise RenderError(
                f"{message.template} ({source.language}) cannot be rendered: {exc}"
            ) from exc
        if not values["title"]:
            raise RenderError(f"the push template {message.template!r} renders an empty title")
        if values["url"] and not _web_url(values["url"]):
            raise RenderError(f"the push's url {values['url']!r} is not an http(s) URL")
        if values["icon"] and not _web_url(values["icon"]):
            values["icon"] = ""  # the service worker shows its default icon instead
        data = {**values, "target": values["url"]}
        base = tracking.tracking_base_url()
        if (
            values["url"]
            and message.pk is not None
            and message.marketing
            and base
            and conf.get("TRACK_CLICKS")
            and len(values["url"]) <= tracking.MAX_TRACKED_URL
        ):
            data["url"] = tracking.click_url(message, values["url"], base)
        size = len(payload(data, tag="9" * 20))
        if size > MAX_PAYLOAD:
            raise RenderError(
                f"the push is {size} bytes long; a push carries at most {MAX_PAYLOAD}"
            )
        message.data = data
        return Rendered(
            to=message.to or (f"push:{contact.pk}" if contact.pk is not None else ""),
            subject=values["title"],
            text=values["body"],
            language=source.language,
        )

    def send(self, message: Message) -> str:
        rows = (
            list(
                PushSubscription.objects.filter(
                    installation_id=message.installation_id, contact_id=message.contact_id
                ).order_by("pk")
            )
            if message.contact_id is not None
            else []
        )
        if not rows:
            raise SendError(NO_SUBSCRIPTION, retry=False)
        sub = subject()
        if not sub:
            raise SendError(
                "web push has no VAPID subject: set WEB_PUSH_SUBJECT or EMAIL_FROM", retry=False
            )
        site, _ = Site.objects.get_or_create(installation_id=message.installation_id)
        try:
            vapid = Vapid(private_key=subscriptions.private_key(subscriptions.vapid_keys(site)[0]))
        except ValueError as exc:
            raise SendError(
                f"the installation's VAPID key is unusable: {exc}", retry=False
            ) from exc
        body = payload(message.data, tag=str(message.pk))
        outcome = _Outcome()
        http = session()
        try:
            for row in rows:
                outcome.add(row, _push(http, row, body, vapid, sub))
        finally:
            http.close()
        now = clock.now()
        for row, reason in outcome.gone:
            subscriptions.forget(row, reason=reason, now=now)
        if outcome.accepted:
            PushSubscription.objects.filter(pk__in=[r.pk for r in outcome.accepted]).update(
                last_sent_at=now
            )
        message.data = {**message.data, "pushes": outcome.summary()}
        if not outcome.accepted:
            raise outcome.error(len(rows))
        logger.info("Push %s taken by %d push service(s)", message.pk, len(outcome.accepted))
        return outcome.provider_id()


def payload(data: dict[str, Any], *, tag: str) -> bytes:
    """The JSON the service worker reads."""
    fields = {name: str(data.get(name, "")) for name in FIELDS}
    return json.dumps({**fields, "tag": tag}, ensure_ascii=False, separators=(",", ":")).encode()


class _Result:
    """One subscription's answer: ``status`` (None: no answer), ``location`` (the push
    service's id of the message), ``error``."""

    def __init__(
        self,
        status: int | None,
        *,
        location: str = "",
        error: str = "",
        refused: bool = False,
        invalid: bool = False,
    ) -> None:
        self.status, self.location, self.error = status, location, error
        self.refused, self.invalid = refused, invalid

    @property
    def accepted(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def gone(self) -> bool:
        return self.refused or self.status in _GONE

    @property
    def retry(self) -> bool:
        if self.refused or self.invalid:
            return False
        return self.status is None or self.status == 429 or self.status >= 500


def _push(
    http: requests.Session, row: PushSubscription, body: bytes, vapid: Any, sub: str
) -> _Result:
    info = {"endpoint": row.endpoint, "keys": {"p256dh": row.p256dh, "auth": row.auth}}
    try:
        outbound.check_url(row.endpoint, require_https=conf.get("OUTGOING_WEBHOOK_REQUIRE_HTTPS"))
        response = webpush(
            info,
            data=body.decode(),
            vapid_private_key=vapid,
            # A new dict per push: pywebpush writes the endpoint's origin into it (``aud``).
            vapid_claims={"sub": sub},
            content_encoding="aes128gcm",
            ttl=int(conf.get("WEB_PUSH_TTL")),
            timeout=TIMEOUT,
            requests_session=http,
        )
    except outbound.RefusedAddress as exc:
        return _Result(None, error=f"refused: {exc}", refused=True)
    except WebPushException as exc:
        if exc.response is None:  # refused before sending: the stored keys are unusable
            return _Result(None, error=str(exc.message), invalid=True)
        status = exc.status_code
        text = (getattr(exc.response, "text", "") or "").strip()[:200]
        return _Result(status, error=f"HTTP {status}" + (f": {text}" if text else ""))
    except VapidException as exc:  # a ``sub`` that is not mailto:/https:, an odd endpoint
        return _Result(None, error=f"the VAPID claims are refused: {exc}", invalid=True)
    except requests.RequestException as exc:
        refused = outbound.refusal(exc)
        if refused is not None:
            return _Result(None, error=f"refused: {refused}", refused=True)
        return _Result(None, error=f"not reached: {exc.__class__.__name__}")
    return _Result(response.status_code, location=response.headers.get("Location", ""))


class _Outcome:
    def __init__(self) -> None:
        self.accepted: list[PushSubscription] = []
        self.gone: list[tuple[PushSubscription, str]] = []
        self.results: list[_Result] = []

    def add(self, row: PushSubscription, result: _Result) -> None:
        self.results.append(result)
        if result.accepted:
            self.accepted.append(row)
        elif result.gone:
            self.gone.append((row, "refused" if result.refused else "expired"))
        else:
            logger.warning("Push subscription %s was not taken: %s", row.pk, result.error)

    def summary(self) -> dict[str, int]:
        return {
            "accepted": len(self.accepted),
            "expired": len(self.gone),
            "failed": len(self.results) - len(self.accepted) - len(self.gone),
        }

    def provider_id(self) -> str:
        locations = [r.location for r in self.results if r.accepted and r.location]
        if len(self.results) == 1 and locations:
            return locations[0][:255]
        return f"{len(self.accepted)} of {len(self.results)} subscriptions"

    def error(self, total: int) -> SendError:
        if len(self.gone) == total:
            noun = "subscription has" if total == 1 else f"{total} subscriptions have"
            return SendError(
                f"the contact's push {noun} expired or been refused; none is left", retry=False
            )
        reasons = "; ".join(dict.fromkeys(r.error for r in self.results if not r.gone))
        retry = any(r.retry for r in self.results if not r.gone)
        return SendError(f"no push service took the push ({reasons})", retry=retry)


channel = channels.register(PushChannel())
