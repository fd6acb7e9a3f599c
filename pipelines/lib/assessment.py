"""Judge every target (METHODOLOGY.md): achieved, on track, at risk, off track, or insufficient data.

For each target this computes, from the chosen observations since the base year t0:
- the plan path (完成进度 against 时间进度): expected_value, gap, path_ratio;
- Eurostat's growth ratio: required and actual compound annual growth and their ratio;
- a least-squares projection of the trend to the target year;
and one status with the rule that decided it and a reason in Chinese that carries the numbers.

The value judged is the target's measure (targets.py): the level, the running total since t0
(cumulative), the compound average of yearly growth rates since t0 (rate), or the yearly rates
compounded (rate_total). Once an observation of the target year (or a later one) exists the
target is met or missed on it, never projected. An annual target is judged on its year's actual only.
Direction: a bound (>=, <=) says which way is better; a band (~) takes the catalog direction, and
an indicator with none (neutral, band) must end inside the band. A ~ target on a directional
indicator counts as met from the near edge of the band on (±0.5 for %, else ±2%).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import polars as pl

from pipelines.lib.formatting import COMPARATOR_SIGNS
from pipelines.lib.memo import PartitionMemo, frame_digest
from pipelines.lib.parquet_cache import code_digest
from pipelines.lib.targets import LEVEL_TYPES, RATE_KIND, chosen

ASSESSMENT_SCHEMA = {
    "run_id": pl.String,
    "assessed_at": pl.Datetime("us"),
    "target_id": pl.String,
    "region_code": pl.String,
    "indicator_key": pl.String,
    "kind": pl.String,
    "measure": pl.String,
    "baseline_year": pl.Int32,
    "baseline_value": pl.Float64,
    "target_year": pl.Int32,
    "target_value": pl.Float64,
    "comparator": pl.String,
    "latest_year": pl.Int32,  # the year judged: the target year (or the first after it) once observed
    "latest_value": pl.Float64,  # the measure in that year (level / running total / average rate, %)
    "observations_used": pl.Int32,  # yearly observations since t0 behind latest_value
    "time_progress": pl.Float64,
    "done_progress": pl.Float64,
    "expected_value": pl.Float64,
    "gap": pl.Float64,
    "path_ratio": pl.Float64,
    "required_growth": pl.Float64,
    "actual_growth": pl.Float64,
    "growth_ratio": pl.Float64,
    "growth_category": pl.String,
    "projected_value": pl.Float64,
    "projection_points": pl.Int32,
    "will_meet": pl.Boolean,
    "status": pl.String,
    "severity": pl.String,
    "rule": pl.String,
    "reason": pl.String,
}

OFF_TRACK_BELOW = 0.6  # path or growth ratio under this: off track
ON_TRACK_FROM = 0.95  # ... from this on: on track; in between: at risk
SHARE_BAND = 0.5  # a ~ target in %: within ±0.5 percentage points
RELATIVE_BAND = 0.02  # any other ~ target: within ±2%
WEAK_PROJECTION_BELOW = 3  # fewer trend points than this: the projection is weak
FALL_SUFFIX = "_decline"  # rate indicators whose positive values are falls (catalog notes)
GROWTH_SUFFIX = "_growth"  # <quantity>_growth holds the yearly growth of <quantity> (catalog notes)
EPS = 1e-9

# Every rule that can decide a status (the status is the part before the colon), with its reading.
RULES = {
    "insufficient_data: value type not assessable": "结构(a:b:c)或倍数类目标不单独评估",
    "insufficient_data: no baseline": "缺少基期值：规划未给出，基期年份也没有观测值",
    "insufficient_data: region not in reference": "目标所指区域不在区域表中，无法对应统计数据",
    "insufficient_data: rate target without a % unit": "速度类目标的单位不是%，无法与增速比较",
    "insufficient_data: no observation after base year": "基期之后尚无观测值",
    "insufficient_data: no actual for target year": "目标年度的实际值尚未公布",
    "achieved: annual target met": "年度目标已完成",
    "off_track: annual target missed": "年度目标未完成",
    "achieved: target year passed, met": "目标年已过，目标已实现",
    "achieved: latest meets comparator": "最新观测值已达到目标",
    "off_track: target year passed, missed": "目标年已过，目标未实现",
    "on_track: average rate meets target so far": "迄今年均速度已达到目标速度",
    "off_track: growth_ratio<0": "实际速度与所需速度方向相反",
    "off_track: growth_ratio<0.6": "实际速度不到所需速度的60%",
    "at_risk: 0.6<=growth_ratio<0.95": "实际速度为所需速度的60%至95%",
    "on_track: growth_ratio>=0.95": "实际速度接近所需速度",
    "at_risk: rate outside target so far": "迄今速度不在目标范围内",
    "off_track: level to hold not held": "应保持的水平未能保持",
    "off_track: beyond the band": "已越过目标区间",
    "off_track: moving away from target": "指标朝背离目标的方向变化",
    "off_track: path_ratio<0.6": "完成进度明显落后于时间进度",
    "at_risk: 0.6<=path_ratio<0.95": "完成进度落后于时间进度",
    "at_risk: projection misses target": "进度达到序时要求，但按趋势外推目标年难以达标",
    "on_track: path_ratio>=0.95": "完成进度不低于时间进度",
}
GROWTH_CATEGORIES_ZH = {
    "significant_progress": "进展显著",
    "moderate_progress": "进展一般",
    "insufficient_progress": "进展不足",
    "moving_away": "背离目标",
}
MEASURE_LABELS_ZH = {"level": "实际", "cumulative": "累计", "rate": "年均", "rate_total": "累计变化"}
SERIES_SCHEMA = {"target_id": pl.String, "year": pl.Int32, "value": pl.Float64, "years_used": pl.Int32}


def assess_targets(
    targets: pl.DataFrame,
    observations: pl.DataFrame,
    catalog: pl.DataFrame,
    *,
    run_id: str,
    assessed_at: datetime,
    memo_dir: Path | None = None,
) -> pl.DataFrame:
    """One row of ASSESSMENT_SCHEMA per target (TARGET_SCHEMA), from the chosen observations, in the
    order of ``targets``.

    With ``memo_dir``, only the regions whose targets or observations changed since the run that stored
    its result are assessed again (lib/memo.py): a target's assessment follows from its own row and its
    region's observations, never from another region's."""
    def judge(targets: pl.DataFrame, observations: pl.DataFrame) -> pl.DataFrame:
        judged = _judging_terms(targets, catalog)
        decided = _decided(_measured(judged, _series(judged, observations, catalog)))
        return decided.select([c for c in ASSESSMENT_SCHEMA if c not in ("run_id", "assessed_at")])

    if memo_dir is None:
        decided = judge(targets, observations)
    else:
        version = code_digest(__name__, "assessment by region")
        version.update(frame_digest(catalog).encode())
        order = targets.select("target_id").with_row_index("_order")
        decided = PartitionMemo(memo_dir, version.hexdigest()[:16]).run(
            judge, {"targets": targets, "observations": observations}, key="region_code",
            arrange=lambda rows: rows.join(order, on="target_id").sort("_order").drop("_order"))
    return (
        decided.with_columns(pl.lit(run_id).alias("run_id"), pl.lit(assessed_at).alias("assessed_at"))
        .select(list(ASSESSMENT_SCHEMA))
        .cast(ASSESSMENT_SCHEMA)
    )


# --- what "better" means for each target --------------------------------------------------------

def _judging_terms(targets: pl.DataFrame, catalog: pl.DataFrame) -> pl.DataFrame:
    directional = pl.col("direction").is_in(["higher_better", "lower_better"])
    sign = (
        pl.when(pl.col("comparator") == ">=").then(1.0)
        .when(pl.col("comparator") == "<=").then(-1.0)
        .when(pl.col("direction") == "higher_better").then(1.0)
        .when(pl.col("direction") == "lower_better").then(-1.0)
        .otherwise((pl.col("target_value") - pl.col("baseline_value")).sign().fill_null(0.0))
    )
    return (
        targets.join(catalog.select("indicator_key", "direction", "value_kind"), on="indicator_key", how="left")
        .with_columns(
            sign.alias("sign"),
            ((pl.col("comparator") == "~") & ~directional.fill_null(False)).alias("two_sided"),
            pl.when(pl.col("unit") == "%").then(pl.lit(SHARE_BAND))
            .otherwise(RELATIVE_BAND * pl.col("target_value").abs()).alias("tolerance"),
        )
    )


def _meets(value: pl.Expr) -> pl.Expr:
    """Whether ``value`` satisfies the target's comparator (a directional ~ from its near band edge on)."""
    target = pl.col("target_value")
    slack = EPS * (1 + target.abs())
    return (
        pl.when(value.is_null() | target.is_null()).then(pl.lit(None, pl.Boolean))
        .when(pl.col("comparator") == ">=").then(value >= target - slack)
        .when(pl.col("comparator") == "<=").then(value <= target + slack)
        .when(pl.col("two_sided")).then((value - target).abs() <= pl.col("tolerance") + slack)
        .when(pl.col("sign") > 0).then(value >= target - pl.col("tolerance") - slack)
        .otherwise(value <= target + pl.col("tolerance") + slack)
    )


