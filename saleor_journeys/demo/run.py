"""Playing the demo: set up the shop, publish the built-in journeys, and live 30 virtual days.

The clock is a ``FrozenClock`` moved act by act; between acts ``Beat`` moves it over the
``TICK`` boundaries where something is due and does there what the beat does in production
(abandoned checkouts, due runs, due side effects; every ``SCAN_EVERY`` also date properties and
the anonymous-data purge). Every act goes through the
app's own endpoints with Django's test client, in this process: webhooks signed with the demo
key, storefront events to the collect endpoint with the storefront's ``Origin``, clicks on the
tracked links of the emails that were really sent, consent through the GraphQL API.
"""

from __future__ import annotations

import json
import random
import re
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import parse_qs, urlsplit

from django.core import mail
from django.db import connection
from django.test import Client

from saleor_journeys import conf
from saleor_journeys.auth import api_keys
from saleor_journeys.commerce.models import Checkout
from saleor_journeys.core.clock import FrozenClock
from saleor_journeys.demo import behaviour, shares, shop
from saleor_journeys.demo.behaviour import Act, Story
from saleor_journeys.demo.saleor import SaleorStandIn
from saleor_journeys.demo.signing import DemoKey
from saleor_journeys.demo.texts import RecordingTwilio, Text
from saleor_journeys.journeys import builtin, durations, versions
from saleor_journeys.journeys import definition as d
from saleor_journeys.journeys.models import Journey, Run, RunAction
from saleor_journeys.messaging import sms, tracking
from saleor_journeys.messaging.models import Message
from saleor_journeys.runtime import embedded, outbox, runs
from saleor_journeys.saleor.models import Installation
from saleor_journeys.web import sites
from saleor_journeys.web import tasks as web_tasks
from saleor_journeys.web.origins import normalise_origins

JOURNEYS = ("welcome", "abandoned-cart", "web-activity", "post-purchase", "win-back")
START = datetime(2026, 10, 5, 6, 0, tzinfo=UTC)  # a Monday morning
TICK = timedelta(minutes=15)
SCAN_EVERY = timedelta(hours=6)
MARKER = ".saleor-journeys-demo"
BROWSER = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0 Safari/537.36"
)
LINKS = {
    "shop": f"{shop.STOREFRONT}/",
    "checkout": f"{shop.STOREFRONT}/checkout?token={{checkout}}",
    "feedback": f"{shop.STOREFRONT}/cart-feedback",
    "form": f"{shop.STOREFRONT}/welcome/interests",
    "video": f"{shop.STOREFRONT}/videos/first-weeks",
    "webinar": f"{shop.STOREFRONT}/webinar/training-your-pet",
    "survey": f"{shop.STOREFRONT}/webinar/survey",
    "review": f"{shop.STOREFRONT}/reviews",
    "subscribe": f"{shop.STOREFRONT}/newsletter",
}


@dataclass
class Tally:
    """What happened on the way, for the summary and the report."""

    webhooks: dict[str, int] = field(default_factory=dict)
    refused: list[str] = field(default_factory=list)
    page_views: int = 0
    clicks: int = 0
    identified_by_link: int = 0
    # customer -> [product id, virtual time]: popups shown, products ordered
    popups: dict[int, list[tuple[str, str]]] = field(default_factory=dict)
    bought: dict[int, list[tuple[str, str]]] = field(default_factory=dict)
    shown: set[int] = field(default_factory=set)  # on-site message ids already reported

    def count(self, event: str) -> None:
        self.webhooks[event] = self.webhooks.get(event, 0) + 1

    def merge(self, other: Tally) -> None:
        """Add another share's tally (other customers: nothing is counted twice)."""
        for event, n in other.webhooks.items():
            self.webhooks[event] = self.webhooks.get(event, 0) + n
        self.refused += other.refused
        self.page_views += other.page_views
        self.clicks += other.clicks
        self.identified_by_link += other.identified_by_link
        self.popups.update(other.popups)
        self.bought.update(other.bought)
        self.shown |= other.shown


