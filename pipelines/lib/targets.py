"""Turn extracted target figures into assessable targets (METHODOLOGY.md, "Target shapes").

Every target becomes one row: the region and indicator it is about, the base year and the
baseline, and the target as a *level in the indicator's canonical unit* wherever the plan
states a change (提高3个百分点 -> x0 + 3, 下降15% -> x0 * 0.85). How a target is measured:

- ``level``       a level by a year (also a resolved change, a ratio x:1, an annual level);
- ``cumulative``  a total over the period (累计, 新增N个): compared with the running total of
                  the yearly observations since the base year (the total starts at 0);
- ``rate``        an average yearly growth rate (年均增长, or a work report's 增长6.5%): compared
                  with the compound average of the yearly growth observations;
- ``rate_total``  a total change over the period of a rate indicator (能耗五年累计下降15%):
                  compared with the yearly rates compounded.

Decisions (tested in tests/test_targets.py):
- A target figure without a catalog indicator, value, year or convertible unit cannot be
  judged at all: it goes to ``rejected`` with the reason.
- A target whose shape Planwatch does not judge (``structure``: one part of a:b:c;
  ``ratio_multiple``: N倍 of a value whose reference year the figure does not carry), a change
  target without a baseline, and a target about an area outside reference/regions.csv stay
  targets, with ``unresolved`` saying why; their assessment is insufficient_data.
  The area resolves through reference.resolve_region (the figure's own, else the document's);
  an ambiguous name (鼓楼区) is such an area, and is also refused with the candidate codes.
- A bare number (``=``) takes its comparator from the catalog direction: >= when higher is
  better, <= when lower is better, ~ (a band) otherwise.
- Baseline: a baseline figure of the same document, indicator and region (the nearest one
  before the target's line, else after it); else the chosen observation of the plan's base
  year (period_start - 1; the year before for a work report's annual target; the year before
  publication for a plan without a period). Cumulative targets start from 0 unless the plan
  states a baseline: an observation of the base year would be the previous period's total.
"""

from __future__ import annotations

import duckdb
import polars as pl

from pipelines.lib.frames import per_distinct
from pipelines.lib.reference import resolve_region
from pipelines.lib.stage import REJECTED_SCHEMA, StageResult, empty_rejected
from pipelines.lib.units import spelled, to_canonical

TARGET_SCHEMA = {
    "target_id": pl.String,
    "region_code": pl.String,
    "region_name": pl.String,  # the area as the text names it
    "indicator_key": pl.String,
    "doc_id": pl.String,
    "line": pl.Int32,
    "evidence": pl.String,
    "kind": pl.String,  # target / annual_target
    "baseline_year": pl.Int32,  # the base year, also when its value is missing
    "baseline_value": pl.Float64,  # canonical unit
    "baseline_source": pl.String,  # plan / observation / cumulative_start / NULL
    "target_year": pl.Int32,
    "target_value": pl.Float64,  # canonical unit; a level once change targets are resolved
    "stated_value": pl.Float64,  # the number as the plan wrote it
    "comparator": pl.String,  # >= / <= / ~ as judged (a bare = takes the catalog direction)
    "stated_comparator": pl.String,
    "value_type": pl.String,
    "measure": pl.String,  # level / cumulative / rate / rate_total
    "unit": pl.String,  # canonical unit (% for rate measures)
    "binding": pl.Boolean,  # 约束性
    "attribute": pl.String,
    "unresolved": pl.String,  # why the target cannot be judged (NULL = it can)
}

TARGET_KINDS = ("target", "annual_target")
LEVEL_TYPES = ("level", "ratio")  # figures that are a value at a time
CONVERTIBLE_TYPES = ("level", "ratio", "cumulative")  # figures in the indicator's own unit
CHANGE_TYPES = ("change_pct", "change_pp")
NOT_ASSESSABLE = ("structure", "ratio_multiple")
BOUND_COMPARATORS = (">=", "<=", "~")
RATE_KIND = "rate_of_change"  # catalog value_kind of growth/decline indicators
CUMULATIVE_KIND = "cumulative"
BINDING = "约束性"
PERIOD_YEARS = 5  # a five-year plan period


