-- Atlas SPRO, schema version 2: road networks, travel times and accessibility indicators.
--
-- Everything below is derived: `atlas network load` fills `network`, `atlas access`
-- replaces the other tables for one mode in one transaction, and a new `atlas load`
-- empties them (the structures they describe changed). Times are in seconds. Every row
-- computed on the approximate commune graph carries approximate = true.

-- Road graphs, one per mode, as the compressed arrays of geo.network.RoadGraph.save_npz.
CREATE TABLE network (
    mode          text PRIMARY KEY CHECK (mode IN ('drive', 'walk')),
    approximate   boolean NOT NULL,
    source        text NOT NULL,
    source_sha256 text,
    crs           text NOT NULL,
    n_nodes       integer NOT NULL CHECK (n_nodes >= 0),
    n_edges       integer NOT NULL CHECK (n_edges >= 0),
    graph         bytea NOT NULL,
    built_at      timestamptz NOT NULL DEFAULT now()
);

-- One row per accessibility run and mode (the latest is the one in the tables below).
CREATE TABLE access_run (
    mode         text PRIMARY KEY CHECK (mode IN ('drive', 'walk')),
    approximate  boolean NOT NULL,
    network      text NOT NULL,
    computed_at  timestamptz NOT NULL DEFAULT now(),
    params       jsonb NOT NULL,
    counts       jsonb NOT NULL
);

-- Categories of places for which the nearest one is computed.
CREATE TABLE access_category (
    code       text PRIMARY KEY,
    kind       text NOT NULL CHECK (kind IN ('any', 'mission', 'partner_type', 'public')),
    key        text NOT NULL,
    fixed_only boolean NOT NULL,
    label      text NOT NULL,
    n_places   integer NOT NULL CHECK (n_places > 0),
    sort_order integer NOT NULL
);

-- Where the inhabitants of each commune start from, per mode.
CREATE TABLE commune_origin (
    commune_code text NOT NULL REFERENCES commune (code) ON DELETE CASCADE,
    mode         text NOT NULL REFERENCES access_run (mode) ON DELETE CASCADE,
    method       text NOT NULL,
    snap_m       real NOT NULL CHECK (snap_m >= 0),
    off_network  boolean NOT NULL,
    geom         geometry(Point) NOT NULL,
    PRIMARY KEY (commune_code, mode)
);

-- Nearest place of each category from each commune, with choice and 2SFCA figures.
CREATE TABLE commune_access (
    commune_code   text NOT NULL REFERENCES commune (code) ON DELETE CASCADE,
    mode           text NOT NULL REFERENCES access_run (mode) ON DELETE CASCADE,
    category       text NOT NULL REFERENCES access_category (code) ON DELETE CASCADE,
    seconds        real CHECK (seconds >= 0),
    structure_id   text REFERENCES structure (structure_id) ON DELETE CASCADE,
    n_operators_30 integer NOT NULL CHECK (n_operators_30 >= 0),
    fca            real NOT NULL CHECK (fca >= 0),
    approximate    boolean NOT NULL,
    PRIMARY KEY (commune_code, mode, category),
    CHECK ((seconds IS NULL) = (structure_id IS NULL))
);
CREATE INDEX commune_access_category_idx ON commune_access (mode, category);

-- Travel time from each commune to each place within the run's bound (public finder).
CREATE TABLE commune_structure_time (
    commune_code text NOT NULL REFERENCES commune (code) ON DELETE CASCADE,
    mode         text NOT NULL REFERENCES access_run (mode) ON DELETE CASCADE,
    structure_id text NOT NULL REFERENCES structure (structure_id) ON DELETE CASCADE,
    seconds      real NOT NULL CHECK (seconds >= 0),
    PRIMARY KEY (commune_code, mode, structure_id)
);
CREATE INDEX commune_structure_time_order_idx ON commune_structure_time (commune_code, mode, seconds);
CREATE INDEX commune_structure_time_structure_idx ON commune_structure_time (structure_id);

-- Indicators aggregated per territory (and, later, per zone).
CREATE TABLE access_indicator (
    level                text NOT NULL,
    code                 text NOT NULL,
    mode                 text NOT NULL REFERENCES access_run (mode) ON DELETE CASCADE,
    category             text NOT NULL REFERENCES access_category (code) ON DELETE CASCADE,
    n_communes           integer NOT NULL,
    population           bigint NOT NULL,
    population_unreached bigint NOT NULL,
    mean_min             real,
    median_min           real,
    share_10             real NOT NULL CHECK (share_10 BETWEEN 0 AND 1),
    share_20             real NOT NULL CHECK (share_20 BETWEEN 0 AND 1),
    share_30             real NOT NULL CHECK (share_30 BETWEEN 0 AND 1),
    share_45             real NOT NULL CHECK (share_45 BETWEEN 0 AND 1),
    mean_operators_30    real,
    mean_fca             real,
    approximate          boolean NOT NULL,
    PRIMARY KEY (level, code, mode, category)
);

-- Areas from which a place is reached within 15, 30 and 45 minutes.
CREATE TABLE isochrone (
    structure_id text NOT NULL REFERENCES structure (structure_id) ON DELETE CASCADE,
    mode         text NOT NULL REFERENCES access_run (mode) ON DELETE CASCADE,
    minutes      integer NOT NULL CHECK (minutes > 0),
    approximate  boolean NOT NULL,
    geom         geometry(MultiPolygon) NOT NULL,
    PRIMARY KEY (structure_id, mode, minutes)
);
CREATE INDEX isochrone_geom_idx ON isochrone USING gist (geom);

CREATE TRIGGER commune_origin_srid BEFORE INSERT OR UPDATE ON commune_origin
    FOR EACH ROW EXECUTE FUNCTION atlas_check_srid('geom');
CREATE TRIGGER isochrone_srid BEFORE INSERT OR UPDATE ON isochrone
    FOR EACH ROW EXECUTE FUNCTION atlas_check_srid('geom');
