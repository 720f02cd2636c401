-- Atlas SPRO, schema version 7: how complete the inventory is, and which figures it weakens.
--
-- partner_type.expected_sites: the number of sites the Région expects for the type (its own
-- census, [expected_sites] of atlas.toml), NULL when unknown. A type is complete when the
-- places loaded that receive the public reach 95 % of it (geo.analysis.inventory).
-- access_category.incomplete_types: the partner types a category covers (by the mapping)
-- whose inventory is not complete, as atlas access found them; a figure of a category with
-- any (inventory_incomplete, the one definition of the rule) is labelled « inventaire
-- incomplet » wherever it appears.
ALTER TABLE partner_type ADD COLUMN expected_sites integer CHECK (expected_sites >= 0);
ALTER TABLE access_category ADD COLUMN incomplete_types text[] NOT NULL DEFAULT '{}';
ALTER TABLE access_category ADD COLUMN inventory_incomplete boolean
    GENERATED ALWAYS AS (cardinality(incomplete_types) > 0) STORED;

COMMENT ON COLUMN partner_type.expected_sites IS
    'Sites the Région expects for this type (its census); NULL: unknown, the inventory is then incomplete';
COMMENT ON COLUMN access_category.incomplete_types IS
    'Partner types covered by the category whose inventory is incomplete (figures labelled « inventaire incomplet »)';
