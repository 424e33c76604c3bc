-- Model registry versions (lineage + version, status, parent, data range, metrics),
-- baseline regressor families, and training checkpoints.

ALTER TABLE models DROP CONSTRAINT models_family_check;
ALTER TABLE models ADD CONSTRAINT models_family_check
    CHECK (family IN ('kronos', 'lstm', 'gru', 'transformer'));
-- regressors have one network: its config is in predictor_config
ALTER TABLE models ALTER COLUMN tokenizer_config DROP NOT NULL;

-- The name users ask for; versions of one lineage share it. `name` stays unique per
-- version (version 1 keeps the lineage's name, later ones are `<lineage>.v<N>`).
ALTER TABLE models ADD COLUMN lineage TEXT;
ALTER TABLE models ADD COLUMN version INT;
UPDATE models SET lineage = name, version = 1;
ALTER TABLE models ALTER COLUMN lineage SET NOT NULL;
ALTER TABLE models ALTER COLUMN version SET NOT NULL;
ALTER TABLE models ADD CONSTRAINT models_version_positive CHECK (version > 0);
ALTER TABLE models ADD CONSTRAINT models_lineage_version_key UNIQUE (lineage, version);

-- candidate → production → archived; imported and initialised models start in production
ALTER TABLE models ADD COLUMN status TEXT NOT NULL DEFAULT 'production'
    CHECK (status IN ('candidate', 'production', 'archived'));
CREATE UNIQUE INDEX models_one_production_idx ON models (lineage) WHERE status = 'production';

ALTER TABLE models ADD COLUMN parent_id BIGINT REFERENCES models (id);
-- what a trained version learnt from
ALTER TABLE models ADD COLUMN trained_interval TEXT;
ALTER TABLE models ADD COLUMN trained_symbols TEXT[];
ALTER TABLE models ADD COLUMN trained_from TIMESTAMPTZ;
ALTER TABLE models ADD COLUMN trained_to TIMESTAMPTZ;
ALTER TABLE models ADD COLUMN training_job_id UUID REFERENCES jobs (id) ON DELETE SET NULL;
-- training settings (steps, lookback, horizon, learning rates, seed)
ALTER TABLE models ADD COLUMN training_config JSONB;
-- validation loss and close metrics beside the naive baseline (and production, when compared)
ALTER TABLE models ADD COLUMN metrics JSONB;
ALTER TABLE models ADD COLUMN promoted_at TIMESTAMPTZ;
