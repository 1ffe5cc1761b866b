-- The standard document each standard object was last upgraded from, so an
-- upgrade can tell an admin's customisation from an older shipped default.
ALTER TABLE rapport_object ADD COLUMN shipped TEXT
