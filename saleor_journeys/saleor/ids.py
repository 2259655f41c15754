"""Saleor's global ids: base64 of ``"<Type>:<pk>"``."""

from __future__ import annotations

import base64
import binascii
from uuid import UUID


def decode(global_id: str) -> tuple[str, str] | None:
    try:
        raw = base64.b64decode(global_id, validate=True).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    type_name, sep, pk = raw.partition(":")
    return (type_name, pk) if sep and type_name and pk else None


def checkout_token(global_id: str | None) -> UUID | None:
    """The token of a checkout from its global id (they are the same UUID)."""
    decoded = decode(global_id or "")
    if decoded is None or decoded[0] != "Checkout":
        return None
    try:
        return UUID(decoded[1])
    except ValueError:
        return None
