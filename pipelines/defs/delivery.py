"""What the run hands to people: the report and the alert emails."""


import dagster as dg

from pipelines.defs.resources import MailResource, PlanwatchResource
from pipelines.lib.alerting import AlertOutputs, run_alerts
from pipelines.lib.fanout import fan_out
from pipelines.lib.report import build_report


@dg.asset(group_name="delivery", kinds={"html", "excel"}, deps=["warehouse_tables", "warehouse_validation"], pool="duckdb")
def report(context: dg.AssetExecutionContext, planwatch: PlanwatchResource) -> dg.MaterializeResult:
    """reports/index.html (status overview per region, a chart per target; works offline) and the
    指标完成情况表 as reports/<region_code>.xlsx, read from the views of this run's staging warehouse."""
    with planwatch.warehouse.connect() as con:
        # The regions' files are drawn by PLANWATCH_MAX_CONCURRENT worker processes (nothing else runs now).
        files = build_report(con, planwatch.paths.reports_dir, run_id=context.run.run_id,
                             processes=fan_out().max_concurrent)
    return dg.MaterializeResult(metadata={"workbooks": len(files) - 1,
                                          **{k: dg.MetadataValue.path(str(v)) for k, v in files.items()}})


@dg.asset(group_name="delivery", kinds={"email"}, deps=["warehouse_tables", "warehouse_validation", "report"], pool="duckdb")
def alerts(context: dg.AssetExecutionContext, planwatch: PlanwatchResource, mail: MailResource) -> dg.MaterializeResult:
    """Emails to the people responsible when a target slips (or recovers); sent once, never lost.

    A send that fails stays pending in the ``alert`` table and is retried on the next run."""
    paths = planwatch.paths
    settings = mail.settings
    context.log.info(f"alert delivery: {settings.describe()}")
    with planwatch.warehouse.connect() as con:
        counts = run_alerts(con, run_id=context.run.run_id, routing_file=paths.alert_routing, mail=settings,
                            outputs=AlertOutputs(reports_dir=paths.reports_dir, outbox_dir=paths.outbox_dir))
    if counts["emails_not_sent"]:
        context.log.warning(f"{counts['emails_not_sent']} email(s) not delivered; their alerts stay pending")
    return dg.MaterializeResult(metadata=counts)