# --- the series each target is judged on -------------------------------------------------------------

def _series(judged: pl.DataFrame, observations: pl.DataFrame, catalog: pl.DataFrame) -> pl.DataFrame:
    """target_id, year, value (the target's measure in that year), years_used."""
    keys = judged.select("target_id", "region_code", "indicator_key", "measure", "kind", "target_year",
                         pl.col("baseline_year").alias("t0"))
    # Years after t0; an annual target counts its own year only.
    in_window = (pl.col("year") > pl.col("t0")) & (
        (pl.col("kind") != "annual_target") | (pl.col("year") <= pl.col("target_year")))
    kinds = catalog.select("indicator_key", "value_kind")
    levels = chosen(observations, LEVEL_TYPES).join(kinds, on="indicator_key", how="left")
    reported_totals = chosen(observations, ("cumulative",)).join(kinds, on="indicator_key", how="left")
    growth = _growth_observations(observations, catalog)

    def since_base(measure: str, obs: pl.DataFrame, key: str = "indicator_key") -> pl.DataFrame:
        return (
            keys.filter(pl.col("measure") == measure)
            .join(obs.select("region_code", pl.col(key).alias("indicator_key"), "year", "value",
                             *(["preference"] if "preference" in obs.columns else [])),
                  on=["region_code", "indicator_key"])
            .filter(in_window)
        )

    def running(frame: pl.DataFrame, value: pl.Expr) -> pl.DataFrame:
        """A running figure over the years since t0, in year order per target."""
        return frame.with_columns(
            value.over("target_id", order_by="year").alias("value"),
            pl.int_range(1, pl.len() + 1).over("target_id", order_by="year").alias("years_used"),
        )

    def best_per_year(frame: pl.DataFrame) -> pl.DataFrame:
        return frame.sort("preference").unique(["target_id", "year"], keep="first")

    log_growth = (pl.col("value") / 100).log1p()
    log_fall = (-pl.col("value") / 100).log1p()
    compounded_total = (
        pl.when(pl.col("indicator_key").str.ends_with(FALL_SUFFIX))
        .then((1 - log_fall.cum_sum().exp()) * 100)
        .otherwise((log_growth.cum_sum().exp() - 1) * 100)
    )
    parts = [
        running(since_base("level", levels), pl.col("value")),
        # Running totals: reported ones win over the sum of yearly figures.
        best_per_year(pl.concat([
            since_base("cumulative", reported_totals.vstack(
                levels.filter(pl.col("value_kind") == "cumulative"))).with_columns(
                pl.lit(0).alias("preference"), pl.lit(None, pl.Int32).alias("years_used")),
            running(since_base("cumulative", levels.filter(pl.col("value_kind") != "cumulative")),
                    pl.col("value").cum_sum()).with_columns(pl.lit(1).alias("preference")),
        ], how="diagonal_relaxed")),
        running(best_per_year(since_base("rate", growth, "base_key")),
                ((log_growth.cum_sum() / pl.int_range(1, pl.len() + 1)).exp() - 1) * 100),
        best_per_year(pl.concat([
            since_base("rate_total", reported_totals.filter(pl.col("value_kind") == RATE_KIND)).with_columns(
                pl.lit(0).alias("preference"), pl.lit(None, pl.Int32).alias("years_used")),
            running(best_per_year(since_base("rate_total", growth.filter(pl.col("preference") == 0), "base_key")),
                    compounded_total).with_columns(pl.lit(1).alias("preference")),
        ], how="diagonal_relaxed")),
    ]
    return pl.concat([p.select(list(SERIES_SCHEMA)).cast(SERIES_SCHEMA) for p in parts])


