"""Normalize raw statistics and the actuals found in texts into observations: catalog keys,
canonical units, GB/T 2260 region codes, and one chosen value per region x indicator x year x
value type by source precedence.

Statistics rows (``statistics.read_statistics``)
- Region: the name, an alias or the code in reference/regions.csv (张家港, 张家港市, 苏州张家港 and
  320582 are one region), resolved by reference.resolve_region (NFKC, without spaces, quotes or case);
  a name two regions share (鼓楼区) is rejected naming both.
- Indicator: the file's ``indicator_key`` when it is a catalog key; else the indicator text as a
  catalog name or alias (one only one indicator has; reference.resolve); else that text without a trailing bracket (地区生产总值(亿元), 地区生产总值
  (预计数)); else a yearly growth row (地区生产总值增长, …按可比价增长, …比上年增长, …同比增长, …增速)
  goes to the indicator's ``<key>_growth`` when the catalog has one.
- Unit: a unit written in the value cell (3030.21亿元), else the unit column (or the value header's
  bracket), else a bracketed unit in the indicator text; no unit means the catalog unit. Values are
  converted to the catalog unit (units.py); a unit that does not convert is rejected.
- Value type: ``change_pp`` for 个百分点 (a change, kept as such); ``change_pct`` for rate-of-change
  indicators (the ``*_growth`` keys); ``cumulative`` for cumulative indicators; ``ratio`` for a ratio
  indicator without unit (城乡居民收入比); otherwise ``level``.
- Missing: an empty cell or a placeholder (—, -, …, 暂无, n/a) is no figure at all: never zero, never
  an observation, not a rejection.

Text actuals (``facts`` in FACT_SCHEMA + doc_id; kinds actual, estimate, baseline; targets are not
observations). A fact's region is the region the text names, or the document's region when null; a
name that is not a region (中心城区, 台州市(市区)) is rejected. value_type decides what the figure is:
``level`` and ``structure`` (one part of a:b:c, a share in %) are levels in the catalog unit;
``cumulative`` is converted like a level and stays cumulative; ``change_pct`` (on a ``*_growth`` key the
yearly or average growth; on another key a % change from an earlier value), ``change_pp``, ``ratio`` and
``ratio_multiple`` are kept with their own unit and value type, never as levels. Consumers that want a
level series filter ``value_type = 'level'``. A baseline is the plan's statement of its base year's
value, so it is a plan retrospective like an actual.

Source kind and rank (1 = most authoritative), decided from the source title (the file name when the
file has no source column), first rule that matches:
  6 unofficial_compilation  非官方 / unofficial (third-party compilations)
  5 work_report_estimate    预计 in the title, the indicator text or the quote (or a fact of kind estimate)
  1 statistics_file         统计年鉴 / yearbook
  2 bulletin                公报 / bulletin (统计公报, 生态环境状况公报, a reprint that quotes one)
  1 statistics_file         统计局 / 统计数据 / statistics bureau
  3 plan_retrospective      政府工作报告 / 计划执行情况 / 规划 / 纲要 / 综述 / work report
  1 statistics_file         no source named (an analyst's statistics file)
  4 press_report            anything else (newspapers, press conferences, reprints)
Text facts: estimate -> 5, a bulletin document -> 2, any other document (plans, work reports) -> 3.

Duplicates (same source, region, indicator, year, value type; usually rows of one file): the same figure
collapses to one row (the best ranked, then the most precise, as 82.6 is 82.6074 rounded); different
values are a conflict and every row of it is rejected, naming all of them.

Precedence: per region, indicator, year and value type, the lowest rank is chosen; within a rank the
latest publication (the largest year named in the source title or file name, so a later yearbook's
revision wins), then reading order. Every candidate is kept with its source; ``is_chosen`` marks one.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from pipelines.lib.frames import per_distinct
from pipelines.lib.memo import SameInputMemo
from pipelines.lib.parquet_cache import code_digest
from pipelines.lib.reference import indicator_lookup, resolve, resolve_region
from pipelines.lib.stage import REJECTED_SCHEMA, StageResult
from pipelines.lib.units import base_unit, known_bases, spelled, with_converted

OBSERVATION_SCHEMA = {
    "region_code": pl.String,
    "indicator_key": pl.String,
    "year": pl.Int32,
    "value": pl.Float64,
    "unit": pl.String,
    "value_type": pl.String,
    "source": pl.String,
    "source_kind": pl.String,  # see SOURCE_RANKS
    "source_rank": pl.Int32,
    "source_file": pl.String,
    "location": pl.String,
    "is_chosen": pl.Boolean,
    "source_url": pl.String,
    "evidence": pl.String,  # the quote or the text's evidence span, when there is one
}
SOURCE_RANKS = {
    "statistics_file": 1,
    "bulletin": 2,
    "plan_retrospective": 3,
    "press_report": 4,
    "work_report_estimate": 5,
    "unofficial_compilation": 6,
}
OBSERVED_FACT_KINDS = ("actual", "estimate", "baseline")
PLACEHOLDERS = ("—", "——", "-", "--", "–", "―", "…", "……", "...", "..", "暂无", "暂无数据", "无数据", "n/a", "na",
                "null", "none", "/", "*")
FIXED_UNITS = {"change_pct": "%", "change_pp": "个百分点", "ratio_multiple": "倍", "ratio": None}
_NUMBER = r"^(?:约|~|≈)?([-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)(?:左右)?(.*)$"
_YEAR = r"^((?:19|20)\d{2})(?:\.0+)?(?:年|年度|年末)?$"
_BRACKET = r"^(.*?)\(([^()]*)\)$"
_GROWTH = r"(按可比价格?|按不变价格?|比上年|同比)?(增长率?|增速)$"
_SOURCE_RULES = (  # (pattern over the source title, kind), first match wins; 预计 sits second (see docstring)
    ("非官方|unofficial", "unofficial_compilation"),
    (None, "work_report_estimate"),
    ("年鉴|(?i:yearbook)", "statistics_file"),
    ("公报|(?i:bulletin|communiqu)", "bulletin"),
    ("统计局|统计数据|(?i:statistics bureau)", "statistics_file"),
    ("政府工作报告|工作报告|计划执行情况|规划|纲要|综述|(?i:work report)", "plan_retrospective"),
)
_CANDIDATE = {
    **{c: OBSERVATION_SCHEMA[c] for c in OBSERVATION_SCHEMA if c != "is_chosen"},
    "published": pl.Int32,
    "order": pl.Int64,
}


def build_observations(
    raw_statistics: pl.DataFrame,
    facts: pl.DataFrame,
    documents: pl.DataFrame,
    catalog: pl.DataFrame,
    regions: pl.DataFrame,
    *,
    memo_dir: Path | None = None,
) -> StageResult:
    """Observations (OBSERVATION_SCHEMA) from statistics rows and text actuals, and the rows refused.

    With ``memo_dir``, the statistics rows' candidates (the bulk of the work: a million rows) are taken
    from the last run while the statistics rows, catalog and regions are the same (lib/memo.py)."""
    memo = SameInputMemo(memo_dir, code_digest(__name__, "statistics candidates").hexdigest()[:16])
    stats, stats_rejected = memo.run(_from_statistics, raw_statistics, catalog, regions)
    texts, texts_rejected = _from_facts(facts, documents, catalog, regions)
    candidates = pl.concat([stats, texts.with_columns(pl.col("order") + raw_statistics.height)])
    kept, conflicts = _collapse_duplicates(candidates, regions)
    rows = (
        kept.sort(["region_code", "indicator_key", "year", "value_type", "source_rank", "published", "order"],
                  descending=[False, False, False, False, False, True, False], nulls_last=True)
        # Sorted by key first: the first row of each key's run is its best candidate (no window needed).
        .with_columns(_run_starts(["region_code", "indicator_key", "year", "value_type"]).alias("is_chosen"))
        .select(list(OBSERVATION_SCHEMA))
        .cast(OBSERVATION_SCHEMA)
    )
    return StageResult(rows, pl.concat([stats_rejected, texts_rejected, conflicts]))


def _run_starts(keys: list[str]) -> pl.Expr:
    """Whether a row starts a new run of equal ``keys`` (in a frame sorted by them)."""
    return pl.any_horizontal([pl.col(k).ne_missing(pl.col(k).shift(1)) for k in keys]) | (pl.int_range(pl.len()) == 0)


# --- shared matching ----------------------------------------------------------------------------

def _source_kind(title: pl.Expr, estimate: pl.Expr) -> pl.Expr:
    kind = pl.lit("press_report")
    fallback = pl.when(title.is_null()).then(pl.lit("statistics_file")).otherwise(kind)
    for pattern, rule_kind in reversed(_SOURCE_RULES):
        matched = estimate if pattern is None else title.str.contains(pattern).fill_null(False)
        fallback = pl.when(matched).then(pl.lit(rule_kind)).otherwise(fallback)
    return fallback


def _published(*texts: pl.Expr) -> pl.Expr:
    """The largest year a source title or file name mentions: how recent the publication is."""
    years = pl.concat_list([t.str.extract_all(r"(?:19|20)\d{2}") for t in texts]).list.eval(
        pl.element().cast(pl.Int32))
    return years.list.max()


def _checked(frame: pl.DataFrame, *checks: tuple[pl.Expr, pl.Expr]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The rows that pass every check, and the rows that fail one with ``reason``: the '; '-joined messages
    of the checks they fail (each message is non-null where its check fails). The messages are built for
    the failing rows only: a few hundred of a million, where building them all cost more than the checks."""
    frame = frame.with_columns(pl.any_horizontal([failed.fill_null(False) for failed, _ in checks]).alias("_failed"))
    reason = pl.concat_str([pl.when(failed).then(message) for failed, message in checks], separator="; ",
                           ignore_nulls=True)
    return frame.filter(~pl.col("_failed")), frame.filter(pl.col("_failed")).with_columns(reason.alias("reason"))


