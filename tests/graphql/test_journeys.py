"""The journeys API: queries, mutations with typed errors, enrolment, figures and simulation."""

from __future__ import annotations

import copy
import json
import uuid
from datetime import datetime, timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client

from saleor_journeys.auth import api_keys
from saleor_journeys.contacts.models import Contact
from saleor_journeys.core import clock
from saleor_journeys.core.clock import FrozenClock
from saleor_journeys.journeys import builtin
from saleor_journeys.journeys.definition import validate
from saleor_journeys.journeys.models import (
    Journey,
    JourneyStatus,
    JourneyVersion,
    Run,
    RunStatus,
    RunStep,
)
from saleor_journeys.journeys.simulation import SIMULATED_API_URL
from saleor_journeys.runtime import runs
from saleor_journeys.saleor.models import Installation
from tests.conftest import make_installation
from tests.fixtures import deliveries
from tests.fixtures.signing import SigningKey, jwks
from tests.graphql.conftest import gql

NEWSLETTER: dict[str, Any] = {
    "name": "Newsletter",
    "trigger": {"type": "manual"},
    "start": "hello",
    "nodes": [
        {
            "id": "hello",
            "type": "send",
            "title": "Say hello",
            "channel": "email",
            "template": "hello",
            "next": "pause",
        },
        {"id": "pause", "type": "wait", "duration": "2d", "next": "bye"},
        {"id": "bye", "type": "send", "channel": "email", "template": "bye", "next": "end"},
        {"id": "end", "type": "exit", "goal": True},
    ],
}
# Four problems at once: an unknown field, a bad duration, an unknown node, an unreachable one.
BROKEN: dict[str, Any] = {
    "name": "Broken",
    "trigger": {"type": "manual", "colour": "red"},
    "start": "hello",
    "nodes": [
        {"id": "hello", "type": "send", "channel": "email", "template": "t", "next": "pause"},
        {"id": "pause", "type": "wait", "duration": "soon", "next": "nowhere"},
        {"id": "lost", "type": "exit"},
    ],
}
START = datetime.fromisoformat("2026-11-02T09:00:00+00:00")

JOURNEY_FIELDS = """
  slug name status draft updatedBy createdAt updatedAt
  draftProblems { code path message }
  versions { number publishedBy publishedAt definition }
  currentVersion { number }
"""
ERRORS = "errors { code path message }"
CREATE = f"""
mutation Create($input: JourneyCreateInput!) {{
  journeyCreate(input: $input) {{ journey {{ {JOURNEY_FIELDS} }} {ERRORS} }}
}}
"""
UPDATE = f"""
mutation Update($slug: String!, $definition: GenericScalar!) {{
  journeyUpdate(slug: $slug, definition: $definition) {{ journey {{ slug draft }} {ERRORS} }}
}}
"""
VALIDATE = f"""
mutation Validate($definition: GenericScalar!) {{
  journeyValidate(definition: $definition) {{ valid {ERRORS} }}
}}
"""
PUBLISH = f"""
mutation Publish($slug: String!) {{
  journeyPublish(slug: $slug) {{
    journey {{ status currentVersion {{ number }} }} version {{ number publishedBy }} {ERRORS}
  }}
}}
"""
TRANSITION = """
mutation Transition($slug: String!) {{
  {name}(slug: $slug) {{ journey {{ status updatedBy }} errors {{ code path message }} }}
}}
"""
ENROLL = f"""
mutation Enroll($slug: String!, $emails: [String!]!) {{
  journeyEnroll(slug: $slug, emails: $emails) {{
    enrolled refused {{ email code message }} {ERRORS}
  }}
}}
"""
SIMULATE = f"""
mutation Simulate(
  $template: String, $slug: String, $definition: GenericScalar,
  $events: GenericScalar!, $until: String, $start: DateTime
) {{
  journeySimulate(
    template: $template, slug: $slug, definition: $definition,
    events: $events, until: $until, start: $start
  ) {{
    timeline {{ at contact node action channel template reason }} {ERRORS}
  }}
}}
"""
JOURNEY = f"""
query Journey($slug: String!) {{ journey(slug: $slug) {{ {JOURNEY_FIELDS} }} }}
"""
JOURNEYS = """
query Journeys($status: JourneyStatus, $first: Int, $after: String) {
  journeys(status: $status, first: $first, after: $after) {
    edges { node { slug status } }
    pageInfo { hasNextPage endCursor }
  }
}
"""
FIGURES = """
query Figures($slug: String!) {
  journey(slug: $slug) {
    stats { entered active waiting done exited converted conversionRate }
    nodes { id type title entered waiting done exited }
  }
}
"""
JOURNEY_RUNS = """
query Runs($slug: String!, $status: RunStatus, $first: Int) {
  journey(slug: $slug) {
    runs(status: $status, first: $first) {
      edges { node { contact { email } status node version } }
      pageInfo { hasNextPage }
    }
  }
}
"""
CONTACT_RUNS = """
query ContactRuns($email: String!) {
  contact(email: $email) {
    runs(first: 10) {
      edges {
        node {
          journey { slug } version status node enteredAt finishedAt wakeAt
          steps { number node outcome at detail }
        }
      }
    }
  }
}
"""