def _growth_observations(observations: pl.DataFrame, catalog: pl.DataFrame) -> pl.DataFrame:
    """Yearly growth rates in %, keyed by the indicator whose growth they are (``base_key``).

    A rate indicator's own values are rates (also filed under <quantity> when the key is
    <quantity>_growth, after <quantity>'s own change_pct figures); a level indicator's change_pct
    observations are its growth.
    """
    rate_keys = catalog.filter(pl.col("value_kind") == RATE_KIND)["indicator_key"]
    # Split by indicator before choosing: chosen() then sorts a few rate indicators' rows, not all levels.
    of_rate = pl.col("indicator_key").is_in(rate_keys.implode()).fill_null(False)
    rates = chosen(observations.filter(of_rate), (*LEVEL_TYPES, "change_pct"))
    changes = chosen(observations.filter(~of_rate), ("change_pct",))
    return pl.concat([
        rates.with_columns(pl.col("indicator_key").alias("base_key"), pl.lit(0).alias("preference")),
        changes.with_columns(pl.col("indicator_key").alias("base_key"), pl.lit(0).alias("preference")),
        rates.filter(pl.col("indicator_key").str.ends_with(GROWTH_SUFFIX)).with_columns(
            pl.col("indicator_key").str.strip_suffix(GROWTH_SUFFIX).alias("base_key"), pl.lit(1).alias("preference")),
    ]).select("region_code", "indicator_key", "base_key", "year", "value", "preference")


