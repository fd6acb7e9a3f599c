"""Alerts on slips: who gets what, the emails, and their delivery state (skeleton: issue 7)."""

from __future__ import annotations

import duckdb


def run_alerts(con: duckdb.DuckDBPyConnection, *, run_id: str, **kwargs) -> dict[str, int]:
    """Plan this run's alerts from the assessment history, deliver pending ones, record state."""
    return {"planned": 0, "sent": 0, "pending": 0, "held": 0}
