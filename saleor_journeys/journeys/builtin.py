"""The built-in journeys a shop can start from: the seed flows and two every shop expects."""

from __future__ import annotations

from importlib import resources
from typing import Any

from saleor_journeys.journeys import files

NAMES = ("welcome", "abandoned-cart", "post-purchase", "win-back")


def load(name: str) -> dict[str, Any]:
    if name not in NAMES:
        raise KeyError(f"no built-in journey {name!r}; there are: {', '.join(NAMES)}")
    text = resources.files(__package__).joinpath("builtin", f"{name}.yaml").read_text()
    return files.loads(text, "yaml")