# --- the numbers -------------------------------------------------------------------------------------

def _measured(judged: pl.DataFrame, series: pl.DataFrame) -> pl.DataFrame:
    """Latest (judged) value, plan path, growth ratio and projection per target."""
    horizon = series.join(judged.select("target_id", "target_year"), on="target_id")
    judged_year = horizon.group_by("target_id").agg(
        pl.coalesce(pl.col("year").filter(pl.col("year") >= pl.col("target_year")).min(), pl.col("year").max())
        .alias("latest_year"),
        pl.col("year").max().alias("last_observed_year"),
    )
    latest = horizon.join(judged_year, on="target_id").filter(pl.col("year") == pl.col("latest_year")).select(
        "target_id", "latest_year", "last_observed_year", pl.col("value").alias("latest_value"),
        pl.col("years_used").alias("observations_used"),
    )
    # Trend points: the baseline at t0 and every value since, up to the judged year.
    baseline_points = judged.filter(
        pl.col("baseline_value").is_not_null() & (pl.col("measure") != "rate")
    ).select("target_id", pl.col("baseline_year").alias("year"), pl.col("baseline_value").alias("value"))
    trend = (
        pl.concat([
            series.join(latest.select("target_id", "latest_year"), on="target_id")
            .filter(pl.col("year") <= pl.col("latest_year")).select("target_id", "year", "value"),
            baseline_points.cast({"year": pl.Int32}),
        ])
        .with_columns(pl.col("year").cast(pl.Float64))
        .group_by("target_id")
        .agg(
            pl.len().cast(pl.Int32).alias("projection_points"),
            (pl.cov("year", "value") / pl.col("year").var()).alias("slope"),
            pl.col("year").mean().alias("mean_year"),
            pl.col("value").mean().alias("mean_value"),
        )
    )

    x0, xt, target = pl.col("baseline_value"), pl.col("latest_value"), pl.col("target_value")
    t0, t, horizon_year = pl.col("baseline_year"), pl.col("latest_year"), pl.col("target_year")
    on_path = (pl.col("measure") != "rate") & (pl.col("kind") == "target") & x0.is_not_null() & (horizon_year > t0)
    time_progress = pl.when(on_path).then(pl.min_horizontal((t - t0) / (horizon_year - t0), pl.lit(1.0)))
    done_progress = pl.when(on_path & ((target - x0).abs() > EPS)).then((xt - x0) / (target - x0))
    expected = pl.when(on_path).then(x0 + (target - x0) * pl.col("time_progress"))
    compound = (pl.col("measure") == "level") & (x0 > 0) & (xt > 0) & (target > 0) & (t > t0) & (horizon_year > t0)
    required = (
        pl.when(pl.col("measure") == "rate").then(target / 100)
        .when(compound).then((target / x0).pow(1 / (horizon_year - t0)) - 1)
    )
    actual = (
        pl.when(pl.col("measure") == "rate").then(xt / 100)
        .when(compound).then((xt / x0).pow(1 / (t - t0)) - 1)
    )
    projectable = (t < horizon_year) & (pl.col("measure") != "rate") & (pl.col("projection_points") >= 2)
    return (
        judged.join(latest, on="target_id", how="left")
        .join(trend, on="target_id", how="left")
        .with_columns(time_progress.alias("time_progress"), done_progress.alias("done_progress"))
        .with_columns(
            expected.alias("expected_value"),
            (pl.col("done_progress") / pl.col("time_progress")).alias("path_ratio"),
            required.alias("required_growth"),
            actual.alias("actual_growth"),
            pl.when(projectable).then(
                pl.col("mean_value") + pl.col("slope") * (horizon_year.cast(pl.Float64) - pl.col("mean_year"))
            ).alias("projected_value"),
            pl.when(~projectable.fill_null(False)).then(pl.lit(None, pl.Int32))
            .otherwise("projection_points").alias("projection_points"),
        )
        .with_columns(
            (pl.col("sign") * (xt - pl.col("expected_value"))).alias("gap"),
            pl.when(pl.col("required_growth").abs() > EPS)
            .then(pl.col("actual_growth") / pl.col("required_growth")).alias("growth_ratio"),
            _meets(pl.col("projected_value")).alias("will_meet"),
            _meets(xt).alias("met"),
        )
        .with_columns(
            pl.when(pl.col("growth_ratio") >= ON_TRACK_FROM).then(pl.lit("significant_progress"))
            .when(pl.col("growth_ratio") >= OFF_TRACK_BELOW).then(pl.lit("moderate_progress"))
            .when(pl.col("growth_ratio") >= 0).then(pl.lit("insufficient_progress"))
            .when(pl.col("growth_ratio") < 0).then(pl.lit("moving_away"))
            .alias("growth_category")
        )
    )