def call(client: Client, key: str, query: str, **variables: Any) -> Any:
    """The data of a query that must not fail at the GraphQL level."""
    response = gql(client, query, key, **variables)
    assert response.status_code == 200
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


def mutate(client: Client, key: str, query: str, field: str, **variables: Any) -> Any:
    return call(client, key, query, **variables)[field]


def transition(client: Client, key: str, name: str, slug: str) -> Any:
    return mutate(client, key, TRANSITION.format(name=name), name, slug=slug)


def codes(errors: list[dict[str, str]]) -> list[tuple[str, str]]:
    return [(e["code"], e["path"]) for e in errors]


def create(client: Client, key: str, definition: dict[str, Any], slug: str = "") -> Any:
    payload = mutate(
        client, key, CREATE, "journeyCreate", input={"slug": slug, "definition": definition}
    )
    assert payload["errors"] == []
    return payload["journey"]


def published(client: Client, key: str, definition: dict[str, Any], slug: str = "") -> str:
    slug = create(client, key, definition, slug)["slug"]
    assert mutate(client, key, PUBLISH, "journeyPublish", slug=slug)["errors"] == []
    return slug


# --- create, edit, publish --------------------------------------------------------------------


def test_a_template_takes_its_timings_as_parameters(client: Client, key: str) -> None:
    created = mutate(
        client,
        key,
        CREATE,
        "journeyCreate",
        input={"template": "abandoned-cart", "parameters": {"answer_within": "3d"}},
    )
    assert created["errors"] == []
    wait = next(n for n in created["journey"]["draft"]["nodes"] if n["id"] == "wait-for-answer")
    assert wait["timeout"] == "3d"

    unknown = mutate(
        client,
        key,
        CREATE,
        "journeyCreate",
        input={"template": "welcome", "parameters": {"answer_within": "3d"}},
    )
    assert unknown["journey"] is None
    assert codes(unknown["errors"]) == [("INVALID", "parameters")]
    assert "has no parameter answer_within" in unknown["errors"][0]["message"]


def test_a_journey_from_a_template_is_a_draft_until_it_is_published(
    client: Client, key: str
) -> None:
    created = mutate(client, key, CREATE, "journeyCreate", input={"template": "abandoned-cart"})

    journey = created["journey"]
    assert created["errors"] == []
    assert (journey["slug"], journey["name"], journey["status"]) == (
        "abandoned-cart",
        "Abandoned cart",
        "DRAFT",
    )
    assert journey["draft"] == builtin.load("abandoned-cart")
    assert journey["updatedBy"] == "api-key:tests"
    assert (journey["versions"], journey["currentVersion"], journey["draftProblems"]) == (
        [],
        None,
        [],
    )

    publication = mutate(client, key, PUBLISH, "journeyPublish", slug="abandoned-cart")

    assert publication["errors"] == []
    assert publication["version"] == {"number": 1, "publishedBy": "api-key:tests"}
    assert publication["journey"] == {"status": "ACTIVE", "currentVersion": {"number": 1}}
    version = call(client, key, JOURNEY, slug="abandoned-cart")["journey"]["versions"][0]
    assert version["definition"] == JourneyVersion.objects.get().definition


