-- v_target_path: one row per target and year, for charting a target: the plan path next to the
-- chosen observations in the target's own terms (target.measure).
--   year            from the base year (or five years before the target year) to the target year,
--                   and any later year with an observation
--   plan_value      the straight plan path from (baseline_year, baseline_value) to (target_year,
--                   target_value); totals (cumulative, rate_total) run from 0 unless the plan states
--                   a start; a rate target (年均增长) is the required rate in every year after the base
--                   year; NULL without a baseline
--   observed_value  level: the chosen level figure; cumulative: the running total of the yearly
--                   figures since the base year, where no reported total exists for that year;
--                   rate: the yearly growth figure (the indicator's own change_pct, or <key>_growth);
--                   rate_total: NULL (see v_target_status.latest_value, the compounded total judged)
--   observed_source the source of that figure (for a running total: of its last year)
-- The value the status was judged on is v_target_status.latest_value (lib/assessment.py).
CREATE OR REPLACE VIEW v_target_path AS
WITH t AS (
    SELECT tg.target_id, tg.region_code, tg.indicator_key, tg.baseline_year, tg.target_year, tg.target_value,
           coalesce(tg.measure, 'level') AS measure,
           CASE WHEN tg.measure IN ('cumulative', 'rate_total') THEN coalesce(tg.baseline_value, 0)
                ELSE tg.baseline_value END                  AS path_start,
           coalesce(tg.baseline_year, tg.target_year - 5)    AS first_year,
           i.value_kind
    FROM target tg
    LEFT JOIN indicator i ON i.indicator_key = tg.indicator_key
    WHERE tg.target_year IS NOT NULL
),
plan AS (
    SELECT region_code, target_id, year,
           CASE WHEN measure = 'rate' THEN CASE WHEN baseline_year IS NOT NULL AND year > baseline_year THEN target_value END
                WHEN baseline_year IS NOT NULL AND path_start IS NOT NULL AND target_year > baseline_year
                THEN path_start + (target_value - path_start) * (year - baseline_year) / (target_year - baseline_year)
           END AS plan_value
    FROM (SELECT *, unnest(generate_series(first_year, target_year))::INTEGER AS year FROM t)
),
figures AS (
    -- Each target's candidate figures, classified: a yearly figure of its series, or a reported total.
    -- region_code rides along everywhere below (a target has one region): a filter on it reaches the scans.
    SELECT t.region_code, t.target_id, t.measure, o.year, o.value, o.source,
           (t.measure = 'cumulative' AND (o.value_type = 'cumulative' OR t.value_kind = 'cumulative')) AS reported_total,
           o.indicator_key = t.indicator_key AS own_indicator
    FROM t
    -- The series' keys: its own, and for a rate also <key>_growth. Equality on each key (not an OR in the
    -- join) lets DuckDB hash-join: with the OR it compared every target with every figure of its region.
    CROSS JOIN LATERAL (SELECT unnest(CASE WHEN t.measure = 'rate' THEN [t.indicator_key, t.indicator_key || '_growth']
                                           ELSE [t.indicator_key] END) AS series_key) k
    JOIN v_observation_chosen o ON o.region_code = t.region_code AND o.indicator_key = k.series_key
    LEFT JOIN indicator oi ON oi.indicator_key = o.indicator_key
    WHERE CASE t.measure
            WHEN 'level'      THEN coalesce(o.value_type, 'level') IN ('level', 'ratio') AND o.year >= t.first_year
            WHEN 'cumulative' THEN coalesce(o.value_type, 'level') IN ('level', 'ratio', 'cumulative') AND o.year > t.first_year
            WHEN 'rate'       THEN o.year > t.first_year AND (o.value_type = 'change_pct'
                                   OR (oi.value_kind = 'rate_of_change' AND coalesce(o.value_type, 'level') IN ('level', 'ratio')))
            ELSE false
          END
),
yearly AS (
    SELECT region_code, target_id, year, source,
           CASE WHEN measure = 'cumulative'
                THEN sum(value) OVER (PARTITION BY region_code, target_id ORDER BY year ROWS UNBOUNDED PRECEDING)
                ELSE value END AS value
    FROM figures
    WHERE NOT reported_total
    QUALIFY row_number() OVER (PARTITION BY region_code, target_id, year ORDER BY own_indicator DESC) = 1
),
observed AS (
    -- A reported total beats the sum of the yearly figures.
    SELECT region_code, target_id, year, value AS observed_value, source AS observed_source
    FROM (SELECT *, 0 AS preference FROM figures WHERE reported_total
          UNION ALL BY NAME
          SELECT *, 1 AS preference FROM yearly)
    QUALIFY row_number() OVER (PARTITION BY region_code, target_id, year ORDER BY preference) = 1
),
years AS (
    -- The plan's years and the observed years side by side. Each has at most one row per target and year, so
    -- grouping their union is a full outer join that a filter on region_code can pass.
    SELECT region_code, target_id, year, any_value(plan_value) AS plan_value,
           any_value(observed_value) AS observed_value, any_value(observed_source) AS observed_source
    FROM (SELECT region_code, target_id, year, plan_value FROM plan
          UNION ALL BY NAME
          SELECT region_code, target_id, year, observed_value, observed_source FROM observed)
    GROUP BY region_code, target_id, year
)
SELECT t.target_id, y.region_code, t.indicator_key, t.measure, y.year, y.plan_value, y.observed_value, y.observed_source
FROM years y
JOIN t USING (target_id)
ORDER BY t.target_id, y.year;
