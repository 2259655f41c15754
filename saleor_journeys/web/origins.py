"""The storefront origins of a site: what an entry must look like, and the one form it is
stored in, so the collect endpoint can compare a browser's ``Origin`` header with plain string
equality. The GraphQL API and the ``site`` command both go through here.

Also the tag a storefront puts in its pages, which names the site by its key.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from urllib.parse import urlsplit

MAX_ORIGINS = 20
# Plain http is accepted for these only: a storefront on the developer's own machine.
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
DEFAULT_PORTS = {"http": 80, "https": 443}
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
EXAMPLE = "https://shop.example.com"


class OriginsError(ValueError):
    """A list of origins that cannot be stored; ``index`` is the bad entry, or None when the
    list as a whole is refused (too many)."""

    def __init__(self, message: str, index: int | None = None) -> None:
        super().__init__(message)
        self.index = index


def _host(hostname: str, value: str) -> str:
    if "*" in hostname:
        raise ValueError(f"{value!r}: wildcards are not allowed; list each origin")
    try:
        address = ipaddress.ip_address(hostname)
    except ValueError:
        pass
    else:
        return f"[{address.compressed}]" if address.version == 6 else address.compressed
    try:
        # Browsers send an internationalised host name in its ASCII (punycode) form.
        ascii_host = hostname.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise ValueError(f"{value!r}: {hostname!r} is not a valid host name") from exc
    if len(ascii_host) > 253 or not all(_LABEL.match(label) for label in ascii_host.split(".")):
        raise ValueError(f"{value!r}: {hostname!r} is not a valid host name")
    return ascii_host


def normalise_origin(value: str) -> str:
    """``value`` as an exact origin, ``scheme://host[:port]`` in lower case without the default
    port, as browsers send it; raises ``ValueError`` saying what is wrong."""
    return _origin(value, require_https=True)


def _origin(value: str, *, require_https: bool) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        raise ValueError(f"an origin is scheme://host[:port], e.g. {EXAMPLE}")
    if any(char.isspace() or ord(char) < 32 for char in text):
        raise ValueError(f"{text!r}: an origin has no spaces")
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not text.lower().startswith(f"{scheme}://"):
        raise ValueError(f"{text!r}: an origin starts with https://, e.g. {EXAMPLE}")
    if "@" in parts.netloc:
        raise ValueError(f"{text!r}: an origin has no user name or password")
    if parts.path or "?" in text or "#" in text:
        bare = f"{scheme}://{parts.netloc}"
        raise ValueError(f"{text!r}: an origin has no path, query or trailing slash: {bare!r}")
    if not parts.hostname:
        raise ValueError(f"{text!r}: the host is missing, e.g. {EXAMPLE}")
    try:
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"{text!r}: the port is not a number from 1 to 65535") from exc
    if port == 0:
        raise ValueError(f"{text!r}: the port is not a number from 1 to 65535")
    host = _host(parts.hostname, text)
    if require_https and scheme == "http" and host.strip("[]") not in LOOPBACK_HOSTS:
        raise ValueError(
            f"{text!r}: a storefront origin uses https (plain http only for localhost and "
            "127.0.0.1)"
        )
    suffix = f":{port}" if port is not None and port != DEFAULT_PORTS[scheme] else ""
    return f"{scheme}://{host}{suffix}"


def normalise_origins(values: Iterable[str]) -> list[str]:
    """Every value normalised, in the given order without duplicates, at most ``MAX_ORIGINS``;
    raises ``OriginsError`` with the index of the first bad value."""
    origins: list[str] = []
    for index, value in enumerate(values):
        try:
            origin = normalise_origin(value)
        except ValueError as exc:
            raise OriginsError(str(exc), index) from exc
        if origin not in origins:
            origins.append(origin)
    if len(origins) > MAX_ORIGINS:
        raise OriginsError(f"at most {MAX_ORIGINS} origins, not {len(origins)}")
    return origins


def origin_of(url: str) -> str | None:
    """The origin of an absolute http(s) URL in the stored form, or None for anything else
    (a relative URL, another scheme, a malformed host)."""
    parts = urlsplit(url.strip()) if isinstance(url, str) else None
    if parts is None or not parts.netloc:
        return None
    try:
        return _origin(f"{parts.scheme}://{parts.netloc}", require_https=False)
    except ValueError:
        return None


def snippet_tag(site_key: str, base_url: str) -> str:
    """The script tag a storefront includes in every page (``docs/storefront.md``)."""
    return (
        f'<script async src="{base_url.rstrip("/")}/web/journeys.js" '
        f'data-site="{site_key}"></script>'
    )
