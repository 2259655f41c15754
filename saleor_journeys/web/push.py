"""Web push subscriptions: the installation's VAPID key pair, and the browsers that subscribed.

Each installation has its own VAPID key pair (RFC 8292), made on first use: browsers subscribe
with its public key (``applicationServerKey``), and push services accept only pushes signed
with its private key. A subscription is the Push API's endpoint (a URL at the browser's push
service) and the keys the payload is encrypted for (RFC 8291); it belongs to the visitor's
contact, and moves with it when the visitor is identified (``contacts.merge``).

The endpoint comes from a browser, so it is an address the app will POST to on a stranger's
word: it follows the rules of every other outgoing URL (``core.outbound``): ``https`` only
(unless ``OUTGOING_WEBHOOK_REQUIRE_HTTPS`` is off, for development), and never a private or
loopback address outside ``OUTGOING_WEBHOOK_ALLOWED_NETWORKS``. Here an IP address in the URL
is checked; a name is checked on the address it resolves to, when the push is sent
(``messaging.push``).
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import logging
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.db import transaction

from saleor_journeys import conf
from saleor_journeys.core import clock, outbound
from saleor_journeys.events import log
from saleor_journeys.web.models import PushSubscription, Site, Visitor

logger = logging.getLogger(__name__)

SOURCE = "web"
SUBSCRIBED = "push_subscribed"
UNSUBSCRIBED = "push_unsubscribed"
MAX_ENDPOINT = 2048  # PushSubscription.endpoint's length
P256DH_BYTES = 65  # an uncompressed P-256 point: 0x04, x, y
AUTH_BYTES = 16
_B64URL = re.compile(r"[A-Za-z0-9_-]+={0,2}")


# --- keys -------------------------------------------------------------------------------------


def b64url(data: bytes) -> str:
    """Base64url without padding, as the Push API and VAPID write keys."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(value: str) -> bytes:
    """Raises ValueError for anything that is not base64url (padded or not)."""
    if not _B64URL.fullmatch(value):
        raise ValueError("not base64url")
    text = value.rstrip("=")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:  # a length no encoding has
        raise ValueError("not base64url") from exc


def _public_of(private: ec.EllipticCurvePrivateKey) -> str:
    point = private.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return b64url(point)


def private_key(pem: str) -> ec.EllipticCurvePrivateKey:
    """The stored PEM as a key object."""
    key = serialization.load_pem_private_key(pem.encode("ascii"), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise ValueError("the site's VAPID key is not a P-256 key")
    return key


def vapid_keys(site: Site) -> tuple[str, str]:
    """The installation's VAPID key pair, ``(private key PEM, public key base64url)``, made on
    first use.

    Two processes making it at once both generate one, but only the first conditional UPDATE
    (``WHERE vapid_private_key = ''``) writes: the other waits for its row lock, finds the
    condition false, and reads the winner's pair. So browsers never subscribe with a public key
    the app does not sign with."""
    if site.vapid_private_key and site.vapid_public_key:
        return site.vapid_private_key, site.vapid_public_key
    if site.vapid_private_key:
        # Only the public half is missing (written by hand): it follows from the private one.
        public = _public_of(private_key(site.vapid_private_key))
        Site.objects.filter(pk=site.pk, vapid_private_key=site.vapid_private_key).update(
            vapid_public_key=public, updated_at=clock.now()
        )
    else:
        private = ec.generate_private_key(ec.SECP256R1())
        pem = private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode("ascii")
        written = Site.objects.filter(pk=site.pk, vapid_private_key="").update(
            vapid_private_key=pem, vapid_public_key=_public_of(private), updated_at=clock.now()
        )
        if written:
            logger.info("Made the VAPID key pair of %s", site)
    stored = Site.objects.filter(pk=site.pk).values_list("vapid_private_key", "vapid_public_key")
    site.vapid_private_key, site.vapid_public_key = stored.get()
    return site.vapid_private_key, site.vapid_public_key


def public_key(site: Site) -> str:
    """The ``applicationServerKey`` browsers subscribe with (base64url, uncompressed point)."""
    return vapid_keys(site)[1]


# --- subscriptions ----------------------------------------------------------------------------


def allowed_networks() -> list[outbound.Network]:
    """The private networks push endpoints may be in all the same (as journey webhooks)."""
    return [
        ipaddress.ip_network(n, strict=False) for n in conf.get("OUTGOING_WEBHOOK_ALLOWED_NETWORKS")
    ]


def check_endpoint(endpoint: Any) -> str:
    """The endpoint when the app may POST to it; raises ValueError saying why not."""
    if not isinstance(endpoint, str) or not endpoint.strip():
        raise ValueError("the subscription needs an endpoint URL")
    endpoint = endpoint.strip()
    if len(endpoint) > MAX_ENDPOINT:
        raise ValueError(f"the endpoint is longer than {MAX_ENDPOINT} characters")
    try:
        outbound.check_url(endpoint, require_https=conf.get("OUTGOING_WEBHOOK_REQUIRE_HTTPS"))
        host = urlsplit(endpoint).hostname or ""
    except ValueError as exc:  # a malformed port or IPv6 address
        raise ValueError(f"the endpoint is not a URL: {exc}") from exc
    except outbound.RefusedAddress as exc:
        raise ValueError(f"the endpoint is refused: {exc}") from exc
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return endpoint  # a name: checked on the address it resolves to, when sending
    try:
        outbound.check_ip(host, allowed_networks())
    except outbound.RefusedAddress as exc:
        raise ValueError(f"the endpoint is refused: {exc}") from exc
    return endpoint


def _key(keys: Mapping[str, Any], name: str, size: int) -> bytes:
    value = keys.get(name)
    if not isinstance(value, str):
        raise ValueError(f"the subscription needs keys.{name}")
    try:
        raw = b64url_decode(value)
    except ValueError:
        raise ValueError(f"keys.{name} is not base64url") from None
    if len(raw) != size:
        raise ValueError(f"keys.{name} must be {size} bytes, not {len(raw)}")
    return raw


def check_keys(keys: Any) -> tuple[str, str]:
    """``(p256dh, auth)`` in canonical base64url; raises ValueError saying what is wrong."""
    if not isinstance(keys, Mapping):
        raise ValueError("the subscription needs keys (p256dh and auth)")
    p256dh = _key(keys, "p256dh", P256DH_BYTES)
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), p256dh)
    except ValueError:
        raise ValueError("keys.p256dh is not a point on the P-256 curve") from None
    return b64url(p256dh), b64url(_key(keys, "auth", AUTH_BYTES))


