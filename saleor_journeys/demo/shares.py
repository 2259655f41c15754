"""Playing the customers in several processes, one share each, and merging what they wrote.

Every customer's month is independent of the others' (their own generator, their own ids), so
the shop can be played on every core: the shop is set up once, its database file is copied for
each share but the first, and each share is played by a forked process on its own file. Rows a
share creates get ids from a range of their own (``ID_SPACING``), so that afterwards the copies'
new rows are added to the first file unchanged; foreign keys keep pointing at the same rows.
"""

from __future__ import annotations

import multiprocessing
import queue
import shutil
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.db import connection, transaction

# Ids of rows share k creates start above k * ID_SPACING: far more rows than a demo makes, and
# well under what a JavaScript number holds exactly.
ID_SPACING = 10**9
# Tables that hold Django's own bookkeeping, set up before the copies and never written after.
_SKIPPED = {"django_migrations", "django_content_type"}


def can_fork() -> bool:
    # Not on macOS: its system libraries are not safe to use in a forked child.
    return "fork" in multiprocessing.get_all_start_methods() and sys.platform != "darwin"


def play(
    shares: list[Any],
    work: Callable[[Any, Callable[[int, int], None]], Any],
    progress: Callable[[list[int], list[int]], None],
) -> list[Any]:
    """``work(share, report)`` for each share, each in a forked process on its own copy of the
    database; returns what each returned, in order, once the copies are merged into the first.
    ``report(done, day)`` is how far a share is; ``progress(done, days)`` sees all of them.

    The caller must hold no thread that the children would need (they are forked) and keeps
    serving whatever they call while this runs."""
    first = Path(str(connection.settings_dict["NAME"]))
    connection.close()
    copies = [first.with_name(f"{first.stem}-{k}{first.suffix}") for k in range(1, len(shares))]
    files = [first, *copies]
    for copy in copies:
        shutil.copyfile(first, copy)
    context = multiprocessing.get_context("fork")
    messages: multiprocessing.Queue[tuple[str, int, Any]] = context.Queue()
    players = [
        context.Process(
            target=_player, args=(k, files[k], share, work, messages), name=f"demo-share-{k}"
        )
        for k, share in enumerate(shares)
    ]
    for player in players:
        player.start()
    results: dict[int, Any] = {}
    done, days = [0] * len(shares), [1] * len(shares)
    try:
        while len(results) < len(shares):
            try:
                kind, k, payload = messages.get(timeout=1)
            except queue.Empty:
                lost = [
                    p.name for k, p in enumerate(players) if k not in results and not p.is_alive()
                ]
                if lost:
                    raise RuntimeError(f"{', '.join(lost)} stopped without a result") from None
                continue
            if kind == "progress":
                done[k], days[k] = payload
                progress(done, days)
            elif kind == "done":
                results[k] = payload
            else:
                raise RuntimeError(f"share {k} failed:\n{payload}")
    finally:
        for player in players:
            if player.is_alive() and len(results) < len(shares):
                player.terminate()
            player.join()
    merge(copies)
    return [results[k] for k in range(len(shares))]


def _player(
    k: int,
    database: Path,
    share: Any,
    work: Callable[[Any, Callable[[int, int], None]], Any],
    messages: multiprocessing.Queue[tuple[str, int, Any]],
) -> None:
    try:
        connection.settings_dict["NAME"] = str(database)
        if k:
            _offset_ids(k)

        def report(done: int, day: int) -> None:
            messages.put(("progress", k, (done, day)))

        messages.put(("done", k, work(share, report)))
    except BaseException:
        messages.put(("failed", k, traceback.format_exc()))
    finally:
        connection.close()


def _autoincrement_tables() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE '%AUTOINCREMENT%'"
        )
        return [name for (name,) in cursor.fetchall() if name not in _SKIPPED]


def _offset_ids(k: int) -> None:
    """The rows this copy creates from now on get ids above ``k * ID_SPACING``."""
    with transaction.atomic(), connection.cursor() as cursor:
        for table in _autoincrement_tables():
            cursor.execute("DELETE FROM sqlite_sequence WHERE name = %s", [table])
            cursor.execute(
                "INSERT INTO sqlite_sequence (name, seq) VALUES (%s, %s)", [table, k * ID_SPACING]
            )


def merge(copies: list[Path]) -> None:
    """Add the rows each copy created to the first database (the current connection's), then
    remove the copy. Foreign keys are checked at the commit, so table order does not matter."""
    tables = _autoincrement_tables()
    for k, copy in enumerate(copies, 1):
        with connection.cursor() as cursor:
            cursor.execute("ATTACH DATABASE %s AS share", [str(copy)])
            try:
                with transaction.atomic():
                    for table in tables:
                        cursor.execute(
                            f'INSERT INTO main."{table}" SELECT * FROM share."{table}" '  # noqa: S608 - table names from sqlite_master
                            "WHERE id > %s",
                            [k * ID_SPACING],
                        )
            finally:
                cursor.execute("DETACH DATABASE share")
        copy.unlink()
