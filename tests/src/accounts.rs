//! Accounts for tests: users made straight in the database (the way `kronos users
//! create` makes them), each with an API key carrying every scope its role allows, and
//! HTTP clients that authenticate as them.

use kronos_auth::{
    password::{HashParams, Passwords},
    secret,
};
use kronos_db::{
    api_keys::{self, NewApiKey},
    users::{self, NewUser},
};
use kronos_types::accounts::{Role, Scope, Tier};

use crate::TestEnv;

/// The password every test user gets.
pub const PASSWORD: &str = "correct horse battery staple";

/// A user made for a test.
#[derive(Debug, Clone)]
pub struct TestUser {
    /// Id.
    pub id: i64,
    /// Address.
    pub email: String,
    /// An API key with every scope the role allows.
    pub key: String,
}

impl TestUser {
    /// A client that sends this user's key with every request.
    pub fn client(&self) -> reqwest::Client {
        client_with(&self.key)
    }
}

/// A client that sends `Authorization: Bearer <credential>` with every request.
pub fn client_with(credential: &str) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    let value = reqwest::header::HeaderValue::from_str(&format!("Bearer {credential}")).expect("header");
    headers.insert(reqwest::header::AUTHORIZATION, value);
    reqwest::Client::builder().default_headers(headers).build().expect("client")
}

/// Makes a user named `name` (`<name>@kronos.test`) with `role` and `tier`, verified
/// or not, and an API key.
pub async fn create_user(env: &TestEnv, name: &str, role: Role, tier: Tier, verified: bool) -> TestUser {
    let auth = &env.config.auth;
    let passwords = Passwords::new(HashParams {
        memory_kib: auth.argon2_memory_kib,
        iterations: auth.argon2_iterations,
        parallelism: auth.argon2_parallelism,
    })
    .expect("hash parameters");
    let hash = passwords.hash(PASSWORD).expect("hash");
    let email = format!("{name}@kronos.test");
    let pool = kronos_db::pool(&env.config.database_url, 1).expect("pool");
    let mut conn = pool.get().await.expect("connection");
    let user = users::insert(&mut conn, &NewUser { email: &email, password_hash: &hash, role, tier, verified })
        .await
        .expect("user");
    let scopes: Vec<Scope> = Scope::ALL.iter().copied().filter(|s| *s != Scope::Admin || role == Role::Admin).collect();
    let issued = secret::new_api_key();
    api_keys::insert(
        &mut conn,
        &NewApiKey {
            user_id: user.id,
            name: "tests",
            shown: &issued.shown,
            key_hash: &issued.hash,
            scopes: &scopes,
            expires_at: None,
        },
    )
    .await
    .expect("key");
    TestUser { id: user.id, email, key: issued.plaintext }
}
