"""pandera (polars) models of every stage's output frame, and the quarantine that applies them.

Each model matches a frame contract defined in its stage module (DOCUMENT_SCHEMA, FACT_SCHEMA +
doc_id, RAW_STAT_SCHEMA, OBSERVATION_SCHEMA, TARGET_SCHEMA, ASSESSMENT_SCHEMA, REJECTED_SCHEMA, and the
reference tables' CATALOG_SCHEMA and REGION_SCHEMA) and
adds what the dtypes cannot say: allowed values, the year window, key uniqueness. A stage may add
columns before this file knows them (``strict=False``); a declared column that is missing or has
another dtype is a bug and raises (tests/test_schemas.py keeps the models and contracts in step).

Ranges that depend on the unit live in ``FigureModel``: every figure of a row (a value with its
unit and value type) is checked together with its indicator's catalog unit and kind — a share in %
lies within 0–100, a concentration in 微克/立方米 (PM2.5) within 0–1000, a % change cannot fall
below −100, an amount or count is not negative.

``quarantine_invalid`` validates a stage's rows lazily (every failure, not the first), moves each
failing row to the stage's rejected rows with stage ``validate:<check>`` and a reason that names
every failed check and the offending value, and keeps the rest.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandera.polars as pa
import polars as pl

from pipelines.lib.documents import DOC_TYPES
from pipelines.lib.observations import SOURCE_RANKS
from pipelines.lib.reference import PERIODS
from pipelines.lib.stage import StageResult
from pipelines.lib.targets import TARGET_KINDS

# --- allowed values (the GX suites get the same lists as suite parameters: gx_validation.py) --------
FIRST_YEAR, LAST_YEAR = 1949, 2100  # years outside this window are typos (2202) or not statistics
YEAR = {"ge": FIRST_YEAR, "le": LAST_YEAR}
FACT_KINDS = ("target", "annual_target", "actual", "estimate", "baseline")
VALUE_TYPES = ("level", "cumulative", "change_pct", "change_pp", "ratio", "ratio_multiple", "structure")
COMPARATORS = (">=", "<=", "=", "~")
ATTRIBUTES = ("约束性", "预期性")
MEASURES = ("level", "cumulative", "rate", "rate_total")
BASELINE_SOURCES = ("plan", "observation", "cumulative_start")
STATUSES = ("achieved", "on_track", "at_risk", "off_track", "insufficient_data")
SEVERITIES = ("normal", "high", "critical")
GROWTH_CATEGORIES = ("significant_progress", "moderate_progress", "insufficient_progress", "moving_away")
REGION_LEVELS = ("province", "prefecture", "county")
DIRECTIONS = ("higher_better", "lower_better", "neutral", "band")  # band: within a range is best
VALUE_KINDS = ("level", "share", "rate_of_change", "count_new", "cumulative", "ratio")
ALERT_STATES = ("pending", "sent", "failed", "held", "superseded")
ALERT_TYPES = ("slip", "recovery")
REGION_CODE = r"^\d{6}$"  # GB/T 2260
INDICATOR_KEY = r"^[a-z][a-z0-9_]*$"  # snake_case: keys are identifiers in SQL and code
NOT_BLANK = r"\S"
DOC_ID = r"^[0-9a-f]{16}$"

# --- ranges that depend on the unit ----------------------------------------------------------------
SHARE_RANGE = (0.0, 100.0)  # a share in %
CONCENTRATION_UNIT = "微克/立方米"
CONCENTRATION_RANGE = (0.0, 1000.0)  # annual mean PM2.5: the worst city-years on record stay far below
CHANGE_PCT_FLOOR = -100.0  # a fall cannot exceed 100 %
SIGNED_UNITS = ("%", "‰", "个百分点", "位")  # values in these units may be negative (rates, changes, rank places)
SHARE_VALUE_TYPES = ("level", "structure")
AMOUNT_KINDS = ("level", "count_new", "cumulative")  # catalog value_kind of stocks, flows and totals
LEVEL_VALUE_TYPES = ("level", "cumulative", "structure")  # figures in the indicator's own unit

PANDERA_CHECK_NAMES = {"multiple_fields_uniqueness": "key_is_unique", "field_uniqueness": "unique"}
CHECK_EXPLANATIONS = {
    "value_is_finite": "the value is not a finite number",
    "share_in_percent_within_0_100": "a share in % lies within 0–100",
    "concentration_within_0_1000": f"a concentration in {CONCENTRATION_UNIT} lies within 0–1000",
    "change_pct_not_below_minus_100": "a fall cannot exceed 100%",
    "amount_not_negative": "an amount or a count cannot be negative",
    "indicator_in_catalog": "the indicator is not in reference/indicators.csv",
    "unit_is_catalog_unit": "the value is not in its indicator's catalog unit",
    "key_is_unique": "another row has the same key",  # + the key's columns (_described)
    "period_in_order": "the period ends before it starts",
    "char_span_in_order": "the evidence span ends before it starts",
    "baseline_before_target": "the base year is after the target year",
    "one_chosen_per_key": "more than one observation is chosen for the same region, indicator, year and value type",
}


def _rule(applies: pl.Expr, holds: pl.Expr) -> pl.Expr:
    """Row-wise: the rule does not apply, or it holds (a null value never fails a range)."""
    return (~applies.fill_null(False)) | holds.fill_null(True)


class DocumentModel(pa.DataFrameModel):
    doc_id: str = pa.Field(unique=True, str_matches=DOC_ID)
    file: str
    region_code: str = pa.Field(nullable=True, str_matches=REGION_CODE)
    region_name: str = pa.Field(nullable=True)
    doc_type: str = pa.Field(nullable=True, isin=DOC_TYPES)
    period: str = pa.Field(nullable=True, isin=list(PERIODS))
    period_start: pl.Int32 = pa.Field(nullable=True, **YEAR)
    period_end: pl.Int32 = pa.Field(nullable=True, **YEAR)
    year: pl.Int32 = pa.Field(nullable=True, **YEAR)
    title: str = pa.Field(nullable=True)
    encoding: str = pa.Field(nullable=True)
    format: str = pa.Field(nullable=True)
    n_lines: pl.Int32 = pa.Field(ge=0)
    size_bytes: pl.Int64 = pa.Field(ge=0)
    text: str = pa.Field(nullable=True)  # null: unchanged since the last run, not read (documents.py)

    class Config:
        strict = False

    @pa.dataframe_check(name="period_in_order")
    def period_in_order(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(_rule(pl.lit(True), pl.col("period_end") >= pl.col("period_start")))


class FactModel(pa.DataFrameModel):
    """FACT_SCHEMA plus doc_id: the extracted_facts asset's rows."""

    doc: str
    line: pl.Int32 = pa.Field(ge=1)
    region: str = pa.Field(nullable=True)
    kind: str = pa.Field(isin=FACT_KINDS)
    indicator_text: str = pa.Field(nullable=True)
    indicator_key: str = pa.Field(nullable=True)
    value: float
    value_type: str = pa.Field(isin=VALUE_TYPES)
    unit: str = pa.Field(nullable=True)
    comparator: str = pa.Field(nullable=True, isin=COMPARATORS)
    year: pl.Int32 = pa.Field(nullable=True, **YEAR)
    attribute: str = pa.Field(nullable=True, isin=ATTRIBUTES)
    evidence: str = pa.Field(nullable=True)
    char_start: pl.Int32 = pa.Field(nullable=True, ge=0)
    char_end: pl.Int32 = pa.Field(nullable=True, ge=0)
    doc_id: str = pa.Field(str_matches=DOC_ID)

    class Config:
        strict = False

    @pa.dataframe_check(name="char_span_in_order")
    def char_span_in_order(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(_rule(pl.lit(True), pl.col("char_end") >= pl.col("char_start")))


class RawStatModel(pa.DataFrameModel):
    """Raw long rows as read from the statistics files: text, parsed later by the normalizer."""

    source_file: str
    location: str
    region_text: str = pa.Field(nullable=True)
    indicator_text: str = pa.Field(nullable=True)
    indicator_key: str = pa.Field(nullable=True)
    year: str = pa.Field(nullable=True)
    value_raw: str = pa.Field(nullable=True)
    unit: str = pa.Field(nullable=True)
    source: str = pa.Field(nullable=True)
    source_url: str = pa.Field(nullable=True)
    quote: str = pa.Field(nullable=True)
    region_from: str = pa.Field(nullable=True)

    class Config:
        strict = False
        unique = ["source_file", "location"]


class ObservationModel(pa.DataFrameModel):
    region_code: str = pa.Field(str_matches=REGION_CODE)
    indicator_key: str
    year: pl.Int32 = pa.Field(**YEAR)
    value: float
    unit: str = pa.Field(nullable=True)
    value_type: str = pa.Field(isin=VALUE_TYPES)
    source: str = pa.Field(nullable=True)
    source_kind: str = pa.Field(isin=list(SOURCE_RANKS))
    source_rank: pl.Int32 = pa.Field(ge=1)
    source_file: str = pa.Field(nullable=True)
    location: str = pa.Field(nullable=True)
    is_chosen: bool
    source_url: str = pa.Field(nullable=True)
    evidence: str = pa.Field(nullable=True)

    class Config:
        strict = False
        # One figure per region x indicator x year x value type from one source: a key with two
        # values is a conflict nobody can settle by rule, so every row of it is held back.
        unique = ["region_code", "indicator_key", "year", "value_type", "source"]

    @pa.dataframe_check(name="one_chosen_per_key")
    def one_chosen_per_key(cls, data: pa.PolarsData) -> pl.LazyFrame:
        key = ["region_code", "indicator_key", "year", "value_type"]
        chosen = pl.col("is_chosen").fill_null(False)
        return data.lazyframe.select(~chosen | (chosen.cast(pl.Int32).sum().over(key) <= 1))


class TargetModel(pa.DataFrameModel):
    target_id: str = pa.Field(unique=True)
    region_code: str = pa.Field(nullable=True, str_matches=REGION_CODE)
    region_name: str = pa.Field(nullable=True)
    indicator_key: str = pa.Field(nullable=True)
    doc_id: str = pa.Field(str_matches=DOC_ID)
    line: pl.Int32 = pa.Field(nullable=True, ge=1)
    evidence: str = pa.Field(nullable=True)
    kind: str = pa.Field(isin=TARGET_KINDS)
    baseline_year: pl.Int32 = pa.Field(nullable=True, **YEAR)
    baseline_value: float = pa.Field(nullable=True)
    baseline_source: str = pa.Field(nullable=True, isin=BASELINE_SOURCES)
    target_year: pl.Int32 = pa.Field(nullable=True, **YEAR)
    target_value: float = pa.Field(nullable=True)
    stated_value: float = pa.Field(nullable=True)
    comparator: str = pa.Field(nullable=True, isin=COMPARATORS)
    stated_comparator: str = pa.Field(nullable=True, isin=COMPARATORS)
    value_type: str = pa.Field(nullable=True, isin=VALUE_TYPES)
    measure: str = pa.Field(nullable=True, isin=MEASURES)
    unit: str = pa.Field(nullable=True)
    binding: bool = pa.Field(nullable=True)
    attribute: str = pa.Field(nullable=True, isin=ATTRIBUTES)
    unresolved: str = pa.Field(nullable=True)

    class Config:
        strict = False

    @pa.dataframe_check(name="baseline_before_target")
    def baseline_before_target(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(_rule(pl.lit(True), pl.col("baseline_year") <= pl.col("target_year")))


class AssessmentModel(pa.DataFrameModel):
    run_id: str
    assessed_at: pl.Datetime = pa.Field(nullable=True)
    target_id: str = pa.Field(unique=True)
    region_code: str = pa.Field(nullable=True, str_matches=REGION_CODE)
    indicator_key: str = pa.Field(nullable=True)
    kind: str = pa.Field(nullable=True, isin=TARGET_KINDS)
    measure: str = pa.Field(nullable=True, isin=MEASURES)
    baseline_year: pl.Int32 = pa.Field(nullable=True, **YEAR)
    baseline_value: float = pa.Field(nullable=True)
    target_year: pl.Int32 = pa.Field(nullable=True, **YEAR)
    target_value: float = pa.Field(nullable=True)
    comparator: str = pa.Field(nullable=True, isin=COMPARATORS)
    latest_year: pl.Int32 = pa.Field(nullable=True, **YEAR)
    latest_value: float = pa.Field(nullable=True)
    observations_used: pl.Int32 = pa.Field(nullable=True, ge=0)
    time_progress: float = pa.Field(nullable=True, ge=0)
    done_progress: float = pa.Field(nullable=True)
    expected_value: float = pa.Field(nullable=True)
    gap: float = pa.Field(nullable=True)
    path_ratio: float = pa.Field(nullable=True)
    required_growth: float = pa.Field(nullable=True)
    actual_growth: float = pa.Field(nullable=True)
    growth_ratio: float = pa.Field(nullable=True)
    growth_category: str = pa.Field(nullable=True, isin=GROWTH_CATEGORIES)
    projected_value: float = pa.Field(nullable=True)
    projection_points: pl.Int32 = pa.Field(nullable=True, ge=0)
    will_meet: bool = pa.Field(nullable=True)
    status: str = pa.Field(isin=STATUSES)
    severity: str = pa.Field(isin=SEVERITIES)
    rule: str
    reason: str = pa.Field(nullable=True)

    class Config:
        strict = False


class RejectedModel(pa.DataFrameModel):
    """Every refused row says where it was and why, in words a person can act on."""

    source_file: str = pa.Field(nullable=True)
    location: str = pa.Field(nullable=True)
    stage: str = pa.Field(str_length={"min_value": 1})
    reason: str = pa.Field(str_length={"min_value": 1})
    raw: str = pa.Field(nullable=True)

    class Config:
        strict = True


class CatalogModel(pa.DataFrameModel):
    """reference/indicators.csv: one row per indicator key."""

    indicator_key: str = pa.Field(str_matches=INDICATOR_KEY)
    name_zh: str = pa.Field(str_matches=NOT_BLANK)
    aliases: str = pa.Field(nullable=True)
    unit: str = pa.Field(nullable=True)
    direction: str = pa.Field(nullable=True, isin=DIRECTIONS)
    category: str = pa.Field(nullable=True)
    value_kind: str = pa.Field(nullable=True, isin=VALUE_KINDS)
    notes: str = pa.Field(nullable=True)

    class Config:
        strict = False
        unique = ["indicator_key"]


class RegionModel(pa.DataFrameModel):
    """reference/regions.csv: one row per GB/T 2260 code."""

    region_code: str = pa.Field(str_matches=REGION_CODE)
    name_zh: str = pa.Field(str_matches=NOT_BLANK)
    level: str = pa.Field(nullable=True, isin=REGION_LEVELS)
    parent_code: str = pa.Field(nullable=True, str_matches=REGION_CODE)
    aliases: str = pa.Field(nullable=True)

    class Config:
        strict = False
        unique = ["region_code"]


class FigureModel(pa.DataFrameModel):
    """One figure of a stage row (``row``, ``figure`` = its column) with its indicator's catalog unit
    and kind; ``canonical`` when the stage promises values in the catalog unit."""

    row: pl.UInt32
    figure: str
    indicator_key: str = pa.Field(nullable=True)
    value: float = pa.Field(nullable=True)
    unit: str = pa.Field(nullable=True)
    value_type: str = pa.Field(nullable=True)
    canonical: bool
    in_catalog: bool
    catalog_unit: str = pa.Field(nullable=True)
    value_kind: str = pa.Field(nullable=True)

    class Config:
        strict = True

    @pa.dataframe_check(name="value_is_finite")
    def value_is_finite(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(_rule(pl.col("value").is_not_null(), pl.col("value").is_finite()))

    @pa.dataframe_check(name="share_in_percent_within_0_100")
    def share_in_percent(cls, data: pa.PolarsData) -> pl.LazyFrame:
        applies = ((pl.col("unit") == "%") & (pl.col("value_kind") == "share")
                   & pl.col("value_type").is_in(SHARE_VALUE_TYPES))
        return data.lazyframe.select(_rule(applies, pl.col("value").is_between(*SHARE_RANGE)))

    @pa.dataframe_check(name="concentration_within_0_1000")
    def concentration(cls, data: pa.PolarsData) -> pl.LazyFrame:
        applies = (pl.col("unit") == CONCENTRATION_UNIT) & (pl.col("value_type") == "level")
        return data.lazyframe.select(_rule(applies, pl.col("value").is_between(*CONCENTRATION_RANGE)))

    @pa.dataframe_check(name="change_pct_not_below_minus_100")
    def change_pct(cls, data: pa.PolarsData) -> pl.LazyFrame:
        applies = (pl.col("value_type") == "change_pct") | (
            (pl.col("value_kind") == "rate_of_change") & (pl.col("unit") == "%"))
        return data.lazyframe.select(_rule(applies, pl.col("value") >= CHANGE_PCT_FLOOR))

    @pa.dataframe_check(name="amount_not_negative")
    def amount_not_negative(cls, data: pa.PolarsData) -> pl.LazyFrame:
        applies = (pl.col("value_type").is_in(("level", "cumulative")) & pl.col("value_kind").is_in(AMOUNT_KINDS)
                   & pl.col("unit").is_not_null() & ~pl.col("unit").is_in(SIGNED_UNITS))
        return data.lazyframe.select(_rule(applies, pl.col("value") >= 0))

    @pa.dataframe_check(name="indicator_in_catalog")
    def indicator_in_catalog(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(_rule(pl.col("canonical"), pl.col("in_catalog")))

    @pa.dataframe_check(name="unit_is_catalog_unit")
    def unit_is_catalog_unit(cls, data: pa.PolarsData) -> pl.LazyFrame:
        applies = pl.col("canonical") & pl.col("in_catalog") & pl.col("value_type").is_in(LEVEL_VALUE_TYPES)
        return data.lazyframe.select(_rule(applies, pl.col("unit").eq_missing(pl.col("catalog_unit"))))


# --- boundaries -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Figure:
    """A number in a stage's rows, with the unit and the value type its range depends on."""

    value: str
    unit: pl.Expr = pl.col("unit")
    value_type: pl.Expr = pl.col("value_type")


@dataclass(frozen=True)
class Boundary:
    """What one asset hands on: its model, where a refused row came from, the figures to range-check."""

    name: str
    model: type[pa.DataFrameModel]
    source_file: pl.Expr
    location: pl.Expr
    figures: tuple[Figure, ...] = ()
    canonical: bool = False  # the figures are in their indicator's catalog unit
    raw_exclude: tuple[str, ...] = ()  # columns too large to copy into rejected_row.raw


DOCUMENTS = Boundary("plan_documents", DocumentModel, source_file=pl.col("file"), location=pl.lit("whole document"),
                     raw_exclude=("text",))
FACTS = Boundary("extracted_facts", FactModel, source_file=pl.col("doc"), location=pl.format("line {}", pl.col("line")),
                 figures=(Figure("value"),))
RAW_STATISTICS = Boundary("statistics_files", RawStatModel, source_file=pl.col("source_file"),
                          location=pl.col("location"))
OBSERVATIONS = Boundary("observations", ObservationModel, source_file=pl.col("source_file"),
                        location=pl.col("location"), figures=(Figure("value"),), canonical=True)
# A target's values are levels in the catalog unit once resolved; rate measures are growth rates in %.
_TARGET_VALUE_TYPE = (pl.when(pl.col("measure").is_in(("rate", "rate_total"))).then(pl.lit("change_pct"))
                      .otherwise(pl.lit("level")))
TARGETS = Boundary("targets", TargetModel, source_file=pl.format("document {}", pl.col("doc_id")),
                   location=pl.format("line {}", pl.col("line")),
                   figures=(Figure("target_value", value_type=_TARGET_VALUE_TYPE),
                            Figure("baseline_value", value_type=_TARGET_VALUE_TYPE)),
                   canonical=True)
ASSESSMENTS = Boundary("assessments", AssessmentModel, source_file=pl.lit("assessment"),
                       location=pl.format("target {}", pl.col("target_id")))
# Reference tables are read with their file name and line (reference.read_catalog / read_regions).
CATALOG = Boundary("indicators.csv", CatalogModel, source_file=pl.col("source_file"),
                   location=pl.format("row {}", pl.col("file_row")),
                   raw_exclude=("source_file", "file_row"))
REGIONS = Boundary("regions.csv", RegionModel, source_file=pl.col("source_file"),
                   location=pl.format("row {}", pl.col("file_row")),
                   raw_exclude=("source_file", "file_row"))
BOUNDARIES = {b.name: b for b in (DOCUMENTS, FACTS, RAW_STATISTICS, OBSERVATIONS, TARGETS, ASSESSMENTS)}

FAILURE_SCHEMA = {"row": pl.UInt32, "check": pl.String, "detail": pl.String}


class ContractBroken(Exception):
    """A frame misses a declared column or has another dtype: a bug in the stage, not bad data."""


def model_failures(model: type[pa.DataFrameModel], frame: pl.DataFrame) -> pl.DataFrame:
    """Every row-level failure of ``frame`` against ``model``: row, check, detail (the offending value).

    Raises ContractBroken on schema-level failures (a missing column, a wrong dtype)."""
    try:
        model.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
        # Row-level failures carry the row's index; a missing column or a wrong dtype has none.
        broken = cases.filter(pl.col("index").is_null())
        if broken.height:
            raise ContractBroken(f"{model.__name__}: " + "; ".join(
                f"{c}: {k} ({v})" for c, k, v in broken.select("column", "check", "failure_case").iter_rows())) from exc
        return _described(cases, model)
    return pl.DataFrame(schema=FAILURE_SCHEMA)


def _unique_key(model: type[pa.DataFrameModel]) -> list[str]:
    key = model.to_schema().unique or []
    return [key] if isinstance(key, str) else list(key)


def _described(cases: pl.DataFrame, model: type[pa.DataFrameModel]) -> pl.DataFrame:
    frame_check = pl.col("schema_context") == "DataFrameSchema"
    # in_range(1949, 2100) -> in_range; pandera's own names -> ours
    name = pl.col("check").str.extract(r"^([^(]+)", 1).replace(PANDERA_CHECK_NAMES)
    check = pl.when(frame_check).then(name).otherwise(pl.format("{}:{}", pl.col("column"), name))
    explained = name.replace_strict(CHECK_EXPLANATIONS, default=name)
    detail = (
        pl.when(frame_check & (name == "key_is_unique")).then(pl.format("{} ({})", explained,
                                                                        pl.lit(", ".join(_unique_key(model)))))
        .when(frame_check).then(explained)
        .when(name == "not_nullable").then(pl.format("{} is missing", pl.col("column")))
        .otherwise(pl.format("{}={} fails {}", pl.col("column"), pl.col("failure_case"),
                             pl.col("check").str.slice(0, 80)))
    )
    return cases.select(pl.col("index").cast(pl.UInt32).alias("row"), check.alias("check"), detail.alias("detail"))


def figure_frame(rows: pl.DataFrame, boundary: Boundary, catalog: pl.DataFrame) -> pl.DataFrame:
    """One row per figure of ``rows`` (row = position in ``rows``), with the catalog's unit and kind."""
    kinds = catalog.select("indicator_key", pl.col("unit").alias("catalog_unit"), "value_kind",
                           pl.lit(True).alias("in_catalog"))
    indexed = rows.with_row_index("row")
    parts = [
        indexed.select(
            "row", pl.lit(f.value).alias("figure"), "indicator_key", pl.col(f.value).cast(pl.Float64).alias("value"),
            f.unit.cast(pl.String).alias("unit"), f.value_type.cast(pl.String).alias("value_type"),
            pl.lit(boundary.canonical).alias("canonical"),
        )
        for f in boundary.figures
    ]
    return (
        pl.concat(parts)
        .join(kinds, on="indicator_key", how="left", maintain_order="left")
        .with_columns(pl.col("in_catalog").fill_null(False))
        .select(list(FigureModel.to_schema().columns))
    )


def figure_failures(rows: pl.DataFrame, boundary: Boundary, catalog: pl.DataFrame) -> pl.DataFrame:
    figures = figure_frame(rows, boundary, catalog)
    failures = model_failures(FigureModel, figures)
    if failures.is_empty():
        return failures
    described = figures.with_row_index("_figure").join(
        failures.rename({"row": "_figure"}), on="_figure", how="inner", maintain_order="left")
    return described.select(
        "row", "check",
        pl.format("{}={}{} for {} ({})", pl.col("figure"), pl.col("value"),
                  pl.when(pl.col("unit").is_not_null()).then(pl.format(" {}", pl.col("unit"))).otherwise(pl.lit("")),
                  pl.col("indicator_key").fill_null("no indicator"),
                  pl.col("detail")).alias("detail"),
    )


def row_failures(rows: pl.DataFrame, boundary: Boundary, catalog: pl.DataFrame | None = None) -> pl.DataFrame:
    """Every failure of ``rows`` at the boundary: the model's checks, and (given the catalog) the
    unit-dependent ranges of its figures. Columns row, check, detail."""
    failures = [model_failures(boundary.model, rows)]
    if boundary.figures and catalog is not None:
        failures.append(figure_failures(rows, boundary, catalog))
    return pl.concat(failures)


def quarantine_invalid(result: StageResult, boundary: Boundary, *, catalog: pl.DataFrame | None = None) -> StageResult:
    """Validate ``result.rows`` at the boundary (see row_failures); failing rows move to ``rejected`` with
    stage ``validate:<first check>`` and a reason naming every failed check and value. The rest go on."""
    rows = result.rows
    found = row_failures(rows, boundary, catalog)
    if found.is_empty():
        return result
    # _stage/_reason: a stage's own rows may have a stage or reason column (assessments have reason).
    per_row = found.group_by("row", maintain_order=True).agg(
        pl.format("validate:{}", pl.col("check").first()).alias("_stage"),
        pl.format("{}: {}", pl.lit(boundary.name), pl.col("detail").unique(maintain_order=True).str.join("; "))
        .alias("_reason"),
    )
    bad = rows.with_row_index("row").join(per_row, on="row", how="inner", maintain_order="left")
    kept_columns = [c for c in rows.columns if c not in boundary.raw_exclude]
    rejected = bad.select(
        boundary.source_file.cast(pl.String).alias("source_file"),
        boundary.location.cast(pl.String).alias("location"),
        pl.col("_stage").alias("stage"), pl.col("_reason").alias("reason"),
        pl.struct(kept_columns).struct.json_encode().alias("raw"),
    )
    kept = rows.filter(~pl.int_range(pl.len(), dtype=pl.UInt32).is_in(per_row["row"].implode()))
    return StageResult(kept, pl.concat([result.rejected, rejected], how="vertical_relaxed"))


def quarantined(result: StageResult) -> pl.DataFrame:
    """The rows this validation layer moved out of ``result`` (stage ``validate:<check>``)."""
    return result.rejected.filter(pl.col("stage").str.starts_with("validate:"))
