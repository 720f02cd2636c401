-- Atlas SPRO, schema version 3: white zones, infra-regional zonings and what-if scenarios.
--
-- Zone indicators live in access_indicator with level = 'zone:<zoning_id>' and
-- code = zone_id, next to the EPCI, arrondissement, département and Région levels.

-- Communes beyond a travel-time threshold from a category of places (white zones), and
-- communes with a single partner network within 30 minutes (no choice).
CREATE TABLE gap (
    kind         text NOT NULL CHECK (kind IN ('white_zone', 'no_choice')),
    mode         text NOT NULL REFERENCES access_run (mode) ON DELETE CASCADE,
    category     text NOT NULL REFERENCES access_category (code) ON DELETE CASCADE,
    commune_code text NOT NULL REFERENCES commune (code) ON DELETE CASCADE,
    seconds      real,
    threshold_s  real NOT NULL CHECK (threshold_s > 0),
    population   integer NOT NULL CHECK (population >= 0),
    approximate  boolean NOT NULL,
    PRIMARY KEY (kind, mode, category, commune_code)
);

-- A zoning: a partition of the Région's communes into zones. Zonings are planners' work:
-- a new `atlas load` keeps them (its references are checked at commit, so a load that
-- removes a commune used by a zoning fails and says so), while the derived tables (gaps,
-- scenarios, indicators) are emptied until `atlas access` runs again.
CREATE TABLE zoning (
    zoning_id  text PRIMARY KEY CHECK (zoning_id ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
    label      text NOT NULL,
    method     text NOT NULL,
    params     jsonb NOT NULL DEFAULT '{}',
    source     text,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE zone (
    zoning_id        text NOT NULL REFERENCES zoning ON DELETE CASCADE,
    zone_id          text NOT NULL,
    name             text NOT NULL,
    hub_structure_id text REFERENCES structure (structure_id) DEFERRABLE INITIALLY DEFERRED,
    population       bigint NOT NULL CHECK (population >= 0),
    n_communes       integer NOT NULL CHECK (n_communes > 0),
    explanation      text,
    geom             geometry(MultiPolygon) NOT NULL,
    PRIMARY KEY (zoning_id, zone_id)
);
CREATE INDEX zone_geom_idx ON zone USING gist (geom);

CREATE TABLE zone_commune (
    zoning_id    text NOT NULL,
    commune_code text NOT NULL REFERENCES commune (code) DEFERRABLE INITIALLY DEFERRED,
    zone_id      text NOT NULL,
    PRIMARY KEY (zoning_id, commune_code),
    FOREIGN KEY (zoning_id, zone_id) REFERENCES zone ON DELETE CASCADE
);

-- What-if scenarios: sites added at communes or existing places closed, and their effect.
CREATE TABLE scenario (
    scenario_id text PRIMARY KEY CHECK (scenario_id ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
    label       text NOT NULL,
    method      text NOT NULL,
    mode        text NOT NULL,
    category    text NOT NULL,
    params      jsonb NOT NULL DEFAULT '{}',
    summary     jsonb NOT NULL DEFAULT '{}',
    approximate boolean NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE scenario_site (
    scenario_id  text NOT NULL REFERENCES scenario ON DELETE CASCADE,
    rank         integer NOT NULL CHECK (rank > 0),
    action       text NOT NULL CHECK (action IN ('add', 'close')),
    commune_code text REFERENCES commune (code) ON DELETE CASCADE,
    structure_id text REFERENCES structure (structure_id) ON DELETE CASCADE,
    population_gained bigint,
    PRIMARY KEY (scenario_id, rank),
    CHECK ((action = 'add') = (commune_code IS NOT NULL))
);

CREATE TRIGGER zone_srid BEFORE INSERT OR UPDATE ON zone
    FOR EACH ROW EXECUTE FUNCTION atlas_check_srid('geom');
