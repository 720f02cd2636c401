-- Atlas SPRO, schema version 1: territories, partner types and structures.
--
-- Geometries are stored in the Région's projected CRS (metres). The SRID is not fixed by
-- the schema (a Région overseas needs its own); it is recorded in region_config and every
-- geometry must carry it (checked by the constraint triggers below).

CREATE EXTENSION IF NOT EXISTS postgis;
CREATE EXTENSION IF NOT EXISTS unaccent;
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- One database holds one Région.
CREATE TABLE region_config (
    singleton   boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    region_code text    NOT NULL CHECK (region_code ~ '^[0-9]{2}$'),
    srid        integer NOT NULL CHECK (srid > 0),
    crs         text    NOT NULL
);

CREATE FUNCTION atlas_srid() RETURNS integer
    LANGUAGE sql STABLE AS $$ SELECT srid FROM region_config $$;

-- Communes in force (current COG), polygons dissolved from older contours when merged.
CREATE TABLE commune (
    code           text PRIMARY KEY CHECK (code ~ '^[0-9][0-9AB][0-9]{3}$'),
    name           text NOT NULL,
    departement    text NOT NULL,
    arrondissement text,
    epci           text,
    postcodes      text[] NOT NULL DEFAULT '{}',
    population     integer NOT NULL CHECK (population >= 0),
    former_codes   text[] NOT NULL DEFAULT '{}',
    geom           geometry(MultiPolygon) NOT NULL CHECK (ST_IsValid(geom) AND NOT ST_IsEmpty(geom)),
    CONSTRAINT commune_srid CHECK (ST_SRID(geom) > 0)
);
CREATE INDEX commune_geom_idx ON commune USING gist (geom);
CREATE INDEX commune_departement_idx ON commune (departement);
CREATE INDEX commune_epci_idx ON commune (epci);

-- Higher levels: région, départements, arrondissements, EPCI (dissolved from communes).
CREATE TABLE territory (
    level            text NOT NULL CHECK (level IN ('region', 'departement', 'arrondissement', 'epci')),
    code             text NOT NULL,
    name             text NOT NULL,
    kind             text,
    population       bigint NOT NULL CHECK (population >= 0),
    n_communes       integer NOT NULL CHECK (n_communes > 0),
    straddles_region boolean NOT NULL DEFAULT false,
    geom             geometry(MultiPolygon) NOT NULL CHECK (ST_IsValid(geom) AND NOT ST_IsEmpty(geom)),
    PRIMARY KEY (level, code)
);
CREATE INDEX territory_geom_idx ON territory USING gist (geom);

-- The editable mapping partner type -> missions and publics (data/partner-types.csv).
CREATE TABLE partner_type (
    partner_type    text PRIMARY KEY,
    label           text NOT NULL,
    missions        text[] NOT NULL CHECK (missions <@ ARRAY['accueil', 'information', 'conseil', 'accompagnement']),
    publics         text[] NOT NULL,
    receives_public boolean NOT NULL,
    description     text
);

-- Places of the SPRO network, from every loaded dataset.
CREATE TABLE structure (
    structure_id  text PRIMARY KEY,
    dataset       text NOT NULL,
    partner_type  text NOT NULL REFERENCES partner_type DEFERRABLE INITIALLY DEFERRED,
    name          text NOT NULL,
    address       text,
    postcode      text,
    commune_code  text NOT NULL REFERENCES commune (code) DEFERRABLE INITIALLY DEFERRED,
    commune_name  text,
    phone         text,
    email         text,
    website       text,
    site_format   text NOT NULL CHECK (site_format IN ('fixe', 'fixe_antennes', 'multisites', 'itinerant', 'bus')),
    opening_hours jsonb NOT NULL DEFAULT '{}',
    appointment   boolean,
    geocoding     text NOT NULL CHECK (geocoding IN ('source', 'adresse', 'approx_mairie', 'commune')),
    missions      text[] NOT NULL CHECK (missions <@ ARRAY['accueil', 'information', 'conseil', 'accompagnement']),
    publics       text[] NOT NULL,
    source        text NOT NULL,
    vintage       text,
    geom          geometry(Point) NOT NULL CHECK (NOT ST_IsEmpty(geom))
);
CREATE INDEX structure_geom_idx ON structure USING gist (geom);
CREATE INDEX structure_dataset_idx ON structure (dataset);
CREATE INDEX structure_partner_type_idx ON structure (partner_type);
CREATE INDEX structure_commune_idx ON structure (commune_code);

-- Every geometry must be in the Région's CRS.
CREATE FUNCTION atlas_check_srid() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF ST_SRID(NEW.geom) IS DISTINCT FROM atlas_srid() THEN
        RAISE EXCEPTION 'geometry of %.% has SRID %, expected the Région''s SRID %',
            TG_TABLE_NAME, TG_ARGV[0], ST_SRID(NEW.geom), atlas_srid();
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER commune_srid BEFORE INSERT OR UPDATE ON commune
    FOR EACH ROW EXECUTE FUNCTION atlas_check_srid('geom');
CREATE TRIGGER territory_srid BEFORE INSERT OR UPDATE ON territory
    FOR EACH ROW EXECUTE FUNCTION atlas_check_srid('geom');
CREATE TRIGGER structure_srid BEFORE INSERT OR UPDATE ON structure
    FOR EACH ROW EXECUTE FUNCTION atlas_check_srid('geom');

-- One row per load: what was read (files and their sha256) and what was written.
CREATE TABLE load_run (
    id          bigserial PRIMARY KEY,
    started_at  timestamptz NOT NULL,
    finished_at timestamptz NOT NULL DEFAULT now(),
    kind        text NOT NULL,
    files       jsonb NOT NULL,
    counts      jsonb NOT NULL
);
