"""How the timeline describes what a browser did."""

from __future__ import annotations

from typing import Any

import pytest

from saleor_journeys.events.models import Event
from saleor_journeys.events.summaries import summarise


def event(type: str, **data: Any) -> Event:
    return Event(type=type, source="web", data=data)


@pytest.mark.parametrize(
    ("logged", "summary"),
    [
        (event("page_viewed", product={"id": "P", "name": "Blue Hoodie"}), "Viewed Blue Hoodie"),
        (event("page_viewed", title="Grooming tips", path="/blog/g"), "Viewed Grooming tips"),
        (event("page_viewed", path="/about"), "Viewed /about"),
        (event("page_engaged", seconds=42.4, title="Grooming tips"), "Spent 42 s on Grooming tips"),
        (event("identified", source="link", visitor="v_1"), "Browser identified (link)"),
        (event("custom.wishlist_added", item="P"), "Custom event wishlist_added"),
    ],
)
def test_web_events_read_as_what_the_person_did(logged: Event, summary: str) -> None:
    assert summarise(logged) == summary
