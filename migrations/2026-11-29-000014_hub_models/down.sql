ALTER TABLE models DROP COLUMN origin;
UPDATE models SET source = 'import' WHERE source = 'hub';
ALTER TABLE models DROP CONSTRAINT models_source_check;
ALTER TABLE models ADD CONSTRAINT models_source_check CHECK (source IN ('import', 'init', 'training'));
