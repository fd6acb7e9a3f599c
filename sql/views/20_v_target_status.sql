-- v_target_status: one row per plan target (the `target` table of the latest build) with its latest
-- assessment, the numbers that assessment came from, and the sentence of the plan that sets the target.
-- Targets no run has assessed yet have NULL assessment columns. Units are the indicator's canonical unit.
-- Progress figures are fractions here (0.6 = 60%); v_evaluation_table shows them in percent.
CREATE OR REPLACE VIEW v_target_status AS
WITH newest AS (
    -- Per target: its latest assessment (by assessed_at, then run_id; rows without a time come last) and the
    -- status of the one before. An aggregate over a few columns, then the latest row fetched by rowid: a
    -- window over the history sorted every column of every run. Grouped with the target's region, so that a
    -- filter on region_code reaches the target and assessment scans (the report reads one region at a time).
    SELECT t.target_id, t.region_code,
           max_by(a.row_id, a.recency) AS latest_row,
           max_by(a.status, a.recency, 2)[2] AS previous_status
    FROM target t
    LEFT JOIN (SELECT rowid AS row_id, target_id, status,
                      (assessed_at IS NOT NULL, assessed_at, run_id IS NOT NULL, run_id) AS recency
               FROM assessment) a ON a.target_id = t.target_id
    GROUP BY t.target_id, t.region_code
)
SELECT
    t.target_id,
    n.region_code,
    coalesce(r.name_zh, t.region_name, t.region_code)   AS region_name,
    t.region_name                                       AS region_text,  -- the area as the plan names it
    t.indicator_key,
    coalesce(i.name_zh, t.indicator_key)                AS indicator_name,
    i.category,
    cat.label_zh                                        AS category_zh,
    coalesce(t.unit, i.unit)                            AS unit,
    i.direction,                                        -- higher_better / lower_better / neutral
    t.kind,                                             -- target (plan period) / annual_target (work report)
    t.value_type,                                       -- how the plan stated it: level / change_pct / cumulative ...
    t.measure,                                          -- what is judged: level / cumulative / rate / rate_total
    coalesce(l.comparator, t.comparator)                AS comparator,  -- >= / <= / ~ as judged
    t.stated_comparator,                                -- as the plan wrote it
    t.binding,
    coalesce(t.attribute, CASE WHEN t.binding THEN '约束性' END) AS attribute,   -- 约束性 / 预期性
    -- The target's terms as its latest assessment judged them (the target table's before any).
    coalesce(l.baseline_year, t.baseline_year)          AS baseline_year,
    coalesce(l.baseline_value, t.baseline_value)        AS baseline_value,
    t.baseline_source,                                  -- plan / observation / cumulative_start (totals from 0)
    coalesce(l.target_year, t.target_year)              AS target_year,
    coalesce(l.target_value, t.target_value)            AS target_value,  -- a level once changes are resolved; % for rates
    t.stated_value,                                     -- the number as the plan wrote it
    t.unresolved,                                       -- why the target cannot be judged (NULL = it can)
    l.latest_year,                                      -- the year judged
    l.latest_value,                                     -- the measure that year: level / running total / average rate
    l.observations_used,                                -- yearly observations behind latest_value
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
    -- Off track once the target year is observed means missed: 未完成, as evaluations say.
    CASE WHEN l.status = 'off_track' AND l.latest_year >= coalesce(l.target_year, t.target_year) THEN '未完成'
         ELSE st.label_zh END                           AS status_zh,
    l.severity,                                         -- normal / high / critical
    sev.label_zh                                        AS severity_zh,
    l.rule,                                             -- the rule that decided the status
    l.reason,
    n.previous_status,                                  -- this target's status in its assessment before the latest
    l.run_id,
    l.assessed_at,
    t.evidence,                                         -- the plan's sentence
    t.doc_id,
    d.file                                              AS doc_file,
    d.title                                             AS doc_title,
    d.doc_type,
    d.period,
    d.year                                              AS doc_year,  -- year of publication
    -- The plan's short name: 十四五规划纲要, 十四五专项规划, 2022年政府工作报告 ...
    CASE WHEN d.period IS NOT NULL AND d.doc_type NOT IN ('work_report', 'bulletin') THEN d.period || dt.label_zh
         WHEN d.year IS NOT NULL THEN d.year || '年' || coalesce(dt.label_zh, '')
         ELSE coalesce(dt.label_zh, d.title, d.file)
    END                                                 AS plan_name,
    t.line                                              -- 1-based line of evidence in doc_file
FROM newest n
JOIN target t ON t.target_id = n.target_id
LEFT JOIN assessment l ON l.rowid = n.latest_row
LEFT JOIN region r ON r.region_code = t.region_code
LEFT JOIN indicator i ON i.indicator_key = t.indicator_key
LEFT JOIN document d ON d.doc_id = t.doc_id
LEFT JOIN v_label cat ON cat.kind = 'category' AND cat.code = i.category
LEFT JOIN v_label st ON st.kind = 'status' AND st.code = l.status
LEFT JOIN v_label sev ON sev.kind = 'severity' AND sev.code = l.severity
LEFT JOIN v_label dt ON dt.kind = 'doc_type' AND dt.code = d.doc_type;