def build_targets(
    facts: pl.DataFrame,
    documents: pl.DataFrame,
    catalog: pl.DataFrame,
    *,
    regions: pl.DataFrame,
    observations: pl.DataFrame | None = None,
) -> StageResult:
    """Targets (TARGET_SCHEMA) from extracted facts (FACT_SCHEMA + doc_id); refused figures in ``rejected``.

    ``observations`` (OBSERVATION_SCHEMA) supply the base-year baseline where the plan states none.
    """
    figures = _in_context(facts, documents, catalog, regions)
    candidates = figures.filter(pl.col("kind").is_in(TARGET_KINDS))
    refusal = _refusal(candidates)
    refused = candidates.filter(refusal.is_not_null()).with_columns(refusal.alias("reason"))
    usable = candidates.filter(refusal.is_null())

    baselines = figures.filter(
        (pl.col("kind") == "baseline") & pl.col("value_type").is_in(LEVEL_TYPES)
        & pl.col("value").is_not_null() & pl.col("unit_factor").is_not_null()
    )
    targets = _resolve(_with_baselines(usable, baselines, observations))
    targets = targets.with_columns(_stable_ids(targets).alias("target_id"))

    # The same target stated again (twice on a line, or a 专栏 box repeating the prose) is one
    # target, kept at its first line; the repeat is refused with a pointer, not dropped.
    targets = targets.sort("doc_file", "line", maintain_order=True).with_columns(
        pl.col("line").first().over("target_id").alias("first_line"),
        (~pl.col("target_id").is_first_distinct()).alias("_repeated"))
    repeats = targets.filter(pl.col("_repeated")).with_columns(
        pl.format("the same target is stated on line {}; kept once there as target {}",
                  pl.col("first_line"), pl.col("target_id")).alias("reason"))
    targets = targets.filter(~pl.col("_repeated"))

    ambiguous = targets.filter(pl.col("region_ambiguity").is_not_null()).with_columns(
        pl.format("{}; the target is kept but cannot be judged", "region_ambiguity").alias("reason"))
    rejected = pl.concat([_rejected_rows(refused), _rejected_rows(repeats), _rejected_rows(ambiguous)])
    return StageResult(targets.select(list(TARGET_SCHEMA)).cast(TARGET_SCHEMA), rejected)


def _in_context(facts: pl.DataFrame, documents: pl.DataFrame, catalog: pl.DataFrame,
                regions: pl.DataFrame) -> pl.DataFrame:
    """Facts with their document's identity, a region code, the catalog entry and canonical values."""
    docs = documents.select(
        "doc_id", "doc_type", "period_start", "period_end",
        pl.col("file").alias("doc_file"), pl.col("region_code").alias("doc_region_code"),
        pl.col("region_name").alias("doc_region_name"), pl.col("year").alias("doc_year"),
    )
    entries = catalog.select(
        "indicator_key", "direction", "value_kind",
        pl.col("unit").alias("canonical_unit"), pl.lit(True).alias("in_catalog"),
    )
    frame = (
        facts.join(docs, on="doc_id", how="left")
        .pipe(resolve_region, "region", regions, otherwise=pl.col("doc_region_code"))
        .with_columns(
            pl.coalesce("region", "doc_region_name").alias("region_name"),
            pl.col("value").alias("stated_value"),
        )
        .join(entries, on="indicator_key", how="left")
        # Only figures in the indicator's own unit convert; %, 个百分点 and 倍 are changes.
        .with_columns(
            pl.when(pl.col("value_type").is_in(CONVERTIBLE_TYPES)).then("unit")
            .otherwise("canonical_unit").alias("written_unit")
        )
    )
    return to_canonical(frame, value="value", unit="written_unit", canonical="canonical_unit")


def _refusal(candidates: pl.DataFrame) -> pl.Expr:
    """Why a target figure cannot become a target at all (NULL: it can)."""
    plan_end = pl.coalesce("year", pl.when(pl.col("kind") == "target").then("period_end"))
    return (
        pl.when(pl.col("indicator_key").is_null())
        .then(pl.format("target figure '{}' has no catalog indicator: add the wording as an alias in "
                        "reference/indicators.csv", pl.col("indicator_text").fill_null("?")))
        .when(pl.col("in_catalog").is_null())
        .then(pl.format("indicator_key '{}' is not in reference/indicators.csv", pl.col("indicator_key")))
        .when(pl.col("stated_value").is_null())
        .then(pl.lit("target figure has no value"))
        .when(plan_end.is_null())
        .then(pl.lit("target figure has no year and its document has no plan period"))
        .when(pl.col("unit_factor").is_null())
        .then(pl.format("unit '{}' cannot be converted to the catalog unit '{}' of {}",
                        pl.col("unit"), pl.col("canonical_unit"), pl.col("indicator_key")))
    )


def _base_year() -> pl.Expr:
    """The plan's base year: the year before the period (十四五 -> 2020), before an annual target's
    year, or before a period-less plan's publication. A target year not after it is an earlier
    period's target quoted in review (a 十三五 table in a 十四五 plan): whole periods back."""
    plan_base = pl.coalesce(pl.col("period_start") - 1, pl.col("doc_year") - 1)
    periods_back = ((plan_base - pl.col("target_year") + 1).clip(lower_bound=0) / PERIOD_YEARS).ceil()
    return (
        pl.when(pl.col("kind") == "annual_target").then(pl.col("target_year") - 1)
        .otherwise(plan_base - PERIOD_YEARS * periods_back)
        .cast(pl.Int32)
    )


