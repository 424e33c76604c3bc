-- Candle rows refused by import or refresh, with the reason: never dropped silently.
CREATE TABLE candle_quarantine (
    id BIGSERIAL PRIMARY KEY,
    symbol TEXT,
    interval TEXT NOT NULL,
    ts TIMESTAMPTZ,
    -- where it came from, e.g. import:prices.csv, refresh:binance
    source TEXT NOT NULL,
    row_number INT,
    reason TEXT NOT NULL,
    raw JSONB NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX candle_quarantine_series ON candle_quarantine (symbol, interval, id);
