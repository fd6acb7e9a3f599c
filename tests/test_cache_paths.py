"""A warehouse folder whose name has glob characters ([, *, ?) works: the caches under it are read as
paths, not patterns, on the next run."""

import duckdb

from pipelines.runner import run_once


def test_a_second_run_in_a_warehouse_folder_named_with_brackets_reads_its_caches(planwatch_env, tmp_path,
                                                                                   monkeypatch):
    warehouse = tmp_path / "planwatch [prod] *"
    monkeypatch.setenv("PLANWATCH_WAREHOUSE_DIR", str(warehouse))
    first = run_once()
    assert first.success
    second = run_once()
    assert second.success
    extraction = next(e for e in second.all_events if e.is_step_materialization
                      and e.asset_key.to_user_string() == "extracted_facts")
    metadata = {k: v.value for k, v in extraction.event_specific_data.materialization.metadata.items()}
    assert metadata["documents extracted"] == 0 and metadata["documents from cache"] == 5
    with duckdb.connect(str(warehouse / "planwatch.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(DISTINCT run_id) FROM assessment").fetchall()[0][0] == 2
