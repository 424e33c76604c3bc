-- Registered forecasting models (Kronos weights in the object store).
CREATE TABLE models (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
        CHECK (name ~ '^[a-z0-9][a-z0-9._-]{0,63}$' AND name NOT IN ('naive', 'drift')),
    family TEXT NOT NULL DEFAULT 'kronos' CHECK (family IN ('kronos')),
    -- how the weights came to be: imported files, random initialisation, training
    source TEXT NOT NULL CHECK (source IN ('import', 'init', 'training')),
    -- object-store prefix holding tokenizer/ and predictor/ (config.json + model.safetensors)
    storage_prefix TEXT NOT NULL,
    tokenizer_config JSONB NOT NULL,
    predictor_config JSONB NOT NULL,
    -- default longest window for predictions
    max_context INT NOT NULL CHECK (max_context > 0),
    parameters BIGINT NOT NULL CHECK (parameters > 0),
    -- SHA-256 of tokenizer then predictor weights, hex
    weights_sha256 TEXT NOT NULL,
    owner_id BIGINT,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
