-- Stripe subscriptions: the customer of each paying user, what the platform last read
-- of their subscription, and every webhook event received (processed at most once).
ALTER TABLE users ADD COLUMN stripe_customer_id TEXT UNIQUE;

CREATE TABLE subscriptions (
    user_id                BIGINT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    stripe_subscription_id TEXT NOT NULL UNIQUE,
    status                 TEXT NOT NULL CHECK (status IN ('incomplete', 'incomplete_expired', 'trialing',
                               'active', 'past_due', 'canceled', 'unpaid', 'paused')),
    price_id               TEXT,
    -- the tier the price buys (NULL: a price the platform does not sell)
    paid_tier              TEXT CHECK (paid_tier IN ('basic', 'pro', 'enterprise')),
    current_period_end     TIMESTAMPTZ,
    cancel_at_period_end   BOOLEAN NOT NULL DEFAULT false,
    -- when it first became past due (cleared when paid): the grace period runs from here
    past_due_since         TIMESTAMPTZ,
    latest_invoice_status  TEXT,
    -- the Stripe event time of that invoice status: an older event does not overwrite it
    latest_invoice_at      TIMESTAMPTZ,
    -- when what it grants changes by itself (end of grace or of the paid period)
    review_at              TIMESTAMPTZ,
    updated_at             TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX subscriptions_review_idx ON subscriptions (review_at) WHERE review_at IS NOT NULL;

CREATE TABLE stripe_events (
    id           TEXT PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 255),
    type         TEXT NOT NULL,
    created      TIMESTAMPTZ NOT NULL,
    received_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    processed_at TIMESTAMPTZ
);

-- optional emails carry their one-click unsubscribe address (List-Unsubscribe)
ALTER TABLE email_outbox ADD COLUMN unsubscribe_url TEXT;
