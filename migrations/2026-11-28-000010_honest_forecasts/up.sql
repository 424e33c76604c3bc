-- Evaluation jobs (a model run walk-forward over stored history, every forecast
-- verified at once), forecasts' horizon risk figures and raw model output, backdated
-- forecasts (as_of) with the calendar their future bars follow, and one view of every
-- verified forecast, live or evaluated, for accuracy.
ALTER TABLE jobs DROP CONSTRAINT jobs_kind_check;
ALTER TABLE jobs ADD CONSTRAINT jobs_kind_check
    CHECK (kind IN ('prediction', 'training', 'verification', 'backtest', 'refresh', 'evaluation'));

ALTER TABLE predictions
    -- the mean path's final close over the last close, minus 1
    ADD COLUMN expected_return DOUBLE PRECISION,
    -- standard deviation of the horizon returns across sample paths
    ADD COLUMN volatility DOUBLE PRECISION,
    -- minus the 5th percentile of the horizon returns
    ADD COLUMN value_at_risk_5 DOUBLE PRECISION,
    -- the model's mean path as it came out (forecast holds the consistent bars)
    ADD COLUMN raw_forecast JSONB,
    -- a backdated forecast: made from the candles up to this time only
    ADD COLUMN as_of TIMESTAMPTZ,
    -- the trading calendar of the forecast's bar times
    ADD COLUMN calendar TEXT;
ALTER TABLE predictions ALTER COLUMN raw_forecast SET COMPRESSION lz4;

-- The forecasts of evaluation jobs, each verified against the bars that followed,
-- with the same error sums as prediction_results (see migration 000007).
CREATE TABLE evaluation_results (
    job_id              UUID NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    asset_id            BIGINT NOT NULL REFERENCES assets (id),
    -- the forecast's last observed bar: it saw the candles up to here only
    predicted_at        TIMESTAMPTZ NOT NULL,
    model               TEXT NOT NULL,
    owner_id            BIGINT,
    interval            TEXT NOT NULL,
    last_close          DOUBLE PRECISION NOT NULL,
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
    verified_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (job_id, asset_id, predicted_at)
);
CREATE INDEX evaluation_results_model_idx ON evaluation_results (model, predicted_at);
CREATE INDEX evaluation_results_asset_idx ON evaluation_results (asset_id, predicted_at);

-- Every verified forecast: live predictions verified once their bars arrived, and
-- evaluation forecasts verified on stored history.
CREATE VIEW verified_forecasts AS
    SELECT 'live'::text AS source, model, asset_id, owner_id, interval, predicted_at, steps,
           abs_error_sum, sq_error_sum, pct_error_sum, pct_steps, direction_hit, covered_steps,
           naive_abs_error_sum, naive_sq_error_sum, naive_pct_error_sum, naive_direction_hit
      FROM prediction_results
    UNION ALL
    SELECT 'evaluation'::text, model, asset_id, owner_id, interval, predicted_at, steps,
           abs_error_sum, sq_error_sum, pct_error_sum, pct_steps, direction_hit, covered_steps,
           naive_abs_error_sum, naive_sq_error_sum, naive_pct_error_sum, naive_direction_hit
      FROM evaluation_results;
