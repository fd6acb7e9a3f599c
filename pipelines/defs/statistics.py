"""Yearly statistics files and the normalized observations."""


import dagster as dg

from pipelines.defs.resources import PlanwatchResource
from pipelines.lib.observations import build_observations
from pipelines.lib.parquet_cache import ParquetCache, cache_dir
from pipelines.lib.reference import load_catalog, load_regions
from pipelines.lib.schemas import OBSERVATIONS, RAW_STATISTICS, quarantine_invalid
from pipelines.lib.stage import StageResult
from pipelines.lib.statistics import read_statistics_files, reader_version


@dg.asset(group_name="statistics", kinds={"polars"})
def statistics_files(context: dg.AssetExecutionContext, planwatch: PlanwatchResource) -> StageResult:
    """Every csv/xlsx under statistics/, long or yearbook-wide, as raw long rows. Files whose name and
    bytes are unchanged since an earlier run (same reader code) come from the statistics cache."""
    paths = planwatch.paths
    cache = ParquetCache(cache_dir(paths.warehouse_dir, "statistics"), reader_version())
    read, reads = read_statistics_files(paths.statistics_dir, cache)
    pruned = cache.prune(set(reads.keys))
    result = quarantine_invalid(read, RAW_STATISTICS)
    context.add_output_metadata({
        "rows": result.rows.height,
        "files": result.rows["source_file"].n_unique(),
        "rejected": result.rejected.height,
        "files read": reads.read,
        "files from cache": reads.reused,
        "cache files pruned": pruned,
    })
    return result


@dg.asset(group_name="statistics", kinds={"polars"})
def observations(
    context: dg.AssetExecutionContext,
    planwatch: PlanwatchResource,
    statistics_files: StageResult,
    extracted_facts: StageResult,
    plan_documents: StageResult,
) -> StageResult:
    """Statistics and text actuals normalized to catalog keys, canonical units and region codes."""
    paths = planwatch.paths
    result = build_observations(
        statistics_files.rows, extracted_facts.rows, plan_documents.rows,
        load_catalog(paths.indicator_catalog), load_regions(paths.regions),
        memo_dir=cache_dir(paths.warehouse_dir, "observations"),
    )
    result = quarantine_invalid(result, OBSERVATIONS, catalog=load_catalog(paths.indicator_catalog))
    kinds = result.rows.group_by("source_kind").len().sort("source_kind")
    context.add_output_metadata({
        "observations": result.rows.height,
        "chosen": int(result.rows["is_chosen"].sum()),
        "rejected": result.rejected.height,
        "by_source_kind": dg.MetadataValue.json(dict(kinds.iter_rows())),
    })
    return result
