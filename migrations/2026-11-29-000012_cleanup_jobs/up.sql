-- Cleanup (artifacts past their retention) is a job run by workers; the scheduler only
-- enqueues it.
ALTER TABLE jobs DROP CONSTRAINT jobs_kind_check;
ALTER TABLE jobs ADD CONSTRAINT jobs_kind_check
    CHECK (kind IN ('prediction', 'training', 'verification', 'backtest', 'refresh', 'evaluation', 'cleanup'));
