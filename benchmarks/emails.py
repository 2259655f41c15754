"""Journey emails per second: rendered and sent by real workers, against plain smtplib.

N contacts (names, English and Spanish) are enrolled in a published journey whose one node is a
``send`` of the built-in ``welcome-material`` email; ``saleor-journeys worker`` processes step
the runs and carry out the sends through the real pipeline (policy, personalised rendering with
inlined CSS, tracked links and open pixel, List-Unsubscribe, Django's SMTP backend) to an
aiosmtpd server on loopback in a process of its own. The baseline sends the very bytes the app's
messages arrived as, with ``smtplib.SMTP`` over one connection to the same server. Then an
in-process profile of the outbox's ``deliver()``. See benchmarks/README.md.

    python benchmarks/emails.py [--messages N] [--concurrency C] [--profile P]
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import email
import email.policy
import functools
import io
import os
import pstats
import re
import shutil
import smtplib
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import psycopg
import redis

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness

APP_DB = "sj_bench_email"
BROKER = "redis://127.0.0.1:6379/8"
PUBLIC_URL = "https://journeys.bench.example"
SENDER = "Pet Shop <hello@petshop.example>"
TEMPLATE = "welcome-material"
SETTINGS = harness.HERE / "email_settings.py"
SINK = harness.HERE / "email_smtpd.py"
TRIGGER_KEY = "manual:bench"
PROFILE_WARMUP = 10  # messages sent in-process before the profile, not counted

JOURNEY = {
    "name": "Bench email",
    "trigger": {"type": "manual"},
    "start": "mail",
    "nodes": [{"id": "mail", "type": "send", "channel": "email", "template": TEMPLATE}],
}
SUBJECTS = {"en": "Welcome! Here is your pet care guide", "es": "¡Bienvenido! Aquí tienes tu guía"}
GREETINGS = {"en": "Hi {},", "es": "Hola {},"}
# Names with and without accents: the Spanish subject and bodies are not ASCII either.
NAMES = {
    "en": (
        ["Alice", "Ben", "Chloe", "Daniel", "Emma", "Finn", "Grace", "Harry", "Isla", "Jack"],
        ["Smith", "Jones", "Taylor", "Brown", "Wilson", "Evans", "Thomas", "Roberts"],
        [("en", "GB", "London"), ("en-US", "US", "Boston"), ("", "US", "Denver")],
    ),
    "es": (
        ["María José", "Íñigo", "Lucía", "Álvaro", "Sofía", "Martín", "Begoña", "Raúl", "Inés"],
        ["García", "Núñez", "López", "Martínez", "Muñoz", "Pérez", "Sánchez", "Díaz"],
        [("es", "ES", "Sevilla"), ("es-MX", "MX", "Mérida"), ("es-ES", "ES", "A Coruña")],
    ),
}


def language_for(i: int) -> str:
    """Two contacts in five are Spanish-speaking (no language code means the default, en)."""
    return "es" if i % 5 in (1, 3) else "en"


# --- setup ------------------------------------------------------------------------------------


def make_contacts(installation: Any, count: int, prefix: str) -> list[Any]:
    from saleor_journeys.contacts.models import Contact

    contacts = []
    for i in range(count):
        firsts, lasts, places = NAMES[language_for(i)]
        code, country, city = places[i % len(places)]
        contacts.append(
            Contact(
                installation=installation,
                email=f"{prefix}{i}@bench.example",
                first_name=firsts[i % len(firsts)],
                last_name=lasts[(i // len(firsts)) % len(lasts)],
                language_code=code,
                country=country,
                city=city,
            )
        )
    return Contact.objects.bulk_create(contacts, batch_size=2000)


def make_journey(installation: Any) -> Any:
    from saleor_journeys.journeys import versions

    journey = versions.create(installation, JOURNEY, actor="bench")
    versions.publish(journey, actor="bench")
    journey.refresh_from_db()
    return journey


def enrol(journey: Any, contacts: list[Any], batch: int) -> list[int]:
    """What the ``journeyEnroll`` mutation does, ``batch`` addresses per transaction; each
    commit hands its runs to this process's task publisher."""
    from django.db import transaction

    from saleor_journeys.core import clock
    from saleor_journeys.journeys import enrolment

    ids: list[int] = []
    for start in range(0, len(contacts), batch):
        emails = [c.email for c in contacts[start : start + batch]]
        with transaction.atomic():
            result = enrolment.enroll_emails(
                journey, emails, now=clock.now(), trigger_key=TRIGGER_KEY
            )
        if result.refused:
            raise AssertionError(f"refused: {result.refused[:3]} …")
        ids += [run.pk for run in result.runs]
    return ids


# --- the SMTP server --------------------------------------------------------------------------


