"""Identity links: storefront URLs that carry a signed token naming the contact, so the browser
that follows one is tied to that person's card (``web.identity.identify_token``).

The token is ``<contact id>.<installation id>.<source>.<timestamp>.<signature>``: signed with
``SECRET_KEY`` under its own salt, valid for ``WEB_IDENTITY_LINK_MAX_AGE`` seconds, short
enough for a query parameter and URL-safe as it is. It is only ever added to links to the
installation's own storefront origins: a token is as good as the person's identity on the
storefront, and must not reach a third-party site's logs or referrers.
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit, urlunsplit

from django.core import signing

from saleor_journeys import conf
from saleor_journeys.contacts.models import Contact
from saleor_journeys.core import clock
from saleor_journeys.web.models import Site
from saleor_journeys.web.origins import origin_of

_SALT = "saleor_journeys.web.identity_link"
# One letter per source keeps the token short; ``link``: a tracked link of a message,
# ``card_link``: a link made from the contact card (e.g. copied by staff into a reply).
SOURCES = {"link": "l", "card_link": "c"}
_SOURCE_OF = {code: source for source, code in SOURCES.items()}


class _Signer(signing.TimestampSigner):
    """A ``TimestampSigner`` on the app's clock, so expiry follows ``core.clock`` like every
    other deadline of the app (and tests can move it)."""

    def timestamp(self) -> str:
        return signing.b62_encode(int(clock.now().timestamp()))

    def unsign(self, value: str, max_age: float | timedelta | None = None) -> str:
        result = signing.Signer.unsign(self, value)
        value, stamp = result.rsplit(self.sep, 1)
        if max_age is not None:
            limit = max_age.total_seconds() if isinstance(max_age, timedelta) else max_age
            age = clock.now().timestamp() - signing.b62_decode(stamp)
            if age > limit:
                raise signing.SignatureExpired(f"Signature age {age} > {limit} seconds")
        return value


def _signer() -> _Signer:
    # "." is not in the base64url alphabet, and needs no escaping in a query string.
    return _Signer(salt=_SALT, sep=".")


def token(contact: Contact, source: str) -> str:
    """A token naming ``contact`` (and its installation) for ``source`` (``link`` or
    ``card_link``)."""
    if source not in SOURCES:
        raise ValueError(f"unknown identity link source {source!r}")
    return _signer().sign(f"{contact.pk}.{contact.installation_id}.{SOURCES[source]}")


def read_token(token: str) -> tuple[int, int, str] | None:
    """The contact id, installation id and source of a valid token; None when it was changed,
    is not one of ours, or is older than ``WEB_IDENTITY_LINK_MAX_AGE``."""
    try:
        value = _signer().unsign(token, max_age=conf.get("WEB_IDENTITY_LINK_MAX_AGE"))
    except (signing.BadSignature, ValueError):
        return None
    parts = value.split(".")
    if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit():
        return None
    source = _SOURCE_OF.get(parts[2])
    if source is None:
        return None
    return int(parts[0]), int(parts[1]), source


def storefront_origins(installation_id: int) -> set[str]:
    """The installation's storefront origins (``Site.origins``), normalised; empty without a
    site."""
    configured = (
        Site.objects.filter(installation_id=installation_id)
        .values_list("origins", flat=True)
        .first()
    )
    return {o for o in (origin_of(str(value)) for value in configured or []) if o}


def with_token(url: str, value: str) -> str:
    """``url`` with ``WEB_LINK_PARAMETER=<value>`` as its last query parameter (replacing any
    the URL had); the rest of the URL is kept as written."""
    name = conf.get("WEB_LINK_PARAMETER")
    parts = urlsplit(url)
    kept = [p for p in parts.query.split("&") if p and p.split("=", 1)[0] != name]
    query = "&".join([*kept, f"{name}={value}"])
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def storefront_url(url: str, contact: Contact, source: str) -> str:
    """``url`` with the contact's identity token when it points at one of the installation's
    storefront origins; any other URL (another site, no site configured, not http(s)) is
    returned unchanged."""
    target = origin_of(url)
    if target is None or target not in storefront_origins(contact.installation_id):
        return url
    return with_token(url, token(contact, source))
