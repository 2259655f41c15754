"""Outgoing HTTP to addresses a shop admin typed in (journey webhooks): never to our own
network. The check is made on the address actually connected to, so a DNS name that resolves
(or re-resolves) to a private address is refused too, and each redirect is checked again."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Sequence
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

MAX_REDIRECTS = 3


class RefusedAddress(Exception):
    """The URL or the address it leads to may not be called."""


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def check_ip(address: str, allowed: list[Network]) -> None:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    if any(ip in network for network in allowed):
        return
    if not ip.is_global or ip.is_multicast:
        kind = (
            "loopback"
            if ip.is_loopback
            else "link-local"
            if ip.is_link_local
            else "private or reserved"
        )
        raise RefusedAddress(f"{address} is a {kind} address")


def _checked(connection_class: type[HTTPConnection], allowed: list[Network]) -> Any:
    class Checked(connection_class):  # type: ignore[valid-type,misc]
        def _new_conn(self) -> socket.socket:
            sock = super()._new_conn()
            try:
                check_ip(sock.getpeername()[0], allowed)
            except RefusedAddress:
                sock.close()
                raise
            return sock

    return Checked


class _GuardedAdapter(HTTPAdapter):
    def __init__(self, allowed: list[Network]) -> None:
        self.allowed = allowed
        super().__init__(max_retries=0)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        allowed = self.allowed

        class Pool(HTTPConnectionPool):
            ConnectionCls = _checked(HTTPConnection, allowed)

        class SecurePool(HTTPSConnectionPool):
            ConnectionCls = _checked(HTTPSConnection, allowed)

        self.poolmanager.pool_classes_by_scheme = {"http": Pool, "https": SecurePool}


def guarded_session(allowed_networks: Sequence[str | Network]) -> requests.Session:
    """A requests session whose every connection is checked: loopback, private and other
    non-public addresses are refused (``RefusedAddress``) unless in ``allowed_networks``."""
    allowed = [ipaddress.ip_network(n, strict=False) for n in allowed_networks]
    session = requests.Session()
    session.trust_env = False  # a proxy from the environment would hide the real address
    adapter = _GuardedAdapter(allowed)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def check_url(url: str, *, require_https: bool) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise RefusedAddress(f"{url!r} is not an http(s) URL")
    if require_https and parts.scheme != "https":
        raise RefusedAddress(f"{url!r} is not https")
    if parts.username or parts.password:
        raise RefusedAddress("URLs with credentials are refused")


def post(
    url: str,
    body: bytes,
    headers: dict[str, str],
    *,
    timeout: float,
    require_https: bool,
    allowed_networks: list[str],
) -> requests.Response:
    """POST ``body``; redirects are followed (as POSTs, 307/308 only) up to three times, each
    target checked like the first."""
    session = guarded_session(allowed_networks)
    try:
        for _ in range(MAX_REDIRECTS + 1):
            check_url(url, require_https=require_https)
            try:
                response = session.post(
                    url, data=body, headers=headers, timeout=timeout, allow_redirects=False
                )
            except requests.ConnectionError as exc:
                refused = refusal(exc)
                if refused is not None:
                    raise refused from exc
                raise
            if response.status_code in (307, 308) and response.headers.get("Location"):
                url = urljoin(url, response.headers["Location"])
                continue
            return response
        raise RefusedAddress(f"more than {MAX_REDIRECTS} redirects")
    finally:
        session.close()


def refusal(exc: BaseException) -> RefusedAddress | None:
    """The RefusedAddress a guarded connection raised, under the errors urllib3 and requests
    wrap it in (causes, contexts, ``reason`` and exception arguments)."""
    seen: set[int] = set()
    stack: list[object] = [exc]
    while stack:
        current = stack.pop()
        if not isinstance(current, BaseException) or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, RefusedAddress):
            return current
        stack.extend([current.__cause__, current.__context__, getattr(current, "reason", None)])
        stack.extend(current.args)
    return None
