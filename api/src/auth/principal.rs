//! The authenticated caller of a request.

use kronos_types::accounts::{Role, Scope, Tier};
use uuid::Uuid;

/// How the caller authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// An access token of session `family`, sent as a bearer token or (`cookie`) in
    /// the session cookie.
    Session {
        /// The session.
        family: Uuid,
        /// Sent in a cookie (state-changing requests then need the CSRF header).
        cookie: bool,
    },
    /// API key `id` with its scopes.
    ApiKey {
        /// Key id.
        id: i64,
        /// What it may do.
        scopes: Vec<Scope>,
    },
}

/// Who is calling, as the database said a few seconds ago at most.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The user.
    pub user_id: i64,
    /// Their role.
    pub role: Role,
    /// Their tier.
    pub tier: Tier,
    /// Whether their address is verified.
    pub verified: bool,
    /// How they authenticated.
    pub credential: Credential,
}

impl Principal {
    /// Whether the user is an admin.
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// Whether the credential allows `scope`: a session allows whatever the role
    /// does, a key only its scopes (and `admin` only on an admin's key).
    pub fn allows(&self, scope: Scope) -> bool {
        let role_allows = scope != Scope::Admin || self.is_admin();
        match &self.credential {
            Credential::Session { .. } => role_allows,
            Credential::ApiKey { scopes, .. } => role_allows && scopes.contains(&scope),
        }
    }

    /// Whether this is an admin acting as one (a session, or a key with `admin`).
    pub fn acts_as_admin(&self) -> bool {
        self.allows(Scope::Admin)
    }

    /// Whose work the caller sees: `None` (everyone's) for an admin acting as one,
    /// else their own.
    pub fn owner_scope(&self) -> Option<i64> {
        if self.acts_as_admin() {
            None
        } else {
            Some(self.user_id)
        }
    }

    /// Whether the request came with a key (its requests count as API calls).
    pub fn api_key(&self) -> Option<i64> {
        match self.credential {
            Credential::ApiKey { id, .. } => Some(id),
            Credential::Session { .. } => None,
        }
    }
}