class Sink:
    """The benchmark's own connection to the SMTP server process (``email_smtpd.py``)."""

    def __init__(self, proc: harness.Proc | None, port: int) -> None:
        self.proc, self.port = proc, port
        self.conn: smtplib.SMTP | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pgid

    def command(self, verb: str, arg: str = "") -> str:
        for attempt in (1, 2):  # the server drops a connection idle for 5 minutes
            try:
                if self.conn is None:
                    self.conn = smtplib.SMTP("127.0.0.1", self.port, local_hostname="bench")
                code, reply = self.conn.docmd(verb, arg)
            except (smtplib.SMTPServerDisconnected, OSError):
                self.conn = None
                if attempt == 2:
                    raise
                continue
            if code != 250:
                raise AssertionError(f"SMTP server: {verb} {arg} -> {code} {reply!r}")
            return reply.decode()
        raise AssertionError("unreachable")

    def stats(self) -> dict[str, int]:
        reply = self.command("XSTAT")
        return {k: int(v) for k, v in (part.split("=") for part in reply.split())}

    def reset(self) -> None:
        self.command("XRESET")

    def dump(self, path: Path) -> list[Received]:
        self.command("XDUMP", str(path))
        return read_dump(path)

    def close(self) -> None:
        if self.conn is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                self.conn.quit()
            self.conn = None


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes

    def header(self, name: str) -> str:
        head = self.content[: self.content.find(b"\r\n\r\n")]
        pattern = rb"^" + re.escape(name.encode()) + rb":[ \t]*(\S+)"
        match = re.search(pattern, head, re.IGNORECASE | re.MULTILINE)
        return match.group(1).decode() if match else ""


def read_dump(path: Path) -> list[Received]:
    data = path.read_bytes()
    out, at = [], 0
    while at < len(data):
        end = data.index(b"\n", at)
        mail_from, rcpts, length = data[at:end].decode().split("\t")
        body = data[end + 1 : end + 1 + int(length)]
        out.append(Received(mail_from, rcpts.split(","), body))
        at = end + 1 + int(length)
    return out