def test_updating_the_draft_leaves_the_published_version_alone(client: Client, key: str) -> None:
    slug = published(client, key, NEWSLETTER)
    changed = copy.deepcopy(NEWSLETTER)
    changed["nodes"][2]["template"] = "bye-v2"

    updated = mutate(client, key, UPDATE, "journeyUpdate", slug=slug, definition=changed)
    again = mutate(client, key, PUBLISH, "journeyPublish", slug=slug)

    assert updated == {"journey": {"slug": "newsletter", "draft": changed}, "errors": []}
    assert again["version"]["number"] == 2
    journey = call(client, key, JOURNEY, slug=slug)["journey"]
    templates = [v["definition"]["nodes"][2]["template"] for v in journey["versions"]]
    assert templates == ["bye", "bye-v2"]
    assert journey["currentVersion"] == {"number": 2}


def test_validate_returns_every_problem_with_its_path_and_saves_nothing(
    client: Client, key: str
) -> None:
    result = mutate(client, key, VALIDATE, "journeyValidate", definition=BROKEN)

    expected = [(p.code.upper(), p.path, p.message) for p in validate(BROKEN).problems]
    assert result["valid"] is False
    assert [(e["code"], e["path"], e["message"]) for e in result["errors"]] == expected
    assert {(code, path) for code, path, _ in expected} == {
        ("UNKNOWN_FIELD", "trigger.colour"),
        ("INVALID", "nodes[1].duration"),
        ("UNKNOWN_NODE", "nodes[1].next"),
        ("UNREACHABLE", "nodes[2]"),
    }
    assert not Journey.objects.exists()
    valid = mutate(client, key, VALIDATE, "journeyValidate", definition=NEWSLETTER)
    assert valid == {"valid": True, "errors": []}


def test_a_definition_that_is_not_an_object_is_a_typed_error(client: Client, key: str) -> None:
    result = mutate(client, key, VALIDATE, "journeyValidate", definition=["nodes"])

    assert codes(result["errors"]) == [("INVALID", "")]


def test_publishing_an_invalid_draft_stores_no_version(client: Client, key: str) -> None:
    journey = create(client, key, BROKEN)

    result = mutate(client, key, PUBLISH, "journeyPublish", slug="broken")

    expected = [(p.code.upper(), p.path) for p in validate(BROKEN).problems]
    assert codes(journey["draftProblems"]) == expected
    assert codes(result["errors"]) == expected
    assert (result["journey"], result["version"]) == (None, None)
    assert not JourneyVersion.objects.exists()
    assert Journey.objects.get().status == JourneyStatus.DRAFT


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ({"template": "birthday"}, [("NOT_FOUND", "template")]),
        ({"template": "welcome", "definition": NEWSLETTER}, [("INVALID", "template")]),
        ({"slug": "x"}, [("INVALID", "template")]),
        ({"definition": ["not", "an", "object"]}, [("INVALID", "definition")]),
        ({"definition": {"trigger": {"type": "manual"}}}, [("INVALID", "slug")]),
    ],
)
def test_bad_create_input_is_a_typed_error_and_creates_nothing(
    client: Client, key: str, given: dict[str, Any], expected: list[tuple[str, str]]
) -> None:
    result = mutate(client, key, CREATE, "journeyCreate", input=given)

    assert codes(result["errors"]) == expected
    assert result["journey"] is None
    assert not Journey.objects.exists()


def test_a_second_journey_with_the_same_slug_is_a_duplicate(client: Client, key: str) -> None:
    create(client, key, NEWSLETTER)

    result = mutate(
        client, key, CREATE, "journeyCreate", input={"template": "welcome", "slug": "newsletter"}
    )

    assert codes(result["errors"]) == [("DUPLICATE", "slug")]
    assert Journey.objects.get().name == "Newsletter"


