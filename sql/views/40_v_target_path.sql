-- v_target_path: one row per target and year, for charting a target: the straight plan path from
-- the baseline to the target (时间进度 line) next to the chosen observations of the same series.
--   year            from the baseline year (or five years before the target year) onwards
--   plan_value      value on the straight path from (baseline_year, baseline_value) to
--                   (target_year, target_value); NULL outside those years or without a baseline.
--                   For cumulative targets the path runs from 0 to the target total.
--   observed_value  the chosen observation in the target's unit (v_observation_chosen); for
--                   cumulative targets the running total since the baseline year
--   observed_source the source of that observation
CREATE OR REPLACE VIEW v_target_path AS
WITH t AS (
    SELECT target_id, region_code, indicator_key, unit, baseline_year, target_year, target_value,
           coalesce(value_type = 'cumulative', false)           AS cumulative,
           CASE WHEN value_type = 'cumulative' THEN 0 ELSE baseline_value END AS path_start,
           coalesce(baseline_year, target_year - 5)             AS first_year
    FROM target
    WHERE target_year IS NOT NULL
),
plan AS (
    SELECT target_id, year,
           CASE WHEN baseline_year IS NOT NULL AND path_start IS NOT NULL AND target_value IS NOT NULL
                     AND target_year > baseline_year
                THEN path_start + (target_value - path_start) * (year - baseline_year) / (target_year - baseline_year)
           END AS plan_value
    FROM (SELECT *, unnest(generate_series(first_year, target_year)) AS year FROM t)
),
observed AS (
    SELECT t.target_id, o.year, o.source AS observed_source,
           CASE WHEN t.cumulative
                THEN sum(o.value) OVER (PARTITION BY t.target_id ORDER BY o.year ROWS UNBOUNDED PRECEDING)
                ELSE o.value
           END AS observed_value
    FROM t
    JOIN v_observation_chosen o
      ON o.region_code = t.region_code AND o.indicator_key = t.indicator_key
     AND (t.unit IS NULL OR o.unit IS NOT DISTINCT FROM t.unit)
     -- a cumulative total counts the years after the baseline year
     AND o.year >= t.first_year + CASE WHEN t.cumulative THEN 1 ELSE 0 END
)
SELECT t.target_id, t.region_code, t.indicator_key, y.year, y.plan_value, y.observed_value, y.observed_source
FROM (
    SELECT target_id, year, p.plan_value, o.observed_value, o.observed_source
    FROM plan p FULL OUTER JOIN observed o USING (target_id, year)
) y
JOIN t USING (target_id)
ORDER BY t.target_id, y.year;
