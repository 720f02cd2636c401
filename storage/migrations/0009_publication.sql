-- Atlas SPRO, schema version 9: the publication counter.
--
-- Every command that changes what the public pages show (atlas load, atlas network load,
-- atlas access, atlas gaps, atlas refresh, a new zoning) does all its writes in ONE
-- transaction and, in that same transaction, increments `version`. Readers therefore see
-- either the previous complete state or the new one (PostgreSQL MVCC), and the web
-- application keys its memoised caches by this number (storage.read.data_version).
CREATE TABLE publication (
    singleton    boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    version      bigint NOT NULL DEFAULT 0 CHECK (version >= 0),
    published_at timestamptz NOT NULL DEFAULT now(),
    steps        text[] NOT NULL DEFAULT '{}'
);
INSERT INTO publication (singleton) VALUES (true);

COMMENT ON TABLE publication IS
    'One row: incremented in the transaction of every publication (cache key of the web application)';
COMMENT ON COLUMN publication.steps IS 'What the last publication ran (load, network, access, gaps, zoning)';