@pytest.mark.parametrize(
    ("query", "field", "variables"),
    [
        (UPDATE, "journeyUpdate", {"definition": NEWSLETTER}),
        (PUBLISH, "journeyPublish", {}),
        (TRANSITION.format(name="journeyPause"), "journeyPause", {}),
        (TRANSITION.format(name="journeyResume"), "journeyResume", {}),
        (TRANSITION.format(name="journeyArchive"), "journeyArchive", {}),
        (ENROLL, "journeyEnroll", {"emails": ["jane.doe@example.org"]}),
        (SIMULATE, "journeySimulate", {"events": []}),
    ],
)
def test_an_unknown_slug_is_not_found(
    client: Client, key: str, query: str, field: str, variables: dict[str, Any]
) -> None:
    result = mutate(client, key, query, field, slug="nope", **variables)

    assert codes(result["errors"]) == [("NOT_FOUND", "slug")]
    assert call(client, key, JOURNEY, slug="nope") == {"journey": None}


# --- status -----------------------------------------------------------------------------------


def test_pause_resume_and_archive_follow_the_allowed_transitions(client: Client, key: str) -> None:
    slug = published(client, key, NEWSLETTER)

    paused = transition(client, key, "journeyPause", slug)
    paused_again = transition(client, key, "journeyPause", slug)
    resumed = transition(client, key, "journeyResume", slug)
    archived = transition(client, key, "journeyArchive", slug)

    assert paused == {"journey": {"status": "PAUSED", "updatedBy": "api-key:tests"}, "errors": []}
    assert paused_again["journey"] is None
    assert codes(paused_again["errors"]) == [("INVALID_STATUS", "slug")]
    assert "paused cannot be paused" in paused_again["errors"][0]["message"]
    assert resumed["journey"]["status"] == "ACTIVE"
    assert archived["journey"]["status"] == "ARCHIVED"
    assert Journey.objects.get().status == JourneyStatus.ARCHIVED


def test_an_archived_journey_can_be_neither_edited_nor_published(client: Client, key: str) -> None:
    slug = create(client, key, NEWSLETTER)["slug"]
    transition(client, key, "journeyArchive", slug)

    update = mutate(client, key, UPDATE, "journeyUpdate", slug=slug, definition=BROKEN)
    publish = mutate(client, key, PUBLISH, "journeyPublish", slug=slug)
    resume = transition(client, key, "journeyResume", slug)

    assert codes(update["errors"]) == [("ARCHIVED", "slug")]
    assert codes(publish["errors"]) == [("ARCHIVED", "slug")]
    assert codes(resume["errors"]) == [("INVALID_STATUS", "slug")]
    journey = Journey.objects.get()
    assert (journey.draft, journey.versions.count()) == (NEWSLETTER, 0)


def test_journeys_are_listed_by_status_and_paginated(client: Client, key: str) -> None:
    for name in builtin.NAMES:
        mutate(client, key, CREATE, "journeyCreate", input={"template": name})
    mutate(client, key, PUBLISH, "journeyPublish", slug="welcome")

    everything = call(client, key, JOURNEYS, first=2)["journeys"]
    rest = call(client, key, JOURNEYS, first=10, after=everything["pageInfo"]["endCursor"])
    active = call(client, key, JOURNEYS, status="ACTIVE", first=10)["journeys"]

    slugs = [e["node"]["slug"] for e in everything["edges"] + rest["journeys"]["edges"]]
    assert everything["pageInfo"]["hasNextPage"] is True
    assert sorted(slugs) == sorted(builtin.NAMES)
    assert slugs[0] == "welcome"  # most recently changed first
    assert active["edges"] == [{"node": {"slug": "welcome", "status": "ACTIVE"}}]


# --- who may see and change what --------------------------------------------------------------


@pytest.mark.parametrize("authorization", [None, "Bearer sj_000000000000_wrong"])
def test_a_mutation_without_a_valid_key_is_refused_and_changes_nothing(
    client: Client, key: str, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}

    response = client.post(
        "/graphql/",
        data={"query": CREATE, "variables": {"input": {"template": "welcome"}}},
        content_type="application/json",
        headers=headers,
    )

    assert response.status_code == 401
    assert response.json()["data"] is None
    assert not Journey.objects.exists()


