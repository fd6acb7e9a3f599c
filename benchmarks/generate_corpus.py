"""A synthetic national corpus for the Planwatch benchmarks, in the raw-folder layout Planwatch reads.

    python -m benchmarks.generate_corpus --regions 2900 --out benchmarks/out/corpus_2900

For N county-level regions (3 for a smoke run, ~100 for a province, 2,900 for China) it writes

- reference/regions.csv: the counties with their prefectures and provinces, GB/T 2260-shaped codes
  (province PP0000, prefecture PPCC00, county PPCCxx: 01-20 districts, 21-80 counties, 81-99 cities),
  invented names and the aliases texts use;
- reference/indicators.csv: the real indicator catalog (the extractor matches against it);
- statistics/: 40 indicators x 10 years (2016-2025) per region, long files (one per province, the
  columns of data/raw/statistics/real_stats.csv) and, for every fourth province, yearbook-wide files
  (one per prefecture: region, indicator, unit, then one column per year);
- plans/*.txt + plans/manifest.csv: per region a five-year plan, a special plan, two government
  work reports and two statistical bulletins (the mix is adjustable), written from varied sentence
  patterns with the region's own numbers, main-indicator tables in three layouts seen in the seeds
  (pipe rows, one cell per line, tab-separated), and prose sentences taken from the seed texts;
- alert_routing.csv.

Every number comes from one model of each region's economy (size, growth, trends), drawn from a
generator seeded by (seed, region number): the same seed gives the same bytes, and the corpus for
100 regions is the first 100 regions of the corpus for 2,900.
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import random
import re
import shutil
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

REPO_ROOT = Path(__file__).resolve().parents[1]
SEED_RAW = REPO_ROOT / "data" / "raw"
SIZES = {"smoke": 3, "province": 100, "large": 1000, "national": 2900}
BASE_YEAR, PLAN_START, PLAN_END, LAST_YEAR = 2015, 2021, 2025, 2025
STAT_YEARS = list(range(2016, LAST_YEAR + 1))  # the ten published years
MODEL_YEARS = list(range(BASE_YEAR, LAST_YEAR + 1))  # 2015 is the 十三五 baseline the texts cite
PROVINCE_PREFIXES = ("11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41",
                     "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65")
DEFAULT_MIX = {"five_year_plan": 1, "special_plan": 1, "work_report": 2, "bulletin": 2}
NAME_FIRST = "安宝昌崇丹德东丰福阜高广桂和恒红怀嘉建金晋景靖乐蓝黎临龙鹿罗茂梅敏宁浦齐清庆瑞沙邵松泰桐万望武夏湘兴秀宣义永玉元岳云漳肇舟"
NAME_SECOND = "安宝滨昌城川丹都峰丰冈港和湖津康林陵宁浦桥泉顺台潭亭溪峡阳源岳州庄"


@dataclass(frozen=True)
class Indicator:
    """How one indicator behaves across regions and years.

    model: ``level`` grows by a yearly rate from a region-specific start (``scales``: in proportion to
    the region's size); ``additive`` moves by a yearly step, kept inside [low, high]; ``rate`` is a
    yearly rate scattered around ``base``."""

    key: str
    model: str
    base: float  # 2015 value of a middling county
    trend: float  # level: yearly growth; additive: yearly step
    spread: float  # between regions: level = sd of log; additive, rate = sd
    decimals: int
    scales: bool = False
    low: float = 0.0
    high: float = math.inf


INDICATORS = (
    Indicator("gdp", "level", 300, 0.07, 0.25, 2, scales=True),
    Indicator("gdp_growth", "rate", 6.8, 0, 1.2, 1),
    Indicator("gdp_per_capita", "level", 60000, 0.065, 0.35, 0),
    Indicator("value_added_primary", "level", 30, 0.03, 0.6, 2, scales=True),
    Indicator("value_added_secondary", "level", 130, 0.06, 0.3, 2, scales=True),
    Indicator("value_added_tertiary", "level", 140, 0.08, 0.3, 2, scales=True),
    Indicator("industry_share_tertiary", "additive", 45, 0.8, 6, 1, high=72),
    Indicator("general_public_budget_revenue", "level", 25, 0.06, 0.45, 2, scales=True),
    Indicator("tax_revenue", "level", 20, 0.06, 0.45, 2, scales=True),
    Indicator("general_public_budget_expenditure", "level", 45, 0.05, 0.3, 2, scales=True),
    Indicator("fixed_asset_investment", "level", 250, 0.05, 0.35, 1, scales=True),
    Indicator("retail_sales_consumer_goods", "level", 120, 0.07, 0.3, 2, scales=True),
    Indicator("import_export_total", "level", 20, 0.06, 1.0, 2, scales=True),
    Indicator("foreign_capital_actual_use", "level", 1.5, 0.04, 0.8, 2, scales=True),
    Indicator("industrial_value_added_above_scale", "level", 90, 0.07, 0.4, 2, scales=True),
    Indicator("disposable_income_per_capita", "level", 25000, 0.075, 0.3, 0),
    Indicator("disposable_income_urban", "level", 33000, 0.07, 0.25, 0),
    Indicator("disposable_income_rural", "level", 15000, 0.085, 0.3, 0),
    Indicator("resident_population", "level", 50, 0.004, 0.1, 2, scales=True),
    Indicator("urbanization_rate_resident", "additive", 55, 1.0, 10, 1, high=92),
    Indicator("rd_expenditure_share_gdp", "additive", 2.0, 0.08, 0.6, 2, low=0.3),
    Indicator("invention_patents_per_10k_people", "level", 8, 0.12, 0.6, 1),
    Indicator("national_high_tech_enterprises", "level", 60, 0.15, 0.6, 0, scales=True),
    Indicator("tourist_arrivals", "level", 500, 0.08, 0.7, 0, scales=True),
    Indicator("pm25_concentration", "level", 45, -0.05, 0.25, 0),
    Indicator("air_quality_good_days_ratio", "additive", 80, 0.8, 6, 1, high=98.5),
    Indicator("surface_water_class_i_iii_ratio", "additive", 75, 1.5, 10, 1, high=100),
    Indicator("forest_coverage", "additive", 25, 0.2, 12, 2, low=2),
    Indicator("energy_intensity_decline", "rate", 3.2, 0, 1.0, 1),
    Indicator("urban_sewage_treatment_rate", "additive", 88, 1.0, 4, 1, high=99),
    Indicator("domestic_waste_harmless_treatment_rate", "additive", 95, 0.8, 2, 1, high=100),
    Indicator("urban_registered_unemployment_rate", "rate", 2.8, 0, 0.4, 2),
    Indicator("basic_pension_insurance_coverage_rate", "additive", 92, 0.6, 2, 1, high=99.5),
    Indicator("basic_medical_insurance_coverage_rate", "additive", 95, 0.4, 1.5, 1, high=99.8),
    Indicator("life_expectancy", "additive", 78, 0.2, 1.5, 2),
    Indicator("avg_years_schooling_working_age", "additive", 10.5, 0.1, 0.6, 1),
    Indicator("hospital_beds_per_1000", "additive", 5.0, 0.15, 0.8, 2),
    Indicator("doctors_per_1000", "additive", 2.5, 0.1, 0.4, 2),
    Indicator("elderly_care_beds_per_1000_elderly", "additive", 35, 1.0, 5, 0),
    Indicator("hospital_beds", "level", 2500, 0.04, 0.3, 0, scales=True),
)
BINDING = {"pm25_concentration", "air_quality_good_days_ratio", "surface_water_class_i_iii_ratio", "forest_coverage",
           "energy_intensity_decline", "basic_pension_insurance_coverage_rate"}
CATEGORY = {  # the 类别 column of a main-indicator table, and the theme of a special plan
    "经济发展": ("gdp", "gdp_growth", "gdp_per_capita", "industry_share_tertiary", "general_public_budget_revenue",
             "fixed_asset_investment", "retail_sales_consumer_goods", "import_export_total",
             "industrial_value_added_above_scale", "urbanization_rate_resident"),
    "创新驱动": ("rd_expenditure_share_gdp", "invention_patents_per_10k_people", "national_high_tech_enterprises",
             "avg_years_schooling_working_age"),
    "民生福祉": ("disposable_income_per_capita", "disposable_income_urban", "disposable_income_rural",
             "urban_registered_unemployment_rate", "basic_pension_insurance_coverage_rate",
             "basic_medical_insurance_coverage_rate", "life_expectancy", "hospital_beds_per_1000", "doctors_per_1000",
             "elderly_care_beds_per_1000_elderly"),
    "绿色生态": ("pm25_concentration", "air_quality_good_days_ratio", "surface_water_class_i_iii_ratio",
             "forest_coverage", "energy_intensity_decline", "urban_sewage_treatment_rate",
             "domestic_waste_harmless_treatment_rate"),
}
SPECIAL_PLANS = {  # theme -> (title words, category)
    "生态环境保护": "绿色生态", "科技创新": "创新驱动", "卫生健康": "民生福祉", "新型城镇化": "经济发展",
}


# ---------------------------------------------------------------------------------------------------------
# Regions


def _name_stems(count: int, seed: int, banned_text: str) -> list[str]:
    """``count`` distinct two-character place-name stems that occur nowhere in ``banned_text``."""
    stems = [a + b for a in NAME_FIRST for b in NAME_SECOND if a != b and a + b not in banned_text]
    random.Random(seed).shuffle(stems)
    if count > len(stems):  # past ~1,900 names: three characters
        stems += [s + c for s in stems for c in NAME_SECOND if s[-1] != c and s + c not in banned_text]
    if count > len(stems):
        raise ValueError(f"cannot invent {count} distinct region names")
    return stems[:count]


def build_regions(counties: int, seed: int, banned_text: str) -> pl.DataFrame:
    """Provinces, prefectures and ``counties`` county-level regions (REGION_SCHEMA plus ``stem``)."""
    provinces = min(len(PROVINCE_PREFIXES), max(1, math.ceil(counties / 94)))
    per_province = [len(a) for a in np.array_split(np.arange(counties), provinces)]
    prefectures = [max(1, math.ceil(n / 9)) for n in per_province]
    stems = iter(_name_stems(provinces + sum(prefectures) + counties, seed, banned_text))
    rows = []
    for p, (n_counties, n_prefectures) in enumerate(zip(per_province, prefectures, strict=True)):
        p_code, p_stem = f"{PROVINCE_PREFIXES[p]}0000", next(stems)
        rows.append((p_code, f"{p_stem}省", "province", None, p_stem, p_stem))
        for c, size in enumerate(len(a) for a in np.array_split(np.arange(n_counties), n_prefectures)):
            c_code, c_stem = f"{PROVINCE_PREFIXES[p]}{c + 1:02d}00", next(stems)
            c_name = f"{c_stem}市"
            rows.append((c_code, c_name, "prefecture", p_code, c_stem, c_stem))
            for k in range(size):
                stem = next(stems)
                kind, number = (("区", 2 + k) if k < 2 else ("县", 19 + k) if k < 6 else ("市", 75 + k))
                name = f"{stem}{kind}"
                aliases = "|".join((stem, f"{c_name}{name}", f"{c_stem}{name}", f"{p_stem}省{name}"))
                rows.append((f"{c_code[:4]}{number:02d}", name, "county", c_code, aliases, stem))
    return pl.DataFrame(rows, schema=["region_code", "name_zh", "level", "parent_code", "aliases", "stem"], orient="row")


# ---------------------------------------------------------------------------------------------------------
# Numbers: one model per region, vectorized over regions x indicators x years


def region_draws(seed: int, region: int) -> dict[str, np.ndarray]:
    """All random numbers of one region, from its own generator (so a region never depends on N)."""
    rng = np.random.default_rng([seed, region])
    n, years = len(INDICATORS), len(MODEL_YEARS)
    return {
        "size": rng.normal(0, 0.8, 1),
        "start": rng.normal(0, 1, n),
        "trend": rng.normal(0, 1, n),
        "yearly": rng.normal(0, 1, (n, years)),
        "ambition": rng.normal(0, 1, n),
    }


def model_values(seed: int, regions: int) -> tuple[np.ndarray, np.ndarray]:
    """(values[region, indicator, year over MODEL_YEARS], plan targets for PLAN_END[region, indicator])."""
    draws = [region_draws(seed, r) for r in range(regions)]
    stack = {k: np.stack([d[k] for d in draws]) for k in draws[0]}
    base = np.array([i.base for i in INDICATORS])
    trend = np.array([i.trend for i in INDICATORS])
    spread = np.array([i.spread for i in INDICATORS])
    scales = np.array([i.scales for i in INDICATORS])
    low, high = np.array([i.low for i in INDICATORS]), np.array([i.high for i in INDICATORS])
    model = np.array([i.model for i in INDICATORS])
    t = np.arange(len(MODEL_YEARS))

    # level: start x size, compounding a region-specific growth with yearly noise
    start = base * np.exp(spread * stack["start"] + np.where(scales, stack["size"], 0.0))
    growth = trend + 0.25 * np.abs(trend) * stack["trend"]
    yearly_growth = growth[:, :, None] + 0.01 * stack["yearly"]
    yearly_growth[:, :, 0] = 0.0
    level = start[:, :, None] * np.cumprod(1 + yearly_growth, axis=2)
    # additive: start plus a region-specific yearly step, inside the indicator's bounds
    step = trend * (1 + 0.4 * stack["trend"])
    additive = base + spread * stack["start"]
    additive = additive[:, :, None] + step[:, :, None] * t + 0.02 * spread[None, :, None] * stack["yearly"]
    # rate: scattered around its base, a little per region and more per year
    rate = (base + 0.5 * spread * stack["start"])[:, :, None] + 0.7 * spread[None, :, None] * stack["yearly"]
    kind = model[None, :, None]
    values = np.where(kind == "level", level, np.where(kind == "additive", additive, rate))
    values = np.clip(values, low[None, :, None], high[None, :, None])

    # The plan's 2025 target: the 2020 value carried forward at a pace the region hopes for,
    # sometimes more ambitious than what happens, sometimes less.
    at_2020 = values[:, :, MODEL_YEARS.index(2020)]
    hope = 1 + 0.25 * stack["ambition"]
    target = np.where(
        model == "level", at_2020 * (1 + growth * hope) ** 5,
        np.where(model == "additive", at_2020 + 5 * step * hope, base + 0.3 * spread * stack["ambition"]),
    )
    target = np.clip(target, low, high)
    return values, target


def rounded(values: np.ndarray, decimals: Sequence[int], axis: int) -> np.ndarray:
    shape = [1] * values.ndim
    shape[axis] = len(decimals)
    factor = (10.0 ** np.array(decimals)).reshape(shape)
    return np.round(values * factor) / factor


def statistics_frame(regions: pl.DataFrame, values: np.ndarray, catalog: pl.DataFrame) -> pl.DataFrame:
    """Long rows region x indicator x year over STAT_YEARS."""
    counties = regions.filter(pl.col("level") == "county")
    first = MODEL_YEARS.index(STAT_YEARS[0])
    published = rounded(values[:, :, first:], [i.decimals for i in INDICATORS], axis=1)
    n_regions, n_ind, n_years = published.shape
    index = np.indices(published.shape).reshape(3, -1)
    units = catalog.select("indicator_key", "name_zh", "unit")
    return (
        pl.DataFrame({
            "region_index": index[0], "indicator_index": index[1],
            "year": np.array(STAT_YEARS)[index[2]], "value": published.ravel(),
        })
        .with_columns(
            pl.col("region_index").replace_strict(range(n_regions), counties["name_zh"]).alias("region"),
            pl.col("region_index").replace_strict(range(n_regions), counties["region_code"]).alias("region_code"),
            pl.col("indicator_index").replace_strict(range(n_ind), [i.key for i in INDICATORS]).alias("indicator_key"),
            pl.col("indicator_index").replace_strict(range(n_ind), [i.decimals for i in INDICATORS]).alias("decimals"),
        )
        .join(units, on="indicator_key", how="left")
        .rename({"name_zh": "indicator_text"})
    )


def _value_text(value: pl.Expr, decimals: pl.Expr) -> pl.Expr:
    """The number as a statistician writes it: the indicator's decimals, no trailing '.0' on whole numbers."""
    return (
        pl.when(decimals == 0).then(value.round(0).cast(pl.Int64).cast(pl.String))
        .otherwise(value.round(2).cast(pl.String))
    )


def write_statistics(stats: pl.DataFrame, regions: pl.DataFrame, out: Path) -> list[Path]:
    """Long files per province; every fourth province also as yearbook-wide files per prefecture."""
    out.mkdir(parents=True, exist_ok=True)
    parents = regions.select(
        pl.col("region_code"), pl.col("parent_code").alias("prefecture_code"),
        (pl.col("region_code").str.slice(0, 2) + "0000").alias("province_code"),
    )
    stats = stats.join(parents, on="region_code").with_columns(_value_text(pl.col("value"), pl.col("decimals")).alias("value_text"))
    provinces = stats["province_code"].unique().sort().to_list()
    wide_provinces = set(provinces[3::4])
    long = stats.filter(~pl.col("province_code").is_in(wide_provinces)).with_columns(
        (pl.col("year").cast(pl.String) + "年" + pl.col("region") + "国民经济和社会发展统计公报").alias("source_title"),
        pl.lit(None, pl.String).alias("source_url"),
        pl.lit("synthetic benchmark corpus (benchmarks/generate_corpus.py)").alias("source_note"),
        (pl.col("indicator_text") + pl.col("value_text") + pl.col("unit").fill_null("")).alias("quote"),
    )
    written = []
    for (province,), part in long.sort("province_code", "region_code", "indicator_index", "year").group_by(
            "province_code", maintain_order=True):
        path = out / f"stats_{province}.csv"
        part.select("region", "indicator_key", "indicator_text", "year", pl.col("value_text").alias("value"), "unit",
                    "source_title", "source_url", "source_note", "quote").write_csv(path)
        written.append(path)
    wide = (
        stats.filter(pl.col("province_code").is_in(wide_provinces))
        .sort("prefecture_code", "region_code", "indicator_index", "year")
        .pivot(on="year", index=["prefecture_code", "region", "indicator_text", "unit"], values="value_text")
    )
    for (prefecture,), part in wide.group_by("prefecture_code", maintain_order=True):
        path = out / f"yearbook_{prefecture}.csv"
        part.drop("prefecture_code").rename({"region": "地区", "indicator_text": "指标", "unit": "单位"}).write_csv(path)
        written.append(path)
    return written


# ---------------------------------------------------------------------------------------------------------
# Texts


def filler_sentences(seed_plans: Path, region_names: list[str]) -> list[str]:
    """Prose sentences of the seed texts without any figure, with their place names replaced by {R}."""
    names = sorted({n for n in region_names if len(n) >= 2}, key=len, reverse=True)
    place = re.compile("|".join(map(re.escape, names)))
    sentences = []
    for path in sorted(seed_plans.glob("*.txt")):
        for line in path.read_text(encoding="utf-8").split("\n"):
            for sentence in re.split(r"(?<=[。;!])", line.strip()):
                if 20 <= len(sentence) <= 160 and sentence.endswith("。") and not re.search(r"[0-9０-９|%]", sentence):
                    sentences.append(place.sub("{R}", sentence))
    return sorted(set(sentences))


@dataclass
class RegionText:
    """Everything the writers need about one region."""

    code: str
    name: str
    stem: str
    prefecture: str
    area: str  # 全区 / 全县 / 全市
    values: np.ndarray  # [indicator, MODEL_YEARS]
    target: np.ndarray  # [indicator] for PLAN_END
    rng: random.Random


class Writer:
    """Sentence patterns for figures, shared by every document type."""

    def __init__(self, catalog: pl.DataFrame, filler: list[str]):
        self.filler = filler
        by_key = {r["indicator_key"]: r for r in catalog.iter_rows(named=True)}
        self.meta = {}
        for i, ind in enumerate(INDICATORS):
            row = by_key[ind.key]
            aliases = [a for a in (row["aliases"] or "").split("|") if a]
            self.meta[ind.key] = {
                "index": i, "name": row["name_zh"], "names": [row["name_zh"], *aliases[:4]],
                "unit": row["unit"] or "", "direction": row["direction"], "ind": ind,
            }

    # -- small pieces --------------------------------------------------------------------------------
    def name(self, r: RegionText, key: str) -> str:
        names = self.meta[key]["names"]
        return names[0] if r.rng.random() < 0.6 else r.rng.choice(names)

    def number(self, key: str, value: float) -> str:
        decimals = self.meta[key]["ind"].decimals
        return f"{value:.{decimals}f}" if decimals else f"{round(value)}"

    def amount(self, r: RegionText, key: str, value: float) -> str:
        """Value with its unit, sometimes in a neighbouring unit (元 as 万元, 亿元 as 万元)."""
        unit = self.meta[key]["unit"]
        if unit == "元" and value >= 10000 and r.rng.random() < 0.4:
            return f"{value / 10000:.2f}万元"
        if unit == "亿元" and value < 10 and r.rng.random() < 0.3:
            return f"{round(value * 10000)}万元"
        return f"{self.number(key, value)}{unit}"

    def value(self, r: RegionText, key: str, year: int) -> float:
        return float(r.values[self.meta[key]["index"], MODEL_YEARS.index(year)])

    def growth(self, r: RegionText, key: str, year: int, since: int) -> float:
        now, then = self.value(r, key, year), self.value(r, key, since)
        return ((now / then) ** (1 / (year - since)) - 1) * 100 if then > 0 else 0.0

    def prose(self, r: RegionText, sentences: int) -> str:
        return "".join(r.rng.choice(self.filler) for _ in range(sentences)).replace("{R}", r.stem)

    def paragraphs(self, r: RegionText, count: int) -> list[str]:
        return [self.prose(r, r.rng.randint(3, 7)) for _ in range(count)]

    # -- figures in sentences ------------------------------------------------------------------------
    def actual(self, r: RegionText, key: str, year: int, since: int | None = None) -> str:
        ind = self.meta[key]["ind"]
        name, v = self.name(r, key), self.value(r, key, year)
        if ind.model == "rate":
            return r.rng.choice([f"{name}{self.number(key, v)}%", f"{name}达到{self.number(key, v)}%"])
        patterns = [f"{name}达到{self.amount(r, key, v)}", f"实现{name}{self.amount(r, key, v)}",
                    f"{name}{self.amount(r, key, v)}"]
        if since is not None and ind.model == "level":
            g = self.growth(r, key, year, since)
            patterns += [
                f"{name}由{since}年的{self.amount(r, key, self.value(r, key, since))}提高到{year}年的{self.amount(r, key, v)}",
                f"{name}达到{self.amount(r, key, v)},年均{'增长' if g >= 0 else '下降'}{abs(g):.1f}%",
                f"{name}{self.amount(r, key, v)},是{since}年的{v / self.value(r, key, since):.2f}倍",
            ]
        elif ind.model == "level":
            g = (v / self.value(r, key, year - 1) - 1) * 100
            change = "增长" if g >= 0 else "下降"
            patterns += [f"{name}{self.amount(r, key, v)},比上年{change}{abs(g):.1f}%",
                         f"{name}{self.amount(r, key, v)}、{change}{abs(g):.1f}%"]
        return r.rng.choice(patterns)

    def target(self, r: RegionText, key: str) -> str:
        ind, meta = self.meta[key]["ind"], self.meta[key]
        name, t = self.name(r, key), float(r.target[meta["index"]])
        lower = meta["direction"] == "lower_better"
        if ind.model == "rate":
            return r.rng.choice([f"{name}{self.number(key, t)}%左右", f"{name}保持在{self.number(key, t)}%以上",
                                 f"“十四五”期间{name}年均{self.number(key, t)}%"])
        if lower:
            return r.rng.choice([f"到{PLAN_END}年,{name}控制在{self.amount(r, key, t)}以内",
                                 f"{name}下降到{self.amount(r, key, t)}", f"{name}不高于{self.amount(r, key, t)}"])
        patterns = [f"到{PLAN_END}年,{name}达到{self.amount(r, key, t)}", f"{name}提高到{self.amount(r, key, t)}以上",
                    f"力争{name}突破{self.amount(r, key, t)}", f"{name}保持在{self.amount(r, key, t)}以上"]
        if ind.model == "level":
            g = ((t / self.value(r, key, 2020)) ** 0.2 - 1) * 100
            if g > 0:
                patterns.append(f"{name}年均增长{g:.1f}%左右")
        return r.rng.choice(patterns)

    # -- tables --------------------------------------------------------------------------------------
    def indicator_table(self, r: RegionText, title: str, keys: list[str]) -> list[str]:
        header = ["类别", "序号", "指标", "单位", "2020年", f"{PLAN_END}年", "属性"]
        rows, number = [], 0
        for category, members in CATEGORY.items():
            for key in members:
                if key not in keys:
                    continue
                number += 1
                meta = self.meta[key]
                unit = "%" if meta["ind"].model == "rate" else meta["unit"]
                rows.append([category, str(number), meta["name"], unit, self.number(key, self.value(r, key, 2020)),
                             self.number(key, float(r.target[meta["index"]])),
                             "约束性" if key in BINDING else "预期性"])
        layout = r.rng.choice(("pipe", "cells", "tabs"))
        lines = [title]
        if layout == "pipe":
            lines += [" | ".join(row) + " |" for row in [header, *rows]]
        elif layout == "tabs":
            lines += ["\t".join(row) for row in [header, *rows]]
        else:  # one cell per line, blank lines between, as text copied out of a PDF table
            for row in [header, *rows]:
                for cell in row:
                    lines += [cell, ""]
        return lines

    # -- documents -----------------------------------------------------------------------------------
    def five_year_plan(self, r: RegionText, filler: int) -> tuple[str, str]:
        title = f"{r.name}国民经济和社会发展第十四个五年规划和二〇三五年远景目标纲要"
        keys = [i.key for i in INDICATORS]
        lines = [title, "", "第一章 发展基础", self.prose(r, 3)]
        review = r.rng.sample(keys, 14)
        for start in range(0, len(review), 3):
            figures = ";".join(self.actual(r, k, 2020, since=BASE_YEAR) for k in review[start:start + 3])
            lines.append(f"“十三五”时期,{r.area}{figures}。" + self.prose(r, 2))
        lines += self.paragraphs(r, filler // 4)
        lines += ["", "第二章 发展目标", self.prose(r, 2)]
        table_keys = sorted(r.rng.sample(keys, r.rng.randint(18, 26)), key=keys.index)
        lines += self.indicator_table(r, f"{r.name}“十四五”经济社会发展主要指标", table_keys) + [""]
        chapters = ("坚持创新驱动发展", "加快构建现代产业体系", "推进城乡融合发展", "建设美丽{R}", "增进民生福祉")
        for number, chapter in enumerate(chapters, start=3):
            lines.append(f"第{'一二三四五六七八九十'[number - 1]}章 {chapter.replace('{R}', r.stem)}")
            for _ in range(filler // len(chapters)):
                paragraph = self.prose(r, r.rng.randint(2, 5))
                if r.rng.random() < 0.35:
                    paragraph += ";".join(self.target(r, k) for k in r.rng.sample(keys, r.rng.randint(1, 2))) + "。"
                lines.append(paragraph)
        return title, "\n".join(lines) + "\n"

    def special_plan(self, r: RegionText, filler: int) -> tuple[str, str]:
        theme = r.rng.choice(list(SPECIAL_PLANS))
        title = f"{r.name}{theme}“十四五”规划"
        keys = list(CATEGORY[SPECIAL_PLANS[theme]])
        lines = [title, "", "一、发展现状", self.prose(r, 2)]
        lines.append(f"“十三五”以来,{r.area}" + ";".join(self.actual(r, k, 2020, since=BASE_YEAR)
                                                         for k in r.rng.sample(keys, 3)) + "。")
        lines += self.paragraphs(r, filler // 3)
        lines += ["二、主要目标", f"到{PLAN_END}年," + ";".join(self.target(r, k) for k in keys[:4]) + "。"]
        lines += self.indicator_table(r, f"{r.name}{theme}“十四五”主要指标", keys) + [""]
        lines += ["三、重点任务"]
        for paragraph in self.paragraphs(r, filler - filler // 3):
            lines.append(paragraph + (self.target(r, r.rng.choice(keys)) + "。" if r.rng.random() < 0.2 else ""))
        return title, "\n".join(lines) + "\n"

    def work_report(self, r: RegionText, year: int, filler: int) -> tuple[str, str]:
        title = f"{r.name}{year}年政府工作报告"
        keys = [i.key for i in INDICATORS]
        last = year - 1
        lines = [title, "", f"——{year}年1月在{r.name}人民代表大会上", "", "各位代表:", self.prose(r, 2),
                 f"一、{last}年工作回顾"]
        figures = ";".join(self.actual(r, k, last) for k in r.rng.sample(keys, 8))
        lines.append(f"预计全年{figures}。")
        lines += self.paragraphs(r, filler // 2)
        growth = ["gdp", "general_public_budget_revenue", "retail_sales_consumer_goods", "fixed_asset_investment",
                  "disposable_income_per_capita"]
        goals = [f"{self.name(r, k)}增长{max(0.5, (self.value(r, k, year) / self.value(r, k, last) - 1) * 100 + r.rng.uniform(-1, 1)):.1f}%左右"
                 for k in growth]
        goals.append(f"城镇登记失业率控制在{self.number('urban_registered_unemployment_rate', self.value(r, 'urban_registered_unemployment_rate', year) + 0.5)}%以内")
        lines += [f"二、{year}年主要目标任务", f"今年经济社会发展的主要预期目标是:{';'.join(goals)}。"]
        lines += self.paragraphs(r, filler - filler // 2)
        return title, "\n".join(lines) + "\n"

    def bulletin(self, r: RegionText, year: int, filler: int) -> tuple[str, str]:
        title = f"{r.name}{year}年国民经济和社会发展统计公报"
        keys = [i.key for i in INDICATORS if i.key != "gdp_growth"]
        lines = [title, "", f"{r.name}统计局", "", "一、综合"]
        gdp, g = self.value(r, "gdp", year), self.value(r, "gdp_growth", year)
        lines.append(f"初步核算,全年实现地区生产总值{self.number('gdp', gdp)}亿元,按可比价格计算,比上年增长{g:.1f}%。" + self.prose(r, 1))
        for section in ("二、工业和投资", "三、国内贸易和对外经济", "四、财政和人民生活", "五、科技、教育和卫生", "六、资源和环境"):
            lines.append(section)
            lines.append(";".join(self.actual(r, k, year) for k in r.rng.sample(keys, 5)) + "。" + self.prose(r, 1))
            lines += self.paragraphs(r, filler // 5)
        lines.append("主要指标 | 绝对值 | 比上年增长(%) |")
        for key in r.rng.sample([i.key for i in INDICATORS if i.model == "level"], 6):
            v, before = self.value(r, key, year), self.value(r, key, year - 1)
            lines.append(f"{self.meta[key]['name']}({self.meta[key]['unit']}) | {self.number(key, v)} | {(v / before - 1) * 100:.1f} |")
        return title, "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Job:
    """One worker's share: regions [start, stop) and everything needed to write their documents."""

    start: int
    stop: int
    seed: int
    out: str
    mix: tuple[tuple[str, int], ...]
    filler: int
    regions: pl.DataFrame
    values: np.ndarray
    target: np.ndarray
    catalog: pl.DataFrame
    sentences: list[str]


def write_documents(job: Job) -> list[tuple[str, str, str, str, int, str]]:
    """Write the documents of regions [start, stop); returns their manifest rows."""
    writer = Writer(job.catalog, job.sentences)
    counties = job.regions.filter(pl.col("level") == "county")
    names = dict(zip(job.regions["region_code"], job.regions["name_zh"], strict=True))
    manifest = []
    mix = dict(job.mix)
    for index in range(job.start, job.stop):
        row = counties.row(index, named=True)
        area = {"区": "全区", "县": "全县", "市": "全市"}[row["name_zh"][-1]]
        r = RegionText(row["region_code"], row["name_zh"], row["stem"], names[row["parent_code"]], area,
                       job.values[index], job.target[index], random.Random(f"{job.seed}-{index}"))
        docs = []
        for _ in range(mix.get("five_year_plan", 0)):
            docs.append(("five_year_plan", "十四五", PLAN_START, *writer.five_year_plan(r, job.filler * 8)))
        for _ in range(mix.get("special_plan", 0)):
            docs.append(("special_plan", "十四五", PLAN_START, *writer.special_plan(r, job.filler * 3)))
        for n in range(mix.get("work_report", 0)):
            year = LAST_YEAR - 1 - n
            docs.append(("work_report", "", year, *writer.work_report(r, year, job.filler * 3)))
        for n in range(mix.get("bulletin", 0)):
            year = LAST_YEAR - 2 - n
            docs.append(("bulletin", "", year, *writer.bulletin(r, year, job.filler)))
        for number, (doc_type, period, year, title, text) in enumerate(docs):
            file = f"{r.code}_{number:02d}_{doc_type}_{year}.txt"
            (Path(job.out) / file).write_text(text, encoding="utf-8")
            manifest.append((file, r.name, doc_type, period, year, title))
    return manifest


# ---------------------------------------------------------------------------------------------------------


def generate(out: Path, regions: int, seed: int = 2026, mix: dict[str, int] | None = None, filler: int = 6,
             jobs: int = 1) -> dict:
    """Write a corpus for ``regions`` county-level regions under ``out`` (replaced); returns a summary."""
    started = time.perf_counter()
    out = Path(out)
    if out.exists():
        shutil.rmtree(out)
    (out / "plans").mkdir(parents=True)
    (out / "reference").mkdir()
    catalog_path = SEED_RAW / "reference" / "indicators.csv"
    shutil.copyfile(catalog_path, out / "reference" / "indicators.csv")
    catalog = pl.read_csv(catalog_path, infer_schema=False).rename({"key": "indicator_key"})
    missing = {i.key for i in INDICATORS} - set(catalog["indicator_key"])
    if missing:
        raise ValueError(f"indicators missing from the catalog: {sorted(missing)}")

    seed_regions = pl.read_csv(SEED_RAW / "reference" / "regions.csv", infer_schema=False)
    seed_names = [*seed_regions["name_zh"], *(a for s in seed_regions["aliases"].drop_nulls() for a in s.split("|"))]
    sentences = filler_sentences(SEED_RAW / "plans", seed_names)
    banned = "".join(sentences) + "".join(catalog["name_zh"]) + "".join(catalog["aliases"].fill_null(""))
    region_table = build_regions(regions, seed, banned)
    region_table.drop("stem").write_csv(out / "reference" / "regions.csv")

    values, target = model_values(seed, regions)
    stats = statistics_frame(region_table, values, catalog)
    write_statistics(stats, region_table, out / "statistics")

    mix = mix or DEFAULT_MIX
    bounds = np.array_split(np.arange(regions), max(1, min(jobs, regions) * 4))
    work = [Job(int(b[0]), int(b[-1]) + 1, seed, str(out / "plans"), tuple(mix.items()), filler, region_table,
                values, target, catalog, sentences) for b in bounds if len(b)]
    if jobs > 1:
        # spawn, not fork: forking a process whose polars thread pool is running can deadlock
        with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
            manifests = list(pool.map(write_documents, work))
    else:
        manifests = [write_documents(job) for job in work]
    rows = [row for part in manifests for row in part]
    pl.DataFrame(rows, schema=["file", "region", "doc_type", "period", "year", "title"], orient="row").write_csv(
        out / "plans" / "manifest.csv")

    prefectures = region_table.filter(pl.col("level") == "prefecture")
    routing = pl.concat([
        pl.DataFrame({"region": ["*"], "category": ["*"], "recipient": ["planning-office@planwatch.example"],
                      "name": ["规划处(默认)"]}),
        prefectures.select(pl.col("name_zh").alias("region"), pl.lit("*").alias("category"),
                           ("fgw-" + pl.col("region_code") + "@planwatch.example").alias("recipient"),
                           (pl.col("name_zh") + "发改委").alias("name")),
    ])
    routing.write_csv(out / "alert_routing.csv")
    text_bytes = sum(p.stat().st_size for p in (out / "plans").glob("*.txt"))
    return {"regions": regions, "documents": len(rows), "text_mb": round(text_bytes / 1e6, 1),
            "statistics_rows": stats.height, "seconds": round(time.perf_counter() - started, 1), "out": str(out)}


def parse_mix(text: str) -> dict[str, int]:
    """'five_year_plan=1,special_plan=1,work_report=2,bulletin=2' -> dict."""
    mix = {}
    for part in filter(None, text.split(",")):
        kind, _, count = part.partition("=")
        if kind not in DEFAULT_MIX or not count.isdigit():
            raise argparse.ArgumentTypeError(f"bad document mix entry {part!r}; kinds: {', '.join(DEFAULT_MIX)}")
        mix[kind] = int(count)
    return mix


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--regions", default="smoke",
                        help=f"county-level regions: a number or one of {', '.join(f'{k}={v}' for k, v in SIZES.items())}")
    parser.add_argument("--out", type=Path, required=True, help="raw folder to write (replaced)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--mix", type=parse_mix, default=None,
                        help="documents per region, e.g. five_year_plan=1,special_plan=1,work_report=2,bulletin=2")
    parser.add_argument("--filler", type=int, default=6, help="prose paragraphs per unit of document length")
    parser.add_argument("--jobs", type=int, default=1, help="worker processes")
    args = parser.parse_args(argv)
    regions = SIZES.get(args.regions) or int(args.regions)
    print(generate(args.out, regions, args.seed, args.mix, args.filler, args.jobs))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
