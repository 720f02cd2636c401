-- Atlas SPRO, schema version 15: the names under which the public finds a commune.
--
-- One row per (commune, searchable name): the commune's own name, the names of the communes
-- déléguées or associées it absorbed, the name of its EPCI (with and without « CA », « CC »).
-- `key` and `compact` are written by the loader from ONE Python function
-- (geo.names.search_key: accents, case, hyphens, apostrophes, St/Ste -> Saint/Sainte); the
-- search computes the query's key with the same function and SQL only compares keys
-- (equality, prefix, pg_trgm similarity), so the rule lives in one place.
CREATE TABLE commune_name (
    commune_code text NOT NULL REFERENCES commune (code) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
    kind         text NOT NULL CHECK (kind IN ('commune', 'deleguee', 'epci')),
    name         text NOT NULL,
    key          text NOT NULL CHECK (key ~ '^[0-9a-z]+( [0-9a-z]+)*$'),
    compact      text NOT NULL CHECK (compact = replace(key, ' ', '')),
    PRIMARY KEY (commune_code, key)
);
CREATE INDEX commune_name_compact_idx ON commune_name (compact text_pattern_ops);
CREATE INDEX commune_name_compact_trgm_idx ON commune_name USING gin (compact gin_trgm_ops);
CREATE INDEX commune_name_key_trgm_idx ON commune_name USING gin (key gin_trgm_ops);

COMMENT ON TABLE commune_name IS
    'Searchable names of each commune (own name, communes déléguées, EPCI); keys from geo.names.search_key';