def test_another_shops_journeys_are_neither_visible_nor_mutable(
    client: Client, key: str, shop: Installation
) -> None:
    slug = published(client, key, NEWSLETTER)
    other = make_installation("http://second-shop:8000/graphql/", jwks(SigningKey()))
    other_key = api_keys.create(other, "other")[1]

    listed = call(client, other_key, JOURNEYS, first=10)["journeys"]["edges"]
    found = call(client, other_key, JOURNEY, slug=slug)["journey"]
    paused = transition(client, other_key, "journeyPause", slug)
    updated = mutate(client, other_key, UPDATE, "journeyUpdate", slug=slug, definition=BROKEN)
    enrolled = mutate(
        client, other_key, ENROLL, "journeyEnroll", slug=slug, emails=["jane.doe@example.org"]
    )
    theirs = create(client, other_key, NEWSLETTER)  # the same slug is free in their shop

    assert (listed, found) == ([], None)
    assert codes(paused["errors"]) == codes(updated["errors"]) == [("NOT_FOUND", "slug")]
    assert codes(enrolled["errors"]) == [("NOT_FOUND", "slug")]
    assert theirs["slug"] == slug
    mine = Journey.objects.get(installation=shop)
    assert (mine.status, mine.draft) == (JourneyStatus.ACTIVE, NEWSLETTER)
    assert not Run.objects.exists()


# --- enrolment --------------------------------------------------------------------------------


def test_enrol_several_emails_with_the_reason_for_each_one_refused(
    client: Client, key: str
) -> None:
    slug = published(client, key, NEWSLETTER)
    emails = [
        "Jane.Doe@example.org",
        "greta.g@example.org",
        "nobody@example.org",
        "not-an-email",
        "jane.doe@example.org",  # the same person again
    ]

    result = mutate(client, key, ENROLL, "journeyEnroll", slug=slug, emails=emails)

    assert result["errors"] == []
    assert result["enrolled"] == 2
    assert [(r["email"], r["code"]) for r in result["refused"]] == [
        ("nobody@example.org", "UNKNOWN_CONTACT"),
        ("not-an-email", "INVALID_EMAIL"),
        ("jane.doe@example.org", "ALREADY_IN_JOURNEY"),
    ]
    enrolled = Run.objects.order_by("contact__email")
    assert [r.contact.email for r in enrolled] == ["greta.g@example.org", "jane.doe@example.org"]
    assert {r.trigger_key for r in enrolled} == {"manual:api-key:tests"}


def test_reentry_rules_and_a_paused_journey_refuse_with_their_reason(
    client: Client, key: str
) -> None:
    slug = published(client, key, NEWSLETTER)  # re-entry: never
    mutate(client, key, ENROLL, "journeyEnroll", slug=slug, emails=["jane.doe@example.org"])
    Run.objects.update(status=RunStatus.DONE, wake_at=None)

    again = mutate(client, key, ENROLL, "journeyEnroll", slug=slug, emails=["jane.doe@example.org"])
    transition(client, key, "journeyPause", slug)
    paused = mutate(client, key, ENROLL, "journeyEnroll", slug=slug, emails=["greta.g@example.org"])

    assert (again["enrolled"], again["errors"]) == (0, [])
    assert [r["code"] for r in again["refused"]] == ["REENTRY_NOT_ALLOWED"]
    assert paused["enrolled"] == 0
    assert codes(paused["errors"]) == [("INVALID_STATUS", "slug")]
    assert [(r["email"], r["code"]) for r in paused["refused"]] == [
        ("greta.g@example.org", "JOURNEY_NOT_ACTIVE")
    ]
    assert Run.objects.count() == 1


def test_too_many_emails_at_once_is_an_error(client: Client, key: str) -> None:
    slug = published(client, key, NEWSLETTER)

    result = mutate(
        client, key, ENROLL, "journeyEnroll", slug=slug, emails=["a@example.org"] * 1001
    )

    assert codes(result["errors"]) == [("INVALID", "emails")]
    assert (result["enrolled"], result["refused"]) == (0, [])


