"""Periodic tasks to merge into the host's ``CELERY_BEAT_SCHEDULE`` (the bundled project does)."""

from __future__ import annotations

from typing import Any

from saleor_journeys import conf


def beat_schedule() -> dict[str, dict[str, Any]]:
    return {
        "saleor-journeys-sweep-deliveries": {
            "task": "saleor_journeys.sweep_deliveries",
            "schedule": float(conf.get("SWEEP_INTERVAL")),
        },
        "saleor-journeys-sweep-runs": {
            "task": "saleor_journeys.sweep_runs",
            "schedule": float(conf.get("RUN_SWEEP_INTERVAL")),
        },
        "saleor-journeys-sweep-actions": {
            "task": "saleor_journeys.sweep_actions",
            "schedule": float(conf.get("RUN_SWEEP_INTERVAL")),
        },
        "saleor-journeys-scan-property-dates": {
            "task": "saleor_journeys.scan_property_dates",
            "schedule": 300.0,
        },
        "saleor-journeys-scan-abandoned-checkouts": {
            "task": "saleor_journeys.scan_abandoned_checkouts",
            "schedule": 60.0,
        },
        "saleor-journeys-purge-anonymous": {
            "task": "saleor_journeys.purge_anonymous",
            "schedule": 600.0,
        },
    }