@dataclass(frozen=True)
class Email:
    """An email as it was handed over, kept as bytes (the in-memory backend's objects do not
    leave the process that sent them)."""

    key: str  # the message's key (its ``Journeys-Message`` header)
    to: str
    eml: bytes
    html: str | None

    @classmethod
    def of(cls, message: Any) -> Email:
        html = next((body for body, kind in message.alternatives if kind == "text/html"), None)
        return cls(
            str(message.extra_headers.get("Journeys-Message", "")),
            message.to[0],
            message.message().as_bytes(),
            None if html is None else str(html),
        )


@dataclass(frozen=True)
class Played:
    """What one share of the customers did, for the report."""

    tally: Tally
    texts: list[Text]
    emails: list[Email]


@dataclass
class Result:
    installation: Installation
    api_key: str
    stories: list[Story]
    tally: Tally
    texts: list[Text]
    emails: list[Email]
    vouchers: int
    start: datetime
    end: datetime


def prepare_output(output: Path) -> None:
    """A fresh demo folder; a folder with other things in it is never emptied."""
    if output.exists() and any(output.iterdir()) and not (output / MARKER).exists():
        raise ValueError(f"{output} is not empty and is not a demo folder; choose another --output")
    for name in ("emails", "sms"):
        shutil.rmtree(output / name, ignore_errors=True)
    for name in ("report.html", "summary.txt", "summary.json"):
        (output / name).unlink(missing_ok=True)
    output.mkdir(parents=True, exist_ok=True)
    (output / MARKER).write_text("A saleor-journeys demo; `saleor-journeys demo` rewrites it.\n")


