-- Models pulled from the Hugging Face Hub (`kronos models pull`): their own source, and
-- where they came from (the endpoint, and each repository's revision and commit).
ALTER TABLE models DROP CONSTRAINT models_source_check;
ALTER TABLE models ADD CONSTRAINT models_source_check CHECK (source IN ('import', 'init', 'training', 'hub'));
ALTER TABLE models ADD COLUMN origin JSONB;
