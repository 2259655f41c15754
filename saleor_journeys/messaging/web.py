"""The web channel: on-site messages (a popup, a banner, a recommendation frame, a prompt to
allow push notifications) that ``journeys.js`` shows on the storefront.

Nothing leaves the app when a web message is sent: it is *queued* (status ``sent``) for the
contact's next page view that matches its ``url_pattern``, handed to the browser in the answer
of the collect endpoint (``web.onsite``), and ``delivered`` once the browser reports it shown.
It expires ``WEB_MESSAGE_TTL`` seconds after it was queued.

A web template is YAML like the email ones, ``channel: web``, with per language ``kind``,
``title``, ``body``, ``cta_label``, ``cta_url``, ``image`` and optionally ``url_pattern`` and
``slot``. Every field is rendered as plain text (the snippet sets ``textContent``, never HTML):
a product name with markup in it comes out as the literal text of that markup.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from saleor_journeys import conf
from saleor_journeys.contacts.models import Contact
from saleor_journeys.core import clock
from saleor_journeys.messaging import channels, content, sandbox
from saleor_journeys.messaging.channels import Capabilities, Rendered, RenderError
from saleor_journeys.messaging.models import Message
from saleor_journeys.web.models import Visitor

KINDS = ("popup", "banner", "frame", "push_prompt")
TEXT_FIELDS = ("title", "body", "cta_label", "url_pattern", "slot")
URL_FIELDS = ("image", "cta_url")


def safe_url(value: str) -> str:
    """An absolute http(s) URL or a path on the shop (``/products/…``); anything else (a
    ``javascript:`` URL, a protocol-relative one) is dropped."""
    value = value.strip()
    if value.startswith("/") and not value.startswith("//"):
        return value
    try:
        parts = urlsplit(value)
    except ValueError:
        return ""
    return value if parts.scheme in ("http", "https") and parts.hostname else ""


class WebChannel:
    name = "web"
    capabilities = Capabilities(tracking=True, quiet_hours=False, needs_explicit_consent=False)

    def address_problem(self, contact: Contact) -> str:
        return "the contact has no browser we know"

    def address(self, contact: Contact) -> str | None:
        """A marker, not an address: the contact has at least one browser (``Visitor``)."""
        if contact.pk is None or not Visitor.objects.filter(contact=contact).exists():
            return None
        return f"contact:{contact.pk}"

    def render(self, message: Message, contact: Contact, context: dict[str, Any]) -> Rendered:
        """The template's fields as plain text, into ``message.data`` (what the collect answer
        shows); the title and body also as the message's subject and text."""
        data = dict(context)
        template = content.source(
            contact.installation, message.template, self.name, message.language
        )
        kind = template.fields.get("kind", "").strip()
        if kind not in KINDS:
            raise RenderError(
                f"{message.template} ({template.language}) needs a kind: {', '.join(KINDS)}"
            )
        try:
            text = {
                name: sandbox.render(template.fields.get(name, ""), data, html=False)
                for name in (*TEXT_FIELDS, *URL_FIELDS)
            }
        except Exception as exc:  # a syntax error, a filter failing on this contact's data …
            raise RenderError(
                f"{message.template} ({template.language}) cannot be rendered: {exc}"
            ) from exc
        title = " ".join(text["title"].split())
        body = text["body"].strip()
        if not title and not body and kind != "frame":
            raise RenderError(f"{message.template} ({template.language}) renders empty")
        # A message is about a product when its template speaks of it (``{{ product.name }}``):
        # such a message is never shown to someone who has bought that product.
        product = data.get("product")
        about_product = any("product" in value for value in template.fields.values())
        product_id = product.get("id") if isinstance(product, Mapping) and about_product else None
        message.data = {
            "kind": kind,
            "title": title,
            "body": body,
            "image": safe_url(text["image"]),
            "cta": {"label": " ".join(text["cta_label"].split()), "url": safe_url(text["cta_url"])},
            "url_pattern": text["url_pattern"].strip(),
            "product_id": str(product_id) if product_id else "",
            "slot": text["slot"].strip(),
            "expires_at": "",
        }
        return Rendered(
            to=self.address(contact) or "",
            subject=title,
            text=body,
            language=template.language,
        )

    def send(self, message: Message) -> str:
        """Queue it: stored with its expiry for the next matching page view."""
        expires = clock.now() + timedelta(seconds=conf.get("WEB_MESSAGE_TTL"))
        message.data = {**message.data, "expires_at": expires.isoformat()}
        return f"web:{message.pk}"


channel = channels.register(WebChannel())
