-- Atlas SPRO, schema version 17: versions of the planners' work, drafts, official zonings.
--
-- Every stored zoning and scenario says who made it and why (free text) next to its
-- creation date. A regionalisation that breaks its constraints is stored only as a draft
-- (« brouillon »), with the list of its violations. Columns are added, none renamed, so
-- that copies of these tables (snapshots) keep working.
ALTER TABLE zoning ADD COLUMN author text;
ALTER TABLE zoning ADD COLUMN note text;
ALTER TABLE zoning ADD COLUMN draft boolean NOT NULL DEFAULT false;
ALTER TABLE zoning ADD COLUMN violations jsonb NOT NULL DEFAULT '[]';
ALTER TABLE scenario ADD COLUMN author text;
ALTER TABLE scenario ADD COLUMN note text;

COMMENT ON COLUMN zoning.draft IS 'true: stored with --draft although it breaks constraints (listed in violations)';
COMMENT ON COLUMN zoning.violations IS 'constraints broken: [{constraint, zone_id, message}]';

-- Official zonings of the Région's communes (INSEE zones d'emploi, bassins de vie), read by
-- `atlas load` from [territories] zonages and offered beside the EPCI, arrondissements and
-- départements as built-in zonings.
CREATE TABLE official_zone (
    level        text NOT NULL CHECK (level IN ('zone-emploi', 'bassin-vie')),
    commune_code text NOT NULL REFERENCES commune (code) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
    zone_id      text NOT NULL,
    name         text NOT NULL,
    PRIMARY KEY (level, commune_code)
);
