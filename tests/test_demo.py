"""``saleor-journeys demo`` as a user runs it: a subprocess on the embedded default, checked
against what the seed flows promise."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

COMMAND = [sys.executable, "-m", "saleor_journeys.cli", "demo", "--customers", "20"]


def _demo(output: Path, tmp: Path) -> subprocess.CompletedProcess[str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DATABASE_URL", "CELERY_", "DJANGO_", "SECRET_KEY", "SALEOR_"))
    }
    env["SALEOR_JOURNEYS_DATA_DIR"] = str(tmp / "not-the-demo")
    return subprocess.run(
        [*COMMAND, "--output", str(output)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        cwd=tmp,
    )


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[Path, str]]:
    """The same demo twice (same default seed), each into its own folder."""
    done = []
    for name in ("first", "second"):
        tmp = tmp_path_factory.mktemp(name)
        result = _demo(tmp / "demo", tmp)
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


def test_the_same_seed_gives_the_same_month(runs: list[tuple[Path, str]]) -> None:
    (first, _), (second, _) = runs
    assert (first / "summary.txt").read_text() == (second / "summary.txt").read_text()
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
        # Nobody answers the interests form in the demo: the reminder follows.
        assert "welcome-form-reminder" in _templates(customer, "welcome")


def test_abandoned_carts_are_reminded_and_carts_bought_within_two_hours_are_not(
    summary: dict[str, Any],
) -> None:
    customers = summary["customers"]
    abandoners = [c for c in customers if c["persona"].startswith("abandoner")]
    quick = [c for c in customers if c["persona"] in ("quick-buyer", "browser-who-bought")]
    assert abandoners and quick
    for customer in abandoners:
        assert "abandoned-cart-reminder" in _templates(customer, "abandoned-cart")
    for customer in quick:
        assert _templates(customer, "abandoned-cart") == []
    # Who came back and bought while the reminders ran got the thank-you voucher.
    thanked = [c for c in abandoners if "abandoned-cart-thank-you" in _templates(c)]
    assert len(thanked) == _journey(summary, "abandoned-cart")["converted"] > 0
    assert summary["vouchers"] >= len(thanked)


def test_web_activity_popups_come_from_interest_and_never_for_a_bought_product(
    summary: dict[str, Any],
) -> None:
    customers = summary["customers"]
    browsers = [c for c in customers if c["persona"].startswith("browser")]
    assert browsers and all(c["popups"] for c in browsers)
    assert summary["identified_by_link"] == len(browsers)
    looked_again = 0
    for customer in customers:
        for product, at in customer["popups"]:
            bought_before = {p for p, when in customer["bought"] if when < at}
            assert product not in bought_before, customer
        # Quick buyers who came back to look at what they bought got no popup for it.
        if customer["persona"] == "quick-buyer":
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
    assert _journey(summary, "post-purchase")["entered"] == sum(
        len({at for _, at in c["bought"]}) for c in buyers
    )
