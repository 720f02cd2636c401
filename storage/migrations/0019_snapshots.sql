-- Atlas SPRO, schema version 19: yearly snapshots (what a year's bilan rests on).
--
-- A snapshot is taken by `atlas snapshot --year Y` and never changes afterwards: the rows
-- below refuse UPDATE and DELETE (triggers), but for the one-time mark a later snapshot of
-- the same year puts on the one it replaces (`--replace`; the replaced record is kept).
--
-- Layout: what is compared between years or drawn on a map is copied as rows with their
-- geometry (places, communes, per-commune access, white zones, zones), so that changes are
-- plain joins on (snapshot_id, key); what the report shows as already-aggregated tables
-- (indicators, overview, inventory, runs, categories, zonings, scenarios, sources) is one
-- JSONB document per snapshot (`parts`), read in one row when the report is served.
-- Geometries stay in the Région's CRS (the snapshot records its SRID).

CREATE TABLE snapshot (
    snapshot_id bigserial PRIMARY KEY,
    year        integer NOT NULL CHECK (year BETWEEN 2000 AND 2100),
    label       text,
    taken_at    timestamptz NOT NULL DEFAULT now(),
    region_code text NOT NULL,
    crs         text NOT NULL,
    srid        integer NOT NULL,
    parts       jsonb NOT NULL,
    replaced_at timestamptz,
    replaced_by bigint REFERENCES snapshot DEFERRABLE INITIALLY DEFERRED,
    CHECK ((replaced_at IS NULL) = (replaced_by IS NULL))
);
-- One current snapshot per year; replaced ones are kept as records.
CREATE UNIQUE INDEX snapshot_current_year_idx ON snapshot (year) WHERE replaced_at IS NULL;

CREATE TABLE snapshot_place (
    snapshot_id     bigint NOT NULL REFERENCES snapshot,
    structure_id    text NOT NULL,
    dataset         text NOT NULL,
    partner_type    text NOT NULL,
    name            text NOT NULL,
    address         text,
    postcode        text,
    commune_code    text NOT NULL,
    commune_name    text,
    site_format     text NOT NULL,
    geocoding       text NOT NULL,
    receives_public boolean NOT NULL,
    missions        text[] NOT NULL,
    publics         text[] NOT NULL,
    source          text NOT NULL,
    vintage         text,
    geom            geometry(Point) NOT NULL,
    PRIMARY KEY (snapshot_id, structure_id)
);

CREATE TABLE snapshot_commune (
    snapshot_id bigint NOT NULL REFERENCES snapshot,
    code        text NOT NULL,
    name        text NOT NULL,
    departement text NOT NULL,
    epci        text,
    population  integer NOT NULL,
    geom        geometry(MultiPolygon) NOT NULL,
    PRIMARY KEY (snapshot_id, code)
);

CREATE TABLE snapshot_commune_access (
    snapshot_id    bigint NOT NULL REFERENCES snapshot,
    commune_code   text NOT NULL,
    mode           text NOT NULL,
    category       text NOT NULL,
    seconds        real,
    structure_id   text,
    n_operators_30 integer NOT NULL,
    fca            real NOT NULL,
    approximate    boolean NOT NULL,
    PRIMARY KEY (snapshot_id, mode, category, commune_code)
);

CREATE TABLE snapshot_gap (
    snapshot_id  bigint NOT NULL REFERENCES snapshot,
    kind         text NOT NULL,
    mode         text NOT NULL,
    category     text NOT NULL,
    commune_code text NOT NULL,
    seconds      real,
    threshold_s  real NOT NULL,
    population   integer NOT NULL,
    approximate  boolean NOT NULL,
    PRIMARY KEY (snapshot_id, kind, mode, category, commune_code)
);

CREATE TABLE snapshot_zone (
    snapshot_id      bigint NOT NULL REFERENCES snapshot,
    zoning_id        text NOT NULL,
    zone_id          text NOT NULL,
    name             text NOT NULL,
    hub_structure_id text,
    population       bigint NOT NULL,
    n_communes       integer NOT NULL,
    explanation      text,
    geom             geometry(MultiPolygon) NOT NULL,
    PRIMARY KEY (snapshot_id, zoning_id, zone_id)
);

-- Immutability: a snapshot's rows are never updated nor deleted; the snapshot row itself
-- only receives, once, the mark of the snapshot replacing it.
CREATE FUNCTION atlas_snapshot_immutable() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'snapshots are immutable (% on %)', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'integrity_constraint_violation';
END $$;

CREATE FUNCTION atlas_snapshot_replace_only() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF OLD.replaced_at IS NULL AND NEW.replaced_at IS NOT NULL
           AND (to_jsonb(OLD) - 'replaced_at' - 'replaced_by') = (to_jsonb(NEW) - 'replaced_at' - 'replaced_by') THEN
            RETURN NEW;
        END IF;
    END IF;
    RAISE EXCEPTION 'snapshots are immutable (% on %)', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'integrity_constraint_violation';
END $$;

CREATE TRIGGER snapshot_immutable BEFORE UPDATE OR DELETE ON snapshot
    FOR EACH ROW EXECUTE FUNCTION atlas_snapshot_replace_only();
CREATE TRIGGER snapshot_place_immutable BEFORE UPDATE OR DELETE ON snapshot_place
    FOR EACH ROW EXECUTE FUNCTION atlas_snapshot_immutable();
CREATE TRIGGER snapshot_commune_immutable BEFORE UPDATE OR DELETE ON snapshot_commune
    FOR EACH ROW EXECUTE FUNCTION atlas_snapshot_immutable();
CREATE TRIGGER snapshot_commune_access_immutable BEFORE UPDATE OR DELETE ON snapshot_commune_access
    FOR EACH ROW EXECUTE FUNCTION atlas_snapshot_immutable();
CREATE TRIGGER snapshot_gap_immutable BEFORE UPDATE OR DELETE ON snapshot_gap
    FOR EACH ROW EXECUTE FUNCTION atlas_snapshot_immutable();
CREATE TRIGGER snapshot_zone_immutable BEFORE UPDATE OR DELETE ON snapshot_zone
    FOR EACH ROW EXECUTE FUNCTION atlas_snapshot_immutable();

CREATE TRIGGER snapshot_no_truncate BEFORE TRUNCATE ON snapshot
    FOR EACH STATEMENT EXECUTE FUNCTION atlas_snapshot_immutable();
CREATE TRIGGER snapshot_place_no_truncate BEFORE TRUNCATE ON snapshot_place
    FOR EACH STATEMENT EXECUTE FUNCTION atlas_snapshot_immutable();
CREATE TRIGGER snapshot_commune_no_truncate BEFORE TRUNCATE ON snapshot_commune
    FOR EACH STATEMENT EXECUTE FUNCTION atlas_snapshot_immutable();
CREATE TRIGGER snapshot_commune_access_no_truncate BEFORE TRUNCATE ON snapshot_commune_access
    FOR EACH STATEMENT EXECUTE FUNCTION atlas_snapshot_immutable();
CREATE TRIGGER snapshot_gap_no_truncate BEFORE TRUNCATE ON snapshot_gap
    FOR EACH STATEMENT EXECUTE FUNCTION atlas_snapshot_immutable();
CREATE TRIGGER snapshot_zone_no_truncate BEFORE TRUNCATE ON snapshot_zone
    FOR EACH STATEMENT EXECUTE FUNCTION atlas_snapshot_immutable();
