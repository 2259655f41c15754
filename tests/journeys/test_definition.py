"""Journey definitions: validated as data, every problem reported with its path."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from saleor_journeys.journeys import durations, files
from saleor_journeys.journeys.definition import Definition, validate

EXAMPLE = Path(__file__).parents[1] / "fixtures" / "journeys" / "abandoned-cart.yaml"


@pytest.fixture
def document() -> dict[str, Any]:
    return files.loads(EXAMPLE.read_text(), "yaml")


def problems(data: Any, **kwargs: Any) -> set[tuple[str, str]]:
    return {(p.path, p.code) for p in validate(data, **kwargs).problems}


def test_a_valid_definition_parses(document: dict[str, Any]) -> None:
    result = validate(document)

    assert result.ok
    assert isinstance(result.definition, Definition)
    assert result.definition.node("wait-answer").type == "wait_for_event"


def test_every_problem_is_reported_at_once_with_its_path(document: dict[str, Any]) -> None:
    bad = copy.deepcopy(document)
    bad["trigger"]["afterr"] = "2h"  # a typo
    bad["nodes"][0]["channel"] = "fax"
    bad["nodes"][1]["timeout"] = "soon"
    del bad["nodes"][2]["else"]  # a condition without its "else" branch
    bad["nodes"][3]["next"] = "nowhere"
    bad["nodes"].append({"id": "orphan", "type": "exit"})
    bad["nodes"].append({"id": "done", "type": "exit"})

    found = problems(bad)

    assert found == {
        ("trigger.afterr", "unknown_field"),
        ("nodes[0].channel", "invalid"),
        ("nodes[1].timeout", "invalid"),
        ("nodes[2].else", "missing"),
        ("nodes[3].next", "unknown_node"),
        ("nodes[6]", "unreachable"),
        ("nodes[7].id", "duplicate_id"),
    }


def test_a_loop_without_a_wait_is_refused_and_one_with_a_wait_is_not(
    document: dict[str, Any],
) -> None:
    looping = copy.deepcopy(document)
    looping["nodes"][3]["next"] = "why"  # tag, test again, tag again … with no wait between
    waiting = copy.deepcopy(document)
    waiting["nodes"][4]["next"] = "first-email"  # the loop passes the wait for an answer

    assert problems(looping) == {
        ("nodes[2]", "cycle_without_wait"),
        ("nodes[3]", "cycle_without_wait"),
    }
    assert problems(waiting) == set()


def test_random_split_percentages_must_add_up(document: dict[str, Any]) -> None:
    document["nodes"][0]["next"] = "ab"
    document["nodes"].append(
        {
            "id": "ab",
            "type": "random_split",
            "branches": [{"percent": 50, "next": "wait-answer"}, {"percent": 30, "next": None}],
        }
    )

    assert problems(document) == {("nodes[6].branches", "percentages")}


def test_unknown_templates_and_events_are_reported_when_the_names_are_known(
    document: dict[str, Any],
) -> None:
    found = problems(
        document,
        templates={"cart-reminder"},
        events={"order_created", "checkout_updated"},
    )

    assert found == {
        ("nodes[4].template", "unknown_template"),
        ("nodes[1].event", "unknown_event"),
    }


@pytest.mark.parametrize(
    ("node", "path", "code"),
    [
        ({"id": "w", "type": "wait"}, "nodes[0]", "invalid"),
        (
            {"id": "w", "type": "wait", "duration": "1h", "until": {"hour": 9}},
            "nodes[0]",
            "invalid",
        ),
        ({"id": "w", "type": "wait", "until": {"hour": 25}}, "nodes[0].until.hour", "invalid"),
        ({"id": "x", "type": "teleport"}, "nodes[0]", "invalid"),
        ({"id": "bad id!", "type": "exit"}, "nodes[0].id", "invalid"),
        (
            {
                "id": "c",
                "type": "condition",
                "condition": {"weather": "sunny"},
                "yes": None,
                "no": None,
            },
            "nodes[0].condition",
            "invalid",
        ),
    ],
)
def test_malformed_nodes(node: dict[str, Any], path: str, code: str) -> None:
    document = {"name": "x", "trigger": {"type": "manual"}, "start": node["id"], "nodes": [node]}

    assert (path, code) in problems(document)


def test_a_document_that_is_not_an_object_is_refused() -> None:
    assert problems(["nodes"]) == {("", "invalid")}


def test_nested_conditions_are_checked_all_the_way_down() -> None:
    condition = {"all": [{"tag": "vip"}, {"not": {"any": [{"orders": "count", "value": "many"}]}}]}
    document = {
        "name": "x",
        "trigger": {"type": "manual"},
        "start": "c",
        "nodes": [
            {"id": "c", "type": "condition", "condition": condition, "then": None, "else": None}
        ],
    }

    assert problems(document) == {("nodes[0].condition.all[1].not.any[0].value", "invalid")}


@pytest.mark.parametrize(
    ("text", "hours"), [("30m", 0.5), ("2h", 2), ("3d", 72), ("1w", 168), ("1d12h", 36)]
)
def test_durations(text: str, hours: float) -> None:
    delta = durations.parse(text)

    assert delta.total_seconds() == hours * 3600
    assert durations.parse(durations.format(delta)) == delta


@pytest.mark.parametrize("text", ["", "2", "2 hours", "0h", "-1d", "1.5h"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError, match=r"duration|longer than zero"):
        durations.parse(text)


def test_yaml_and_json_round_trip(document: dict[str, Any]) -> None:
    parsed = validate(document).definition
    assert parsed is not None
    dumped = parsed.model_dump(mode="json", by_alias=True)

    for fmt in ("yaml", "json"):
        again = files.loads(files.dumps(dumped, fmt), fmt)  # type: ignore[arg-type]
        assert validate(again).definition == parsed


@pytest.mark.parametrize(
    ("text", "fmt", "message"),
    [
        ("name: [unclosed", "yaml", "invalid YAML at line 1"),
        ('{"name": }', "json", "invalid JSON at line 1"),
        ("- a list", "yaml", "one object"),
    ],
)
def test_unreadable_files_say_where(text: str, fmt: str, message: str) -> None:
    with pytest.raises(files.FileFormatError, match=message):
        files.loads(text, fmt)  # type: ignore[arg-type]