def _catalog(catalog: pl.DataFrame) -> pl.DataFrame:
    return catalog.select("indicator_key", pl.col("name_zh").alias("indicator_name"),
                          pl.col("unit").alias("canonical_unit"), "value_kind")


def _rejected(frame: pl.DataFrame, stage: str) -> pl.DataFrame:
    return frame.select(
        "source_file", "location", pl.lit(stage).alias("stage"), pl.col("reason"), pl.col("raw")
    ).cast(REJECTED_SCHEMA)


def _unit_message(unit: pl.Expr) -> pl.Expr:
    return (pl.lit("unit '") + unit + "' cannot be converted to " + pl.col("canonical_unit").fill_null("no unit")
            + ", the unit of " + pl.col("indicator_key") + " (" + pl.col("indicator_name") + ")")


# --- statistics rows ----------------------------------------------------------------------------

def _from_statistics(raw: pl.DataFrame, catalog: pl.DataFrame,
                     regions: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    # Indicator, unit and year columns repeat a few dozen values over a million rows: everything derived
    # from them alone is worked out once per distinct value (per_distinct) and joined back.
    value = pl.col("_value").str.extract_groups(_NUMBER)
    frame = (
        raw.with_row_index("order").with_columns(
            pl.col("order").cast(pl.Int64),
            pl.col("value_raw").str.normalize("NFKC").str.replace_all(r"[\s,]", "").alias("_value"),
        )
        .with_columns(pl.col("_value").str.to_lowercase().is_in(PLACEHOLDERS).or_(pl.col("_value").is_null())
                      .alias("_missing"))
        .filter(~pl.col("_missing"))
        .pipe(resolve_region, "region_text", regions)
        .pipe(per_distinct, ["indicator_key", "indicator_text"], lambda texts: _indicators(texts, catalog))
        .rename({"indicator_key": "_raw_key", "_indicator": "indicator_key"})
        .with_columns(value.struct[0].cast(pl.Float64, strict=False).alias("_number"),
                      # The unit written in the value cell, else the unit column, else the text's bracket.
                      pl.coalesce(pl.when(value.struct[1] != "").then(value.struct[1]), "unit", "_bracket_unit")
                      .alias("_unit"))
        .pipe(per_distinct, ["_unit", "value_kind", "canonical_unit"], _value_type)
        .pipe(per_distinct, ["year"], lambda years: years.with_columns(
            pl.col("year").str.normalize("NFKC").str.replace_all(r"\s", "").str.extract(_YEAR, 1)
            .cast(pl.Int32).alias("_year")))
        .pipe(with_converted, value="_number", unit="_unit", canonical="canonical_unit", alias="_scaled")
    )
    # A change in percentage points is kept as it is, and only for an indicator in %.
    frame = frame.with_columns(
        pl.when(pl.col("value_type") == "change_pp").then(pl.when(pl.col("_percent_indicator")).then("_number"))
        .otherwise("_scaled").alias("_converted"))
    shown_indicator = pl.coalesce("indicator_text", pl.col("indicator_key").cast(pl.String))
    garbled = pl.any_horizontal([pl.col(c).str.contains("\ufffd", literal=True).fill_null(False)
                                 for c in ("region_text", "indicator_text", "value_raw", "unit", "year")])
    good, refused = _checked(
        frame,
        (garbled, pl.lit("garbled characters (U+FFFD): the file was saved in another encoding than it was read "
                         "with; re-save it as UTF-8")),
        (pl.col("region_code").is_null(), pl.coalesce(
            "region_ambiguity",
            pl.lit("region '") + pl.col("region_text").fill_null("") + "'"
            + pl.when(pl.col("region_from").is_in(["sheet name", "file name"]))
            .then(pl.lit(" (the ") + pl.col("region_from") + ", as the table has no 地区/region column)")
            .otherwise(pl.lit("")) + " is not in reference/regions.csv "
            "(name, alias or code); add it there, as an alias if it is another name of a known region")),
        (pl.col("indicator_key").is_null(), pl.coalesce(
            "_text_ambiguity", "_base_ambiguity",
            pl.lit("indicator '") + pl.coalesce("indicator_text", pl.lit("")) + "'"
            + pl.when(pl.col("_raw_key").is_not_null()).then(pl.lit(" (key '") + pl.col("_raw_key") + "')")
            .otherwise(pl.lit("")) + " is not in reference/indicators.csv (key, name or alias); add it as an alias")),
        (pl.col("_year").is_null(), pl.lit("year '") + pl.col("year").fill_null("") + "' is not a year (write 2021 or 2021年)"),
        (pl.col("_number").is_null(), pl.lit("value '") + pl.col("value_raw") + "' is not a number"),
        (pl.col("_number").is_not_null() & pl.col("indicator_key").is_not_null() & pl.col("_converted").is_null(),
         _unit_message(pl.col("_unit").fill_null(""))),
    )
    raw_row = pl.concat_str([pl.col("region_text"), shown_indicator, pl.col("year"), pl.col("value_raw"),
                             pl.col("unit")], separator=" | ", ignore_nulls=True)
    estimate = pl.any_horizontal([pl.col(c).str.contains("预计").fill_null(False)
                                  for c in ("source", "indicator_text", "quote")])
    # A file names a few sources over thousands of rows: each source's kind and year are read once.
    good = good.with_columns(estimate.alias("_estimate")).pipe(
        per_distinct, ["source", "source_file", "_estimate"], lambda sources: sources.with_columns(
            _source_kind(pl.col("source"), pl.col("_estimate")).alias("source_kind"),
            _published(pl.col("source"), pl.col("source_file")).alias("published")))
    rows = good.select(
        "region_code", "indicator_key", pl.col("_year").alias("year"), pl.col("_converted").alias("value"),
        pl.when(pl.col("value_type") == "change_pp").then(pl.lit("个百分点"))
        .otherwise(pl.col("canonical_unit")).alias("unit"),
        "value_type",
        pl.coalesce("source", "source_file").alias("source"),
        "source_kind",
        pl.col("source_kind").replace_strict(SOURCE_RANKS, return_dtype=pl.Int32).alias("source_rank"),
        "source_file", "location", "source_url", pl.col("quote").alias("evidence"), "published", "order",
    ).cast(_CANDIDATE)
    return rows, _rejected(refused.with_columns(raw_row.alias("raw")), "normalize")


def _indicators(texts: pl.DataFrame, catalog: pl.DataFrame) -> pl.DataFrame:
    """Per distinct (indicator_key, indicator_text) of the statistics rows: the catalog indicator
    (``_indicator``, see the module docstring) and its catalog entry, why there is none
    (``_text_ambiguity``, ``_base_ambiguity``), and the text's bracket when it is a unit (``_bracket_unit``)."""
    keys = _catalog(catalog)
    names = indicator_lookup(catalog)
    growth_of = keys.filter(pl.col("indicator_key").str.ends_with("_growth")).select(
        pl.col("indicator_key").str.strip_suffix("_growth").alias("stem_key"), pl.col("indicator_key").alias("growth_key"))
    text = pl.col("indicator_text").str.normalize("NFKC").str.strip_chars()
    bracket = text.str.extract(_BRACKET, 2).str.strip_chars()
    units = known_bases(catalog["unit"])
    return (
        texts.with_columns(
            text.str.extract(_BRACKET, 1).str.strip_chars().alias("_base"),
            pl.when(base_unit(bracket).is_in(units.implode())).then(bracket).alias("_bracket_unit"),
        )
        .pipe(resolve, pl.col("indicator_key"), names, alias="_by_key")
        .pipe(resolve, text, names, alias="_by_text", ambiguity="_text_ambiguity")
        .pipe(resolve, pl.col("_base"), names, alias="_by_base", ambiguity="_base_ambiguity")
        .pipe(resolve, text.str.replace(_GROWTH, ""), names, alias="_stem_text")
        .pipe(resolve, pl.col("_base").str.replace(_GROWTH, ""), names, alias="_stem_base")
        .with_columns(
            # A growth key only for a text that really ends in 增长/增速 (the stem differs from the text).
            pl.when(text.str.contains(_GROWTH)).then("_stem_text").alias("_stem_text"),
            pl.when(pl.col("_base").str.contains(_GROWTH)).then("_stem_base").alias("_stem_base"),
        )
        .join(growth_of.rename({"growth_key": "_growth_text"}), left_on="_stem_text", right_on="stem_key",
              how="left", maintain_order="left")
        .join(growth_of.rename({"growth_key": "_growth_base"}), left_on="_stem_base", right_on="stem_key",
              how="left", maintain_order="left")
        .with_columns(pl.coalesce("_by_key", "_by_text", "_by_base", "_growth_text", "_growth_base")
                      .alias("_indicator"))
        .join(keys.rename({"indicator_key": "_indicator"}), on="_indicator", how="left", maintain_order="left")
        .select("indicator_key", "indicator_text", "_indicator", "_text_ambiguity", "_base_ambiguity",
                "_bracket_unit", "indicator_name", "canonical_unit", "value_kind")
    )


def _value_type(units: pl.DataFrame) -> pl.DataFrame:
    """Per distinct (_unit, value_kind, canonical_unit): the value type of a statistics figure (see the module
    docstring), and whether the indicator is measured in % (``_percent_indicator``)."""
    return units.with_columns(
        pl.when(spelled(pl.col("_unit")) == "个百分点").then(pl.lit("change_pp"))
        .when(pl.col("value_kind") == "rate_of_change").then(pl.lit("change_pct"))
        .when(pl.col("value_kind") == "cumulative").then(pl.lit("cumulative"))
        .when((pl.col("value_kind") == "ratio") & pl.col("canonical_unit").is_null()).then(pl.lit("ratio"))
        .otherwise(pl.lit("level")).alias("value_type"),
        (spelled(pl.col("canonical_unit")) == "%").alias("_percent_indicator"),
    )


# --- text actuals -------------------------------------------------------------------------------

def _from_facts(facts: pl.DataFrame, documents: pl.DataFrame, catalog: pl.DataFrame,
                regions: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    docs = documents.select(
        "doc_id", pl.col("file").alias("_file"), pl.col("title").alias("_title"), "doc_type",
        pl.col("region_code").alias("_doc_region"), pl.col("region_name").alias("_doc_region_name"))
    frame = (
        facts.filter(pl.col("kind").is_in(OBSERVED_FACT_KINDS))
        .with_row_index("order").with_columns(pl.col("order").cast(pl.Int64))
        .join(docs, on="doc_id", how="left", maintain_order="left")
        .pipe(resolve_region, "region", regions, otherwise=pl.col("_doc_region"))
        .join(_catalog(catalog), on="indicator_key", how="left", maintain_order="left")
        .with_columns(pl.col("value_type").replace({"structure": "level"}).alias("value_type"))
    )
    measured = pl.col("value_type").is_in(["level", "cumulative"])
    fixed_unit = pl.col("value_type").replace_strict(FIXED_UNITS, default=None, return_dtype=pl.String)
    # Only levels convert: another figure is taken as in the canonical unit already (unchanged).
    frame = frame.with_columns(
        pl.when(measured).then("unit").otherwise("canonical_unit").alias("_written_unit")
    ).pipe(with_converted, value="value", unit="_written_unit", canonical="canonical_unit", alias="_converted")
    frame = frame.with_columns(
        pl.when(measured).then(pl.col("canonical_unit")).otherwise(fixed_unit).alias("_unit"),
        pl.coalesce("doc", "_file").alias("source_file"),
        ("line " + pl.col("line").cast(pl.String)).alias("location"),
        pl.col("evidence").alias("raw"),
    )
    good, refused = _checked(
        frame,
        (pl.col("region").is_not_null() & pl.col("region_code").is_null(), pl.coalesce(
            pl.col("region_ambiguity") + " (named in the text): the figure cannot be tied to a region code",
            pl.lit("region '") + pl.col("region") + "' named in the text is not in reference/regions.csv (a "
            "sub-area of the document's region, or a missing alias): the figure cannot be tied to a region code")),
        (pl.col("region").is_null() & pl.col("region_code").is_null(),
         pl.lit("the document's region ('") + pl.col("_doc_region_name").fill_null("unknown")
         + "') has no region code (unknown or ambiguous in reference/regions.csv): give it in plans/manifest.csv"),
        (pl.col("indicator_name").is_null(),
         pl.lit("indicator '") + pl.col("indicator_text").fill_null("") + "' has no catalog key"
         + pl.when(pl.col("indicator_key").is_not_null()).then(pl.lit(" ('") + pl.col("indicator_key") + "' is not "
         "in reference/indicators.csv)").otherwise(pl.lit(""))),
        (pl.col("year").is_null(), pl.lit("the figure has no year")),
        (pl.col("value").is_null(), pl.lit("the figure has no value")),
        (pl.col("value").is_not_null() & pl.col("indicator_name").is_not_null() & measured
         & pl.col("_converted").is_null(), _unit_message(pl.col("unit").fill_null(""))),
    )
    kind = (pl.when(pl.col("kind") == "estimate").then(pl.lit("work_report_estimate"))
            .when(pl.col("doc_type") == "bulletin").then(pl.lit("bulletin"))
            .otherwise(pl.lit("plan_retrospective")))
    rows = good.select(
        "region_code", "indicator_key", "year", pl.col("_converted").alias("value"), pl.col("_unit").alias("unit"),
        "value_type", pl.coalesce("_title", "source_file").alias("source"), kind.alias("source_kind"),
        kind.replace_strict(SOURCE_RANKS, return_dtype=pl.Int32).alias("source_rank"),
        "source_file", "location", pl.lit(None, pl.String).alias("source_url"), "evidence",
        _published(pl.col("_title"), pl.col("source_file")).alias("published"), "order",
    ).cast(_CANDIDATE)
    return rows, _rejected(refused, "normalize")


# --- duplicates within one file -----------------------------------------------------------------

def _decimals(value: pl.Expr) -> pl.Expr:
    return value.cast(pl.String).str.extract(r"\.(\d+)$", 1).str.len_chars().fill_null(0).cast(pl.Int32)


def _collapse_duplicates(candidates: pl.DataFrame, regions: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """One figure per source, region, indicator, year and value type. Rows that give the same figure
    collapse to one (the best ranked, then the most precise: 82.6 is 82.6074 rounded); rows that disagree
    beyond rounding are a conflict no rule can settle, so all of them are rejected, each naming the others."""
    same = ["source", "region_code", "indicator_key", "year", "value_type"]
    spread = pl.col("value").max() - pl.col("value").min()
    tolerance = 0.5 * pl.lit(10.0).pow(-pl.col("_decimals").min()) + 1e-9
    several_files = pl.col("source_file").n_unique().over(same) > 1
    where = pl.when(several_files).then(pl.col("source_file") + " " + pl.col("location")).otherwise("location")
    # Few figures have a duplicate (2% at national size): the work below is done on those only.
    candidates = candidates.with_columns((pl.len().over(same) > 1).alias("_copies"))
    single = candidates.filter(~pl.col("_copies")).drop("_copies")
    grouped = (
        candidates.filter(pl.col("_copies")).drop("_copies").sort("order")
        .with_columns(_decimals(pl.col("value")).alias("_decimals"))
        .with_columns((spread > tolerance).over(same).alias("_conflict"))
    )
    # Listing a group's figures is costly (a list per row), so it is done for the conflicts only.
    conflicts = grouped.filter(pl.col("_conflict")).with_columns(several_files.alias("_several")).with_columns(
        (where + ": " + pl.col("value").cast(pl.String)).over(same, mapping_strategy="join").alias("_all"))
    names = regions.select("region_code", pl.col("name_zh").alias("_region_name"))
    conflicts = conflicts.join(names, on="region_code", how="left", maintain_order="left")
    conflicts = conflicts.with_columns(
        (pl.when(pl.col("_several")).then(pl.lit("conflicting figures from one source in several files: "))
         .otherwise(pl.lit("conflicting duplicate in this file: "))
         + pl.col("_region_name").fill_null(pl.col("region_code"))
         + " " + pl.col("indicator_key") + " " + pl.col("year").cast(pl.String) + " (" + pl.col("value_type")
         + ", " + pl.col("unit").fill_null("no unit") + ") is given as " + pl.col("_all").list.join("; ")
         + "; correct the file so that one value remains (all are held back until then)").alias("reason"),
        (pl.col("source") + " | " + pl.col("value").cast(pl.String)).alias("raw"),
    )
    collapsed = (
        grouped.filter(~pl.col("_conflict"))
        .sort(["source_rank", "_decimals", "order"], descending=[False, True, False])
        .unique(same, keep="first", maintain_order=True)
        .drop("_decimals", "_conflict")
    )
    return pl.concat([single, collapsed]), _rejected(conflicts, "normalize")  # the caller sorts
