"""``saleor-journeys demo`` as a user runs it: a subprocess on the embedded default, checked
against what the seed flows promise."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

COMMAND = [sys.executable, "-m", "saleor_journeys.cli", "demo", "--customers", "20"]


def _env(tmp: Path) -> dict[str, str]:
    """A user's environment: none of the test settings."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DATABASE_URL", "CELERY_", "DJANGO_", "SECRET_KEY", "SALEOR_"))
    }
    env["SALEOR_JOURNEYS_DATA_DIR"] = str(tmp / "not-the-demo")
    return env


def _demo(output: Path, tmp: Path, jobs: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*COMMAND, "--output", str(output), "--jobs", str(jobs)],
        env=_env(tmp),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        cwd=tmp,
    )


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[Path, str]]:
    """The same demo twice (same default seed), each into its own folder: played in two
    processes, then in one."""
    done = []
    for name, jobs in (("first", 2), ("second", 1)):
        tmp = tmp_path_factory.mktemp(name)
        result = _demo(tmp / "demo", tmp, jobs)
        assert result.returncode == 0, result.stdout + result.stderr
        done.append((tmp / "demo", result.stdout))
    return done


@pytest.fixture(scope="module")
def output(runs: list[tuple[Path, str]]) -> Path:
    return runs[0][0]