def subscribe(
    site: Site, visitor: Visitor, subscription: dict[str, Any], *, now: datetime
) -> PushSubscription:
    """Store a browser's subscription (the Push API's ``PushSubscription.toJSON()``) for the
    visitor's contact; raises ValueError with what is wrong with it.

    One row per endpoint and installation: a browser that subscribes again (new keys, or
    another person signed in) updates its row. ``push_subscribed`` is logged on the contact
    when the subscription is new to it, not when a page merely repeats it."""
    if not isinstance(subscription, Mapping):
        raise ValueError("the subscription must be an object with endpoint and keys")
    if visitor.installation_id != site.installation_id:
        raise ValueError("the visitor belongs to another installation")
    endpoint = check_endpoint(subscription.get("endpoint"))
    p256dh, auth = check_keys(subscription.get("keys"))
    contact = visitor.contact
    with transaction.atomic():
        row, created = PushSubscription.objects.select_for_update().get_or_create(
            installation_id=site.installation_id,
            endpoint=endpoint,
            defaults={
                "contact": contact,
                "visitor": visitor,
                "p256dh": p256dh,
                "auth": auth,
                "created_at": now,
            },
        )
        moved = not created and row.contact_id != contact.pk
        changed = not created and (
            moved or row.visitor_id != visitor.pk or (row.p256dh, row.auth) != (p256dh, auth)
        )
        if changed:
            row.contact, row.visitor, row.p256dh, row.auth = contact, visitor, p256dh, auth
            row.save(update_fields=["contact", "visitor", "p256dh", "auth"])
        if created or moved:
            _log(row, SUBSCRIBED, now, {"visitor": visitor.uid})
    return row


def unsubscribe(site: Site, endpoint: str) -> bool:
    """Forget the subscription with this endpoint (the browser unsubscribed, or the person
    turned notifications off); False when there was none."""
    row = PushSubscription.objects.filter(
        installation_id=site.installation_id, endpoint=endpoint
    ).first()
    if row is None:
        return False
    return forget(row, reason="unsubscribed", now=clock.now())


def forget(row: PushSubscription, *, reason: str, now: datetime) -> bool:
    """Delete a subscription and log ``push_unsubscribed`` with ``reason`` (``unsubscribed``,
    ``expired``: the push service answered 404/410, ``refused``); False when another process
    deleted it first."""
    with transaction.atomic():
        deleted, _ = PushSubscription.objects.filter(pk=row.pk).delete()
        if deleted:
            _log(row, UNSUBSCRIBED, now, {"reason": reason})
    return bool(deleted)


def _log(row: PushSubscription, type: str, now: datetime, data: dict[str, Any]) -> None:
    # The endpoint is a capability URL (whoever has it can push to the browser): the timeline
    # names only the push service.
    parts = urlsplit(row.endpoint)
    log.record(
        installation_id=row.installation_id,
        contact=row.contact,
        type=type,
        source=SOURCE,
        key=f"push:{type}:{row.pk}:{row.contact_id}:{now.isoformat()}",
        occurred_at=now,
        received_at=now,
        data={"subscription": row.pk, "service": f"{parts.scheme}://{parts.netloc}", **data},
    )
