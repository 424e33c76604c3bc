-- Refresh jobs (market data from exchanges) and a result document on every job.
ALTER TABLE jobs DROP CONSTRAINT jobs_kind_check;
ALTER TABLE jobs ADD CONSTRAINT jobs_kind_check
    CHECK (kind IN ('prediction', 'training', 'verification', 'backtest', 'refresh'));
-- What a finished job reports (refresh: per-series counts and quality), small JSON.
ALTER TABLE jobs ADD COLUMN result JSONB;
