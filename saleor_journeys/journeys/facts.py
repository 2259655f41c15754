"""What the engine may know about a contact when it decides: a snapshot, passed in.

The engine never reads the database; the runtime (or the simulator) builds this from the
contact card, its events and the order mirror before each step.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any


@dataclass(frozen=True)
class EventFact:
    type: str
    at: datetime
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Facts:
    contact: Mapping[str, Any] = field(default_factory=dict)
    """The card's fields and properties, e.g. ``{"country": "ES", "properties": {...}}``."""
    tags: frozenset[str] = frozenset()
    consents: frozenset[str] = frozenset()
    """Channels the contact has consented to (``email``, ``sms``, ``web``, ``push``)."""
    order_count: int = 0
    order_total: Decimal = Decimal(0)
    events: tuple[EventFact, ...] = ()
    """The contact's events since a little before entering, oldest first."""
    time_zone: str = "UTC"
    trigger_holds: bool = True
    """Whether what triggered the run is still so (the checkout still open …)."""
