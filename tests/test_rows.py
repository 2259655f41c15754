"""Rows with an idempotency key: written once, read back on a repeat."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import IntegrityError

from saleor_journeys.core.rows import create_or_get
from saleor_journeys.events.models import Event
from saleor_journeys.saleor.models import Installation

AT = datetime(2026, 10, 5, 9, 0, tzinfo=UTC)


def _values(type: str | None = "page_viewed") -> dict[str, object]:
    return {"type": type, "source": "tests", "occurred_at": AT, "received_at": AT, "data": {}}


def test_a_repeat_gets_the_first_row_unchanged(installation: Installation) -> None:
    key = {"installation_id": installation.pk, "key": "tests:1"}
    first, created = create_or_get(Event, key, _values())
    again, created_again = create_or_get(Event, key, _values("something_else"))

    assert (created, created_again) == (True, False)
    assert again.pk == first.pk and again.type == "page_viewed"
    assert Event.objects.filter(key="tests:1").count() == 1


def test_another_broken_constraint_is_not_taken_for_a_repeat(installation: Installation) -> None:
    create_or_get(Event, {"installation_id": installation.pk, "key": "tests:1"}, _values())

    with pytest.raises(IntegrityError):
        create_or_get(Event, {"installation_id": installation.pk, "key": "tests:2"}, _values(None))
    # The failed insert was rolled back alone: what was stored before is still there.
    assert list(Event.objects.values_list("key", flat=True)) == ["tests:1"]
