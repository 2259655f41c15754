"""Writing rows that carry an idempotency key."""

from __future__ import annotations

from typing import Any, TypeVar

from django.db import IntegrityError, models, transaction

M = TypeVar("M", bound=models.Model)


def create_or_get(model: type[M], lookup: dict[str, Any], values: dict[str, Any]) -> tuple[M, bool]:
    """Like ``get_or_create``, for rows that are nearly always new: insert first (one statement
    where a lookup first would be two); a repeat fails on the unique key and is read back.
    ``lookup`` must be what the unique constraint covers."""
    try:
        with transaction.atomic():
            return model._default_manager.create(**lookup, **values), True
    except IntegrityError:
        existing = model._default_manager.filter(**lookup).first()
        if existing is None:
            raise  # another constraint failed: not a repeat
        return existing, False
