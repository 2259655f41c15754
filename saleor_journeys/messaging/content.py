"""Message content: a template's subject, preheader, HTML and text in the contact's language.

A shop's own templates (``Template`` rows, edited through the API) come first; otherwise the
content shipped with the app (``builtin/<name>.yaml``, English and Spanish). The language is the
contact's if the template has it, else the template's version in ``DEFAULT_LANGUAGE``, else its
first. Rendering is sandboxed (``sandbox``); any failure is a ``RenderError`` with the reason,
which fails that one message.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

import css_inline
import yaml

from saleor_journeys import conf
from saleor_journeys.messaging import sandbox
from saleor_journeys.messaging.channels import RenderError
from saleor_journeys.messaging.models import Template
from saleor_journeys.saleor.models import Installation

LAYOUT = "layout.html"
# The parts of an email or SMS version; a version's other keys are its ``fields``.
PARTS = ("subject", "preheader", "html", "text")


@dataclass(frozen=True)
class Source:
    name: str
    channel: str
    language: str
    subject: str = ""
    preheader: str = ""
    html: str = ""
    text: str = ""
    fields: Mapping[str, str] = field(default_factory=dict)
    """A web template's own fields: ``kind``, ``title``, ``body``, ``cta_label`` …"""


@dataclass(frozen=True)
class Content:
    language: str
    subject: str = ""
    preheader: str = ""
    html: str = ""
    text: str = ""


@lru_cache(maxsize=128)
def _builtin(name: str) -> dict[str, Any] | None:
    path = resources.files(__package__).joinpath("builtin", f"{name}.yaml")
    if not path.is_file():
        return None
    document = yaml.safe_load(path.read_text())
    return document if isinstance(document, dict) else None


def builtin_names() -> list[str]:
    folder = resources.files(__package__).joinpath("builtin")
    return sorted(
        p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml")
    )


def _pick(languages: list[str], wanted: str) -> str | None:
    base = (wanted or "").split("-")[0].lower()
    for candidate in (base, conf.get("DEFAULT_LANGUAGE")):
        if candidate in languages:
            return candidate
    return languages[0] if languages else None


def source(installation: Installation, name: str, channel: str, language: str) -> Source:
    """The template to render, per language: the shop's version of that language, else the
    built-in one; raises RenderError when there is none."""
    own = {
        t.language: t
        for t in Template.objects.filter(installation=installation, name=name, channel=channel)
    }
    document = _builtin(name)
    shipped: dict[str, dict[str, Any]] = {}
    if document is not None and document.get("channel") == channel:
        shipped = {k: v for k, v in document.items() if isinstance(v, dict)}
    chosen = _pick(sorted(set(own) | set(shipped)), language)
    if chosen is None:
        raise RenderError(f"there is no {channel} template {name!r}")
    if chosen in own:
        row = own[chosen]
        return Source(
            name,
            channel,
            row.language,
            row.subject,
            row.preheader,
            row.html,
            row.text,
            _row_fields(row),
        )
    version = shipped[chosen]
    return Source(
        name,
        channel,
        chosen,
        str(version.get("subject", "")),
        str(version.get("preheader", "")),
        str(version.get("html", "")),
        str(version.get("text", "")),
        {k: str(v) for k, v in version.items() if k not in PARTS and isinstance(v, str | int)},
    )


def _row_fields(row: Template) -> dict[str, str]:
    """A shop's web or push template keeps its fields as a JSON object in ``text``."""
    if row.channel not in ("web", "push"):
        return {}
    try:
        value = json.loads(row.text)
    except ValueError:
        return {}
    return {k: str(v) for k, v in value.items()} if isinstance(value, dict) else {}


def exists(installation: Installation | None, name: str, channel: str) -> bool:
    if (
        installation is not None
        and Template.objects.filter(installation=installation, name=name, channel=channel).exists()
    ):
        return True
    document = _builtin(name)
    return document is not None and document.get("channel") == channel


@lru_cache(maxsize=1)
def _layout() -> str:
    return resources.files(__package__).joinpath(LAYOUT).read_text()


_INLINER = css_inline.CSSInliner(keep_style_tags=True)


def render(
    *, installation: Installation, name: str, channel: str, language: str, context: dict[str, Any]
) -> Content:
    """The message's content for this context (plain data only: see ``context.build``)."""
    template = source(installation, name, channel, language)
    try:
        subject = " ".join(sandbox.render(template.subject, context, html=False).split())
        preheader = " ".join(sandbox.render(template.preheader, context, html=False).split())
        text = sandbox.render(template.text, context, html=False).strip() + "\n"
        html = ""
        if template.html:
            body = sandbox.render(template.html, context, html=True)
            page = sandbox.render(
                _layout(),
                {
                    **context,
                    "subject": subject,
                    "preheader": preheader,
                    "language": template.language,
                },
                html=True,
            )
            # Inlined CSS: many mail clients ignore <style>; media queries stay in <style>.
            html = _INLINER.inline(page.replace("<!--BODY-->", body))
    except Exception as exc:  # a syntax error, a filter failing on this contact's data …
        raise RenderError(f"{name} ({template.language}) cannot be rendered: {exc}") from exc
    return Content(template.language, subject, preheader, html, text)
