//! Diesel table definitions; `migrations/` owns the truth, this mirrors it.

diesel::table! {
    assets (id) {
        id -> Int8,
        symbol -> Text,
        name -> Text,
        class -> Text,
        exchange -> Nullable<Text>,
        active -> Bool,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    candles (asset_id, interval, ts) {
        asset_id -> Int8,
        interval -> Text,
        ts -> Timestamptz,
        open -> Float8,
        high -> Float8,
        low -> Float8,
        close -> Float8,
        volume -> Float8,
        amount -> Float8,
        source -> Text,
    }
}

diesel::table! {
    batches (id) {
        id -> Uuid,
        owner_id -> Nullable<Int8>,
        total_items -> Int4,
        result_key -> Nullable<Text>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    jobs (id) {
        id -> Uuid,
        kind -> Text,
        status -> Text,
        payload -> Jsonb,
        owner_id -> Nullable<Int8>,
        idempotency_key -> Nullable<Text>,
        request_hash -> Nullable<Text>,
        batch_id -> Nullable<Uuid>,
        priority -> Int2,
        attempts -> Int4,
        max_attempts -> Int4,
        progress -> Float4,
        error -> Nullable<Text>,
        worker -> Nullable<Text>,
        device -> Nullable<Text>,
        run_after -> Timestamptz,
        dispatched_at -> Nullable<Timestamptz>,
        dispatch_count -> Int4,
        heartbeat_at -> Nullable<Timestamptz>,
        cancel_requested -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        started_at -> Nullable<Timestamptz>,
        finished_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    predictions (job_id) {
        job_id -> Uuid,
        asset_id -> Nullable<Int8>,
        interval -> Text,
        model -> Text,
        horizon -> Int4,
        last_ts -> Timestamptz,
        last_close -> Float8,
        forecast -> Jsonb,
        prob_up -> Float8,
        artifact_key -> Text,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
    }
}

diesel::table! {
    artifacts (key) {
        key -> Text,
        job_id -> Nullable<Uuid>,
        kind -> Text,
        content_type -> Text,
        size_bytes -> Int8,
        sha256 -> Text,
        created_at -> Timestamptz,
    }
}

diesel::joinable!(candles -> assets (asset_id));
diesel::joinable!(jobs -> batches (batch_id));
diesel::joinable!(predictions -> jobs (job_id));
diesel::allow_tables_to_appear_in_same_query!(assets, candles, batches, jobs, predictions, artifacts);
