-- How many targets each region has in each status (the report's overview), latest assessment per target.
PIVOT (SELECT region_code, region_name, status_zh FROM v_target_status WHERE status IS NOT NULL)
ON status_zh IN ('已完成', '符合序时进度', '存在滞后风险', '滞后于序时进度', '数据不足')
USING count(*)
GROUP BY region_code, region_name
ORDER BY region_code;
