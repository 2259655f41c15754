"""The documentation: generated pages are up to date, and the hand-written ones keep up."""

from __future__ import annotations

import ast
import re
import textwrap
from pathlib import Path

import pytest
import yaml
from django.core.management import call_command

from saleor_journeys import conf
from saleor_journeys.graphql.schema import SCHEMA_FILE
from saleor_journeys.management.commands.exportdocs import (
    GRAPHQL_PAGE,
    SETTINGS_PAGE,
    graphql_reference,
    settings_reference,
    with_schema,
)

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
REGENERATE = "review the change and run `saleor-journeys exportdocs`."


def test_committed_settings_reference_matches_the_settings_module() -> None:
    assert (DOCS / SETTINGS_PAGE).read_text() == settings_reference(), (
        f"docs/{SETTINGS_PAGE} is out of date with saleor_journeys/conf.py: {REGENERATE}"
    )


def test_committed_graphql_reference_matches_the_schema_file() -> None:
    assert (DOCS / GRAPHQL_PAGE).read_text() == graphql_reference(), (
        f"docs/{GRAPHQL_PAGE} is out of date with schema.graphql: {REGENERATE}"
    )


def test_graphql_page_ends_with_the_committed_schema() -> None:
    text = (DOCS / "graphql.md").read_text()
    assert text == with_schema(text), (
        f"The SDL block of docs/graphql.md is out of date with schema.graphql: {REGENERATE}"
    )
    block = text.split("## Full schema (SDL)", 1)[1].split("```graphql\n", 1)[1]
    assert block.rsplit("```", 1)[0] == SCHEMA_FILE.read_text()


def test_settings_reference_documents_every_key_with_its_default() -> None:
    page = settings_reference()
    for key, value in conf.DEFAULTS.items():
        section = page.split(f"\n## `{key}`\n", 1)[1].split("\n## ", 1)[0]
        assert "(undocumented)" not in section, key
        shown = section.split("- Default:", 1)[1].strip()
        if shown.startswith("```python"):  # a dict, in a Python block
            block = shown.split("```python", 1)[1].split("```")[0]
            assert ast.literal_eval(textwrap.dedent(block).strip()) == value, key
        else:
            assert ast.literal_eval(shown.split("`")[1]) == value, key
    assert "Environment variable of the bundled project: `SALEOR_JOURNEYS_PUBLIC_URL`" in page


def test_graphql_reference_lists_every_query_mutation_and_type() -> None:
    page = graphql_reference()
    sdl = SCHEMA_FILE.read_text()
    for root, prefix in (("Query", "query"), ("Mutation", "mutation")):
        body = sdl.split(f"type {root} {{\n", 1)[1].split("\n}\n", 1)[0]
        for name in re.findall(r"^  (\w+)[(:]", body, flags=re.MULTILINE):
            assert f"### `{name}` {{ #{prefix}-{name.lower()} }}" in page, name
    for name in re.findall(r"^(?:type|input|enum|scalar|interface|union) (\w+)", sdl, re.M):
        if name not in {"Query", "Mutation"}:
            assert f"### `{name}` {{ #{name.lower()} }}" in page, name


def test_configuration_page_names_every_setting() -> None:
    text = (DOCS / "configuration.md").read_text()
    section = text.split("## B.", 1)[1].split("## C.", 1)[0]
    missing = [key for key in conf.DEFAULTS if f"`{key}`" not in section]
    assert not missing, f"docs/configuration.md part B does not describe {missing}"


def test_exportdocs_writes_the_generated_pages(tmp_path: Path) -> None:
    (tmp_path / "graphql.md").write_text("# GraphQL API\n\n## Full schema (SDL)\n\nold\n")

    call_command("exportdocs", "--docs-dir", str(tmp_path))

    assert (tmp_path / SETTINGS_PAGE).read_text() == settings_reference()
    assert (tmp_path / GRAPHQL_PAGE).read_text() == graphql_reference()
    page = (tmp_path / "graphql.md").read_text()
    assert page.startswith("# GraphQL API\n\n## Full schema (SDL)\n\n```graphql\n")
    assert page.endswith(SCHEMA_FILE.read_text() + "```\n")


def _nav_pages(entries: list[object]) -> list[str]:
    pages: list[str] = []
    for entry in entries:
        value = next(iter(entry.values())) if isinstance(entry, dict) else entry
        if isinstance(value, list):
            pages += _nav_pages(value)
        else:
            pages.append(str(value))
    return pages


def test_every_page_is_in_the_navigation() -> None:
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text())
    nav = _nav_pages(config["nav"])
    pages = {p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md")}

    assert sorted(pages - set(nav)) == []
    assert len(nav) == len(set(nav))
    assert sorted(set(nav) - pages - {"demo.md"}) == []


@pytest.mark.parametrize("page", sorted(p.name for p in DOCS.glob("*.md")))
def test_links_stay_inside_the_documentation(page: str) -> None:
    """mkdocs cannot resolve a relative link to a file outside docs/ (it warns in strict mode)."""
    text = (DOCS / page).read_text()
    text = re.sub(r"```.*?```", "", text, flags=re.DOTALL)
    targets = re.findall(r"\]\(([^)\s]+)\)", text)
    outside = [t for t in targets if t.startswith("../") or t.startswith("/")]
    assert outside == [], f"{page} links outside docs/: {outside}"
