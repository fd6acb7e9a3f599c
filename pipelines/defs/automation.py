"""The nightly job, its schedule (02:00 Asia/Shanghai) and the sensor on data/raw."""


import hashlib
import json

import dagster as dg

from pipelines.config import Paths
from pipelines.lib.raw_files import input_files

JOB_NAME = "planwatch_nightly"
TIMEZONE = "Asia/Shanghai"

planwatch_job = dg.define_asset_job(
    JOB_NAME, selection=dg.AssetSelection.all(), description="Every Planwatch asset, inputs to published warehouse."
)

nightly_schedule = dg.ScheduleDefinition(
    name="planwatch_nightly_0200_asia_shanghai",
    job=planwatch_job,
    cron_schedule="0 2 * * *",
    execution_timezone=TIMEZONE,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Nightly run at 02:00 Asia/Shanghai (not UTC).",
)


def raw_fingerprint(paths: Paths) -> dict[str, str]:
    """relative path -> size and mtime of every input file under the raw folder (not lock, temporary or
    backup files: opening a workbook in Excel is no change)."""
    root = paths.raw_dir
    return {str(p.relative_to(root)): f"{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in input_files(root)}


@dg.sensor(job=planwatch_job, minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.RUNNING)
def raw_files_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
    """Start a run when a file under PLANWATCH_RAW_DIR is added, changed or removed."""
    current = raw_fingerprint(Paths.from_env())
    previous = json.loads(context.cursor) if context.cursor else None
    cursor = json.dumps(current, sort_keys=True)
    if previous is None:
        # First tick: remember the folder; the schedule (or a person) makes the first run.
        return dg.SensorResult(skip_reason="first look at the raw folder: state recorded", cursor=cursor)
    changed = sorted(k for k in set(current) | set(previous) if current.get(k) != previous.get(k))
    if not changed:
        return dg.SkipReason("no file under the raw folder changed")
    run_key = hashlib.sha256(cursor.encode()).hexdigest()[:16]
    context.log.info(f"raw files changed: {', '.join(changed[:20])}")
    return dg.SensorResult(
        run_requests=[dg.RunRequest(run_key=run_key, tags={"planwatch/changed_files": ", ".join(changed[:20])})],
        cursor=cursor,
    )
