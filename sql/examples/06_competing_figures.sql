-- Years for which the warehouse holds more than one figure (several sources, or revisions), and which won.
SELECT o.region_code, o.indicator_key, o.year, o.value, o.source, o.source_kind, o.source_rank,
       o.is_chosen, o.loaded_at
FROM observation o
JOIN (SELECT region_code, indicator_key, year FROM v_observation_chosen WHERE n_figures > 1) many
  USING (region_code, indicator_key, year)
ORDER BY o.region_code, o.indicator_key, o.year, o.is_chosen DESC, o.source_rank;
