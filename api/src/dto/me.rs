//! `/v1/me*` and `/v1/admin/users*`: an account as its owner (or an admin) sees it,
//! profile changes, usage against the tier's limits, and API keys.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use kronos_db::{api_keys::ApiKey, users::User};
use kronos_types::accounts::{EmailKind, Experience, Metric, RiskTolerance, Role, Scope, Tier};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// An account.
#[derive(Debug, Serialize, ToSchema)]
pub struct MeView {
    /// Id.
    pub id: i64,
    /// Address.
    pub email: String,
    /// Whether the address is verified (jobs can be submitted once it is).
    pub email_verified: bool,
    /// Role.
    pub role: Role,
    /// Usage tier.
    pub tier: Tier,
    /// Whether the account is disabled.
    pub disabled: bool,
    /// Profile.
    pub profile: Profile,
    /// Email kinds and whether each is sent.
    pub notifications: BTreeMap<String, bool>,
    /// Last login.
    pub last_login_at: Option<DateTime<Utc>>,
    /// Registered.
    pub created_at: DateTime<Utc>,
    /// `GET /v1/me` only: the secret that signs completion callbacks of work submitted
    /// from a session (work submitted with an API key is signed with that key's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub callback_secret: Option<String>,
}

/// What a user says of themselves.
#[derive(Debug, Serialize, ToSchema)]
pub struct Profile {
    /// Name shown.
    pub display_name: Option<String>,
    /// Avatar image URL.
    pub avatar_url: Option<String>,
    /// Risk tolerance.
    pub risk_tolerance: Option<RiskTolerance>,
    /// Investment experience.
    pub investment_experience: Option<Experience>,
    /// Sectors of interest.
    pub preferred_sectors: Vec<String>,
}

impl From<&User> for MeView {
    fn from(u: &User) -> Self {
        Self {
            id: u.id,
            email: u.email.clone(),
            email_verified: u.verified(),
            role: u.role,
            tier: u.tier,
            disabled: u.disabled,
            profile: Profile {
                display_name: u.display_name.clone(),
                avatar_url: u.avatar_url.clone(),
                risk_tolerance: u.risk_tolerance,
                investment_experience: u.investment_experience,
                preferred_sectors: u.preferred_sectors.clone(),
            },
            notifications: EmailKind::ALL
                .iter()
                .filter(|k| k.optional())
                .map(|k| (k.as_str().to_owned(), k.enabled_in(&u.notification_preferences)))
                .collect(),
            last_login_at: u.last_login_at,
            created_at: u.created_at,
            callback_secret: None,
        }
    }
}

/// `PATCH /v1/me`: fields sent change, fields left out stay; `null` clears a profile
/// field.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateMe {
    /// A new address (needs `current_password`; the new address must be verified again).
    #[serde(default)]
    pub email: Option<String>,
    /// The current password, when the address changes.
    #[serde(default)]
    pub current_password: Option<String>,
    /// Name shown (1 to 100 characters).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub display_name: Option<Option<String>>,
    /// An `https://` image URL.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub avatar_url: Option<Option<String>>,
    /// `low`, `medium` or `high`.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<RiskTolerance>)]
    pub risk_tolerance: Option<Option<RiskTolerance>>,
    /// `beginner`, `intermediate` or `expert`.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Experience>)]
    pub investment_experience: Option<Option<Experience>>,
    /// Sectors of interest (at most 20, each 1 to 50 characters).
    #[serde(default)]
    pub preferred_sectors: Option<Vec<String>>,
    /// Email kinds to turn on or off (`alerts`, `billing`, `prediction_jobs`, `training_jobs`,
    /// `backtest_jobs`, `evaluation_jobs`, `weekly_digest`, `newsletter`;
    /// account emails always go).
    #[serde(default)]
    pub notifications: Option<BTreeMap<String, bool>>,
}

/// `POST /v1/me/password`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePassword {
    /// The current password.
    pub current_password: String,
    /// The new one (the registration rule). Every other session ends.
    pub new_password: String,
}

/// Today's use against the tier's limits; counts reset at UTC midnight.
#[derive(Debug, Serialize, ToSchema)]
pub struct Usage {
    /// The tier.
    pub tier: Tier,
    /// The UTC day counted.
    #[schema(value_type = String, format = Date)]
    pub day: chrono::NaiveDate,
    /// When the counts reset.
    pub resets_at: DateTime<Utc>,
    /// Per metric.
    pub metrics: Vec<MetricUsage>,
}

/// One metric's use today.
#[derive(Debug, Serialize, ToSchema)]
pub struct MetricUsage {
    /// `predictions`, `api_calls`, `trainings` or `backtests`.
    pub metric: Metric,
    /// Used today.
    pub used: i64,
    /// The tier's daily limit; `null` is unlimited (admins have no limits).
    pub limit: Option<i64>,
}

/// `POST /v1/me/api-keys`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateApiKey {
    /// A name to recognise it by (1 to 100 characters).
    pub name: String,
    /// What it may do: `read`, `predict`, `train`, `backtest`, `admin` (admins only).
    pub scopes: Vec<Scope>,
    /// When it stops working (default: never).
    #[serde(default)]
    pub expires_at: Option<DateTime<Utc>>,
}

/// A key as listings show it (never the key itself).
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyView {
    /// Id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Its first characters.
    #[schema(example = "kr_live_AbCdEfGh")]
    pub prefix: String,
    /// Scopes.
    pub scopes: Vec<Scope>,
    /// Expiry.
    pub expires_at: Option<DateTime<Utc>>,
    /// Last use (updated at most once a minute).
    pub last_used_at: Option<DateTime<Utc>>,
    /// Revocation.
    pub revoked_at: Option<DateTime<Utc>>,
    /// Created.
    pub created_at: DateTime<Utc>,
}

impl From<&ApiKey> for ApiKeyView {
    fn from(k: &ApiKey) -> Self {
        Self {
            id: k.id,
            name: k.name.clone(),
            prefix: k.shown.clone(),
            scopes: k.scopes.clone(),
            expires_at: k.expires_at,
            last_used_at: k.last_used_at,
            revoked_at: k.revoked_at,
            created_at: k.created_at,
        }
    }
}

/// A new key: the only time the key itself is shown.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedApiKey {
    /// The key: send it as `Authorization: Bearer <key>`. Store it now; it is not
    /// shown again.
    pub key: String,
    /// The secret that signs completion callbacks of work submitted with this key
    /// (`Kronos-Signature`, Stripe's scheme). Store it with the key.
    pub callback_secret: String,
    /// The stored key.
    #[serde(flatten)]
    pub view: ApiKeyView,
}

/// `GET /v1/me/api-keys`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyList {
    /// Keys, newest first.
    pub keys: Vec<ApiKeyView>,
}

/// A field that is present (`Some`), possibly `null` (`Some(None)`); absent fields take
/// the `default` (`None`).
pub(crate) fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}