# --- figures and runs after real runs ---------------------------------------------------------


def node_figures(client: Client, key: str, slug: str) -> dict[str, tuple[int, int, int, int]]:
    nodes = call(client, key, FIGURES, slug=slug)["journey"]["nodes"]
    return {n["id"]: (n["entered"], n["waiting"], n["done"], n["exited"]) for n in nodes}


def test_node_figures_and_stats_follow_the_runs(client: Client, key: str) -> None:
    slug = published(client, key, NEWSLETTER)
    emails = ["jane.doe@example.org", "greta.g@example.org"]
    now = clock.now()
    mutate(client, key, ENROLL, "journeyEnroll", slug=slug, emails=emails)
    # A run started by a checkout that no longer exists at the first send: it exits there.
    abandoner = Contact.objects.get(email="abandoner@example.org")
    runs.enroll(Journey.objects.get(), abandoner, now=now, trigger_key=f"checkout:{uuid.uuid4()}")

    with FrozenClock(now + timedelta(minutes=1)) as frozen:
        runs.sweep()
        midway = node_figures(client, key, slug)
        midway_stats = call(client, key, FIGURES, slug=slug)["journey"]["stats"]
        frozen.advance(timedelta(days=2))
        runs.sweep()

    nodes = call(client, key, FIGURES, slug=slug)["journey"]["nodes"]
    assert [(n["id"], n["type"], n["title"]) for n in nodes] == [
        ("hello", "send", "Say hello"),
        ("pause", "wait", ""),
        ("bye", "send", ""),
        ("end", "exit", ""),
    ]
    # (entered, waiting, done, exited)
    assert midway == {
        "hello": (3, 0, 2, 1),
        "pause": (2, 2, 0, 0),
        "bye": (0, 0, 0, 0),
        "end": (0, 0, 0, 0),
    }
    assert midway_stats == {
        "entered": 3,
        "active": 0,
        "waiting": 2,
        "done": 0,
        "exited": 1,
        "converted": 0,
        "conversionRate": 0.0,
    }
    assert node_figures(client, key, slug) == {
        "hello": (3, 0, 2, 1),
        "pause": (2, 0, 2, 0),
        "bye": (2, 0, 2, 0),
        "end": (2, 0, 2, 0),
    }
    stats = call(client, key, FIGURES, slug=slug)["journey"]["stats"]
    assert (stats["waiting"], stats["converted"], stats["exited"]) == (0, 2, 1)
    assert stats["conversionRate"] == pytest.approx(2 / 3)


def test_runs_of_a_contact_and_of_a_journey_carry_the_step_log(client: Client, key: str) -> None:
    slug = published(client, key, NEWSLETTER)
    mutate(client, key, ENROLL, "journeyEnroll", slug=slug, emails=["jane.doe@example.org"])
    runs.sweep()

    contact = call(client, key, CONTACT_RUNS, email="jane.doe@example.org")["contact"]
    waiting = call(client, key, JOURNEY_RUNS, slug=slug, status="WAITING")["journey"]["runs"]
    done = call(client, key, JOURNEY_RUNS, slug=slug, status="DONE")["journey"]["runs"]

    run = Run.objects.get()
    [edge] = contact["runs"]["edges"]
    assert {k: v for k, v in edge["node"].items() if k not in ("steps", "enteredAt", "wakeAt")} == {
        "journey": {"slug": slug},
        "version": 1,
        "status": "WAITING",
        "node": "pause",
        "finishedAt": None,
    }
    assert datetime.fromisoformat(edge["node"]["wakeAt"]) == run.wake_at
    logged = RunStep.objects.filter(run=run).order_by("number")
    assert [(s["number"], s["node"], s["outcome"]) for s in edge["node"]["steps"]] == [
        (s.number, s.node, s.outcome) for s in logged
    ]
    assert [s["outcome"] for s in edge["node"]["steps"]][:2] == ["enter", "action"]
    assert waiting["edges"] == [
        {
            "node": {
                "contact": {"email": "jane.doe@example.org"},
                "status": "WAITING",
                "node": "pause",
                "version": 1,
            }
        }
    ]
    assert done["edges"] == []


