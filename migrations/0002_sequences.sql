-- Counters of auto-number fields, one row per field (keyed by field id so a
-- rename keeps counting).
CREATE TABLE rapport_sequence (
    field_id TEXT PRIMARY KEY REFERENCES rapport_field (id),
    next_value BIGINT NOT NULL
);
