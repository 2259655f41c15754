"""Talking to a Saleor instance over HTTP: its GraphQL API and its JWKS."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests

from saleor_journeys import __version__, conf

USER_AGENT = f"saleor-journeys/{__version__}"


class SaleorError(Exception):
    """Saleor could not be reached or answered something unusable."""


def jwks_url(api_url: str) -> str:
    """The JWKS lives at the API's origin: ``https://shop.example.com/.well-known/jwks.json``."""
    parts = urlsplit(api_url)
    return urlunsplit((parts.scheme, parts.netloc, "/.well-known/jwks.json", "", ""))


def _get_json(response: requests.Response, what: str) -> Any:
    if response.status_code != 200:
        raise SaleorError(f"{what} answered HTTP {response.status_code}")
    try:
        return response.json()
    except ValueError as exc:
        raise SaleorError(f"{what} did not answer JSON") from exc


def fetch_jwks(api_url: str) -> dict[str, Any]:
    url = jwks_url(api_url)
    try:
        response = requests.get(
            url,
            timeout=conf.get("SALEOR_HTTP_TIMEOUT"),
            headers={"User-Agent": USER_AGENT},
            allow_redirects=False,
        )
    except requests.RequestException as exc:
        raise SaleorError(f"cannot fetch {url}: {exc.__class__.__name__}") from exc
    jwks = _get_json(response, url)
    if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list) or not jwks["keys"]:
        raise SaleorError(f"{url} holds no keys")
    return jwks


def execute(api_url: str, token: str, query: str, variables: dict[str, Any] | None = None) -> Any:
    """Run a GraphQL operation with the app token; returns ``data`` or raises ``SaleorError``."""
    try:
        response = requests.post(
            api_url,
            json={"query": query, "variables": variables or {}},
            headers={"Authorization": f"Bearer {token}", "User-Agent": USER_AGENT},
            timeout=conf.get("SALEOR_HTTP_TIMEOUT"),
            allow_redirects=False,
        )
    except requests.RequestException as exc:
        raise SaleorError(f"cannot reach {api_url}: {exc.__class__.__name__}") from exc
    body = _get_json(response, api_url)
    if not isinstance(body, dict):
        raise SaleorError(f"{api_url} answered something that is not GraphQL")
    if body.get("errors"):
        messages = "; ".join(str(e.get("message", e)) for e in body["errors"])
        raise SaleorError(f"Saleor refused the request: {messages}")
    return body.get("data") or {}


def app_id(api_url: str, token: str) -> str:
    """The id of the app the token belongs to; proves the token is real."""
    data = execute(api_url, token, "query AppId { app { id } }")
    app = data.get("app") if isinstance(data, dict) else None
    if not isinstance(app, dict) or not app.get("id"):
        raise SaleorError("Saleor did not recognise the app token")
    return str(app["id"])
