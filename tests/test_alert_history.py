"""A target's status before the latest run: from the run just before it, or, for a target that run did not
judge, from the last run that did (lib/alerting.py _CHANGES), as the plain window over the whole history
defines it."""

import random
from datetime import datetime, timedelta

import duckdb
import pytest

from pipelines.config import SQL_DIR
from pipelines.lib.alerting import _CHANGES

# The definition: each target's runs in v_latest_run's order, the status of the one before the latest.
BY_WINDOW = """
    per_run AS (
        SELECT target_id, run_id, any_value(status) AS status, max(assessed_at) AS assessed_at
        FROM assessment GROUP BY target_id, run_id),
    history AS (
        SELECT *, lag(status) OVER w AS status_before, lag(run_id) OVER w AS previous_run_id
        FROM per_run WINDOW w AS (PARTITION BY target_id ORDER BY assessed_at NULLS FIRST, run_id)),
    changes AS (
        SELECT h.target_id, h.status_before, h.status AS status_after,
               coalesce(h.previous_run_id, '') AS previous_run_id
        FROM history h JOIN v_latest_run lr ON lr.run_id = h.run_id
        WHERE h.status IS DISTINCT FROM h.status_before)
"""
STATUSES = ["achieved", "on_track", "at_risk", "off_track", "insufficient_data"]


def history(con: duckdb.DuckDBPyConnection, seed: int) -> None:
    rng = random.Random(seed)
    runs = [f"run-{rng.randrange(10**6):06d}" for _ in range(rng.randint(1, 6))]
    start = datetime(2026, 1, 1)
    rows = []
    for i, run in enumerate(runs):
        # Runs one day apart; now and then two runs with the same time (the run id orders them).
        at = start + timedelta(days=i - (1 if i and rng.random() < 0.2 else 0))
        for target in range(30):
            if rng.random() < 0.75:  # a target is not judged in every run (new, quarantined, gone)
                rows.append((run, at, f"t{target:02d}", rng.choice(STATUSES)))
    con.executemany("INSERT INTO assessment (run_id, assessed_at, target_id, status) VALUES (?, ?, ?, ?)", rows)


@pytest.mark.parametrize("seed", range(40))
def test_the_status_before_is_the_last_one_any_earlier_run_gave(seed):
    con = duckdb.connect()
    con.execute((SQL_DIR / "schema.sql").read_text(encoding="utf-8"))
    con.execute((SQL_DIR / "views" / "10_v_latest_run.sql").read_text(encoding="utf-8"))
    history(con, seed)
    query = "WITH {} SELECT target_id, status_before, status_after, previous_run_id FROM changes ORDER BY ALL"
    expected = con.execute(query.format(BY_WINDOW)).fetchall()
    assert con.execute(query.format(_CHANGES)).fetchall() == expected
