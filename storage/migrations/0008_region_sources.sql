-- Atlas SPRO, schema version 8: the words that credit a Région's territorial sources.
--
-- The pages and the report cite where the communes, populations and contours come from;
-- that depends on the Région's folder (atlas.toml, [territories] vintage), not on the code.
ALTER TABLE region_config ADD COLUMN territories_source text;

COMMENT ON COLUMN region_config.territories_source IS
    'Sources and vintages of the communes, populations and contours, as the manifest words them';
