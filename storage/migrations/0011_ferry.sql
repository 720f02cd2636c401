-- Atlas SPRO, schema version 11: travel times that cross by boat.
--
-- A route=ferry way joins an island to the mainland (geo/network/ferries.py). When the
-- fastest path from a commune to a place needs a boat, the time says so (« dont traversée
-- en bateau ») on the finder, in the API and in exports. Rows written before this version
-- were computed without ferries: false is their truth.
ALTER TABLE commune_structure_time ADD COLUMN ferry boolean NOT NULL DEFAULT false;
ALTER TABLE commune_access ADD COLUMN ferry boolean NOT NULL DEFAULT false;

COMMENT ON COLUMN commune_structure_time.ferry IS
    'True when the fastest path from the commune to the place crosses by ferry (route=ferry)';
COMMENT ON COLUMN commune_access.ferry IS
    'True when the time to the nearest place of the category crosses by ferry (route=ferry)';