# --- the status ------------------------------------------------------------------------------------------

def _decided(measured: pl.DataFrame) -> pl.DataFrame:
    annual = pl.col("kind") == "annual_target"
    passed = pl.col("latest_year") >= pl.col("target_year")
    met = pl.col("met").fill_null(False)
    rising_rate = (pl.col("sign") > 0) & ~pl.col("two_sided") & (pl.col("target_value") > 0)
    x0, xt, target = pl.col("baseline_value"), pl.col("latest_value"), pl.col("target_value")
    held_level = (pl.col("sign") * (target - x0)) <= EPS * (1 + target.abs())
    path_ratio, growth_ratio = pl.col("path_ratio"), pl.col("growth_ratio")
    rule = (
        pl.when(pl.col("unresolved").is_not_null()).then(pl.format("insufficient_data: {}", pl.col("unresolved")))
        .when(pl.col("latest_year").is_null() & annual).then(pl.lit("insufficient_data: no actual for target year"))
        .when(pl.col("latest_year").is_null()).then(pl.lit("insufficient_data: no observation after base year"))
        .when(annual & (pl.col("latest_year") != pl.col("target_year")))
        .then(pl.lit("insufficient_data: no actual for target year"))
        .when(annual & met).then(pl.lit("achieved: annual target met"))
        .when(annual).then(pl.lit("off_track: annual target missed"))
        .when(met & (pl.col("measure") == "rate") & ~passed).then(pl.lit("on_track: average rate meets target so far"))
        .when(met & passed).then(pl.lit("achieved: target year passed, met"))
        .when(met).then(pl.lit("achieved: latest meets comparator"))
        .when(passed).then(pl.lit("off_track: target year passed, missed"))
        .when((pl.col("measure") == "rate") & rising_rate & (growth_ratio < 0)).then(pl.lit("off_track: growth_ratio<0"))
        .when((pl.col("measure") == "rate") & rising_rate & (growth_ratio < OFF_TRACK_BELOW))
        .then(pl.lit("off_track: growth_ratio<0.6"))
        .when((pl.col("measure") == "rate") & rising_rate & (growth_ratio < ON_TRACK_FROM))
        .then(pl.lit("at_risk: 0.6<=growth_ratio<0.95"))
        .when((pl.col("measure") == "rate") & rising_rate).then(pl.lit("on_track: growth_ratio>=0.95"))
        .when(pl.col("measure") == "rate").then(pl.lit("at_risk: rate outside target so far"))
        .when(x0.is_null()).then(pl.lit("insufficient_data: no baseline"))
        .when(held_level).then(pl.lit("off_track: level to hold not held"))
        .when(pl.col("two_sided") & (pl.col("sign") * (xt - target) > pl.col("tolerance")))
        .then(pl.lit("off_track: beyond the band"))
        .when((pl.col("gap") < 0) & (growth_ratio < 0)).then(pl.lit("off_track: moving away from target"))
        .when(path_ratio < OFF_TRACK_BELOW).then(pl.lit("off_track: path_ratio<0.6"))
        .when(path_ratio < ON_TRACK_FROM).then(pl.lit("at_risk: 0.6<=path_ratio<0.95"))
        .when(pl.col("will_meet") == False).then(pl.lit("at_risk: projection misses target"))  # noqa: E712
        .otherwise(pl.lit("on_track: path_ratio>=0.95"))
    )
    status = pl.col("rule").str.split(":").list.first()
    severity = (
        pl.when(pl.col("binding") & (pl.col("status") == "off_track")).then(pl.lit("critical"))
        .when(pl.col("binding")).then(pl.lit("high"))
        .otherwise(pl.lit("normal"))
    )
    return (
        measured.with_columns(rule.alias("rule"))
        .with_columns(status.alias("status"))
        .with_columns(severity.alias("severity"), _reason().alias("reason"))
    )


