-- Platform spine: assets, candles, jobs, batches, predictions, artifacts.
-- Users and auth arrive later; owner_id columns are left for them.

CREATE TABLE assets (
    id          BIGSERIAL PRIMARY KEY,
    symbol      TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL DEFAULT '',
    class       TEXT NOT NULL DEFAULT 'stock' CHECK (class IN ('stock', 'crypto', 'fx', 'index')),
    exchange    TEXT,
    active      BOOLEAN NOT NULL DEFAULT TRUE,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE candles (
    asset_id  BIGINT NOT NULL REFERENCES assets (id),
    interval  TEXT NOT NULL,
    ts        TIMESTAMPTZ NOT NULL,
    open      DOUBLE PRECISION NOT NULL CHECK (open > 0),
    high      DOUBLE PRECISION NOT NULL CHECK (high > 0),
    low       DOUBLE PRECISION NOT NULL CHECK (low > 0),
    close     DOUBLE PRECISION NOT NULL CHECK (close > 0),
    volume    DOUBLE PRECISION NOT NULL DEFAULT 0 CHECK (volume >= 0),
    amount    DOUBLE PRECISION NOT NULL DEFAULT 0 CHECK (amount >= 0),
    source    TEXT NOT NULL DEFAULT 'import',
    PRIMARY KEY (asset_id, interval, ts),
    CHECK (high >= low)
);

CREATE TABLE batches (
    id           UUID PRIMARY KEY,
    owner_id     BIGINT,
    total_items  INTEGER NOT NULL CHECK (total_items >= 0),
    result_key   TEXT,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE jobs (
    id               UUID PRIMARY KEY,
    kind             TEXT NOT NULL CHECK (kind IN ('prediction', 'training', 'verification', 'backtest')),
    status           TEXT NOT NULL DEFAULT 'queued'
                     CHECK (status IN ('queued', 'running', 'retrying', 'succeeded', 'failed', 'cancelled')),
    payload          JSONB NOT NULL,
    owner_id         BIGINT,
    idempotency_key  TEXT,
    request_hash     TEXT,
    batch_id         UUID REFERENCES batches (id),
    priority         SMALLINT NOT NULL DEFAULT 0,
    attempts         INTEGER NOT NULL DEFAULT 0,
    max_attempts     INTEGER NOT NULL DEFAULT 3 CHECK (max_attempts >= 1),
    progress         REAL NOT NULL DEFAULT 0,
    error            TEXT,
    worker           TEXT,
    device           TEXT,
    run_after        TIMESTAMPTZ NOT NULL DEFAULT now(),
    dispatched_at    TIMESTAMPTZ,
    dispatch_count   INTEGER NOT NULL DEFAULT 0,
    heartbeat_at     TIMESTAMPTZ,
    cancel_requested BOOLEAN NOT NULL DEFAULT FALSE,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    started_at       TIMESTAMPTZ,
    finished_at      TIMESTAMPTZ
);

-- Same owner + same key = same job.
CREATE UNIQUE INDEX jobs_idempotency_idx ON jobs (owner_id, idempotency_key) NULLS NOT DISTINCT
    WHERE idempotency_key IS NOT NULL;
-- Jobs waiting to be pushed into Redis (the dispatcher's work list).
CREATE INDEX jobs_undispatched_idx ON jobs (kind, priority DESC, run_after)
    WHERE status IN ('queued', 'retrying') AND dispatched_at IS NULL;
-- Jobs sitting in Redis, not yet claimed by a worker (the metered backlog).
CREATE INDEX jobs_in_queue_idx ON jobs (kind, dispatched_at)
    WHERE status IN ('queued', 'retrying') AND dispatched_at IS NOT NULL;
-- Running jobs by lease age (the reconciler's stale-lease scan).
CREATE INDEX jobs_running_idx ON jobs (heartbeat_at) WHERE status = 'running';
-- Listings page newest first by the primary key: ids are UUIDv7 (time-ordered).
-- A queue table: every job is updated ~4 times, so vacuum it early and often.
-- Payloads (inline candles) and forecasts are TOASTed; lz4 costs a fraction of pglz's CPU.
ALTER TABLE jobs ALTER COLUMN payload SET COMPRESSION lz4;
ALTER TABLE jobs SET (autovacuum_vacuum_scale_factor = 0.02, autovacuum_analyze_scale_factor = 0.02,
                      autovacuum_vacuum_cost_delay = 0);
CREATE INDEX jobs_batch_idx ON jobs (batch_id) WHERE batch_id IS NOT NULL;

CREATE TABLE predictions (
    job_id       UUID PRIMARY KEY REFERENCES jobs (id) ON DELETE CASCADE,
    asset_id     BIGINT REFERENCES assets (id),
    interval     TEXT NOT NULL,
    model        TEXT NOT NULL,
    horizon      INTEGER NOT NULL CHECK (horizon > 0),
    last_ts      TIMESTAMPTZ NOT NULL,
    last_close   DOUBLE PRECISION NOT NULL,
    forecast     JSONB NOT NULL,
    prob_up      DOUBLE PRECISION NOT NULL CHECK (prob_up >= 0 AND prob_up <= 1),
    artifact_key TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX predictions_expiry_idx ON predictions (expires_at);
ALTER TABLE predictions ALTER COLUMN forecast SET COMPRESSION lz4;

CREATE TABLE artifacts (
    key          TEXT PRIMARY KEY,
    job_id       UUID REFERENCES jobs (id) ON DELETE SET NULL,
    kind         TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size_bytes   BIGINT NOT NULL,
    sha256       TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);
