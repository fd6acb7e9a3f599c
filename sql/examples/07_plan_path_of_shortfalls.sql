-- Plan path against the observations, year by year, for every shortfall of the latest run
-- (the numbers behind the report's charts; paste into Excel to chart them).
SELECT s.region_name, s.indicator_name, p.year, p.plan_value, p.observed_value, p.observed_source
FROM v_shortfalls s
JOIN v_target_path p USING (target_id)
ORDER BY s.region_code, s.indicator_key, p.year;