def _with_baselines(targets: pl.DataFrame, baselines: pl.DataFrame,
                    observations: pl.DataFrame | None) -> pl.DataFrame:
    """Attach the plan's own baseline (nearest line first), else the base-year observation."""
    targets = targets.with_row_index("_row").with_columns(
        pl.coalesce("year", pl.when(pl.col("kind") == "target").then("period_end")).cast(pl.Int32)
        .alias("target_year"),
        pl.coalesce("region_code", "region_name").alias("_region_key"),
    ).with_columns(_base_year().alias("base_year"))
    stated = (
        targets.select("_row", "line", "doc_id", "indicator_key", "_region_key")
        .join(
            baselines.select(
                "doc_id", "indicator_key", pl.coalesce("region_code", "region_name").alias("_region_key"),
                pl.col("line").alias("_baseline_line"), pl.col("value").alias("_plan_baseline"),
                pl.col("year").alias("_plan_baseline_year"),
            ),
            on=["doc_id", "indicator_key", "_region_key"],
        )
        .join(targets.select("_row", "target_year"), on="_row")
        .filter(pl.col("_plan_baseline_year").is_null() | (pl.col("_plan_baseline_year") < pl.col("target_year")))
        # Nearest baseline before the target's line, then the nearest after it.
        .with_columns(
            pl.when(pl.col("_baseline_line") <= pl.col("line"))
            .then(pl.col("line") - pl.col("_baseline_line"))
            .otherwise(1_000_000 + pl.col("_baseline_line") - pl.col("line")).alias("_distance")
        )
        .sort("_row", "_distance")
        .unique("_row", keep="first")
        .select("_row", "_plan_baseline", "_plan_baseline_year")
    )
    targets = targets.join(stated, on="_row", how="left")

    observed = _base_year_observations(observations, targets["base_year"])
    targets = targets.join(observed, on=["region_code", "indicator_key", "base_year"], how="left")
    return targets


def _base_year_observations(observations: pl.DataFrame | None, base_years: pl.Series) -> pl.DataFrame:
    schema = {"region_code": pl.String, "indicator_key": pl.String, "base_year": pl.Int32,
              "_observed_baseline": pl.Float64}
    if observations is None or observations.height == 0:
        return pl.DataFrame(schema=schema)
    # Only the base years are wanted: choosing among a few years' observations is cheaper than among all.
    return (
        chosen(observations.filter(pl.col("year").is_in(base_years.unique().implode())))
        .select("region_code", "indicator_key", pl.col("year").alias("base_year"),
                pl.col("value").alias("_observed_baseline"))
        .cast(schema)
    )


def chosen(observations: pl.DataFrame, value_types: tuple[str, ...] = LEVEL_TYPES) -> pl.DataFrame:
    """The chosen observations of these value types (NULL counts as a level), one per region x indicator
    x year, the best-ranked source first (of equally ranked ones, the first in ``observations``); in
    source rank order, then in the order of ``observations``. Rows of other region x indicator x years
    do not change which row is chosen for one: ``observations`` may be filtered first."""
    of_type = pl.col("value_type").is_in(value_types)
    if "level" in value_types:
        of_type = of_type | pl.col("value_type").is_null()
    return (
        observations.filter(pl.col("is_chosen") & of_type)
        .sort("source_rank", nulls_last=True, maintain_order=True)
        .unique(["region_code", "indicator_key", "year"], keep="first", maintain_order=True)
    )


