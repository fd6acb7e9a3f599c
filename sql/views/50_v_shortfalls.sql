-- v_shortfalls: the targets the latest run (v_latest_run) found short of plan: status off_track
-- (滞后于序时进度, including targets missed at their target year) or at_risk (存在滞后风险).
-- Same columns as v_target_status, plus:
--   is_new   true when the target was not short of plan in its previous assessment (a new slip)
-- Most severe first: critical, high, normal; then off_track before at_risk.
CREATE OR REPLACE VIEW v_shortfalls AS
SELECT s.*,
       coalesce(s.previous_status NOT IN ('off_track', 'at_risk'), true) AS is_new
FROM v_target_status s
JOIN v_latest_run lr ON lr.run_id = s.run_id
LEFT JOIN v_label sev ON sev.kind = 'severity' AND sev.code = s.severity
WHERE s.status IN ('off_track', 'at_risk')
ORDER BY sev.sort_order NULLS LAST, s.status = 'at_risk', s.region_code, s.indicator_key, s.target_year;
