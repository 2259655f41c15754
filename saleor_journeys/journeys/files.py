"""Journey definitions as files: YAML or JSON, so journeys can live in git and be reviewed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import yaml

Format = Literal["yaml", "json"]


class FileFormatError(ValueError):
    """The file is not valid YAML/JSON, or not an object."""


def format_of(path: Path) -> Format:
    return "json" if path.suffix.lower() == ".json" else "yaml"


def loads(text: str, fmt: Format) -> dict[str, Any]:
    try:
        data = json.loads(text) if fmt == "json" else yaml.safe_load(text)
    except json.JSONDecodeError as exc:
        raise FileFormatError(
            f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise FileFormatError(f"invalid YAML{where}: {getattr(exc, 'problem', exc)}") from exc
    if not isinstance(data, dict):
        raise FileFormatError("a journey file holds one object (the definition)")
    return data


def dumps(definition: dict[str, Any], fmt: Format) -> str:
    if fmt == "json":
        return json.dumps(definition, indent=2, ensure_ascii=False) + "\n"
    return yaml.safe_dump(definition, sort_keys=False, allow_unicode=True, width=100)