def _resolve(targets: pl.DataFrame) -> pl.DataFrame:
    """Measure, baseline, target level, comparator and what (if anything) stops a judgement."""
    rate_indicator = pl.col("value_kind") == RATE_KIND
    measure = (
        pl.when(pl.col("value_type").is_in(NOT_ASSESSABLE)).then(pl.lit(None, pl.String))
        .when(rate_indicator & (pl.col("value_type") == "cumulative")).then(pl.lit("rate_total"))
        .when(rate_indicator).then(pl.lit("rate"))
        .when((pl.col("value_type") == "change_pct") & (pl.col("kind") == "annual_target")).then(pl.lit("rate"))
        .when(pl.col("value_type") == "cumulative").then(pl.lit("cumulative"))
        .otherwise(pl.lit("level"))
    )
    totals = pl.col("measure").is_in(["cumulative", "rate_total"])
    baseline_value = (
        pl.when(pl.col("measure") == "rate").then(pl.lit(None, pl.Float64))
        .when(totals).then(pl.coalesce("_plan_baseline", pl.lit(0.0)))
        .otherwise(pl.coalesce("_plan_baseline", "_observed_baseline"))
    )
    baseline_source = (
        pl.when(pl.col("measure") == "rate").then(pl.lit(None, pl.String))
        .when(pl.col("_plan_baseline").is_not_null()).then(pl.lit("plan"))
        .when(totals).then(pl.lit("cumulative_start"))
        .when(pl.col("_observed_baseline").is_not_null()).then(pl.lit("observation"))
    )
    resolved_change = pl.col("measure") == "level"
    target_value = (
        pl.when(pl.col("measure").is_null()).then(pl.lit(None, pl.Float64))
        .when(resolved_change & (pl.col("value_type") == "change_pp"))
        .then(pl.col("baseline_value") + pl.col("value"))
        .when(resolved_change & (pl.col("value_type") == "change_pct"))
        .then(pl.col("baseline_value") * (1 + pl.col("value") / 100))
        .otherwise(pl.col("value"))
    )
    comparator = (
        pl.when(pl.col("comparator").is_in(BOUND_COMPARATORS)).then("comparator")
        .when(pl.col("direction") == "higher_better").then(pl.lit(">="))
        .when(pl.col("direction") == "lower_better").then(pl.lit("<="))
        .otherwise(pl.lit("~"))
    )
    unresolved = (
        pl.when(pl.col("value_type").is_in(NOT_ASSESSABLE))
        .then(pl.lit("value type not assessable"))
        .when(pl.col("measure").is_in(["rate", "rate_total"]) & pl.col("_not_percent"))
        .then(pl.lit("rate target without a % unit"))
        .when(resolved_change & pl.col("value_type").is_in(CHANGE_TYPES) & pl.col("baseline_value").is_null())
        .then(pl.lit("no baseline"))
        .when(pl.col("region_code").is_null())
        .then(pl.lit("region not in reference"))
    )
    # Whether the figure's unit is other than % (spelled once per distinct unit).
    not_percent = spelled(pl.col("unit")).fill_null("%") != "%"
    return (
        targets.pipe(per_distinct, ["unit"], lambda units: units.with_columns(not_percent.alias("_not_percent")))
        .with_columns(measure.alias("measure"))
        .with_columns(
            baseline_value.alias("baseline_value"),
            baseline_source.alias("baseline_source"),
            pl.when(pl.col("_plan_baseline").is_not_null() & pl.col("_plan_baseline_year").is_not_null())
            .then("_plan_baseline_year").otherwise("base_year").cast(pl.Int32).alias("baseline_year"),
        )
        .with_columns(
            target_value.alias("target_value"),
            unresolved.alias("unresolved"),
            pl.col("comparator").alias("stated_comparator"),
            (pl.col("attribute") == BINDING).fill_null(False).alias("binding"),
        )
        # The terms as judged replace the figure's own comparator and unit.
        .with_columns(
            comparator.alias("comparator"),
            pl.when(pl.col("measure").is_in(["rate", "rate_total"])).then(pl.lit("%"))
            .otherwise("canonical_unit").alias("unit"),
        )
    )


def _stable_ids(targets: pl.DataFrame) -> pl.Series:
    """Same target, same id, run after run: a hash of which plan file says it and what it says
    (region, indicator, kind, year, value). Not the file's bytes nor the line: re-saving a plan or
    inserting a paragraph must not make its targets look new (and re-send their alerts).

    Hashed in DuckDB (sha256), whose result does not depend on library versions; the stated value
    enters as a scaled integer so that float formatting cannot change the key.
    """
    parts = [
        pl.col("doc_file"), pl.col("indicator_key"),
        pl.col("target_year").cast(pl.String), (pl.col("stated_value") * 1_000_000).round().cast(pl.Int64).cast(pl.String),
        pl.col("kind"), pl.col("region_name"), pl.col("value_type"),
    ]
    keys = targets.select(pl.concat_str([p.fill_null("") for p in parts], separator="|").alias("key"))
    with duckdb.connect() as con:
        con.register("target_keys", keys.to_arrow())
        hashed = con.sql("SELECT left(sha256(key), 16) AS target_id FROM target_keys").pl()
    return hashed["target_id"]


def _rejected_rows(frame: pl.DataFrame) -> pl.DataFrame:
    if frame.height == 0:
        return empty_rejected()
    return frame.select(
        pl.coalesce("doc", "doc_file").alias("source_file"),
        pl.format("line {}", pl.col("line")).alias("location"),
        pl.lit("targets").alias("stage"),
        "reason",
        pl.coalesce("evidence", "indicator_text").alias("raw"),
    ).cast(REJECTED_SCHEMA)
