-- Atlas SPRO, schema version 5: the coarsest position is named approx_commune.
--
-- A place without coordinates is put at its commune's town hall (approx_mairie) or, without
-- a checked town-hall point, at a point inside the commune: that precision was called
-- 'commune'; 'approx_commune' says it is approximate, as every approximate precision's name
-- now does (the rule of geo.vocabulary.APPROXIMATE_POSITIONS: the prefix approx_).
ALTER TABLE structure DROP CONSTRAINT structure_geocoding_check;
UPDATE structure SET geocoding = 'approx_commune' WHERE geocoding = 'commune';
ALTER TABLE structure ADD CONSTRAINT structure_geocoding_check
    CHECK (geocoding IN ('source', 'adresse', 'approx_mairie', 'approx_commune'));
