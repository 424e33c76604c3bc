-- Verified forecasts: what happened over each expired prediction's horizon, with the
-- error sums of the forecast and of the naive baseline on the same steps, so accuracy
-- aggregates exactly over any grouping (model version, asset, user, time).
CREATE TABLE prediction_results (
    job_id              UUID PRIMARY KEY REFERENCES predictions (job_id) ON DELETE CASCADE,
    -- the version that served the prediction (predictions.model)
    model               TEXT NOT NULL,
    asset_id            BIGINT NOT NULL REFERENCES assets (id),
    owner_id            BIGINT,
    interval            TEXT NOT NULL,
    predicted_at        TIMESTAMPTZ NOT NULL,
    last_close          DOUBLE PRECISION NOT NULL,
    -- per step: actual close, forecast close, forecast − actual, inside [p10, p90]
    actual              DOUBLE PRECISION[] NOT NULL,
    forecast            DOUBLE PRECISION[] NOT NULL,
    errors              DOUBLE PRECISION[] NOT NULL,
    covered             BOOLEAN[] NOT NULL,
    steps               INT NOT NULL CHECK (steps > 0),
    abs_error_sum       DOUBLE PRECISION NOT NULL,
    sq_error_sum        DOUBLE PRECISION NOT NULL,
    pct_error_sum       DOUBLE PRECISION NOT NULL,
    pct_steps           INT NOT NULL,
    direction_hit       BOOLEAN NOT NULL,
    covered_steps       INT NOT NULL,
    naive_abs_error_sum DOUBLE PRECISION NOT NULL,
    naive_sq_error_sum  DOUBLE PRECISION NOT NULL,
    naive_pct_error_sum DOUBLE PRECISION NOT NULL,
    naive_direction_hit BOOLEAN NOT NULL,
    verified_at         TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX prediction_results_model_idx ON prediction_results (model, predicted_at);
CREATE INDEX prediction_results_asset_idx ON prediction_results (asset_id, predicted_at);
CREATE INDEX prediction_results_owner_idx ON prediction_results (owner_id, predicted_at) WHERE owner_id IS NOT NULL;