def start_sink(workdir: Path) -> Sink:
    proc = harness.Proc(
        "SMTP server",
        [sys.executable, "-P", str(SINK), "--port", "0"],
        {k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
        workdir / "smtpd.log",
    )
    proc.wait_for_log("listening on ", timeout=30)
    port = int(re.search(r"listening on [^:]+:(\d+)", proc.text()).group(1))  # type: ignore[union-attr]
    return Sink(proc, port)


# --- measuring --------------------------------------------------------------------------------


@dataclass
class Measure:
    messages: int
    wall: float
    bytes: int = 0
    enrolled_in: float = 0.0
    worker_cpu: float = 0.0
    db_cpu: float = 0.0
    redis_cpu: float = 0.0
    sink_cpu: float = 0.0
    client_cpu: float = 0.0
    timeline: list[tuple[float, int]] = field(default_factory=list)  # (seconds, received)

    @property
    def rate(self) -> float:
        return self.messages / self.wall

    def ms(self, seconds: float) -> float:
        return seconds / self.messages * 1000

    def when(self, count: int) -> float:
        """Seconds from the start until the server had ``count`` messages (half-second
        samples)."""
        return next((at for at, received in self.timeline if received >= count), self.wall)

    def rate_between(self, low: float, high: float) -> float:
        """Messages per second received between two shares of the run's messages."""
        a, b = self.when(int(self.messages * low)), self.when(int(self.messages * high))
        return self.messages * (high - low) / (b - a) if b > a else float("nan")


class Monitor(threading.Thread):
    """Samples, every half second from ``start()`` on, what the SMTP server has received (the
    timeline of a run) and the CPU of every PostgreSQL backend of the app's database, with
    connections of its own.

    Unlike ``harness.PostgresCpu`` it counts no other database's backends (the machine may be
    shared, and the postmaster's reaped children include every database's): a backend's CPU is
    its last sample less its first (or less nothing, when it started after ``start()``); one
    that exits loses at most its last half second. The workers keep their connection (at most
    ``CELERY_DB_REUSE_MAX`` tasks), so few ever exit."""

    def __init__(self, port: int, label: str, n: int) -> None:
        super().__init__(name="bench-monitor", daemon=True)
        self.sink, self.label, self.n = Sink(None, port), label, n
        self.stopping = threading.Event()
        self.timeline: list[tuple[float, int]] = []
        self.first: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self.conn = psycopg.connect(f"{harness.PG}/postgres", autocommit=True)
        self.sample(initial=True)

    def backends(self) -> list[int]:
        sql = "SELECT pid FROM pg_stat_activity WHERE datname = %s"
        return [pid for (pid,) in self.conn.execute(sql, [APP_DB]).fetchall()]

    def sample(self, initial: bool = False) -> None:
        for pid in self.backends():
            cpu = harness.pid_cpu(pid)
            self.first.setdefault(pid, cpu if initial else 0.0)
            self.last[pid] = max(cpu, self.last.get(pid, 0.0))
        if not initial:
            self.timeline.append((time.perf_counter(), self.sink.stats()["messages"]))

    def run(self) -> None:
        report_at = time.perf_counter() + 30
        while not self.stopping.wait(0.5):
            self.sample()
            at, received = self.timeline[-1]
            if at > report_at and self.label:
                print(f"  … {self.label}: {received:,} of {self.n:,} received", flush=True)
                report_at += 30

    def stop(self) -> float:
        """Stops sampling; returns the backends' CPU seconds since ``start()``."""
        self.stopping.set()
        self.join()
        self.sample()
        self.sink.close()
        self.conn.close()
        return sum(self.last[pid] - self.first[pid] for pid in self.last)


class Cpu:
    """CPU seconds of the worker's process group, Redis, the SMTP server and this process between
    ``start()`` and ``stop()`` (PostgreSQL's: ``Monitor``)."""

    def __init__(self, worker: harness.Proc | None, sink: Sink, redis_pid: int | None) -> None:
        self.worker, self.sink, self.redis_pid = worker, sink, redis_pid

    def start(self) -> None:
        self.w0 = harness.group_cpu(self.worker.pgid) if self.worker else 0.0
        self.r0 = harness.pid_cpu(self.redis_pid) if self.redis_pid else 0.0
        self.s0 = harness.pid_cpu(self.sink.pid)
        self.c0 = time.process_time()

    def stop(self, m: Measure) -> None:
        m.client_cpu = time.process_time() - self.c0
        m.sink_cpu = harness.pid_cpu(self.sink.pid) - self.s0
        if self.worker:
            m.worker_cpu = harness.group_cpu(self.worker.pgid) - self.w0
        if self.redis_pid:
            m.redis_cpu = harness.pid_cpu(self.redis_pid) - self.r0


def sent_count(conn: Any, ids: list[int]) -> int:
    sql = "SELECT count(*) FROM saleor_journeys_message WHERE run_id = ANY(%s) AND status = 'sent'"
    (sent,) = conn.execute(sql, [ids]).fetchone()
    return int(sent)


def run_app(
    journey: Any,
    contacts: list[Any],
    name: str,
    sink: Sink,
    worker: harness.Proc,
    cpu: Cpu | None,
    batch: int,
    timeout: float,
) -> tuple[Measure, list[int]]:
    """Enrol the contacts (``batch`` per transaction); time from the first enrolment until the
    SMTP server has every message and every Message row is ``sent``."""
    n = len(contacts)
    with harness.connect(APP_DB) as conn:
        # The tables' statistics as a database in service has them (see steps.py).
        conn.execute("VACUUM ANALYZE")
        sink.reset()
        monitor = Monitor(sink.port, name, n)
        if cpu:
            cpu.start()
        began = time.perf_counter()
        monitor.start()
        try:
            ids = enrol(journey, contacts, batch)
            enrolled = time.perf_counter()
            if len(ids) != n:
                raise AssertionError(f"{name}: {len(ids)} runs for {n} contacts")
            deadline = began + timeout
            while True:
                received = sink.stats()["messages"]
                if received >= n and sent_count(conn, ids) >= n:
                    ended = time.perf_counter()
                    break
                worker.check_alive()
                if time.perf_counter() > deadline:
                    raise AssertionError(
                        f"{name}: the server has {received}/{n} messages, "
                        f"{sent_count(conn, ids)} rows are sent after {timeout}s; worker log:\n"
                        f"{worker.tail()}"
                    )
                time.sleep(0.05)
        finally:
            db_cpu = monitor.stop()
        stats = sink.stats()
        m = Measure(n, ended - began, bytes=stats["bytes"], enrolled_in=enrolled - began)
        m.db_cpu = db_cpu
        m.timeline = [(at - began, received) for at, received in monitor.timeline]
        if cpu:
            cpu.stop(m)
    return m, ids


def run_baseline(
    sink: Sink, messages: list[Received], cpu: Cpu, connection_per_message: bool = False
) -> Measure:
    """The same bytes with plain smtplib, one ``sendmail`` per message: over one connection, or
    (``connection_per_message``) a connection each, as Django's backend does for each send."""
    sink.reset()
    cpu.start()
    began = time.perf_counter()
    client = None
    for message in messages:
        if client is None:
            client = smtplib.SMTP("127.0.0.1", sink.port, local_hostname="bench")
            client.ehlo()
        refused = client.sendmail(message.mail_from, message.rcpt_tos, message.content)
        if refused:
            raise AssertionError(f"baseline: refused {refused}")
        if connection_per_message:
            client.quit()
            client = None
    if client is not None:
        client.quit()
    ended = time.perf_counter()
    m = Measure(len(messages), ended - began)
    cpu.stop(m)
    m.bytes = sink.stats()["bytes"]
    return m


# --- checks -----------------------------------------------------------------------------------


def check_sink(name: str, sink: Sink, n: int) -> dict[str, int]:
    stats = sink.stats()
    if (stats["messages"], stats["distinct"], stats["noid"]) != (n, n, 0):
        raise AssertionError(f"{name}: the SMTP server has {stats}, not {n} distinct messages")
    return stats


def check_app(conn: Any, ids: list[int], contacts: list[Any], received: list[Received]) -> None:
    """Every run done with one send action done at the first attempt; one Message per contact,
    sent, in the contact's language, to its address; what the server received is exactly the
    rows' messages (by Message-ID), and a sample of it is personalised and tracked."""
    from saleor_journeys.messaging.outbox import language_of

    n = len(ids)
    row = conn.execute(
        "SELECT count(*), count(*) FILTER (WHERE status = 'done') FROM saleor_journeys_run"
        " WHERE id = ANY(%s)",
        [ids],
    ).fetchone()
    if row != (n, n):
        raise AssertionError(f"runs (all, done) = {row}, not {n}")
    row = conn.execute(
        "SELECT count(*), count(*) FILTER (WHERE kind = 'send' AND status = 'done'"
        " AND attempts = 1) FROM saleor_journeys_runaction WHERE run_id = ANY(%s)",
        [ids],
    ).fetchone()
    if row != (n, n):
        raise AssertionError(f"send actions (all, done at the first attempt) = {row}, not {n}")
    rows = conn.execute(
        'SELECT contact_id, status, language, "to", provider_id, key, sent_at IS NOT NULL'
        " FROM saleor_journeys_message WHERE run_id = ANY(%s)",
        [ids],
    ).fetchall()
    by_contact = {c.pk: c for c in contacts}
    if len(rows) != n or len({r[0] for r in rows}) != n or len({r[5] for r in rows}) != n:
        raise AssertionError(f"{len(rows)} Message rows, not one per contact ({n})")
    for contact_id, status, language, to, _, _, sent in rows:
        contact = by_contact[contact_id]
        if status != "sent" or not sent:
            raise AssertionError(f"message to {to} is {status}")
        if language != language_of(contact) or to != contact.email:
            raise AssertionError(f"message to {to} in {language}, contact {contact.email}")
    ids_rows = {r[4] for r in rows}
    ids_received = {r.header("Message-ID") for r in received}
    if ids_rows != ids_received or len(received) != n:
        raise AssertionError(
            f"received {len(received)} messages, {len(ids_received)} Message-IDs; "
            f"{len(ids_rows - ids_received)} rows' ids not received"
        )
    step = max(1, n // 200)
    for r in received[::step]:
        check_mail(r, {c.email: c for c in contacts})


def check_mail(received: Received, contacts: dict[str, Any]) -> None:
    from saleor_journeys.messaging.outbox import language_of

    mail = email.message_from_bytes(received.content, policy=email.policy.default)
    assert isinstance(mail, EmailMessage)
    [to] = received.rcpt_tos
    contact = contacts[to]
    language = language_of(contact)
    problems = []
    if mail["To"] != to or mail["From"] != SENDER or received.mail_from != "hello@petshop.example":
        problems.append(f"addresses {mail['From']} -> {mail['To']} ({received.mail_from})")
    if mail["Subject"] != SUBJECTS[language]:
        problems.append(f"subject {mail['Subject']!r}")
    if not re.fullmatch(rf"<{re.escape(PUBLIC_URL)}/u/[^>]+>", mail["List-Unsubscribe"].strip()):
        problems.append(f"List-Unsubscribe {mail['List-Unsubscribe']!r}")
    if mail["List-Unsubscribe-Post"] != "List-Unsubscribe=One-Click":
        problems.append("no List-Unsubscribe-Post")
    text = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = mail.get_body(("html",)).get_content()  # type: ignore[union-attr]
    if not text.startswith(GREETINGS[language].format(contact.first_name)):
        problems.append(f"text starts {text[:40]!r}")
    if f">{GREETINGS[language].format(contact.first_name)}</h1>" not in html:
        problems.append("no greeting in the HTML")
    hrefs = re.findall(r'href="([^"]+)"', html)
    if not any(h.startswith(f"{PUBLIC_URL}/t/c/") for h in hrefs):
        problems.append("no tracked link")
    if any(h.startswith("https://petshop.example") for h in hrefs):
        problems.append("an untracked shop link")
    if not re.search(rf'<img src="{re.escape(PUBLIC_URL)}/t/o/[^"]+\.gif"', html):
        problems.append("no open pixel")
    if 'style="' not in html:
        problems.append("CSS not inlined")
    if problems:
        raise AssertionError(f"message to {to} ({language}): {'; '.join(problems)}")


# --- where the time goes (in this process) ----------------------------------------------------


def timed(spent: Counter[str], label: str, func: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        began = time.perf_counter()
        try:
            return func(*args, **kwargs)
        finally:
            spent[label] += time.perf_counter() - began

    return wrapper


@contextlib.contextmanager
def patched(targets: list[tuple[Any, str, str]], spent: Counter[str]) -> Iterator[None]:
    """Each ``(owner, attribute, label)`` timed into ``spent`` while inside."""
    originals = [(owner, attr, getattr(owner, attr)) for owner, attr, _ in targets]
    for (owner, attr, label), (_, _, func) in zip(targets, originals, strict=True):
        setattr(owner, attr, timed(spent, label, func))
    try:
        yield
    finally:
        for owner, attr, func in originals:
            setattr(owner, attr, func)


class _Inliner:
    def __init__(self, inner: Any, spent: Counter[str]) -> None:
        self.inner, self.spent = inner, spent

    def inline(self, html: str) -> str:
        began = time.perf_counter()
        try:
            return self.inner.inline(html)
        finally:
            self.spent["  css_inline"] += time.perf_counter() - began


class Sql:
    """This process's queries, timed (``connection.execute_wrapper``): how many, how many
    wrote, and how many commits made writes durable (a write in autocommit, or a transaction
    with writes)."""

    def __init__(self, spent: Counter[str]) -> None:
        self.spent = spent
        self.queries = self.writes = self.commits = 0
        self.dirty = False

    def __call__(self, execute: Any, statement: str, params: Any, many: bool, ctx: Any) -> Any:
        from django.db import connection

        self.queries += 1
        if statement.lstrip()[:6].upper() in ("INSERT", "UPDATE", "DELETE"):
            self.writes += 1
            if connection.in_atomic_block:
                self.dirty = True
            else:
                self.commits += 1
        began = time.perf_counter()
        try:
            return execute(statement, params, many, ctx)
        finally:
            self.spent["SQL round trips (all)"] += time.perf_counter() - began

    @contextlib.contextmanager
    def counting(self) -> Iterator[None]:
        from django.db import connection

        real_commit = connection.commit

        def commit() -> None:
            if self.dirty:
                self.commits += 1
                self.dirty = False
            real_commit()

        connection.commit = commit  # type: ignore[method-assign]
        try:
            with connection.execute_wrapper(self):
                yield
        finally:
            del connection.commit

    def per(self, n: int) -> str:
        return (
            f"{self.queries / n:.1f} queries ({self.writes / n:.1f} writes), "
            f"{self.commits / n:.1f} commits"
        )


def pending_actions(journey: Any, contacts: list[Any]) -> list[int]:
    """Runs enrolled and stepped in this process (nothing published): their send actions,
    pending, for ``outbox.perform``. Prints what stepping a run to its send costs."""
    from saleor_journeys.journeys.models import RunAction
    from saleor_journeys.runtime import runs

    def measured(title: str, work: Callable[[], Any], n: int) -> Any:
        sql = Sql(Counter())
        db = own_backend_cpu()
        wall, cpu = time.perf_counter(), time.process_time()
        with sql.counting():
            result = work()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        db = own_backend_cpu() - db
        print(
            f"{title}: {wall / n * 1000:.2f} ms wall, {cpu / n * 1000:.2f} ms CPU in this "
            f"process, {db / n * 1000:.2f} ms CPU in PostgreSQL, {sql.per(n)}"
        )
        return result

    n = len(contacts)
    ids = measured(
        f"enrolment (enroll_emails, 500 per transaction), per contact of {n}",
        lambda: enrol(journey, contacts, 500),
        n,
    )
    with harness.connect(APP_DB) as conn:
        conn.execute("VACUUM ANALYZE")
    measured(
        f"runs.advance() of a run into its send (what advance_runs does), per run of {n}",
        lambda: [runs.advance(run_id) for run_id in ids],
        n,
    )
    actions = list(
        RunAction.objects.filter(run_id__in=ids, status="pending")
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    assert len(actions) == len(ids), (len(actions), len(ids))
    return actions


def own_backend_cpu() -> float:
    """CPU seconds of this process's own PostgreSQL backend (Django's connection), read from
    /proc without another connection: in-process measures do all their SQL through it."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    return harness.pid_cpu(pid)


def perform_all(actions: list[int]) -> tuple[float, float, float]:
    """``outbox.perform`` of each action; wall, CPU of this process and of its PostgreSQL
    backend, per message (ms)."""
    from saleor_journeys.runtime import outbox

    db = own_backend_cpu()
    wall, cpu = time.perf_counter(), time.process_time()
    for action_id in actions:
        if outbox.perform(action_id) != "done":
            raise AssertionError(f"action {action_id} was not done")
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    db = own_backend_cpu() - db
    n = len(actions)
    return wall / n * 1000, cpu / n * 1000, db / n * 1000


def breakdown(actions: list[int], cprofile: bool) -> None:
    from django.core.mail.backends import smtp as smtp_backend
    from django.core.mail.message import EmailMessage as DjangoEmailMessage
    from django.core.mail.message import MIMEMixin

    from saleor_journeys.messaging import content, context, links, policy, sandbox, tracking
    from saleor_journeys.messaging import email as email_channel
    from saleor_journeys.messaging import outbox as messaging_outbox
    from saleor_journeys.messaging.models import Message

    spent: Counter[str] = Counter()
    sql = Sql(spent)
    targets = [
        (messaging_outbox, "deliver", "deliver()"),
        (policy, "decide", "policy.decide"),
        (context, "build", "context.build"),
        (email_channel.EmailChannel, "render", "EmailChannel.render"),
        (content, "source", "  content.source (template lookup)"),
        (sandbox, "render", "  sandbox.render (Django templates, x4)"),
        (tracking, "track_html", "  tracking.track_html"),
        (links, "unsubscribe_url", "links.unsubscribe_url (render + headers)"),
        (Message, "save", "Message.save (x2)"),
        (email_channel.EmailChannel, "send", "EmailChannel.send"),
        (DjangoEmailMessage, "message", "  MIME message built"),
        (MIMEMixin, "as_bytes", "  MIME message serialised"),
        (smtp_backend.EmailBackend, "open", "  SMTP connect + EHLO"),
        (smtplib.SMTP, "sendmail", "  SMTP MAIL/RCPT/DATA"),
        (smtp_backend.EmailBackend, "close", "  SMTP QUIT + close"),
    ]
    inliner = content._INLINER
    content._INLINER = _Inliner(inliner, spent)  # type: ignore[assignment]
    # CPU time, not wall: the database round trips would hide the rest otherwise.
    profiler = cProfile.Profile(time.process_time) if cprofile else None
    try:
        with patched(targets, spent), sql.counting():
            if profiler:
                profiler.enable()
            wall, cpu, db = perform_all(actions)
            if profiler:
                profiler.disable()
    finally:
        content._INLINER = inliner
    n = len(actions)
    print(
        f"outbox.perform() in this process, {n} messages: {wall:.2f} ms wall per message, "
        f"{cpu:.2f} ms CPU in this process, {db:.2f} ms CPU in PostgreSQL, {sql.per(n)}"
    )
    spent["outside deliver(): claim, fetch, record"] = wall * n / 1000 - spent["deliver()"]
    order = ["outside deliver(): claim, fetch, record"] + [label for _, _, label in targets]
    order.insert(order.index("  tracking.track_html"), "  css_inline")
    order.append("SQL round trips (all)")
    for label in order:
        seconds = spent.get(label, 0.0)
        print(f"  {label:42} {seconds / n * 1000:6.2f} ms/msg  {seconds / n * 1000 / wall:4.0%}")
    if profiler:
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats("tottime").print_stats(20)
        stats.sort_stats("cumulative").print_stats(r"saleor_journeys|django/(db|core|template)", 40)
        print(out.getvalue())


@contextlib.contextmanager
def one_smtp_connection() -> Iterator[None]:
    """What-if: every message over one open SMTP connection (``get_connection`` returns it;
    leaving ``with`` does not close it)."""
    from django.core.mail import get_connection

    from saleor_journeys.messaging import email as email_channel

    shared = get_connection()
    shared.open()
    real_close = shared.close
    shared.close = lambda: None  # type: ignore[method-assign]
    original = email_channel.get_connection
    email_channel.get_connection = lambda *a, **k: shared  # type: ignore[assignment]
    try:
        yield
    finally:
        email_channel.get_connection = original
        real_close()


@contextlib.contextmanager
def compiled_templates() -> Iterator[None]:
    """What-if: each template source compiled once per process, the layout read once."""
    from saleor_journeys.messaging import content, sandbox

    original_render, original_layout = sandbox.render, content._layout
    cache: dict[tuple[bool, str], Any] = {}
    layout = original_layout()

    def render(source: str, context: dict[str, object], *, html: bool) -> str:
        template = cache.get((html, source))
        if template is None:
            engine = sandbox.HTML if html else sandbox.TEXT
            template = cache[(html, source)] = engine.from_string(source)
        return template.render(sandbox.Context(context, autoescape=html))

    sandbox.render = render  # type: ignore[assignment]
    content._layout = lambda: layout
    try:
        yield
    finally:
        sandbox.render, content._layout = original_render, original_layout


def profile_size(messages: int) -> int:
    """Contacts for a profile of ``messages`` timed part by part: the warm-up, those, and half
    as many for each of the three what-if variants."""
    return PROFILE_WARMUP + messages + 3 * (messages // 2) if messages else 0


def profile(journey: Any, contacts: list[Any], sink: Sink, cprofile: bool) -> None:
    """In this process, one thread: what stepping a run to its send costs, then the outbox's
    ``perform()`` (claim, ``deliver()``, record) with its parts timed, then two what-ifs and the
    code as is, taking turns (see ``profile_size``)."""
    from saleor_journeys.runtime import runs

    real_enqueue, real_enqueue_actions = runs._enqueue, runs._enqueue_actions
    runs._enqueue = lambda run_id: None  # type: ignore[assignment]  (stepped right here)
    runs._enqueue_actions = lambda run_id: None  # type: ignore[assignment]
    print(f"\nwhere a message's time goes ({harness.machine()})")
    try:
        actions = pending_actions(journey, contacts)
    finally:
        runs._enqueue, runs._enqueue_actions = real_enqueue, real_enqueue_actions
    with harness.connect(APP_DB) as conn:
        conn.execute("VACUUM ANALYZE")
    sink.reset()
    # Not counted: the first messages of a process build caches (URL resolver, template
    # engines, the SMTP backend's FQDN …).
    perform_all(actions[:PROFILE_WARMUP])
    p = (len(actions) - PROFILE_WARMUP) * 2 // 5
    breakdown(actions[PROFILE_WARMUP : PROFILE_WARMUP + p], cprofile)
    # The what-ifs take turns, 20 messages at a time, so that a drift of the machine (other
    # work, the tables growing) spreads over all three alike.
    variants: dict[str, Callable[[], contextlib.AbstractContextManager[None]]] = {
        "as is": contextlib.nullcontext,
        "one SMTP connection for all": one_smtp_connection,
        "templates compiled once": compiled_templates,
    }
    totals = {name: [0, 0.0, 0.0, 0.0] for name in variants}  # messages, wall, CPU, PostgreSQL
    rest = actions[PROFILE_WARMUP + p :]
    for i, at in enumerate(range(0, len(rest), 20)):
        name = list(variants)[i % len(variants)]
        chunk = rest[at : at + 20]
        with variants[name]():
            figures = perform_all(chunk)
        totals[name][0] += len(chunk)
        for k, value in enumerate(figures, start=1):
            totals[name][k] += value * len(chunk)
    print("what-ifs, outbox.perform() per message (ms wall / CPU here / CPU in PostgreSQL):")
    for name, (m, wall, cpu, db) in totals.items():
        print(f"  {name:28} {wall / m:6.2f} / {cpu / m:6.2f} / {db / m:5.2f}   ({m} messages)")
    check_sink("profile", sink, len(actions))


# --- report -----------------------------------------------------------------------------------


def report_app(m: Measure, concurrency: int) -> None:
    print(
        f"  app       {m.messages:,} emails in {m.wall:.2f}s = {m.rate:,.0f} msgs/s  "
        f"(enrolled in {m.enrolled_in:.1f}s; {m.bytes / m.messages:,.0f} bytes per message; "
        f"per message {m.wall * concurrency / m.messages * 1000:.2f} ms of a worker process; "
        f"CPU ms/msg: workers {m.ms(m.worker_cpu):.2f}, postgres {m.ms(m.db_cpu):.2f}, "
        f"redis {m.ms(m.redis_cpu):.2f}, SMTP server {m.ms(m.sink_cpu):.2f}, "
        f"benchmark (enrolment, polling) {m.ms(m.client_cpu):.2f})"
    )
    shares = " / ".join(f"{m.when(int(m.messages * q)):.0f}" for q in (0.25, 0.5, 0.75))
    print(
        f"            first message after {m.when(1):.1f}s, enrolment done after "
        f"{m.enrolled_in:.1f}s, 25 / 50 / 75 % received after {shares}s; "
        f"{m.rate_between(0.5, 1.0):,.0f} msgs/s from 50 % to 100 %"
    )


def report_baseline(m: Measure) -> None:
    print(
        f"  baseline  {m.messages:,} emails in {m.wall:.2f}s = {m.rate:,.0f} msgs/s  "
        f"(smtplib, one connection, the app's messages byte for byte: "
        f"{m.bytes / m.messages:,.0f} bytes per message; CPU ms/msg: "
        f"SMTP server {m.ms(m.sink_cpu):.2f}, client {m.ms(m.client_cpu):.2f})"
    )


# --- main -------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--messages", "-n", type=int, default=10_000, help="emails measured")
    parser.add_argument("--concurrency", "-c", type=int, default=2, help="worker processes")
    parser.add_argument("--warmup", type=int, default=200, help="uncounted emails first")
    parser.add_argument("--batch", type=int, default=500, help="enrolments per transaction")
    parser.add_argument(
        "--profile",
        type=int,
        default=200,
        help="emails timed part by part in-process, and half as many for each what-if; 0: none",
    )
    parser.add_argument("--cprofile", action="store_true", help="add a cProfile listing")
    parser.add_argument("--timeout", type=float, default=900, help="seconds allowed for the app")
    parser.add_argument("--keep-logs", action="store_true", help="keep the logs")
    args = parser.parse_args()
    harness.exit_on_sigterm()
    n, conc = args.messages, args.concurrency

    workdir = Path(tempfile.mkdtemp(prefix="sj-bench-email-"))
    broker = redis.Redis.from_url(BROKER)
    procs: list[harness.Proc] = []
    sink: Sink | None = None
    try:
        t0 = time.perf_counter()
        broker.flushdb()
        sink = start_sink(workdir)
        assert sink.proc is not None
        procs.append(sink.proc)
        settings_dir = workdir / "settings"
        settings_dir.mkdir()
        shutil.copy(SETTINGS, settings_dir / SETTINGS.name)
        env = harness.app_env(APP_DB, BROKER, workdir / "data")
        env.update(
            DJANGO_SETTINGS_MODULE=SETTINGS.stem,
            PYTHONPATH=str(settings_dir),
            EMAIL_URL=f"smtp://127.0.0.1:{sink.port}",
            DEFAULT_FROM_EMAIL=SENDER,
            SALEOR_JOURNEYS_PUBLIC_URL=PUBLIC_URL,
        )
        harness.recreate_database(APP_DB)
        harness.migrate(env)
        sys.path.insert(0, str(settings_dir))
        harness.setup_django(env)
        from saleor_journeys.saleor.models import Installation

        installation = Installation.objects.create(
            saleor_api_url=harness.API_URL, saleor_domain="Pet Shop", is_active=True
        )
        journey = make_journey(installation)
        warm = make_contacts(installation, args.warmup, "warm")
        contacts = make_contacts(installation, n, "c")
        profiled = make_contacts(installation, profile_size(args.profile), "p")
        worker = harness.Proc(
            "worker",
            [harness.CLI, "worker", "--loglevel=INFO", f"--concurrency={conc}"],
            env,
            workdir / "worker.log",
        )
        procs.append(worker)
        worker.wait_for_log(" ready.")
        redis_pid = int(broker.info("server")["process_id"])

        # Warm-up (not counted): every worker process has imported, connected and rendered.
        if warm:
            run_app(journey, warm, "warm-up", sink, worker, None, args.batch, args.timeout)
        spanish = sum(language_for(i) == "es" for i in range(n))
        print(
            f"setup {time.perf_counter() - t0:.1f}s: {n:,} contacts ({spanish:,} Spanish, the "
            f"rest English), journey send {TEMPLATE!r}, enrolled {args.batch} per transaction; "
            f"saleor-journeys worker --concurrency={conc} (Redis broker), Django's SMTP backend "
            f"to aiosmtpd on 127.0.0.1:{sink.port} (own process); warm-up {args.warmup}; "
            f"{harness.machine()}"
        )

        app, ids = run_app(
            journey,
            contacts,
            "app",
            sink,
            worker,
            Cpu(worker, sink, redis_pid),
            args.batch,
            args.timeout,
        )
        check_sink("app", sink, n)
        received = sink.dump(workdir / "app.dump")
        with harness.connect(APP_DB) as conn:
            check_app(conn, ids, contacts, received)
        report_app(app, conc)

        base = run_baseline(sink, received, Cpu(None, sink, None))
        stats = check_sink("baseline", sink, n)
        if stats["bytes"] != app.bytes:
            raise AssertionError(f"baseline: {stats['bytes']} bytes received, app {app.bytes}")
        report_baseline(base)
        sample = received[: min(n, 1000)]
        fresh = run_baseline(sink, sample, Cpu(None, sink, None), connection_per_message=True)
        check_sink("baseline, a connection per message", sink, len(sample))
        print(
            f"  (baseline with a new connection per message, as Django's backend per send: "
            f"{len(sample):,} emails at {fresh.rate:,.0f} msgs/s; CPU ms/msg: SMTP server "
            f"{fresh.ms(fresh.sink_cpu):.2f}, client {fresh.ms(fresh.client_cpu):.2f})"
        )
        print(
            f"app: {app.rate:,.0f} msgs/s  baseline: {base.rate:,.0f} msgs/s  "
            f"ratio app/baseline: {app.rate / base.rate:.3f}  (N={n:,}, C={conc})"
        )
        cpu = app.ms(app.worker_cpu + app.db_cpu + app.redis_cpu)
        print(
            f"CPU per message: app {cpu:.2f} ms (workers + postgres + redis) + SMTP server "
            f"{app.ms(app.sink_cpu):.2f} ms; baseline client {base.ms(base.client_cpu):.2f} ms + "
            f"SMTP server {base.ms(base.sink_cpu):.2f} ms"
        )
        print(
            f"checked: {n:,} messages received, {n:,} distinct Message-IDs = the {n:,} Message "
            "rows (all sent, one per contact, in its language); runs done; a sample parsed: "
            "personalised subject and greeting, tracked links, open pixel, List-Unsubscribe"
        )
        print(f"after: {harness.machine()}")

        worker.stop()  # nothing may take the profile's tasks (none is published either)
        if args.profile:
            profile(journey, profiled, sink, args.cprofile)
    finally:
        if sink is not None:
            sink.close()
        harness.stop_all(procs)
        harness.close_django()
        harness.drop_databases(APP_DB)
        harness.clean_up([broker], workdir, keep_logs=args.keep_logs)


if __name__ == "__main__":
    main()