@pytest.fixture(scope="module")
def summary(output: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((output / "summary.json").read_text())
    return data


def _journey(summary: dict[str, Any], slug: str) -> dict[str, Any]:
    return next(row for row in summary["journeys"] if row["journey"] == slug)


def _templates(customer: dict[str, Any], journey: str | None = None) -> list[str]:
    return [m["template"] for m in customer["messages"] if journey in (None, m["journey"])]


def _answered(customer: dict[str, Any], form: str) -> list[dict[str, Any]]:
    """The customer's answers to a storefront form, as logged (``form_submitted``)."""
    return [f for f in customer["forms"] if f["form"] == form]


def test_it_prints_the_table_and_writes_the_files(
    runs: list[tuple[Path, str]], output: Path, summary: dict[str, Any]
) -> None:
    stdout = runs[0][1]
    assert "100%" in stdout
    for slug in ("welcome", "abandoned-cart", "web-activity", "post-purchase", "win-back"):
        assert any(line.startswith(slug + " ") for line in stdout.splitlines()), slug
    assert (output / "summary.txt").read_text().strip() in stdout
    assert summary["refused"] == []  # every webhook and storefront event was accepted
    emails = sorted((output / "emails").glob("*.eml"))
    assert len(emails) == summary["emails"] > 20
    assert len(list((output / "emails").glob("*.html"))) == len(emails)
    assert b"Subject:" in emails[0].read_bytes()
    assert len(list((output / "sms").glob("*.txt"))) == summary["sms"]
    report = (output / "report.html").read_text()
    assert report.count("<svg") == 5 and '<table class="timeline">' in report
    # The demo keeps to its own database: the one of the data directory is never opened.
    assert not (output.parent / "not-the-demo" / "db.sqlite3").exists()
    assert (output / "data" / "db.sqlite3").exists()


def test_the_same_seed_gives_the_same_month_in_any_number_of_processes(
    runs: list[tuple[Path, str]],
) -> None:
    (first, _), (second, _) = runs
    assert (first / "summary.txt").read_text() == (second / "summary.txt").read_text()
    for folder in ("emails", "sms"):
        names = [sorted(p.name for p in (run / folder).iterdir()) for run in (first, second)]
        assert names[0] == names[1] and names[0], folder
    assert (
        json.loads((first / "summary.json").read_text())["customers"]
        == json.loads((second / "summary.json").read_text())["customers"]
    )


def test_welcome_emails_go_to_every_new_customer_in_their_language(
    summary: dict[str, Any],
) -> None:
    assert _journey(summary, "welcome")["entered"] == len(summary["customers"]) == 20
    for customer in summary["customers"]:
        first = customer["messages"][0]
        assert (first["journey"], first["template"]) == ("welcome", "welcome-material")
        assert first["language"] == customer["language"]
    # Some answer the interests form within the 3 days, the others get its reminder.
    answered = [c for c in summary["customers"] if _answered(c, "welcome-interests")]
    reminded = [
        c for c in summary["customers"] if "welcome-form-reminder" in _templates(c, "welcome")
    ]
    assert answered and reminded
    assert not {c["number"] for c in answered} & {c["number"] for c in reminded}
    nodes = _journey(summary, "welcome")["nodes"]
    assert nodes["store-interests"] == len(answered)
    assert nodes["form-reminder"] == len(reminded)
    assert nodes["store-interests"] + nodes["form-reminder"] == nodes["wait-for-form"]


def test_welcome_form_answers_are_stored_on_the_card(summary: dict[str, Any]) -> None:
    answered = [c for c in summary["customers"] if _answered(c, "welcome-interests")]
    assert answered
    for customer in answered:
        (form,) = [f for f in customer["forms"] if f["form"] == "welcome-interests"]
        fields, card = form["fields"], customer["properties"]
        assert fields["pet"] in ("dogs", "cats", "birds", "fish")
        assert any(k.startswith("interest_") for k in fields)
        # The form's fields on the card: the phone in its field, the rest as properties; and
        # the journey's own mark.
        for name, value in fields.items():
            if name == "phone":
                assert customer["phone"] == value
            else:
                assert card[name] == value
        assert card["welcome_form"] == "answered"
        welcome = next(m for m in customer["messages"] if m["template"] == "welcome-material")
        waited = datetime.fromisoformat(form["at"]) - datetime.fromisoformat(welcome["at"])
        assert timedelta(0) < waited < timedelta(days=3)
    assert any("phone" in _answered(c, "welcome-interests")[0]["fields"] for c in answered)
    for customer in summary["customers"]:
        if not _answered(customer, "welcome-interests"):
            assert "welcome_form" not in customer["properties"]
            assert "pet" not in customer["properties"]


def test_abandoned_carts_are_reminded_and_carts_bought_within_two_hours_are_not(
    summary: dict[str, Any],
) -> None:
    customers = summary["customers"]
    abandoners = [c for c in customers if c["persona"].startswith("abandoner")]
    quick = [
        c
        for c in customers
        if c["persona"] in ("quick-buyer", "repeat-buyer", "browser-who-bought")
    ]
    assert abandoners and quick
    for customer in abandoners:
        assert "abandoned-cart-reminder" in _templates(customer, "abandoned-cart")
    for customer in quick:
        assert _templates(customer, "abandoned-cart") == []
    # Who came back and bought while the reminders ran got the thank-you voucher.
    thanked = [c for c in abandoners if "abandoned-cart-thank-you" in _templates(c)]
    assert len(thanked) == _journey(summary, "abandoned-cart")["converted"] > 0
    assert {c["persona"] for c in thanked} == {"abandoner-who-came-back"}
    assert summary["vouchers"] >= len(thanked)
    # Who neither bought nor answered got the second email two days later.
    silent = [c for c in abandoners if c["persona"] == "abandoner"]
    assert silent
    for customer in silent:
        assert "abandoned-cart-second-reminder" in _templates(customer, "abandoned-cart")


def test_the_cart_form_answer_is_stored_and_stops_the_reminders(
    summary: dict[str, Any],
) -> None:
    answered = [c for c in summary["customers"] if _answered(c, "cart-feedback")]
    assert answered
    assert {c["persona"] for c in answered} == {"abandoner-who-answered"}
    for customer in answered:
        (form,) = _answered(customer, "cart-feedback")
        assert form["fields"]["answer"] == "no_longer_want_it"
        assert form["fields"]["reason"]
        card = customer["properties"]
        assert card["reason"] == form["fields"]["reason"]
        assert card["cart_feedback"] == "answered"
        assert _templates(customer, "abandoned-cart") == ["abandoned-cart-reminder"]
        # "Too expensive" marks them for a later cheaper offer; other reasons do not.
        expensive = form["fields"]["reason"] == "too_expensive"
        assert ("price-sensitive" in customer["tags"]) == expensive, customer
    nodes = _journey(summary, "abandoned-cart")["nodes"]
    assert nodes["store-reason"] == len(answered)
    assert nodes["second-reminder"] > 0 and nodes["thank-you"] > 0


def test_web_activity_popups_come_from_interest_and_never_for_a_bought_product(
    summary: dict[str, Any],
) -> None:
    customers = summary["customers"]
    browsers = [c for c in customers if c["persona"].startswith("browser")]
    assert browsers and all(c["popups"] for c in browsers)
    # Browsers open the welcome email's link; the others open one for each form they answer
    # (the welcome form, the cart's "why not?"): every such click identifies the browser.
    answers = sum(len(c["forms"]) for c in customers if not c["persona"].startswith("browser"))
    assert summary["identified_by_link"] == len(browsers) + answers
    looked_again = 0
    for customer in customers:
        for product, at in customer["popups"]:
            bought_before = {p for p, when in customer["bought"] if when < at}
            assert product not in bought_before, customer
        # Quick buyers who came back to look at what they bought got no popup for it.
        if customer["persona"] in ("quick-buyer", "repeat-buyer"):
            looked_again += 1
            assert customer["popups"] == []
    assert looked_again
    assert _journey(summary, "web-activity")["messages"]["web"] == sum(
        len(c["popups"]) for c in customers
    )


def test_post_purchase_follows_every_order(summary: dict[str, Any]) -> None:
    buyers = [c for c in summary["customers"] if c["bought"]]
    assert buyers
    for customer in buyers:
        templates = _templates(customer, "post-purchase")
        assert templates[0] == "order-thanks"
        first_order = min(when for _, when in customer["bought"])
        thanks = next(m for m in customer["messages"] if m["template"] == "order-thanks")
        delay = datetime.fromisoformat(thanks["at"]) - datetime.fromisoformat(first_order)
        assert timedelta(0) <= delay < timedelta(minutes=5)
    # One live run per contact: an order while the first order's run goes on (a repeat
    # purchase) starts no second one.
    orders = sum(len({at for _, at in c["bought"]}) for c in buyers)
    assert len(buyers) == _journey(summary, "post-purchase")["entered"] < orders


def test_revenue_counts_orders_made_during_a_converted_run_never_the_trigger(
    summary: dict[str, Any],
) -> None:
    customers = {c["email"]: c for c in summary["customers"]}
    for row in summary["journeys"]:
        earned = row["revenue_orders"]
        assert row["revenue"] == f"{sum(Decimal(o['amount']) for o in earned):.2f}"
        for order in earned:
            assert order["at"] >= order["run_entered"]
    # Post-purchase starts on an order: what it earns is the repeat purchases alone.
    repeat = _journey(summary, "post-purchase")["revenue_orders"]
    assert repeat and Decimal(_journey(summary, "post-purchase")["revenue"]) > 0
    for order in repeat:
        customer = customers[order["email"]]
        assert customer["persona"] == "repeat-buyer"
        first = min(at for _, at in customer["bought"])
        assert order["at"] > first
    # The abandoned-cart conversions earn the orders that completed the carts.
    assert (
        len(_journey(summary, "abandoned-cart")["revenue_orders"])
        == _journey(summary, "abandoned-cart")["converted"]
    )
    # A win-back run "converts" when the customer orders again during its 90-day wait, before
    # it said anything: no revenue for that.
    assert _journey(summary, "win-back")["converted"] > 0
    assert _journey(summary, "win-back")["revenue"] == "0.00"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--customers", "0"], "--customers must be at least 1."),
        (["--jobs", "0"], "--jobs must be at least 1."),
    ],
)
def test_bad_arguments_are_refused_with_the_reason(
    tmp_path: Path, arguments: list[str], message: str
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "saleor_journeys.cli", "demo", *arguments],
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert result.returncode != 0
    assert message in result.stderr
    assert not (tmp_path / "saleor-journeys-demo").exists()


def test_a_folder_that_is_not_a_demo_folder_is_left_alone(tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine")
    result = subprocess.run(
        [*COMMAND, "--output", str(mine)],
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "is not empty and is not a demo folder" in result.stderr
    assert [p.name for p in mine.iterdir()] == ["notes.txt"]
