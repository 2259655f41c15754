"""Handing stored deliveries to Celery off the request path, in batches.

A webhook is answered as soon as its delivery is stored; telling a worker about it is only a
latency hint (the sweeper finds whatever is not processed). Publishing to the broker costs more
than the rest of a webhook, so a thread of each process publishes queued ids in batches.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Callable

logger = logging.getLogger(__name__)

BATCH = 100
# How long the thread keeps collecting ids after the first before it publishes. Under load this
# turns hundreds of broker round trips into a few; idle, it delays a task by this much.
LINGER = 0.02


class BatchPublisher:
    def __init__(self, publish: Callable[[list[int]], object]) -> None:
        self._publish = publish
        self._queue: queue.SimpleQueue[int] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid = 0

    def submit(self, delivery_id: int) -> None:
        self._ensure_thread()
        self._queue.put(delivery_id)

    def _ensure_thread(self) -> None:
        # After a fork (gunicorn workers) the parent's thread does not exist in the child.
        if self._thread is not None and self._pid == os.getpid() and self._thread.is_alive():
            return
        with self._lock:
            if self._thread is None or self._pid != os.getpid() or not self._thread.is_alive():
                self._queue = queue.SimpleQueue()
                self._pid = os.getpid()
                self._thread = threading.Thread(
                    target=self._run, name="saleor-journeys-publisher", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        while True:
            batch = [self._queue.get()]
            deadline = time.monotonic() + LINGER
            while len(batch) < BATCH:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                try:
                    batch.append(self._queue.get(timeout=remaining))
                except queue.Empty:
                    break
            try:
                self._publish(batch)
            except Exception:
                logger.warning(
                    "Could not queue %s deliveries; the sweeper will process them",
                    len(batch),
                    exc_info=True,
                )
