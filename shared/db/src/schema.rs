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
        category -> Nullable<Text>,
        binance_symbol -> Nullable<Text>,
        okx_symbol -> Nullable<Text>,
        coingecko_id -> Nullable<Text>,
        market_cap_rank -> Nullable<Int4>,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    asset_groups (id) {
        id -> Int8,
        slug -> Text,
        name -> Text,
        description -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    asset_group_members (group_id, asset_id) {
        group_id -> Int8,
        asset_id -> Int8,
        position -> Int4,
    }
}

diesel::table! {
    model_asset_pools (model_id, asset_id) {
        model_id -> Int8,
        asset_id -> Int8,
        enabled -> Bool,
        weight -> Float8,
        added_at -> Timestamptz,
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
        series_total -> Int4,
        results_key -> Nullable<Text>,
        created_at -> Timestamptz,
        status -> Text,
        settings -> Jsonb,
        input_format -> Text,
        input_key -> Nullable<Text>,
        input_bytes -> Int8,
        series_invalid -> Int4,
        chunks -> Int4,
        errors_key -> Nullable<Text>,
        error -> Nullable<Text>,
        cancel_requested -> Bool,
        callback_url -> Nullable<Text>,
        api_key_id -> Nullable<Int8>,
        idempotency_key -> Nullable<Text>,
        request_id -> Nullable<Text>,
        priority -> Int2,
        updated_at -> Timestamptz,
        started_at -> Nullable<Timestamptz>,
        finished_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    callbacks (id) {
        id -> Uuid,
        owner_id -> Int8,
        batch_id -> Nullable<Uuid>,
        job_id -> Nullable<Uuid>,
        url -> Text,
        event -> Text,
        body -> Jsonb,
        api_key_id -> Nullable<Int8>,
        status -> Text,
        attempts -> Int4,
        next_attempt_at -> Timestamptz,
        created_at -> Timestamptz,
        finished_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    callback_attempts (callback_id, attempt) {
        callback_id -> Uuid,
        attempt -> Int4,
        at -> Timestamptz,
        status_code -> Nullable<Int4>,
        error -> Nullable<Text>,
        duration_ms -> Int4,
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
        result -> Nullable<Jsonb>,
        request_id -> Nullable<Text>,
        callback_url -> Nullable<Text>,
        api_key_id -> Nullable<Int8>,
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
        expected_return -> Nullable<Float8>,
        volatility -> Nullable<Float8>,
        value_at_risk_5 -> Nullable<Float8>,
        raw_forecast -> Nullable<Jsonb>,
        as_of -> Nullable<Timestamptz>,
        calendar -> Nullable<Text>,
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

diesel::table! {
    models (id) {
        id -> Int8,
        name -> Text,
        family -> Text,
        source -> Text,
        storage_prefix -> Text,
        tokenizer_config -> Nullable<Jsonb>,
        predictor_config -> Jsonb,
        max_context -> Int4,
        parameters -> Int8,
        weights_sha256 -> Text,
        owner_id -> Nullable<Int8>,
        created_at -> Timestamptz,
        lineage -> Text,
        version -> Int4,
        status -> Text,
        parent_id -> Nullable<Int8>,
        trained_interval -> Nullable<Text>,
        trained_symbols -> Nullable<Array<Text>>,
        trained_from -> Nullable<Timestamptz>,
        trained_to -> Nullable<Timestamptz>,
        training_job_id -> Nullable<Uuid>,
        training_config -> Nullable<Jsonb>,
        metrics -> Nullable<Jsonb>,
        promoted_at -> Nullable<Timestamptz>,
        origin -> Nullable<Jsonb>,
    }
}

diesel::table! {
    candle_quarantine (id) {
        id -> Int8,
        symbol -> Nullable<Text>,
        interval -> Text,
        ts -> Nullable<Timestamptz>,
        source -> Text,
        row_number -> Nullable<Int4>,
        reason -> Text,
        raw -> Jsonb,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    prediction_results (job_id) {
        job_id -> Uuid,
        model -> Text,
        asset_id -> Int8,
        owner_id -> Nullable<Int8>,
        interval -> Text,
        predicted_at -> Timestamptz,
        last_close -> Float8,
        actual -> Array<Float8>,
        forecast -> Array<Float8>,
        errors -> Array<Float8>,
        covered -> Array<Bool>,
        steps -> Int4,
        abs_error_sum -> Float8,
        sq_error_sum -> Float8,
        pct_error_sum -> Float8,
        pct_steps -> Int4,
        direction_hit -> Bool,
        covered_steps -> Int4,
        naive_abs_error_sum -> Float8,
        naive_sq_error_sum -> Float8,
        naive_pct_error_sum -> Float8,
        naive_direction_hit -> Bool,
        verified_at -> Timestamptz,
    }
}

diesel::table! {
    schedule_runs (task, slot) {
        task -> Text,
        slot -> Timestamptz,
        job_id -> Nullable<Uuid>,
        note -> Nullable<Text>,
        recorded_at -> Timestamptz,
    }
}

diesel::joinable!(candles -> assets (asset_id));
diesel::joinable!(asset_group_members -> assets (asset_id));
diesel::joinable!(asset_group_members -> asset_groups (group_id));
diesel::joinable!(model_asset_pools -> assets (asset_id));
diesel::joinable!(model_asset_pools -> models (model_id));
diesel::joinable!(jobs -> batches (batch_id));
diesel::joinable!(callback_attempts -> callbacks (callback_id));
diesel::table! {
    evaluation_results (job_id, asset_id, predicted_at) {
        job_id -> Uuid,
        asset_id -> Int8,
        predicted_at -> Timestamptz,
        model -> Text,
        owner_id -> Nullable<Int8>,
        interval -> Text,
        last_close -> Float8,
        actual -> Array<Float8>,
        forecast -> Array<Float8>,
        errors -> Array<Float8>,
        covered -> Array<Bool>,
        steps -> Int4,
        abs_error_sum -> Float8,
        sq_error_sum -> Float8,
        pct_error_sum -> Float8,
        pct_steps -> Int4,
        direction_hit -> Bool,
        covered_steps -> Int4,
        naive_abs_error_sum -> Float8,
        naive_sq_error_sum -> Float8,
        naive_pct_error_sum -> Float8,
        naive_direction_hit -> Bool,
        verified_at -> Timestamptz,
    }
}

diesel::joinable!(evaluation_results -> jobs (job_id));
diesel::joinable!(predictions -> jobs (job_id));
diesel::joinable!(prediction_results -> predictions (job_id));

diesel::table! {
    users (id) {
        id -> Int8,
        email -> Text,
        password_hash -> Text,
        email_verified_at -> Nullable<Timestamptz>,
        role -> Text,
        tier -> Text,
        disabled -> Bool,
        display_name -> Nullable<Text>,
        avatar_url -> Nullable<Text>,
        risk_tolerance -> Nullable<Text>,
        investment_experience -> Nullable<Text>,
        preferred_sectors -> Array<Text>,
        notification_preferences -> Jsonb,
        last_login_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        stripe_customer_id -> Nullable<Text>,
        callback_secret -> Text,
    }
}

diesel::table! {
    subscriptions (user_id) {
        user_id -> Int8,
        stripe_subscription_id -> Text,
        status -> Text,
        price_id -> Nullable<Text>,
        paid_tier -> Nullable<Text>,
        current_period_end -> Nullable<Timestamptz>,
        cancel_at_period_end -> Bool,
        past_due_since -> Nullable<Timestamptz>,
        latest_invoice_status -> Nullable<Text>,
        latest_invoice_at -> Nullable<Timestamptz>,
        review_at -> Nullable<Timestamptz>,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    alerts (id) {
        id -> Int8,
        owner_id -> Int8,
        asset_id -> Int8,
        kind -> Text,
        threshold -> Float8,
        interval -> Text,
        cooldown_secs -> Int4,
        enabled -> Bool,
        note -> Nullable<Text>,
        last_met -> Nullable<Bool>,
        last_fired_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    alert_events (id) {
        id -> Int8,
        alert_id -> Int8,
        fired_at -> Timestamptz,
        source -> Text,
        value -> Float8,
        threshold -> Float8,
        detail -> Jsonb,
    }
}

diesel::table! {
    stripe_events (id) {
        id -> Text,
        #[sql_name = "type"]
        event_type -> Text,
        created -> Timestamptz,
        received_at -> Timestamptz,
        processed_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    refresh_tokens (id) {
        id -> Int8,
        user_id -> Int8,
        family_id -> Uuid,
        token_hash -> Text,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
        used_at -> Nullable<Timestamptz>,
        revoked_at -> Nullable<Timestamptz>,
        ip -> Nullable<Text>,
        user_agent -> Nullable<Text>,
    }
}

diesel::table! {
    api_keys (id) {
        id -> Int8,
        user_id -> Int8,
        name -> Text,
        shown -> Text,
        key_hash -> Text,
        scopes -> Array<Text>,
        expires_at -> Nullable<Timestamptz>,
        last_used_at -> Nullable<Timestamptz>,
        revoked_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        callback_secret -> Text,
    }
}

diesel::table! {
    link_tokens (token_hash) {
        token_hash -> Text,
        user_id -> Int8,
        purpose -> Text,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
        used_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    audit_log (id) {
        id -> Int8,
        at -> Timestamptz,
        actor_id -> Nullable<Int8>,
        user_id -> Nullable<Int8>,
        action -> Text,
        ip -> Nullable<Text>,
        user_agent -> Nullable<Text>,
        details -> Jsonb,
    }
}

diesel::table! {
    usage_daily (user_id, day, metric) {
        user_id -> Int8,
        day -> Date,
        metric -> Text,
        count -> Int8,
    }
}

diesel::table! {
    email_outbox (id) {
        id -> Uuid,
        user_id -> Nullable<Int8>,
        kind -> Text,
        to_address -> Text,
        subject -> Text,
        text_body -> Text,
        html_body -> Text,
        created_at -> Timestamptz,
        sent_at -> Nullable<Timestamptz>,
        attempts -> Int4,
        last_error -> Nullable<Text>,
        unsubscribe_url -> Nullable<Text>,
    }
}

diesel::joinable!(refresh_tokens -> users (user_id));
diesel::joinable!(api_keys -> users (user_id));
diesel::joinable!(link_tokens -> users (user_id));
diesel::joinable!(usage_daily -> users (user_id));
diesel::joinable!(alerts -> assets (asset_id));
diesel::joinable!(alert_events -> alerts (alert_id));

diesel::allow_tables_to_appear_in_same_query!(
    assets,
    candles,
    batches,
    jobs,
    predictions,
    artifacts,
    models,
    prediction_results,
    evaluation_results,
    schedule_runs,
    candle_quarantine,
    asset_groups,
    asset_group_members,
    model_asset_pools,
    users,
    refresh_tokens,
    api_keys,
    link_tokens,
    audit_log,
    usage_daily,
    email_outbox,
    alerts,
    alert_events,
    callbacks,
    callback_attempts
);