# --- simulation -------------------------------------------------------------------------------


def cart_events() -> list[dict[str, Any]]:
    cart = deliveries.scenario("abandoned_checkout_C")
    return [
        {"at": f"+{i}m", "event": d["event"].upper(), "payload": json.loads(d["body"])}
        for i, d in enumerate(cart)
    ]


def simulate(client: Client, key: str, **variables: Any) -> Any:
    variables.setdefault("start", START.isoformat())
    return mutate(client, key, SIMULATE, "journeySimulate", **variables)


def test_simulating_a_template_gives_the_timeline_of_the_command(
    client: Client, key: str, tmp_path: Path
) -> None:
    events = cart_events()
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(json.dumps(e) for e in events) + "\n")
    journeys_before = Journey.objects.count()

    result = simulate(client, key, template="abandoned-cart", events=events, until="30d")

    out = StringIO()
    call_command(
        "simulate", "abandoned-cart", "--events", str(path), "--until", "30d",
        "--start", START.isoformat(), "--format", "json", stdout=out,
    )  # fmt: skip
    printed = [json.loads(line) for line in out.getvalue().splitlines()]
    timeline = [{k: v for k, v in line.items() if v is not None} for line in result["timeline"]]
    assert result["errors"] == []
    assert timeline == printed
    sends = [(t["at"], t["template"]) for t in timeline if t["action"] == "send"]
    reminded = START + timedelta(minutes=len(events) - 1, hours=2, seconds=1)
    assert sends == [
        (reminded.isoformat(), "abandoned-cart-reminder"),
        ((reminded + timedelta(days=2)).isoformat(), "abandoned-cart-second-reminder"),
    ]
    assert Journey.objects.count() == journeys_before
    assert not Installation.objects.filter(saleor_api_url=SIMULATED_API_URL).exists()


def test_simulating_a_journeys_draft(client: Client, key: str) -> None:
    mutate(client, key, CREATE, "journeyCreate", input={"template": "welcome", "slug": "hello"})
    signup = [
        {"at": "+0m", "event": d["event"].upper(), "payload": json.loads(d["body"])}
        for d in deliveries.scenario("storefront_signup_jane")
        if d["event"] == "customer_created"
    ]

    result = simulate(client, key, slug="hello", events=signup, until="4d")

    sent = [(t["contact"], t["template"]) for t in result["timeline"] if t["action"] == "send"]
    assert sent == [
        ("jane.doe@example.org", "welcome-material"),
        ("jane.doe@example.org", "welcome-form-reminder"),
    ]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda events: [events[0], {"at": "+1h", "event": "CHECKOUT_UPDATED"}], "events[1]"),
        (lambda events: [{**events[0], "at": "soon"}], "events[0]"),
        (lambda events: [{**events[0], "event": "PRODUCT_UPDATED"}], "events[0]"),
        (lambda events: [{**events[0], "payload": {"a": 1}}], "events[0]"),
        (lambda events: {"not": "a list"}, "events"),
    ],
)
def test_bad_simulation_events_are_errors_on_their_index(
    client: Client, key: str, change: Any, expected: str
) -> None:
    result = simulate(client, key, template="abandoned-cart", events=change(cart_events()))

    assert codes(result["errors"]) == [("INVALID", expected)]
    assert result["timeline"] == []
    assert not Installation.objects.filter(saleor_api_url=SIMULATED_API_URL).exists()


def test_simulating_an_invalid_definition_lists_its_problems(client: Client, key: str) -> None:
    result = simulate(client, key, definition=BROKEN, events=cart_events())
    both = simulate(client, key, definition=NEWSLETTER, template="welcome", events=[])
    unknown = simulate(client, key, template="birthday", events=[])
    too_long = simulate(client, key, template="welcome", events=[], until="400d")

    assert codes(result["errors"]) == [(p.code.upper(), p.path) for p in validate(BROKEN).problems]
    assert codes(both["errors"]) == [("INVALID", "definition")]
    assert codes(unknown["errors"]) == [("NOT_FOUND", "template")]
    assert codes(too_long["errors"]) == [("INVALID", "until")]
