-- v_observation_chosen: the figure the latest run chose for each region, indicator and year, out of
-- every figure ever stored for it (the observation table keeps them all), with its source.
-- One row per region, indicator, year and value_type: a level and a growth rate of the same
-- indicator and year (地区生产总值 3030亿元, 增长8.0%) are two series, each with its own choice.
-- Filter value_type = 'level' for the level series.
--   value / unit     canonical unit of the indicator (growth figures: %)
--   value_type       level / ratio / change_pct / change_pp / cumulative / ratio_multiple
--   source           title or file the figure came from; source_url its address when known
--   source_kind      statistics_file / bulletin / plan_retrospective / press_report /
--                    work_report_estimate / unofficial_compilation; source_rank 1 = most authoritative
--   source_file, location   where exactly (file, sheet/row/line); evidence the quoted text
--   loaded_at, run_id       when and by which run this figure first entered the warehouse
--   n_figures        how many figures (sources, revisions) the warehouse holds for this key
CREATE OR REPLACE VIEW v_observation_chosen AS
WITH counted AS (
    SELECT o.*,
           count(*) OVER (PARTITION BY o.region_code, o.indicator_key, o.year, o.value_type) AS n_figures
    FROM observation o
)
SELECT
    c.region_code,
    coalesce(r.name_zh, c.region_code)    AS region_name,
    c.indicator_key,
    coalesce(i.name_zh, c.indicator_key)  AS indicator_name,
    c.year,
    c.value,
    c.unit,
    c.value_type,
    c.source,
    c.source_kind,
    c.source_rank,
    c.source_url,
    c.source_file,
    c.location,
    c.evidence,
    c.loaded_at,
    c.run_id,
    c.n_figures
FROM counted c
LEFT JOIN region r ON r.region_code = c.region_code
LEFT JOIN indicator i ON i.indicator_key = c.indicator_key
WHERE c.is_chosen
-- The chooser flags one figure per key; should it ever flag two, the better-ranked, newer one is shown.
QUALIFY row_number() OVER (PARTITION BY c.region_code, c.indicator_key, c.year, c.value_type
                           ORDER BY c.source_rank NULLS LAST, c.loaded_at DESC) = 1;
