-- Atlas SPRO, schema version 21: what-if scenarios are records of a study, kept across reloads.
--
-- A scenario is computed on the data of its date (created_at) and says so; a new `atlas load`
-- no longer deletes it. Its sites therefore no longer depend on the current communes and
-- places: the names are frozen with them when the scenario is stored.
ALTER TABLE scenario_site DROP CONSTRAINT IF EXISTS scenario_site_commune_code_fkey;
ALTER TABLE scenario_site DROP CONSTRAINT IF EXISTS scenario_site_structure_id_fkey;
ALTER TABLE scenario_site ADD COLUMN commune_name text;
ALTER TABLE scenario_site ADD COLUMN structure_name text;
UPDATE scenario_site t SET commune_name = c.name FROM commune c WHERE c.code = t.commune_code;
UPDATE scenario_site t SET structure_name = s.name FROM structure s WHERE s.structure_id = t.structure_id;
