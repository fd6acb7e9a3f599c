"""Run the whole flow once and summarize what it left in the warehouse."""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager

import duckdb

from pipelines.config import Paths
from pipelines.lib.alerting import alert_summary
from pipelines.lib.report import REPORT_PAGE, WORKBOOK_GLOB
from pipelines.lib.warehouse import scalar

# Without DAGSTER_HOME: a throwaway instance whose "duckdb" pool admits one step at a time, so that
# under the multiprocess executor parallel processes never open the warehouse together.
THROWAWAY_INSTANCE = {"concurrency": {"pools": {"granularity": "op", "default_limit": 1}}, "telemetry": {"enabled": False}}


def nightly_job():
    """The nightly job; module level so the multiprocess executor can rebuild it in each process."""
    from pipelines.definitions import defs

    return defs().resolve_job_def("planwatch_nightly")


def run_once(run_tags: dict[str, str] | None = None):
    """Materialize every asset (the nightly job); returns the Dagster result.

    In this process by default; with PLANWATCH_EXECUTOR=multiprocess, steps run in parallel processes.
    Either way through ``dg.execute_job``, as the daemon launches the nightly run: ``execute_in_process``
    keeps every step's output in memory until the run ends (gigabytes at national size), on top of the
    I/O manager's copy."""
    import dagster as dg

    job = dg.reconstructable(nightly_job)
    # Settings are read from the environment when the definitions load (resources.py); Dagster keeps the
    # last reconstructed job per process, which would carry an earlier call's settings into this run.
    type(job).get_definition.cache_clear()
    type(job).get_repository_definition.cache_clear()
    with _run_instance() as instance, dg.execute_job(job, instance=instance, tags=run_tags or {},
                                                     raise_on_error=False) as result:
        return result


@contextmanager
def _run_instance():
    """The instance a run goes to: DAGSTER_HOME's when set (the run lands in its history); else an
    in-memory one in process (its pickles: a temp folder); else, as step processes need an instance on
    disk, a temporary folder gone after the run."""
    import dagster as dg

    from pipelines.lib.fanout import fan_out

    if os.environ.get("DAGSTER_HOME"):
        yield dg.DagsterInstance.get()
    elif fan_out().executor == "in_process":
        yield dg.DagsterInstance.ephemeral()
    else:
        with tempfile.TemporaryDirectory(prefix="planwatch-run-") as home:
            yield dg.DagsterInstance.local_temp(home, overrides=THROWAWAY_INSTANCE)


def summarize(paths: Paths, run_id: str) -> str:
    db = paths.warehouse_db
    if not db.exists():
        return f"no warehouse at {db}"
    con = duckdb.connect(str(db), read_only=True)
    try:
        def one(sql: str, *params) -> int:
            return scalar(con, sql, list(params))

        statuses = con.execute(
            "SELECT status, count(*) FROM assessment WHERE run_id = ? GROUP BY status ORDER BY status", [run_id]
        ).fetchall()
        issues = con.execute(
            "SELECT severity, count(*) FROM validation_issue WHERE run_id = ? GROUP BY severity ORDER BY severity",
            [run_id]).fetchall()
        lines = [
            f"documents read        {one('SELECT count(*) FROM document')}",
            f"figures extracted     {one('SELECT count(*) FROM extracted_fact')}",
            f"targets               {one('SELECT count(*) FROM target')}",
            f"observations          {one('SELECT count(*) FROM observation')} "
            f"({one('SELECT count(*) FROM observation WHERE is_chosen')} chosen)",
            f"assessments           {sum(n for _, n in statuses)}: "
            + (", ".join(f"{s} {n}" for s, n in statuses) or "none"),
            *alert_summary(con, run_id, paths.outbox_dir),
            f"rejected rows         {one('SELECT count(*) FROM rejected_row WHERE run_id = ?', run_id)}"
            " (reasons: SELECT * FROM rejected_row)",
            "validation issues     " + (", ".join(f"{s} {n}" for s, n in issues) or "none")
            + (" (errors hold the alerts of the rows they touch)" if any(s == "error" for s, _ in issues) else ""),
            f"warehouse             {db}",
            f"report                {paths.reports_dir / REPORT_PAGE}",
        ]
        workbooks = sorted(paths.reports_dir.glob(WORKBOOK_GLOB))
        if workbooks:
            lines.append(f"evaluation tables     {paths.reports_dir}/<region_code>.xlsx "
                         f"({', '.join(w.stem for w in workbooks)})")
        if paths.data_docs_dir.exists():
            lines.append(f"data docs             {paths.data_docs_dir / 'index.html'}")
        if paths.outbox_dir.exists():
            lines.append(f"outbox (.eml)         {paths.outbox_dir}")
    finally:
        con.close()
    return "\n".join(lines)
