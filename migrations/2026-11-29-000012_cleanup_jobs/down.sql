DELETE FROM jobs WHERE kind = 'cleanup';
ALTER TABLE jobs DROP CONSTRAINT jobs_kind_check;
ALTER TABLE jobs ADD CONSTRAINT jobs_kind_check
    CHECK (kind IN ('prediction', 'training', 'verification', 'backtest', 'refresh', 'evaluation'));
