-- Bulk prediction batches: the upload, the shared forecast settings, the status of the
-- batch as a whole (its chunks are `batch_chunk` jobs), results and errors in the
-- object store; completion callbacks with their delivery attempts.

ALTER TABLE jobs DROP CONSTRAINT jobs_kind_check;
ALTER TABLE jobs ADD CONSTRAINT jobs_kind_check
    CHECK (kind IN ('prediction', 'training', 'verification', 'backtest', 'refresh', 'evaluation', 'cleanup',
                    'email', 'batch', 'batch_chunk'));
-- a job's own completion callback (predictions)
ALTER TABLE jobs ADD COLUMN callback_url TEXT CHECK (length(callback_url) <= 2048);
-- the API key a job was submitted with: its callbacks are signed with that key's secret.
-- No foreign key: a per-row check would share-lock the key's row from every concurrent
-- submission (the hot path); a key that is gone signs with its owner's secret instead.
ALTER TABLE jobs ADD COLUMN api_key_id BIGINT;

ALTER TABLE batches RENAME COLUMN total_items TO series_total;
ALTER TABLE batches RENAME COLUMN result_key TO results_key;
ALTER TABLE batches
    ADD COLUMN status TEXT NOT NULL DEFAULT 'validating'
        CHECK (status IN ('validating', 'running', 'assembling', 'succeeded', 'failed', 'cancelled')),
    ADD COLUMN settings JSONB NOT NULL DEFAULT '{}',
    ADD COLUMN input_format TEXT NOT NULL DEFAULT 'json' CHECK (input_format IN ('json', 'csv', 'parquet', 'symbols')),
    ADD COLUMN input_key TEXT,
    ADD COLUMN input_bytes BIGINT NOT NULL DEFAULT 0 CHECK (input_bytes >= 0),
    ADD COLUMN series_invalid INTEGER NOT NULL DEFAULT 0 CHECK (series_invalid >= 0),
    ADD COLUMN chunks INTEGER NOT NULL DEFAULT 0 CHECK (chunks >= 0),
    ADD COLUMN errors_key TEXT,
    ADD COLUMN error TEXT,
    ADD COLUMN cancel_requested BOOLEAN NOT NULL DEFAULT FALSE,
    ADD COLUMN callback_url TEXT CHECK (length(callback_url) <= 2048),
    ADD COLUMN api_key_id BIGINT REFERENCES api_keys (id) ON DELETE SET NULL,
    ADD COLUMN idempotency_key TEXT,
    ADD COLUMN request_id TEXT CHECK (length(request_id) <= 128),
    ADD COLUMN priority SMALLINT NOT NULL DEFAULT 0,
    ADD COLUMN updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    ADD COLUMN started_at TIMESTAMPTZ,
    ADD COLUMN finished_at TIMESTAMPTZ;
ALTER TABLE batches ALTER COLUMN series_total SET DEFAULT 0;
-- a user's batches, newest first; unfinished ones per user (the tier's running limit)
CREATE INDEX batches_owner_idx ON batches (owner_id, id DESC);
CREATE INDEX batches_unfinished_idx ON batches (owner_id)
    WHERE status IN ('validating', 'running', 'assembling');
CREATE UNIQUE INDEX batches_idempotency_idx ON batches (owner_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
-- the chunks of a batch by status (progress, the finishing check)
CREATE INDEX jobs_batch_status_idx ON jobs (batch_id, status) WHERE batch_id IS NOT NULL;

-- Callback signing secrets (Stripe's scheme: `whsec_` + 64 hex): one per API key, and one
-- per user for work submitted from a session. They sign, they authenticate nothing, and
-- the server needs them in the clear to sign.
ALTER TABLE api_keys ADD COLUMN callback_secret TEXT NOT NULL
    DEFAULT 'whsec_' || encode(sha256((gen_random_uuid()::text || gen_random_uuid()::text)::bytea), 'hex');
ALTER TABLE users ADD COLUMN callback_secret TEXT NOT NULL
    DEFAULT 'whsec_' || encode(sha256((gen_random_uuid()::text || gen_random_uuid()::text)::bytea), 'hex');

-- A completion callback: one per finished batch or job, delivered at least once.
CREATE TABLE callbacks (
    id              UUID PRIMARY KEY,
    owner_id        BIGINT NOT NULL REFERENCES users (id),
    batch_id        UUID UNIQUE REFERENCES batches (id) ON DELETE CASCADE,
    job_id          UUID UNIQUE REFERENCES jobs (id) ON DELETE CASCADE,
    url             TEXT NOT NULL CHECK (length(url) <= 2048),
    event           TEXT NOT NULL CHECK (event IN ('batch.finished', 'job.finished')),
    body            JSONB NOT NULL,
    api_key_id      BIGINT REFERENCES api_keys (id) ON DELETE SET NULL,
    status          TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    finished_at     TIMESTAMPTZ,
    CHECK ((batch_id IS NULL) <> (job_id IS NULL))
);
CREATE INDEX callbacks_due_idx ON callbacks (next_attempt_at) WHERE status = 'pending';

-- Every delivery attempt, as the batch's owner sees it.
CREATE TABLE callback_attempts (
    callback_id  UUID NOT NULL REFERENCES callbacks (id) ON DELETE CASCADE,
    attempt      INTEGER NOT NULL CHECK (attempt >= 1),
    at           TIMESTAMPTZ NOT NULL DEFAULT now(),
    status_code  INTEGER,
    error        TEXT,
    duration_ms  INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (callback_id, attempt)
);
