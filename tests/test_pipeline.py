"""The whole nightly job, run in process by Dagster on a copy of the embedded default data."""

from __future__ import annotations

import duckdb

from pipelines.config import Paths
from pipelines.lib.reading import normalize_line
from pipelines.runner import run_once, summarize


def test_nightly_job_populates_the_warehouse(planwatch_env):
    result = run_once()
    assert result.success

    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert {"plan_documents", "extracted_facts", "statistics_files", "observations", "targets", "assessments",
            "warehouse_tables", "report", "alerts", "published_warehouse"} <= materialized

    db = planwatch_env["warehouse"] / "planwatch.duckdb"
    assert db.exists()
    assert not (planwatch_env["warehouse"] / ".planwatch.staging.duckdb").exists()  # swapped in, not left behind
    con = duckdb.connect(str(db), read_only=True)
    try:
        count = lambda t: con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0]  # noqa: E731
        assert count("document") == 5
        files = {r[0] for r in con.execute("SELECT file FROM document").fetchall()}
        assert "004_fdfc527c9e11c0c2.txt" in files
        assert count("region") >= 5 and count("indicator") > 300
        assert count("extracted_fact") > 300
        assert count("target") > 100
        assert count("observation") > 50
        assert con.execute("SELECT count(*) FROM observation WHERE is_chosen").fetchall()[0][0] > 0
        # One assessment per target for this run, each with a status and the rule that decided it.
        assert con.execute(
            "SELECT count(*) FROM assessment WHERE run_id = ?", [result.run_id]).fetchall()[0][0] == count("target")
        assert con.execute("SELECT count(*) FROM assessment WHERE status IS NULL OR rule IS NULL").fetchall()[0][0] == 0
        statuses = {r[0] for r in con.execute("SELECT DISTINCT status FROM assessment").fetchall()}
        assert statuses & {"achieved", "on_track", "at_risk", "off_track"}
        # Every figure keeps its evidence, found again on the cited line of the original file (every
        # figure, not a random sample: a sample made the test pass or fail by chance).
        raw = planwatch_env["raw"] / "plans"
        for file, line, evidence in con.execute("SELECT doc, line, evidence FROM extracted_fact").fetchall():
            text_line = (raw / file).read_text(encoding="utf-8-sig").split("\n")[line - 1]
            # Prose: the evidence is a substring of the line. Table cell: "<indicator cell> <value cell>",
            # and the value cell is the cited line. Table evidence quotes the cells width-normalized, as
            # the extractor reads them (2.04:1 for 2.04∶1).
            assert any(evidence.replace(" ", "") in seen.replace(" ", "") or evidence.rsplit(" ", 1)[-1] in seen
                       for seen in (text_line, normalize_line(text_line))), (file, line, evidence)
    finally:
        con.close()

    # The pipeline finds exactly what `planwatch extract` finds (the scored path) in the same documents.
    from pipelines.cli import _facts_for_files
    from pipelines.lib.extraction import GOLD_COLUMNS

    con = duckdb.connect(str(db), read_only=True)
    try:
        stored = con.sql(f"SELECT {', '.join(GOLD_COLUMNS)} FROM extracted_fact").pl()
    finally:
        con.close()
    cli = _facts_for_files(sorted(str(p) for p in raw.glob("*.txt")), None).select(GOLD_COLUMNS)
    assert stored.sort(GOLD_COLUMNS).equals(cli.cast(stored.schema).sort(GOLD_COLUMNS))

    summary = summarize(Paths.from_env(), result.run_id)
    assert "documents read        5" in summary
    assert str(db) in summary


def test_second_run_keeps_history_and_replaces_current_state(planwatch_env):
    first = run_once()
    second = run_once()
    assert first.success and second.success
    con = duckdb.connect(str(planwatch_env["warehouse"] / "planwatch.duckdb"), read_only=True)
    try:
        runs = con.execute("SELECT count(DISTINCT run_id) FROM assessment").fetchall()[0][0]
        docs = con.execute("SELECT count(*) FROM document").fetchall()[0][0]
        per_run = con.execute("SELECT count(*) FROM assessment GROUP BY run_id").fetchall()
        # Identical inputs: no observation is stored twice.
        dup = con.execute("""SELECT count(*) FROM (SELECT region_code, indicator_key, year, source, value_type, value
                             FROM observation GROUP BY ALL HAVING count(*) > 1)""").fetchall()[0][0]
    finally:
        con.close()
    assert runs == 2 and docs == 5
    assert per_run[0][0] == per_run[1][0]
    assert dup == 0