class Storefront:
    """The shop's side: Saleor's webhooks and the storefront's browser, through the app's URLs."""

    def __init__(self, installation: Installation, key: DemoKey, api_key: str, tally: Tally):
        public = urlsplit(conf.get("PUBLIC_URL"))
        self.client = Client(HTTP_HOST=public.netloc, raise_request_exception=True)
        self.public = f"{public.scheme}://{public.netloc}"
        self.installation, self.key, self.api_key, self.tally = installation, key, api_key, tally
        self.site_key = sites.site_for(installation).key
        self.event_number = 0

    def play(self, act: Act) -> None:
        getattr(self, f"_{act.kind}")(act)

    def _webhook(self, act: Act) -> None:
        body = json.dumps(act.body).encode()
        response = self.client.post(
            f"/api/webhooks/{act.group}",
            data=body,
            content_type="application/json",
            headers={
                "Saleor-Event": act.event,
                "Saleor-Domain": shop.SHOP_DOMAIN,
                "Saleor-Api-Url": self.installation.saleor_api_url,
                "Saleor-Signature": self.key.sign(body),
                "User-Agent": "Saleor/3.24",
            },
        )
        if response.status_code != 200:
            self.tally.refused.append(
                f"{act.event}: HTTP {response.status_code} {response.content!r}"
            )
            return
        self.tally.count(act.event)
        if act.event == "order_created" and act.body is not None:
            self.tally.bought.setdefault(act.customer.number, []).extend(
                (line["variant"]["product"]["id"], act.at.isoformat())
                for line in act.body["order"]["lines"]
            )

    def _subscribe(self, act: Act) -> None:
        query = (
            "mutation($email: String!, $channel: String!) { contactSubscribe(email: $email, "
            'channel: $channel, source: "signup-form") { status errors { code message } } }'
        )
        response = self.client.post(
            "/graphql/",
            data={
                "query": query,
                "variables": {"email": act.customer.email, "channel": act.channel},
            },
            content_type="application/json",
            headers={"Authorization": f"Bearer {self.api_key}"},
        )
        answer = response.json()
        errors = answer.get("errors") or (answer.get("data") or {}).get("contactSubscribe", {}).get(
            "errors"
        )
        if errors:
            self.tally.refused.append(f"contactSubscribe {act.channel}: {errors}")

    def collect(self, act: Act, events: list[dict[str, Any]]) -> dict[str, Any]:
        for event in events:
            self.event_number += 1
            event.setdefault("id", f"e_demo{self.event_number:09d}")
            event.setdefault("age", 0)
        response = self.client.post(
            f"/api/web/{self.site_key}/collect",
            data=json.dumps({"v": act.customer.visitor_id, "events": events}),
            content_type="text/plain;charset=UTF-8",
            headers={"Origin": shop.STOREFRONT, "User-Agent": BROWSER},
            REMOTE_ADDR=f"198.51.100.{act.customer.number % 250 + 1}",
        )
        if response.status_code != 200:
            self.tally.refused.append(f"collect: HTTP {response.status_code} {response.content!r}")
            return {}
        answer: dict[str, Any] = response.json()
        return answer

    def _view(self, act: Act) -> None:
        product = act.product
        assert product is not None
        page = {
            "type": "page",
            "url": product.url,
            "title": f"{product.name} | Pet shop",
            "product": {
                "id": product.id,
                "name": product.name,
                "image": product.image,
                "url": product.url,
                "price": str(product.price),
                "currency": shop.CURRENCY,
            },
            "category": {"id": product.category.id, "name": product.category.name},
        }
        self.tally.page_views += 1
        answer = self.collect(act, [page])
        shown = [m for m in answer.get("messages", []) if m["id"] not in self.tally.shown]
        if not shown:
            return
        for message in shown:
            self.tally.shown.add(message["id"])
            if message.get("kind") == "popup":
                self.tally.popups.setdefault(act.customer.number, []).append(
                    (product.id, act.at.isoformat())
                )
        # journeys.js reports what it did with each message: shown, then closed.
        self.collect(
            act,
            [
                {"type": "message", "message": m["id"], "action": a}
                for m in shown
                for a in ("shown", "dismissed")
            ],
        )

    def _click(self, act: Act) -> None:
        """Open a storefront link of the latest emails the customer got, as a person would,
        and hand the ``sj`` token of the redirect to the collect endpoint (``link``); then,
        when the act says so, answer the form on that page as ``journeys.js`` sends it.

        ``act.link`` names the link (a ``LINKS`` key); without it, any storefront link."""
        target = self._tracked_link(act.customer.email, act.link)
        if target is None:
            return
        response = self.client.get(urlsplit(target).path, headers={"User-Agent": BROWSER})
        self.tally.clicks += 1
        location = response.headers.get("Location", "")
        token = parse_qs(urlsplit(location).query).get(conf.get("WEB_LINK_PARAMETER"), [""])
        if not token[0]:
            return
        page = {"type": "page", "url": location, "title": "Pet shop"}
        if self.collect(act, [{"type": "link", "token": token[0]}, page]):
            self.tally.identified_by_link += 1
        if act.form:
            # The form's submit: journeys.js sends the email field and the other named,
            # filled-in fields at once, with the form's ``data-journeys-form`` name.
            identify = {
                "type": "identify",
                "email": act.customer.email,
                "props": dict(act.fields),
                "form": act.form,
            }
            self.collect(act, [identify])

    def _tracked_link(self, email: str, name: str = "") -> str | None:
        prefix = f"{self.public}/t/c/"
        wanted = self._link_prefix(name)
        recent = Message.objects.filter(
            contact__email=email, channel="email", status__in=("sent", "delivered")
        ).order_by("-sent_at", "-pk")[:5]
        for message in recent:
            for href in re.findall(r'href="([^"]+)"', message.html):
                if not href.startswith(prefix):
                    continue
                decoded = tracking.read_click_token(href.removeprefix(prefix))
                if decoded is not None and decoded[1].startswith(wanted):
                    return str(href)
        return None

    @staticmethod
    def _link_prefix(name: str) -> str:
        """What the storefront link ``name`` of ``LINKS`` starts with (any storefront link
        without a name)."""
        if not name:
            return shop.STOREFRONT
        return LINKS[name].split("{", 1)[0]


