-- Targets whose status changed at their latest assessment (what the alert emails are about).
SELECT region_name, indicator_name, previous_status, status, severity, latest_year, latest_value, run_id
FROM v_target_status
WHERE previous_status IS DISTINCT FROM status AND previous_status IS NOT NULL
ORDER BY region_code, indicator_key;
