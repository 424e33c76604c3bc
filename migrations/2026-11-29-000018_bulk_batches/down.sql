DROP TABLE callback_attempts;
DROP TABLE callbacks;
ALTER TABLE users DROP COLUMN callback_secret;
ALTER TABLE api_keys DROP COLUMN callback_secret;
DROP INDEX jobs_batch_status_idx;
DROP INDEX batches_idempotency_idx;
DROP INDEX batches_unfinished_idx;
DROP INDEX batches_owner_idx;
ALTER TABLE batches
    DROP COLUMN status, DROP COLUMN settings, DROP COLUMN input_format, DROP COLUMN input_key,
    DROP COLUMN input_bytes, DROP COLUMN series_invalid, DROP COLUMN chunks, DROP COLUMN errors_key,
    DROP COLUMN error, DROP COLUMN cancel_requested, DROP COLUMN callback_url, DROP COLUMN api_key_id,
    DROP COLUMN idempotency_key, DROP COLUMN request_id, DROP COLUMN priority, DROP COLUMN updated_at,
    DROP COLUMN started_at, DROP COLUMN finished_at;
ALTER TABLE batches ALTER COLUMN series_total DROP DEFAULT;
ALTER TABLE batches RENAME COLUMN results_key TO result_key;
ALTER TABLE batches RENAME COLUMN series_total TO total_items;
ALTER TABLE jobs DROP COLUMN api_key_id;
ALTER TABLE jobs DROP COLUMN callback_url;
DELETE FROM jobs WHERE kind IN ('batch', 'batch_chunk');
ALTER TABLE jobs DROP CONSTRAINT jobs_kind_check;
ALTER TABLE jobs ADD CONSTRAINT jobs_kind_check
    CHECK (kind IN ('prediction', 'training', 'verification', 'backtest', 'refresh', 'evaluation', 'cleanup', 'email'));