class Beat:
    """What the beat does in production, against the virtual clock.

    Between two acts the clock jumps from one due moment to the next, like the simulator's:
    a run's wake-up, a side effect's retry (quiet hours, a cap), a checkout reaching the
    abandoned-cart journey's ``after``. Each jump lands on the next ``TICK`` boundary, so the
    sweeps run at regular virtual intervals, only skipping the ones with nothing to do. Every
    ``SCAN_EVERY`` the scans that have no due moment of their own run too (date properties,
    the anonymous-data purge).
    """

    def __init__(self, clock: FrozenClock) -> None:
        self.clock = clock
        # The longest wait of the published abandoned-cart triggers (2 h for the built-in).
        afters = [
            durations.parse(t.after)
            for _, _, t in runs._live_triggers(d.CheckoutAbandonedTrigger)
            if isinstance(t, d.CheckoutAbandonedTrigger)
        ]
        self.quiet = max(afters, default=timedelta(hours=2))
        self.scanned = clock.at
        # The last sweep: what became due since then is due at the next tick, even when an act
        # has moved the clock past the moment itself.
        self.swept = clock.at
        tables = {
            "run": Run._meta.db_table,
            "journey": Journey._meta.db_table,
            "action": RunAction._meta.db_table,
            "checkout": Checkout._meta.db_table,
        }
        # One cheap statement instead of three ORM queries: it runs before every act. Only
        # table names are formatted in, from the models.
        self.sql = (  # noqa: S608
            "SELECT (SELECT MIN(r.wake_at) FROM {run} r JOIN {journey} j ON j.id = r.journey_id "
            "        WHERE r.status IN ('active', 'waiting') AND j.status = 'active' "
            "        AND r.wake_at > %s),"
            " (SELECT MIN(next_attempt_at) FROM {action} WHERE status = 'pending' "
            "        AND next_attempt_at > %s),"
            " (SELECT MIN(saleor_updated_at) FROM {checkout} WHERE completed_at IS NULL "
            "        AND quantity > 0 AND email IS NOT NULL AND contact_id IS NOT NULL "
            "        AND saleor_updated_at > %s)"
        ).format(**tables)

    def _next(self) -> tuple[datetime, set[str]] | None:
        """The next tick with something due since the last sweep, and what is due then."""
        since = self.swept
        adapt = connection.ops.adapt_datetimefield_value
        with connection.cursor() as cursor:
            cursor.execute(self.sql, [adapt(since), adapt(since), adapt(since - self.quiet)])
            wake, retry, quiet_since = cursor.fetchone()
        updated = _parse(quiet_since)
        moments = {
            "runs": _parse(wake),
            "actions": _parse(retry),
            "checkouts": updated + self.quiet if updated is not None else None,
        }
        due = {kind: _tick(m) for kind, m in moments.items() if m is not None}
        if not due:
            return None
        moment = min(due.values())
        return moment, {kind for kind, m in due.items() if m == moment}

    def until(self, target: datetime) -> None:
        """Move the clock to ``target``, doing whatever becomes due on the way."""
        while True:
            found = self._next()
            scan = self.scanned + SCAN_EVERY
            if found is not None and found[0] <= min(scan, target):
                self.clock.at = max(found[0], self.clock.at)
                self.settle(found[1])
            elif scan <= target:
                self.clock.at = max(scan, self.clock.at)
                self.settle({"runs", "actions", "checkouts"})
                self.scan()
            else:
                break
        self.clock.at = target

    def settle(self, due: set[str]) -> None:
        self.swept = self.clock.at
        if "checkouts" in due:
            runs.scan_abandoned_checkouts()
        if "runs" in due:
            while runs.sweep():
                pass
        if "actions" in due:
            while outbox.sweep():
                pass

    def scan(self) -> None:
        self.scanned = self.clock.at
        runs.scan_property_dates()
        web_tasks.purge()


