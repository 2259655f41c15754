"""Checking ``Saleor-Signature``: a compact JWS (RS256) with a detached, unencoded payload.

The signed bytes are ``<protected header> + "." + <raw body>`` (RFC 7797, ``b64: false``); the
key is the JWKS entry whose ``kid`` the header names. The header is parsed once and the RSA check
is PyJWT's; this runs on every webhook, so it avoids a second full JWS parse.
"""

from __future__ import annotations

import binascii
import json
from collections.abc import Mapping
from typing import Any

import jwt
from jwt.algorithms import RSAAlgorithm
from jwt.utils import base64url_decode

_RS256 = RSAAlgorithm(RSAAlgorithm.SHA256)
# Header parameters a JWS may mark critical that this check understands.
_UNDERSTOOD_CRIT = {"b64"}


class SignatureError(Exception):
    """The signature is missing, malformed, made with an unknown key, or does not match."""


class UnknownKeyError(SignatureError):
    """The signature names a key id the JWKS does not hold (maybe a rotated key)."""


def parse(signature: str) -> tuple[dict[str, Any], str, bytes]:
    """Split a detached compact JWS into its header, the header as sent, and the signature."""
    if not signature:
        raise SignatureError("the request is not signed")
    protected, sep, rest = signature.partition(".")
    payload, sep2, encoded_signature = rest.partition(".")
    if not sep or not sep2 or payload:
        raise SignatureError("malformed signature: not a detached JWS")
    if not signature.isascii():
        raise SignatureError("malformed signature: not base64url")
    try:
        header = json.loads(base64url_decode(protected))
        raw_signature = base64url_decode(encoded_signature)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise SignatureError(f"malformed signature: {exc}") from exc
    if not isinstance(header, dict):
        raise SignatureError("malformed signature: the header is not an object")
    if header.get("alg") != "RS256":
        raise SignatureError(f"unsupported signature algorithm {header.get('alg')!r}")
    crit = header.get("crit", [])
    if not isinstance(crit, list) or set(crit) - _UNDERSTOOD_CRIT:
        raise SignatureError(f"unsupported critical header parameters {crit!r}")
    if header.get("b64", True) is not False:
        raise SignatureError("the signature does not cover the raw body (b64 must be false)")
    if not isinstance(header.get("kid"), str) or not header["kid"]:
        raise SignatureError("the signature names no key id")
    return header, protected, raw_signature


def public_keys(jwks: Mapping[str, Any]) -> dict[str, Any]:
    """The RSA public keys of a JWKS document, by key id. Entries that are not RSA are skipped."""
    keys: dict[str, Any] = {}
    for entry in jwks.get("keys", []) if isinstance(jwks, Mapping) else []:
        if not isinstance(entry, Mapping) or entry.get("kty") != "RSA" or not entry.get("kid"):
            continue
        try:
            keys[str(entry["kid"])] = RSAAlgorithm.from_jwk(dict(entry))
        except (jwt.PyJWTError, ValueError, KeyError, TypeError):
            continue
    return keys


def verify(signature: str, body: bytes, keys: Mapping[str, Any]) -> None:
    """Raise unless ``signature`` is a valid detached JWS of ``body`` by one of ``keys``."""
    header, protected, raw_signature = parse(signature)
    key = keys.get(header["kid"])
    if key is None:
        raise UnknownKeyError(f"unknown signing key {header['kid']!r}")
    if not _RS256.verify(protected.encode("ascii") + b"." + body, key, raw_signature):
        raise SignatureError("invalid signature: it does not match the body")
