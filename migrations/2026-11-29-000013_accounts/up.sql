-- Accounts and access: users, their sessions (refresh-token families), API keys,
-- single-use email-link tokens, the append-only audit log, daily usage counters and the
-- email outbox; the email job kind; jobs and batches belong to users.

CREATE TABLE users (
    id                       BIGSERIAL PRIMARY KEY,
    email                    TEXT NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
    password_hash            TEXT NOT NULL,
    email_verified_at        TIMESTAMPTZ,
    role                     TEXT NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin')),
    tier                     TEXT NOT NULL DEFAULT 'free' CHECK (tier IN ('free', 'basic', 'pro', 'enterprise')),
    disabled                 BOOLEAN NOT NULL DEFAULT false,
    display_name             TEXT CHECK (length(display_name) <= 100),
    avatar_url               TEXT CHECK (length(avatar_url) <= 2048),
    risk_tolerance           TEXT CHECK (risk_tolerance IN ('low', 'medium', 'high')),
    investment_experience    TEXT CHECK (investment_experience IN ('beginner', 'intermediate', 'expert')),
    preferred_sectors        TEXT[] NOT NULL DEFAULT '{}',
    notification_preferences JSONB NOT NULL DEFAULT '{}',
    last_login_at            TIMESTAMPTZ,
    created_at               TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at               TIMESTAMPTZ NOT NULL DEFAULT now()
);
-- one account per address, whatever its case
CREATE UNIQUE INDEX users_email_idx ON users (lower(email));

-- A refresh token is single-use: using it marks it used and issues the next one in
-- the same family (a session). Using a used one again revokes the whole family.
CREATE TABLE refresh_tokens (
    id          BIGSERIAL PRIMARY KEY,
    user_id     BIGINT NOT NULL REFERENCES users (id),
    family_id   UUID NOT NULL,
    token_hash  TEXT NOT NULL UNIQUE,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at  TIMESTAMPTZ NOT NULL,
    used_at     TIMESTAMPTZ,
    revoked_at  TIMESTAMPTZ,
    ip          TEXT,
    user_agent  TEXT
);
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user_idx ON refresh_tokens (user_id);

CREATE TABLE api_keys (
    id            BIGSERIAL PRIMARY KEY,
    user_id       BIGINT NOT NULL REFERENCES users (id),
    name          TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    shown         TEXT NOT NULL,
    key_hash      TEXT NOT NULL UNIQUE,
    scopes        TEXT[] NOT NULL CHECK (cardinality(scopes) > 0
                      AND scopes <@ ARRAY['read', 'predict', 'train', 'backtest', 'admin']),
    expires_at    TIMESTAMPTZ,
    last_used_at  TIMESTAMPTZ,
    revoked_at    TIMESTAMPTZ,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX api_keys_user_idx ON api_keys (user_id, created_at DESC);

-- Email-verification and password-reset links: single-use, expiring, stored hashed.
CREATE TABLE link_tokens (
    token_hash  TEXT PRIMARY KEY,
    user_id     BIGINT NOT NULL REFERENCES users (id),
    purpose     TEXT NOT NULL CHECK (purpose IN ('verify_email', 'password_reset')),
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at  TIMESTAMPTZ NOT NULL,
    used_at     TIMESTAMPTZ
);
CREATE INDEX link_tokens_user_idx ON link_tokens (user_id, purpose);

-- Append-only: no statement may change or remove a row.
CREATE TABLE audit_log (
    id          BIGSERIAL PRIMARY KEY,
    at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    actor_id    BIGINT REFERENCES users (id),
    user_id     BIGINT REFERENCES users (id),
    action      TEXT NOT NULL,
    ip          TEXT,
    user_agent  TEXT,
    details     JSONB NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_user_idx ON audit_log (user_id, id);
CREATE INDEX audit_log_action_idx ON audit_log (action, id);
CREATE FUNCTION audit_log_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

-- Jobs submitted per user, metric and UTC day; a quota check takes the row's lock in
-- the transaction that inserts the job. (API calls are counted in Redis.)
CREATE TABLE usage_daily (
    user_id  BIGINT NOT NULL REFERENCES users (id),
    day      DATE NOT NULL,
    metric   TEXT NOT NULL CHECK (metric IN ('predictions', 'trainings', 'backtests')),
    count    BIGINT NOT NULL DEFAULT 0 CHECK (count >= 0),
    PRIMARY KEY (user_id, day, metric)
);

-- Messages written in the transaction of the event that causes them; an email job
-- delivers each once (a row is sent when sent_at is set).
CREATE TABLE email_outbox (
    id          UUID PRIMARY KEY,
    user_id     BIGINT REFERENCES users (id),
    kind        TEXT NOT NULL,
    to_address  TEXT NOT NULL,
    subject     TEXT NOT NULL,
    text_body   TEXT NOT NULL,
    html_body   TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    sent_at     TIMESTAMPTZ,
    attempts    INT NOT NULL DEFAULT 0,
    last_error  TEXT
);
CREATE INDEX email_outbox_unsent_idx ON email_outbox (created_at) WHERE sent_at IS NULL;

ALTER TABLE jobs DROP CONSTRAINT jobs_kind_check;
ALTER TABLE jobs ADD CONSTRAINT jobs_kind_check
    CHECK (kind IN ('prediction', 'training', 'verification', 'backtest', 'refresh', 'evaluation', 'cleanup', 'email'));
ALTER TABLE jobs ADD CONSTRAINT jobs_owner_fk FOREIGN KEY (owner_id) REFERENCES users (id);
ALTER TABLE batches ADD CONSTRAINT batches_owner_fk FOREIGN KEY (owner_id) REFERENCES users (id);
-- a user's jobs, newest first (GET /v1/jobs lists only the caller's)
CREATE INDEX jobs_owner_idx ON jobs (owner_id, id DESC) WHERE owner_id IS NOT NULL;
