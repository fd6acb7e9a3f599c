-- v_evaluation_table: 指标完成情况表, the mid-term evaluation table in the shape plans publish it:
-- one row per assessed target, per region and plan (规划: 十四五规划纲要, 2022年政府工作报告 ...),
-- grouped by 类型 as plan tables are.
--   region_code, 地区      the region (filter on region_code for one region's table)
--   类型      indicator category: 经济发展 / 创新驱动 / 民生福祉 / 绿色生态 ... (v_label)
--   指标      indicator name;  单位  canonical unit
--   基数      baseline value (基数年份 its year);  目标值  target as a level (目标年份 its year)
--   最新值    latest observation (最新值年份 its year)
--   完成进度  done_progress in percent (63.6 = 63.6%);  时间进度  time_progress in percent
--   属性      约束性 / 预期性;  状态  the status in Chinese (v_label)
--   规划      the plan (document) that sets the target, short name; doc_id the document
--   target_id joins back to v_target_status for the numbers and the evidence sentence
CREATE OR REPLACE VIEW v_evaluation_table AS
SELECT
    s.region_code,
    s.region_name                      AS "地区",
    coalesce(s.category_zh, '其他')    AS "类型",
    s.indicator_name                   AS "指标",
    s.unit                             AS "单位",
    s.baseline_value                   AS "基数",
    s.target_value                     AS "目标值",
    s.latest_value                     AS "最新值",
    round(s.done_progress * 100, 1)    AS "完成进度",
    round(s.time_progress * 100, 1)    AS "时间进度",
    s.attribute                        AS "属性",
    s.status_zh                        AS "状态",
    s.baseline_year                    AS "基数年份",
    s.target_year                      AS "目标年份",
    s.latest_year                      AS "最新值年份",
    s.plan_name                        AS "规划",
    s.doc_id,
    s.target_id
FROM v_target_status s
LEFT JOIN v_label cat ON cat.kind = 'category' AND cat.code = s.category
WHERE s.status IS NOT NULL
ORDER BY s.region_code, s.kind = 'annual_target', s.doc_year, s.doc_id,
         cat.sort_order NULLS LAST, s.indicator_name, s.target_year, s.target_id;
