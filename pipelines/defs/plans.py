"""Plan documents and the figures extracted from them."""


from functools import partial

import dagster as dg

from pipelines.defs.resources import PlanwatchResource
from pipelines.lib.documents import DocumentIndex, load_documents, reread_text
from pipelines.lib.facts_cache import FactsCache, cache_dir, extract_documents, extractor_version
from pipelines.lib.fanout import ChunkFacts, document_chunks, fan_out, gather_chunks
from pipelines.lib.parquet_cache import cache_dir as named_cache_dir
from pipelines.lib.reference import load_catalog, load_regions
from pipelines.lib.schemas import DOCUMENTS, FACTS, quarantine_invalid
from pipelines.lib.stage import StageResult


@dg.asset(group_name="plans", kinds={"polars"})
def plan_documents(context: dg.AssetExecutionContext, planwatch: PlanwatchResource) -> StageResult:
    """Every document under plans/, decoded, with its region, type and period. Files unchanged since the
    last run (size, modification time, inode) are not read again: their text is null (lib/documents.py)."""
    paths = planwatch.paths
    regions = load_regions(paths.regions)
    index = DocumentIndex.at(named_cache_dir(paths.warehouse_dir, "documents"), regions)
    result = quarantine_invalid(load_documents(paths.plans_dir, paths.manifest, regions, index), DOCUMENTS)
    context.add_output_metadata({"documents": result.rows.height, "rejected": result.rejected.height,
                                 "documents read": result.rows["text"].is_not_null().sum()})
    return result


@dg.op(out=dg.DynamicOut(tuple))
def split_plan_documents(context: dg.OpExecutionContext, planwatch: PlanwatchResource, plan_documents: StageResult):
    """Cut the documents into chunks of about equal text, one parallel step each (lib/fanout.py).
    The extractor version is taken once here, so every chunk and the gathering agree on it."""
    paths = planwatch.paths
    version = extractor_version(load_catalog(paths.indicator_catalog), load_regions(paths.regions))
    chunks = document_chunks(plan_documents.rows, fan_out().chunks)
    for number, (start, chunk) in enumerate(chunks):
        yield dg.DynamicOutput((start, chunk, version), mapping_key=f"chunk_{number:04d}")


@dg.op
def extract_document_chunk(planwatch: PlanwatchResource, chunk: tuple) -> ChunkFacts:
    """Facts of one chunk of documents; documents unchanged since an earlier run come from the cache."""
    start, documents, version = chunk
    paths = planwatch.paths
    catalog = load_catalog(paths.indicator_catalog)
    regions = load_regions(paths.regions)
    cache = FactsCache(cache_dir(paths.warehouse_dir), version)
    facts, summary = extract_documents(documents, catalog, cache, regions, reread=partial(reread_text, paths.plans_dir),
                                       with_keys=True)
    return ChunkFacts(start, facts, summary.keys, summary.extracted, summary.reused, version, summary.rejected)


@dg.op
def gather_extracted_facts(
    context: dg.OpExecutionContext, planwatch: PlanwatchResource, chunks: list[ChunkFacts]
) -> StageResult:
    """All chunks' facts in document order. The cache's snapshot is rewritten to hold exactly these
    documents (one file for the next run to read), dropping those gone or changed."""
    gathered = gather_chunks(chunks)
    catalog = load_catalog(planwatch.paths.indicator_catalog)
    cache = FactsCache(cache_dir(planwatch.paths.warehouse_dir), gathered.version)
    pruned = cache.consolidate(gathered.facts, gathered.keys)
    context.add_output_metadata({"figures": gathered.facts.height, "documents extracted": gathered.extracted,
                                 "documents from cache": gathered.reused, "chunks": len(chunks),
                                 "cache files pruned": pruned})
    return quarantine_invalid(StageResult(gathered.facts.drop("_key"), gathered.rejected), FACTS, catalog=catalog)


@dg.graph_asset(group_name="plans", kinds={"polars"})
def extracted_facts(plan_documents: StageResult) -> StageResult:
    """Every figure found in the plan texts, with its evidence span. Extraction fans out over
    chunks of documents (parallel under PLANWATCH_EXECUTOR=multiprocess) and re-uses the facts
    of documents whose bytes, identity and extractor are unchanged (lib/facts_cache.py)."""
    return gather_extracted_facts(split_plan_documents(plan_documents).map(extract_document_chunk).collect())
