from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from saleor_journeys.saleor.models import Installation, WebhookDelivery


@dataclass
class IngestContext:
    """What a trigger handler knows about the delivery it is turning into events."""

    installation: Installation
    delivery: WebhookDelivery
    issued_at: datetime
    now: datetime
    # Set when the delivery turned out to describe a person who has been erased since: the
    # handler stores nothing personal and the delivery's body is blanked afterwards.
    erased: bool = False
