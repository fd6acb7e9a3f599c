-- The chosen yearly figures of one indicator in every region, with the source each came from.
-- n_figures > 1: other sources or revisions exist; see the observation table for all of them.
SELECT region_name, year, value, unit, source, source_kind, n_figures
FROM v_observation_chosen
WHERE indicator_key = 'pm25_concentration'
ORDER BY region_code, year;
