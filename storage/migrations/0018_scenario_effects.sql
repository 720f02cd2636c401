-- Atlas SPRO, schema version 18: what a what-if scenario changes, zone by zone, and its
-- candidate sites as the planner described them.
--
-- scenario_zone holds the per-zone effect of a stored scenario (the zoning named in its
-- params, dissolved at save time so that the map, the API and the exports draw it even
-- for an official level); a new load empties it with the scenarios.
ALTER TABLE scenario_site ADD COLUMN name text;
ALTER TABLE scenario_site ADD COLUMN cost double precision CHECK (cost >= 0);
ALTER TABLE scenario_site ADD COLUMN capacity double precision CHECK (capacity >= 0);

CREATE TABLE scenario_zone (
    scenario_id                 text NOT NULL REFERENCES scenario ON DELETE CASCADE,
    zone_id                     text NOT NULL,
    name                        text NOT NULL,
    population                  bigint NOT NULL CHECK (population >= 0),
    mean_seconds_before         double precision,
    mean_seconds_after          double precision,
    share_within_before         double precision,
    share_within_after          double precision,
    population_unreached_before bigint NOT NULL,
    population_unreached_after  bigint NOT NULL,
    newly_covered               bigint NOT NULL DEFAULT 0,
    no_longer_covered           bigint NOT NULL DEFAULT 0,
    geom                        geometry(MultiPolygon) NOT NULL,
    PRIMARY KEY (scenario_id, zone_id)
);
CREATE INDEX scenario_zone_geom_idx ON scenario_zone USING gist (geom);
CREATE TRIGGER scenario_zone_srid BEFORE INSERT OR UPDATE ON scenario_zone
    FOR EACH ROW EXECUTE FUNCTION atlas_check_srid('geom');
