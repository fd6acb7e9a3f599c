"""What the run hands to people: the report and the alert emails."""


import dagster as dg

from pipelines.defs.resources import PlanwatchResource
from pipelines.lib.alerting import run_alerts
from pipelines.lib.report import build_report


@dg.asset(group_name="delivery", kinds={"html", "excel"}, deps=["warehouse_tables"], pool="duckdb")
def report(context: dg.AssetExecutionContext, planwatch: PlanwatchResource) -> dg.MaterializeResult:
    """Static HTML report (status overview, charts) and the evaluation table as .xlsx per region."""
    with planwatch.warehouse.connect() as con:
        files = build_report(con, planwatch.paths.reports_dir, run_id=context.run_id)
    return dg.MaterializeResult(metadata={k: dg.MetadataValue.path(str(v)) for k, v in files.items()})


@dg.asset(group_name="delivery", kinds={"email"}, deps=["warehouse_tables", "report"], pool="duckdb")
def alerts(context: dg.AssetExecutionContext, planwatch: PlanwatchResource) -> dg.MaterializeResult:
    """Emails to the people responsible when a target slips (or recovers); sent once, never lost."""
    with planwatch.warehouse.connect() as con:
        counts = run_alerts(con, run_id=context.run_id)
    return dg.MaterializeResult(metadata=counts)
