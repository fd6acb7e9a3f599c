"""An analyst's read-only connection held open in another process through a whole nightly run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb

from pipelines.runner import run_once


def snapshot(con: duckdb.DuckDBPyConnection) -> dict:
    """What a connection sees: enough to tell one complete run's warehouse from another's."""
    one = lambda sql: con.execute(sql).fetchall()[0][0]  # noqa: E731
    return {"documents": one("SELECT count(*) FROM document"),
            "assessments": one("SELECT count(*) FROM assessment"),
            "runs": one("SELECT count(DISTINCT run_id) FROM assessment"),
            "loaded_at": str(one("SELECT max(loaded_at) FROM document")),
            "views": one("SELECT count(*) FROM duckdb_views() WHERE NOT internal")}


# Opens the published warehouse read-only, reports what it sees, then answers one line per request
# through the same connection until told to stop: an analyst's notebook left open overnight.
READER = f"""
import json, sys
import duckdb
sys.path.insert(0, {str(Path(__file__).parent)!r})
from test_concurrent_reader import snapshot

con = duckdb.connect(sys.argv[1], read_only=True)
print(json.dumps(snapshot(con)), flush=True)
for request in sys.stdin:
    if request.strip() == "stop":
        break
    print(json.dumps(snapshot(con)), flush=True)
con.close()
"""


def snapshot_now(db: Path) -> dict:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return snapshot(con)
    finally:
        con.close()


def test_run_succeeds_while_a_reader_holds_the_warehouse_open(planwatch_env):
    first = run_once()
    assert first.success
    db = planwatch_env["warehouse"] / "planwatch.duckdb"
    before = snapshot_now(db)

    reader = subprocess.Popen([sys.executable, "-c", READER, str(db)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert json.loads(reader.stdout.readline()) == before  # connected and reading: the run starts now
        second = run_once()
        reader.stdin.write("again\n")
        reader.stdin.flush()
        held = json.loads(reader.stdout.readline())
        reader.stdin.write("stop\n")
        reader.stdin.flush()
        _, errors = reader.communicate(timeout=60)
    finally:
        if reader.poll() is None:
            reader.kill()
    assert reader.returncode == 0, errors

    assert second.success
    # The held connection still sees the previous complete warehouse, views included...
    assert held == before
    assert held["documents"] == 5 and held["views"] > 0
    # ...and a connection opened now sees the new complete one.
    after = snapshot_now(db)
    assert after["loaded_at"] > before["loaded_at"]
    assert after["documents"] == before["documents"] and after["views"] == before["views"]
    assert after["assessments"] == before["assessments"] * 2
    assert after["runs"] == (2 if before["runs"] else 0)
