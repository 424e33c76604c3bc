-- Alerts: a user's rules on an asset, and every time one fired (once per event).
CREATE TABLE alerts (
    id             BIGSERIAL PRIMARY KEY,
    owner_id       BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    asset_id       BIGINT NOT NULL REFERENCES assets(id) ON DELETE CASCADE,
    kind           TEXT NOT NULL CHECK (kind IN ('price_above', 'price_below', 'change_24h',
                       'prob_up_above', 'prob_up_below', 'expected_move')),
    threshold      DOUBLE PRECISION NOT NULL CHECK (threshold = threshold),
    -- the candles price rules read
    interval       TEXT NOT NULL,
    cooldown_secs  INT NOT NULL CHECK (cooldown_secs BETWEEN 60 AND 2592000),
    enabled        BOOLEAN NOT NULL DEFAULT true,
    note           TEXT CHECK (length(note) <= 200),
    -- whether the price condition held at the last evaluation (a crossing fires)
    last_met       BOOLEAN,
    last_fired_at  TIMESTAMPTZ,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at     TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX alerts_owner_idx ON alerts (owner_id, id);
CREATE INDEX alerts_asset_idx ON alerts (asset_id) WHERE enabled;

CREATE TABLE alert_events (
    id        BIGSERIAL PRIMARY KEY,
    alert_id  BIGINT NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
    fired_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- what fired it (`candle:1h:<unix>`, `prediction:<job id>`): once per source
    source    TEXT NOT NULL,
    value     DOUBLE PRECISION NOT NULL,
    threshold DOUBLE PRECISION NOT NULL,
    detail    JSONB NOT NULL DEFAULT '{}',
    UNIQUE (alert_id, source)
);
CREATE INDEX alert_events_alert_idx ON alert_events (alert_id, id DESC);
