"""Drafts, immutable published versions, status changes, and journeys as files."""

from __future__ import annotations

import copy
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from saleor_journeys.journeys import files, versions
from saleor_journeys.journeys.models import (
    ImmutableVersionError,
    Journey,
    JourneyStatus,
    JourneyVersion,
)
from saleor_journeys.saleor.models import Installation

EXAMPLE = Path(__file__).parents[1] / "fixtures" / "journeys" / "abandoned-cart.yaml"


@pytest.fixture
def document() -> dict[str, Any]:
    return files.loads(EXAMPLE.read_text(), "yaml")


@pytest.fixture
def journey(installation: Installation, document: dict[str, Any]) -> Journey:
    return versions.create(installation, document, actor="api-key:tests")


def test_a_new_journey_is_a_draft_named_after_its_definition(journey: Journey) -> None:
    assert (journey.slug, journey.name, journey.status) == (
        "abandoned-cart",
        "Abandoned cart",
        JourneyStatus.DRAFT,
    )
    assert journey.updated_by == "api-key:tests"
    assert not journey.versions.exists()


def test_publishing_makes_an_immutable_version_a_later_draft_does_not_change(
    journey: Journey, document: dict[str, Any]
) -> None:
    first = versions.publish(journey, actor="api-key:tests")
    changed = copy.deepcopy(document)
    changed["nodes"][0]["template"] = "cart-reminder-v2"
    versions.update_draft(journey, changed, actor="staff:ana@example.com")

    first.refresh_from_db()
    assert first.number == 1
    assert first.definition["nodes"][0]["template"] == "cart-reminder"
    second = versions.publish(journey, actor="staff:ana@example.com")
    assert second.number == 2
    assert second.definition["nodes"][0]["template"] == "cart-reminder-v2"
    assert JourneyVersion.objects.get(pk=first.pk).definition["nodes"][0]["template"] == (
        "cart-reminder"
    )
    journey.refresh_from_db()
    assert journey.status == JourneyStatus.ACTIVE
    assert versions.current_version(journey) == second


def test_a_published_version_refuses_to_be_saved_again(journey: Journey) -> None:
    version = versions.publish(journey, actor="tests")
    version.definition = {"name": "tampered"}

    with pytest.raises(ImmutableVersionError):
        version.save()

    assert JourneyVersion.objects.get().definition["name"] == "Abandoned cart"


def test_an_invalid_draft_is_not_published_and_every_problem_is_returned(
    journey: Journey, document: dict[str, Any]
) -> None:
    broken = copy.deepcopy(document)
    broken["nodes"][0]["next"] = "nowhere"
    broken["start"] = "missing"
    versions.update_draft(journey, broken, actor="tests")

    with pytest.raises(versions.JourneyError) as raised:
        versions.publish(journey, actor="tests")

    assert raised.value.code == "invalid_definition"
    assert {p.path for p in raised.value.problems} == {"nodes[0].next", "start"}
    assert not JourneyVersion.objects.exists()
    journey.refresh_from_db()
    assert journey.status == JourneyStatus.DRAFT


def test_pause_resume_archive(journey: Journey) -> None:
    with pytest.raises(versions.JourneyError, match="draft cannot be paused"):
        versions.transition(journey, "pause", actor="tests")
    versions.publish(journey, actor="tests")

    versions.transition(journey, "pause", actor="tests")
    assert journey.status == JourneyStatus.PAUSED
    versions.transition(journey, "resume", actor="tests")
    assert journey.status == JourneyStatus.ACTIVE
    versions.transition(journey, "archive", actor="tests")

    assert Journey.objects.get().status == JourneyStatus.ARCHIVED
    with pytest.raises(versions.JourneyError, match="archived"):
        versions.update_draft(journey, {}, actor="tests")
    with pytest.raises(versions.JourneyError, match="archived"):
        versions.publish(journey, actor="tests")


def test_slugs_are_unique_per_shop(
    journey: Journey, installation: Installation, document: dict[str, Any]
) -> None:
    from tests.conftest import make_installation

    with pytest.raises(versions.JourneyError, match="exists already"):
        versions.create(installation, document, actor="tests")
    other_shop = make_installation("http://other-shop:8000/graphql/", {"keys": []})
    assert versions.create(other_shop, document, actor="tests").slug == journey.slug


def test_import_publish_and_export_round_trip(installation: Installation, tmp_path: Path) -> None:
    out = StringIO()

    call_command(
        "importjourney",
        str(EXAMPLE),
        "--saleor-api-url",
        installation.saleor_api_url,
        "--publish",
        stdout=out,
    )
    exported = tmp_path / "exported.json"
    call_command(
        "exportjourney",
        "abandoned-cart",
        "--saleor-api-url",
        installation.saleor_api_url,
        "--output",
        str(exported),
        stdout=StringIO(),
    )

    assert "Published 'abandoned-cart' as version 1." in out.getvalue()
    assert files.loads(exported.read_text(), "json") == JourneyVersion.objects.get().definition


def test_importing_an_invalid_file_lists_the_problems_and_publishes_nothing(
    installation: Installation, tmp_path: Path, document: dict[str, Any]
) -> None:
    document["nodes"][1]["timeout"] = "whenever"
    path = tmp_path / "cart.yaml"
    path.write_text(files.dumps(document, "yaml"))
    err = StringIO()

    with pytest.raises(CommandError, match="1 problem"):
        call_command(
            "importjourney",
            str(path),
            "--saleor-api-url",
            installation.saleor_api_url,
            "--publish",
            stdout=StringIO(),
            stderr=err,
        )

    assert "nodes[1].timeout" in err.getvalue()
    assert not JourneyVersion.objects.exists()
    assert Journey.objects.get().slug == "cart"  # the draft is kept for fixing


def test_validatejourney_checks_files_for_ci(tmp_path: Path, document: dict[str, Any]) -> None:
    broken = tmp_path / "broken.json"
    document["start"] = "nowhere"
    broken.write_text(files.dumps(document, "json"))
    out, err = StringIO(), StringIO()

    call_command("validatejourney", str(EXAMPLE), stdout=out)
    with pytest.raises(CommandError, match="1 of 1 file"):
        call_command("validatejourney", str(broken), stdout=StringIO(), stderr=err)

    assert out.getvalue().strip().endswith("abandoned-cart.yaml: ok")
    assert "start: there is no node 'nowhere' [unknown_node]" in err.getvalue()
