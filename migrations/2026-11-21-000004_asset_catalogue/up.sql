-- Asset catalogue: categories and exchange source ids on assets, ordered groups, and
-- per-model asset pools.

ALTER TABLE assets
    ADD COLUMN category TEXT,
    ADD COLUMN binance_symbol TEXT,
    ADD COLUMN okx_symbol TEXT,
    ADD COLUMN coingecko_id TEXT,
    ADD COLUMN market_cap_rank INT CHECK (market_cap_rank > 0),
    ADD COLUMN updated_at TIMESTAMPTZ NOT NULL DEFAULT now();

CREATE TABLE asset_groups (
    id          BIGSERIAL PRIMARY KEY,
    -- short stable name used in URLs and the CLI, e.g. top10, defi, layer1
    slug        TEXT NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]{0,47}$'),
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE asset_group_members (
    group_id  BIGINT NOT NULL REFERENCES asset_groups (id) ON DELETE CASCADE,
    asset_id  BIGINT NOT NULL REFERENCES assets (id),
    -- order within the group, from 1
    position  INT NOT NULL CHECK (position > 0),
    PRIMARY KEY (group_id, asset_id)
);
CREATE INDEX asset_group_members_by_asset ON asset_group_members (asset_id);

CREATE TABLE model_asset_pools (
    model_id  BIGINT NOT NULL REFERENCES models (id) ON DELETE CASCADE,
    asset_id  BIGINT NOT NULL REFERENCES assets (id),
    enabled   BOOLEAN NOT NULL DEFAULT TRUE,
    -- relative sampling weight of the asset in training and scheduled work
    weight    DOUBLE PRECISION NOT NULL DEFAULT 1 CHECK (weight > 0 AND weight <= 1000),
    added_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (model_id, asset_id)
);
