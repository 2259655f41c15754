"""The built-in journeys a shop can start from: the seed flows and two every shop expects.

Each template is a definition with ``parameters``: its timings and amounts, each with a
default and a description. A value in the definition written ``${name}`` is replaced by the
parameter (``saleor-journeys simulate abandoned-cart --set answer_within=3d``; the GraphQL
``journeyCreate(template:, parameters:)``); the result is validated like any definition.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

from saleor_journeys.journeys import files

NAMES = ("welcome", "abandoned-cart", "post-purchase", "win-back", "web-activity", "blog-subscribe")
_REFERENCE = re.compile(r"\$\{([a-z_]+)\}")


class TemplateError(ValueError):
    """A parameter that the template does not have."""


@dataclass(frozen=True)
class Parameter:
    name: str
    default: Any
    description: str


def _document(name: str) -> dict[str, Any]:
    if name not in NAMES:
        raise KeyError(f"no built-in journey {name!r}; there are: {', '.join(NAMES)}")
    text = resources.files(__package__).joinpath("builtin", f"{name}.yaml").read_text()
    return files.loads(text, "yaml")


def parameters(name: str) -> list[Parameter]:
    declared = _document(name).get("parameters") or {}
    return [
        Parameter(key, spec.get("default"), spec.get("description", ""))
        for key, spec in declared.items()
    ]


def load(name: str, values: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The template's definition with its parameters filled in (defaults for those not given)."""
    document = _document(name)
    declared = document.pop("parameters", None) or {}
    unknown = sorted(set(values or {}) - set(declared))
    if unknown:
        raise TemplateError(
            f"{name} has no parameter {', '.join(unknown)}; it has: {', '.join(declared)}"
        )
    chosen = {key: spec.get("default") for key, spec in declared.items()} | dict(values or {})
    return _fill(document, chosen)


def _fill(value: Any, chosen: Mapping[str, Any]) -> Any:
    if isinstance(value, dict):
        return {key: _fill(item, chosen) for key, item in value.items()}
    if isinstance(value, list):
        return [_fill(item, chosen) for item in value]
    if isinstance(value, str):
        whole = _REFERENCE.fullmatch(value)
        if whole:
            return chosen[whole.group(1)]  # keeps the parameter's type (a number stays one)
        return _REFERENCE.sub(lambda m: str(chosen[m.group(1)]), value)
    return value