def _tick(moment: datetime) -> datetime:
    """Up to the next tick boundary, where the sweeps run."""
    return START + -(-(moment - START) // TICK) * TICK


def _parse(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    parsed = datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def publish_journeys(installation: Installation) -> list[Journey]:
    published = []
    for name in JOURNEYS:
        journey = versions.create(installation, builtin.load(name), actor="demo", slug=name)
        versions.publish(journey, actor="demo")
        published.append(journey)
    return published


class Progress:
    def __init__(self, out: TextIO, total: int) -> None:
        self.out, self.total, self.shown = out, max(total, 1), -1
        self.tty = out.isatty()

    def update(self, done: int, label: str) -> None:
        percent = done * 100 // self.total
        step = percent if self.tty else percent // 10 * 10
        if step == self.shown:
            return
        self.shown = step
        filled = percent * 30 // 100
        bar = f"[{'#' * filled}{'.' * (30 - filled)}] {percent:3d}%  {label}"
        self.out.write(f"\r{bar}" if self.tty else f"{bar}\n")
        if self.tty and percent == 100:
            self.out.write("\n")
        self.out.flush()


@dataclass(frozen=True)
class Shop:
    """What every share plays against: set up once, before the shares start."""

    installation: Installation
    key: DemoKey
    api_key: str
    clock: FrozenClock


def _tune_connection() -> None:
    # One connection for the whole run: each request through the test client would otherwise
    # close it at its end.
    connection.close()
    connection.settings_dict["CONN_MAX_AGE"] = None
    with connection.cursor() as cursor:
        # A throwaway database: no need to wait for the disk at every commit.
        cursor.execute("PRAGMA synchronous = OFF")
        cursor.execute("PRAGMA journal_mode = MEMORY")


def _play_share(shop_: Shop, acts: list[Act], report: Callable[[int, int], None]) -> Played:
    """Play these acts in time order, then the rest of the month; ``report(done, day)``."""
    _tune_connection()
    texts = RecordingTwilio()
    sms.http_client = lambda: texts  # the seam the SMS channel offers for another HTTP client
    mail.outbox = []
    tally = Tally()
    storefront = Storefront(shop_.installation, shop_.key, shop_.api_key, tally)
    beat = Beat(shop_.clock)
    day = 0
    for done, act in enumerate(acts, 1):
        beat.until(act.at)
        storefront.play(act)
        if done < len(acts) and ((act.at - START).days + 1 != day or done % 25 == 0):
            day = (act.at - START).days + 1
            report(done, day)  # the last act counts once the month is over
    beat.until(START + timedelta(days=behaviour.DAYS))
    beat.settle({"runs", "actions", "checkouts"})
    beat.scan()
    report(len(acts), behaviour.DAYS)
    return Played(tally, texts.sent, [Email.of(m) for m in mail.outbox])


def play(customers: int, seed: int, out: TextIO = sys.stdout, jobs: int = 1) -> Result:
    """The month of ``customers`` customers, played in ``jobs`` processes (each a share of the
    customers; see ``shares``) where the platform can fork."""
    embedded.ensure_migrated()
    _tune_connection()
    conf.user_settings()["LINKS"] = LINKS
    key = DemoKey()
    end = START + timedelta(days=behaviour.DAYS)
    # Listening from now on, answering once the shares are started: they are forked, and a
    # process is not forked while it runs other threads.
    saleor = SaleorStandIn(key.jwks)
    with FrozenClock(START) as clock:
        installation = Installation.objects.create(
            saleor_api_url=saleor.api_url,
            saleor_domain=shop.SHOP_DOMAIN,
            saleor_app_id="QXBwOjE=",
            auth_token="demo-app-token",  # noqa: S106 - only the stand-in sees it
            jwks=key.jwks,
            jwks_fetched_at=START,
        )
        site = sites.site_for(installation)
        site.origins = normalise_origins([shop.STOREFRONT])
        site.save()
        sites.clear()
        _, api_key = api_keys.create(installation, "demo")
        publish_journeys(installation)
        people = shop.customers(customers, random.Random(seed))  # noqa: S311 - a story, not a secret
        stories, acts = behaviour.plan(people, seed, START)
        setup = Shop(installation, key, api_key, clock)
        jobs = max(1, min(jobs, customers)) if shares.can_fork() else 1
        split = [[a for a in acts if a.customer.number % jobs == k] for k in range(jobs)]
        progress = Progress(out, len(acts))

        def show(done: list[int], days: list[int]) -> None:
            progress.update(sum(done), f"day {min(days):2d}/{behaviour.DAYS}")

        if jobs == 1:
            with saleor:
                played = [_play_share(setup, acts, lambda done, day: show([done], [day]))]
        else:
            with saleor:
                played = shares.play(split, partial(_play_share, setup), show)
            _tune_connection()
        progress.update(len(acts), f"day {behaviour.DAYS}/{behaviour.DAYS}")
    tally = Tally()
    for share in played:
        tally.merge(share.tally)
    texts = sorted((t for share in played for t in share.texts), key=lambda t: (t.at, t.to))
    emails = [e for share in played for e in share.emails]
    return Result(
        installation, api_key, stories, tally, texts, emails, len(saleor.vouchers), START, end
    )
