-- v_observation_chosen: one row per region, indicator and year: the figure the latest run chose
-- (by source precedence) out of every figure ever stored for it, with its source.
--   value / unit     canonical unit of the indicator
--   source           title or file the figure came from; source_kind statistics_file / bulletin /
--                    plan_retrospective / work_report_estimate; source_rank 1 = most authoritative
--   source_file, location   where exactly (file, sheet/row/line)
--   loaded_at, run_id       when and by which run this figure first entered the warehouse
--   n_figures        how many figures (sources, revisions) the warehouse holds for this region/indicator/year
-- Should the chooser ever flag two figures for one year, the better-ranked, most recent one is shown.
CREATE OR REPLACE VIEW v_observation_chosen AS
WITH counted AS (
    SELECT o.*, count(*) OVER (PARTITION BY o.region_code, o.indicator_key, o.year) AS n_figures
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
    c.source_file,
    c.location,
    c.loaded_at,
    c.run_id,
    c.n_figures
FROM counted c
LEFT JOIN region r ON r.region_code = c.region_code
LEFT JOIN indicator i ON i.indicator_key = c.indicator_key
WHERE c.is_chosen
QUALIFY row_number() OVER (PARTITION BY c.region_code, c.indicator_key, c.year
                           ORDER BY c.source_rank NULLS LAST, c.loaded_at DESC) = 1;
