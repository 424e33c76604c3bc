DROP INDEX jobs_owner_idx;
ALTER TABLE batches DROP CONSTRAINT batches_owner_fk;
ALTER TABLE jobs DROP CONSTRAINT jobs_owner_fk;
DELETE FROM jobs WHERE kind = 'email';
ALTER TABLE jobs DROP CONSTRAINT jobs_kind_check;
ALTER TABLE jobs ADD CONSTRAINT jobs_kind_check
    CHECK (kind IN ('prediction', 'training', 'verification', 'backtest', 'refresh', 'evaluation', 'cleanup'));
DROP TABLE email_outbox;
DROP TABLE usage_daily;
DROP TRIGGER audit_log_append_only ON audit_log;
DROP TABLE audit_log;
DROP FUNCTION audit_log_append_only();
DROP TABLE link_tokens;
DROP TABLE api_keys;
DROP TABLE refresh_tokens;
DROP TABLE users;
