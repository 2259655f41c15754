"""The processes ``sweeper.py`` starts besides the app's own worker and beat.

    python benchmarks/sweeper_workers.py claim --db sj_bench_… --batch 500 --at EPOCH
    python benchmarks/sweeper_workers.py sweep --at EPOCH      (DATABASE_URL … in the env)

``claim`` is the baseline: from ``--at`` on, claim due rows of the run table in batches with
``SELECT … FOR UPDATE SKIP LOCKED`` and mark them done with one ``UPDATE``, until none is left.
``sweep`` calls the app's own ``runs.sweep()`` in a loop from ``--at`` on, until no run is due:
what the beat's ``sweep_runs`` task does, without the beat's interval between two sweeps.
Both connect before ``--at`` and then wait for it.
"""

from __future__ import annotations

import argparse
import time

CLAIM = """
SELECT id FROM saleor_journeys_run
WHERE status IN ('active', 'waiting') AND wake_at <= now()
ORDER BY wake_at, id
LIMIT %s
FOR UPDATE SKIP LOCKED
"""
DONE = """
UPDATE saleor_journeys_run
SET status = 'done', steps = steps + 1, wake_at = NULL, finished_at = clock_timestamp()
WHERE id = ANY(%s)
"""


def wait_until(at: float) -> None:
    while (left := at - time.time()) > 0:
        time.sleep(min(left, 0.05))


def claim(db_url: str, batch: int, at: float) -> int:
    import psycopg

    claimed = 0
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("SELECT 1")
        wait_until(at)
        while True:
            with conn.transaction():
                ids = [row[0] for row in conn.execute(CLAIM, [batch])]
                if ids:
                    conn.execute(DONE, [ids])
            if not ids:
                return claimed  # the rest, if any, is locked by the other processes
            claimed += len(ids)


def sweep(at: float) -> int:
    import django

    django.setup()
    from django.db import connection

    import saleor_journeys.project.celery  # noqa: F401  (as in a worker: tasks go to Redis)
    from saleor_journeys.runtime import runs

    runs.due(1)  # connected, and the ORM warm
    wait_until(at)
    stepped = 0
    while True:
        done = runs.sweep()
        stepped += done
        if done:
            continue
        if not runs.due(1):
            break
        time.sleep(0.01)  # what is due is being stepped by another process
    connection.close()
    return stepped


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("role", choices=["claim", "sweep"])
    parser.add_argument("--at", type=float, required=True, help="start at this UNIX time")
    parser.add_argument("--db", help="claim: database URL")
    parser.add_argument("--batch", type=int, default=500, help="claim: rows per transaction")
    args = parser.parse_args()
    done = claim(args.db, args.batch, args.at) if args.role == "claim" else sweep(args.at)
    print(f"{args.role}: {done} runs", flush=True)


if __name__ == "__main__":
    main()
