"""Plan documents and the figures extracted from them."""


import dagster as dg
import polars as pl

from pipelines.defs.resources import PlanwatchResource
from pipelines.lib.documents import load_documents
from pipelines.lib.extraction import FACT_SCHEMA, extract_facts
from pipelines.lib.reference import load_catalog, load_regions
from pipelines.lib.stage import StageResult


@dg.asset(group_name="plans", kinds={"polars"})
def plan_documents(context: dg.AssetExecutionContext, planwatch: PlanwatchResource) -> StageResult:
    """Every document under plans/, decoded, with its region, type and period."""
    paths = planwatch.paths
    result = load_documents(paths.plans_dir, paths.manifest, load_regions(paths.regions))
    context.add_output_metadata({"documents": result.rows.height, "rejected": result.rejected.height})
    return result


@dg.asset(group_name="plans", kinds={"polars"})
def extracted_facts(
    context: dg.AssetExecutionContext, planwatch: PlanwatchResource, plan_documents: StageResult
) -> StageResult:
    """Every figure found in the plan texts, with its evidence span."""
    catalog = load_catalog(planwatch.paths.indicator_catalog)
    per_doc = [
        extract_facts(
            doc["text"], doc=doc["file"], region=doc["region_name"], doc_type=doc["doc_type"],
            period_start=doc["period_start"], period_end=doc["period_end"], year=doc["year"], catalog=catalog,
        ).with_columns(pl.lit(doc["doc_id"]).alias("doc_id"))
        for doc in plan_documents.rows.iter_rows(named=True)
    ]
    facts = pl.concat(per_doc) if per_doc else pl.DataFrame(schema={**FACT_SCHEMA, "doc_id": pl.String})
    context.add_output_metadata({"figures": facts.height})
    return StageResult(facts)
