-- Atlas SPRO, schema version 6: the rows a tolerant load left out.
--
-- `atlas load --skip-invalid-rows` loads the valid rows of the structures files and records
-- here each row it rejected, with the file, the row (spreadsheet row, or position in a JSON
-- list), the field and the reason, so that /diagnostic and `atlas db status` can say how
-- many, and the planner can fix them. A strict load (the default) rejects no row.
CREATE TABLE load_rejection (
    load_run_id bigint  NOT NULL REFERENCES load_run (id) ON DELETE CASCADE,
    position    integer NOT NULL,
    file        text    NOT NULL,
    source_row  integer,
    field       text,
    reason      text    NOT NULL,
    PRIMARY KEY (load_run_id, position)
);

COMMENT ON TABLE load_rejection IS
    'Rows left out by a tolerant load (atlas load --skip-invalid-rows), per load run';
