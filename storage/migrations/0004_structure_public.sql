-- Atlas SPRO, schema version 4: public reception per place.
--
-- A partner type says whether its places receive the public (partner_type.receives_public);
-- a source may say it place by place (France Travail's TYPE_SITE: agencies receive the
-- public, territorial and regional directorates do not). structure.receives_public holds
-- the source's word, NULL when it says nothing: the place then follows its type. A place
-- that does not receive the public is kept (planners see it on the map) but left out of
-- the finder, travel times, indicators, white zones, zone hubs and the what-if.
ALTER TABLE structure ADD COLUMN receives_public boolean;

COMMENT ON COLUMN structure.receives_public IS
    'Whether the place receives the public, as its source says (NULL: as its partner type)';