def _number(expr: pl.Expr) -> pl.Expr:
    return expr.round(2).cast(pl.String)


def _percent(expr: pl.Expr) -> pl.Expr:
    return pl.format("{}%", (expr * 100).round(2))


def _reason() -> pl.Expr:
    """The rule in words, then the numbers behind it (Chinese, for analysts)."""
    unit = pl.col("unit").fill_null("")
    judged_late = pl.col("latest_year") > pl.col("target_year")
    partial = pl.col("observations_used") < (pl.col("latest_year") - pl.col("baseline_year"))
    parts = [
        pl.format("目标{}年{}{}{}", pl.col("target_year"),
                  pl.col("comparator").replace_strict(COMPARATOR_SIGNS, default=""), _number(pl.col("target_value")), unit),
        pl.format("基期{}年{}{}", pl.col("baseline_year"), _number(pl.col("baseline_value")), unit),
        pl.format("{}年{}{}{}", pl.col("latest_year"),
                  pl.col("measure").replace_strict(MEASURE_LABELS_ZH, default="实际"), _number(pl.col("latest_value")), unit),
        pl.when(judged_late).then(pl.format("{}年无数据，按{}年判断", pl.col("target_year"), pl.col("latest_year"))),
        pl.when(partial & pl.col("measure").is_in(["cumulative", "rate", "rate_total"])).then(
            pl.format("基期后{}年中仅{}年有数据", pl.col("latest_year") - pl.col("baseline_year"),
                      pl.col("observations_used"))),
        pl.format("序时进度应达{}，时间进度{}，完成进度{}，差距{}", _number(pl.col("expected_value")),
                  _percent(pl.col("time_progress")), _percent(pl.col("done_progress")), _number(pl.col("gap"))),
        pl.format("年均增速实际{}、所需{}，比值{}（{}）", _percent(pl.col("actual_growth")),
                  _percent(pl.col("required_growth")), _number(pl.col("growth_ratio")),
                  pl.col("growth_category").replace_strict(GROWTH_CATEGORIES_ZH, default=None)),
        pl.format("按{}点趋势外推{}年为{}，{}{}", pl.col("projection_points"), pl.col("target_year"),
                  _number(pl.col("projected_value")),
                  pl.when(pl.col("will_meet")).then(pl.lit("可达标")).otherwise(pl.lit("难以达标")),
                  pl.when(pl.col("projection_points") < WEAK_PROJECTION_BELOW)
                  .then(pl.lit("（不足3点，外推仅供参考）")).otherwise(pl.lit(""))),
    ]
    return pl.concat_str([
        pl.col("rule").replace_strict(RULES, default=pl.col("rule")),
        pl.concat_str(parts, separator="；", ignore_nulls=True),
    ], separator="：")
