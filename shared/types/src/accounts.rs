//! The accounts vocabulary: roles, usage tiers and their daily limits, API-key scopes,
//! profile choices, email kinds and audited actions, spelt in the database and the API
//! as lower-case words.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

use crate::{error::Error, words::word_enum};

word_enum!(
    /// What a user may do beyond their own work.
    Role, "role" {
        /// Their own jobs, predictions and keys.
        User => "user",
        /// Everything: catalogue, models, pools, users, the audit log.
        Admin => "admin",
    }
);

word_enum!(
    /// A usage tier: its daily limits (Stripe subscriptions drive it later).
    Tier, "tier" {
        /// 3 predictions and 10 API calls a day.
        Free => "free",
        /// 50 predictions and 100 API calls a day.
        Basic => "basic",
        /// 500 predictions and 1,000 API calls a day.
        Pro => "pro",
        /// Unlimited predictions, 10,000 API calls a day.
        Enterprise => "enterprise",
    }
);

word_enum!(
    /// What a user's daily quota counts.
    Metric, "metric" {
        /// Prediction jobs submitted (each item of a batch counts).
        Predictions => "predictions",
        /// Requests authenticated with an API key.
        ApiCalls => "api_calls",
        /// Training jobs submitted.
        Trainings => "trainings",
        /// Backtest and evaluation jobs submitted.
        Backtests => "backtests",
    }
);

impl Tier {
    /// The tier's daily limit of `metric`; `None` is unlimited. These are the seed
    /// figures of the product notes; trainings and backtests are the platform's own.
    pub fn daily_limit(self, metric: Metric) -> Option<i64> {
        use Metric::*;
        use Tier::*;
        match (self, metric) {
            (Free, Predictions) => Some(3),
            (Basic, Predictions) => Some(50),
            (Pro, Predictions) => Some(500),
            (Enterprise, Predictions) => None,
            (Free, ApiCalls) => Some(10),
            (Basic, ApiCalls) => Some(100),
            (Pro, ApiCalls) => Some(1_000),
            (Enterprise, ApiCalls) => Some(10_000),
            (Free, Trainings) => Some(0),
            (Basic, Trainings) => Some(1),
            (Pro, Trainings) => Some(5),
            (Enterprise, Trainings) => Some(50),
            (Free, Backtests) => Some(3),
            (Basic, Backtests) => Some(20),
            (Pro, Backtests) => Some(200),
            (Enterprise, Backtests) => None,
        }
    }
}

word_enum!(
    /// What an API key may do (a session may do everything its role allows).
    Scope, "scope" {
        /// Read the caller's jobs, predictions, results, usage and the catalogue.
        Read => "read",
        /// Submit predictions.
        Predict => "predict",
        /// Submit trainings.
        Train => "train",
        /// Submit backtests and evaluations.
        Backtest => "backtest",
        /// Admin routes (only an admin's key may carry it).
        Admin => "admin",
    }
);

word_enum!(
    /// How much risk a user is willing to take.
    RiskTolerance, "risk_tolerance" {
        /// Low.
        Low => "low",
        /// Medium.
        Medium => "medium",
        /// High.
        High => "high",
    }
);

word_enum!(
    /// How experienced an investor the user is.
    Experience, "investment_experience" {
        /// Beginner.
        Beginner => "beginner",
        /// Intermediate.
        Intermediate => "intermediate",
        /// Expert.
        Expert => "expert",
    }
);

word_enum!(
    /// A kind of email the platform sends.
    EmailKind, "kind" {
        /// The link that verifies an address (always sent).
        Verification => "verification",
        /// The link that resets a password (always sent).
        PasswordReset => "password_reset",
        /// A prediction job of the user's finished or failed (opt-in).
        PredictionJobs => "prediction_jobs",
        /// A training job of the user's finished or failed (opt-in).
        TrainingJobs => "training_jobs",
        /// A backtest job of the user's finished or failed (opt-in).
        BacktestJobs => "backtest_jobs",
        /// An evaluation job of the user's finished or failed (opt-in).
        EvaluationJobs => "evaluation_jobs",
        /// A weekly summary of the user's verified forecasts beside naive (opt-in).
        WeeklyDigest => "weekly_digest",
        /// Price and accuracy alerts (opt-out).
        Alerts => "alerts",
        /// Subscription started, changed or ending, and failed payments (opt-out).
        Billing => "billing",
        /// Product news (opt-in).
        Newsletter => "newsletter",
    }
);

impl EmailKind {
    /// Whether a user's preferences may turn it off (account emails always go).
    pub fn optional(self) -> bool {
        !matches!(self, Self::Verification | Self::PasswordReset)
    }

    /// Whether it is sent when the user has not said: account, billing and alert emails
    /// are; job notifications, the digest and news wait for the user to ask.
    pub fn default_on(self) -> bool {
        matches!(self, Self::Verification | Self::PasswordReset | Self::Alerts | Self::Billing)
    }

    /// The notification kind of a job kind's outcome, for the kinds users submit.
    pub fn of_job(kind: crate::jobs::JobKind) -> Option<Self> {
        use crate::jobs::JobKind;
        match kind {
            JobKind::Prediction => Some(Self::PredictionJobs),
            JobKind::Training => Some(Self::TrainingJobs),
            JobKind::Backtest => Some(Self::BacktestJobs),
            JobKind::Evaluation => Some(Self::EvaluationJobs),
            _ => None,
        }
    }

    /// Whether a user whose preferences are `preferences` (`{kind: bool}`) gets it.
    pub fn enabled_in(self, preferences: &serde_json::Value) -> bool {
        if !self.optional() {
            return true;
        }
        preferences.get(self.as_str()).and_then(serde_json::Value::as_bool).unwrap_or(self.default_on())
    }
}

word_enum!(
    /// What the audit log records.
    AuditAction, "action" {
        /// A user registered.
        Register => "register",
        /// A login succeeded.
        LoginSucceeded => "login_succeeded",
        /// A login failed (wrong password, unknown address, disabled account).
        LoginFailed => "login_failed",
        /// A refresh token was used twice: its session family was revoked.
        RefreshReused => "refresh_reused",
        /// A user logged out.
        Logout => "logout",
        /// An address was verified.
        EmailVerified => "email_verified",
        /// The address changed.
        EmailChanged => "email_changed",
        /// The password changed (by the user or a reset).
        PasswordChanged => "password_changed",
        /// A password reset was asked for.
        PasswordResetRequested => "password_reset_requested",
        /// An API key was created.
        ApiKeyCreated => "api_key_created",
        /// An API key was revoked.
        ApiKeyRevoked => "api_key_revoked",
        /// A user's role changed.
        RoleChanged => "role_changed",
        /// A user's tier changed.
        TierChanged => "tier_changed",
        /// A user was disabled or enabled.
        UserDisabled => "user_disabled",
        /// Any other admin write (catalogue, groups, pools, models, verification runs).
        AdminWrite => "admin_write",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_round_trip_and_limits_follow_the_product_notes() {
        for tier in Tier::ALL {
            assert_eq!(tier.as_str().parse::<Tier>().ok(), Some(*tier));
        }
        assert_eq!(Tier::Free.daily_limit(Metric::Predictions), Some(3));
        assert_eq!(Tier::Enterprise.daily_limit(Metric::Predictions), None);
        assert_eq!(Tier::Enterprise.daily_limit(Metric::ApiCalls), Some(10_000));
        assert!("owner".parse::<Role>().is_err());
        assert!(!EmailKind::Verification.optional() && EmailKind::Alerts.optional());
    }
}
