-- v_target_status: one row per plan target (the `target` table of the latest build) with its latest
-- assessment, the numbers that assessment came from, and the sentence of the plan that sets the target.
-- Targets no run has assessed yet have NULL assessment columns. Units are the indicator's canonical unit.
-- Progress figures are fractions here (0.6 = 60%); v_evaluation_table shows them in percent.
CREATE OR REPLACE VIEW v_target_status AS
WITH ranked AS (
    SELECT a.*,
           lag(a.status) OVER (PARTITION BY a.target_id ORDER BY a.assessed_at, a.run_id) AS previous_status,
           row_number() OVER (PARTITION BY a.target_id ORDER BY a.assessed_at DESC, a.run_id DESC) AS recency
    FROM assessment a
),
latest AS (SELECT * FROM ranked WHERE recency = 1)
SELECT
    t.target_id,
    t.region_code,
    coalesce(r.name_zh, d.region_name, t.region_code)   AS region_name,
    t.indicator_key,
    coalesce(i.name_zh, t.indicator_key)                AS indicator_name,
    i.category,
    cat.label_zh                                        AS category_zh,
    coalesce(t.unit, i.unit)                            AS unit,
    i.direction,                                        -- higher_better / lower_better / neutral
    t.kind,                                             -- target (plan period) / annual_target (work report)
    t.value_type,                                       -- how the plan stated it: level / change_pct / cumulative ...
    t.comparator,                                       -- >= / <= / = / ~
    t.binding,
    coalesce(t.attribute, CASE WHEN t.binding THEN '约束性' END) AS attribute,   -- 约束性 / 预期性
    t.baseline_year,
    t.baseline_value,
    t.baseline_source,                                  -- plan (stated in the plan) / observation
    t.target_year,
    t.target_value,                                     -- as a level, after change targets are resolved
    t.stated_value,                                     -- the number as the plan wrote it
    l.latest_year,
    l.latest_value,
    l.expected_value,                                   -- value on the straight plan path in latest_year
    l.gap,                                              -- > 0: ahead of the path (direction-aware)
    l.time_progress,                                    -- 时间进度, fraction
    l.done_progress,                                    -- 完成进度, fraction
    l.path_ratio,                                       -- done_progress / time_progress
    l.required_growth,
    l.actual_growth,
    l.growth_ratio,
    l.growth_category,
    l.projected_value,
    l.projection_points,
    l.will_meet,
    l.status,                                           -- achieved / on_track / at_risk / off_track / insufficient_data
    st.label_zh                                         AS status_zh,
    l.severity,                                         -- normal / high / critical
    sev.label_zh                                        AS severity_zh,
    l.rule,                                             -- the rule that decided the status
    l.reason,
    l.previous_status,                                  -- this target's status in its assessment before the latest
    l.run_id,
    l.assessed_at,
    t.evidence,                                         -- the plan's sentence
    t.doc_id,
    d.file                                              AS doc_file,
    d.title                                             AS doc_title,
    d.doc_type,
    d.period,
    t.line                                              -- 1-based line of evidence in doc_file
FROM target t
LEFT JOIN latest l ON l.target_id = t.target_id
LEFT JOIN region r ON r.region_code = t.region_code
LEFT JOIN indicator i ON i.indicator_key = t.indicator_key
LEFT JOIN document d ON d.doc_id = t.doc_id
LEFT JOIN v_label cat ON cat.kind = 'category' AND cat.code = i.category
LEFT JOIN v_label st ON st.kind = 'status' AND st.code = l.status
LEFT JOIN v_label sev ON sev.kind = 'severity' AND sev.code = l.severity;
