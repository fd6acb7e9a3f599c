-- v_latest_run: the run whose assessments are the newest (by assessed_at).
-- Zero rows while no run has assessed anything; otherwise exactly one row:
--   run_id         Dagster run id
--   assessed_at    when that run assessed its targets
--   n_assessments  how many targets it assessed
CREATE OR REPLACE VIEW v_latest_run AS
SELECT run_id, max(assessed_at) AS assessed_at, count(*) AS n_assessments
FROM assessment
GROUP BY run_id
ORDER BY assessed_at DESC NULLS LAST, run_id DESC
LIMIT 1;
