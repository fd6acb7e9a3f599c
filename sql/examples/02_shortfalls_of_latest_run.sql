-- What the latest run found short of plan, most severe first, with the numbers and the plan's sentence.
SELECT region_name, indicator_name, status_zh, severity_zh, attribute,
       baseline_year, baseline_value, target_year, target_value, unit,
       latest_year, latest_value, expected_value, gap,
       round(done_progress * 100, 1) AS done_pct, round(time_progress * 100, 1) AS time_pct,
       rule, is_new, evidence, doc_file, line
FROM v_shortfalls;
