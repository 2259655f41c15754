"""Checking ``Saleor-Signature``: a compact JWS (RS256) with a detached, unencoded payload.

The signed bytes are ``<protected header> + "." + <raw body>`` (RFC 7797, ``b64: false``); the
key is the JWKS entry whose ``kid`` the header names.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jwt
from jwt.algorithms import RSAAlgorithm

ALGORITHMS = ["RS256"]


class SignatureError(Exception):
    """The signature is missing, malformed, made with an unknown key, or does not match."""


class UnknownKeyError(SignatureError):
    """The signature names a key id the JWKS does not hold (maybe a rotated key)."""


def key_id(signature: str) -> str:
    """The ``kid`` of the signature's protected header, without checking anything else."""
    if not signature:
        raise SignatureError("the request is not signed")
    try:
        header = jwt.get_unverified_header(signature)
    except jwt.PyJWTError as exc:
        raise SignatureError(f"malformed signature: {exc}") from exc
    kid = header.get("kid")
    if header.get("alg") not in ALGORITHMS:
        raise SignatureError(f"unsupported signature algorithm {header.get('alg')!r}")
    if not isinstance(kid, str) or not kid:
        raise SignatureError("the signature names no key id")
    return kid


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
    kid = key_id(signature)
    key = keys.get(kid)
    if key is None:
        raise UnknownKeyError(f"unknown signing key {kid!r}")
    parts = signature.split(".")
    if len(parts) != 3 or parts[1] != "":
        raise SignatureError("the signature is not a detached JWS")
    try:
        jwt.api_jws.PyJWS().decode_complete(
            signature, key=key, algorithms=ALGORITHMS, detached_payload=body
        )
    except jwt.PyJWTError as exc:
        raise SignatureError(f"invalid signature: {exc}") from exc
