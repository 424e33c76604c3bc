DROP VIEW verified_forecasts;
DROP TABLE evaluation_results;
ALTER TABLE predictions
    DROP COLUMN expected_return,
    DROP COLUMN volatility,
    DROP COLUMN value_at_risk_5,
    DROP COLUMN raw_forecast,
    DROP COLUMN as_of,
    DROP COLUMN calendar;
DELETE FROM jobs WHERE kind = 'evaluation';
ALTER TABLE jobs DROP CONSTRAINT jobs_kind_check;
ALTER TABLE jobs ADD CONSTRAINT jobs_kind_check
    CHECK (kind IN ('prediction', 'training', 'verification', 'backtest', 'refresh'));
