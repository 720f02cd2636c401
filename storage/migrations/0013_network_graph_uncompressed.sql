-- Road graphs are stored as uncompressed .npz arrays (geo.network.RoadGraph.to_npz_bytes):
-- compressing them cost a third of `atlas network load` at Région scale for 37 % less
-- space. EXTERNAL keeps them out of line without PostgreSQL's own (pglz) compression,
-- which would spend the time saved. Graphs written before keep their compressed .npz,
-- which load_npz still reads.
ALTER TABLE network ALTER COLUMN graph SET STORAGE EXTERNAL;
