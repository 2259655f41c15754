"""The template language shop staff write messages in: Django's, without its dangerous parts.

Templates only ever see plain data (dicts, lists, strings, numbers) built by ``context.py``, never
model instances, so there is no method or attribute to reach settings or secrets through; and
the tags that read outside the context (``debug`` prints it all, ``load`` brings in libraries,
``include``/``extends`` read files, ``url``/``csrf_token``/``now``/``lorem`` are meaningless in
an email) are not available. Variables are escaped in HTML.
"""

from __future__ import annotations

from functools import lru_cache

from django.template import (
    Context,
    Engine,
    Library,
    Template,
    TemplateSyntaxError,
    defaultfilters,
    defaulttags,
)

_ALLOWED_TAGS = (
    "autoescape",
    "comment",
    "cycle",
    "filter",
    "firstof",
    "for",
    "if",
    "ifchanged",
    "regroup",
    "resetcycle",
    "spaceless",
    "templatetag",
    "verbatim",
    "widthratio",
    "with",
)
_REFUSED_FILTERS = {"pprint", "json_script", "safe", "safeseq", "random"}

library = Library()
for _name in _ALLOWED_TAGS:
    library.tags[_name] = defaulttags.register.tags[_name]
for _name, _filter in defaultfilters.register.filters.items():
    if _name not in _REFUSED_FILTERS:
        library.filters[_name] = _filter


class _Engine(Engine):
    def __init__(self, autoescape: bool) -> None:
        super().__init__(autoescape=autoescape, string_if_invalid="", libraries={}, builtins=[])
        self.template_builtins = [library]


HTML = _Engine(autoescape=True)
TEXT = _Engine(autoescape=False)


@lru_cache(maxsize=512)
def _compiled(source: str, html: bool) -> Template:
    """Compiled once per process: a template's source is its key, so an edit compiles anew."""
    return (HTML if html else TEXT).from_string(source)


def render(source: str, context: dict[str, object], *, html: bool) -> str:
    """Raises ``TemplateSyntaxError`` for a template that is not valid, and any error that a
    filter raises on this data: the caller fails that one message with the reason."""
    return _compiled(source, html).render(Context(context, autoescape=html))


def check(source: str) -> str | None:
    """The syntax error of a template, or None; for staff editing a template."""
    try:
        HTML.from_string(source)
    except TemplateSyntaxError as exc:
        return str(exc)
    return None
