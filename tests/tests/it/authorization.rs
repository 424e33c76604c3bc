//! The authorization matrix: every operation of the router (the OpenAPI document, which
//! `openapi_spec` proves equal to it) against every kind of caller — anonymous, user A,
//! user B, an unverified user, an admin, a revoked key, a key without the needed scope,
//! an expired access token, a token signed with another key, an `alg: none` token and a
//! tampered payload — each answer checked against what the route's class in the
//! access table allows. Another user's job answers `404`.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use kronos_api::auth::access::{classify, Access, ROUTES};
use kronos_auth::jwt::{SigningKey, TokenKeys};
use kronos_tests::{
    accounts::{client_with, create_user, PASSWORD},
    http::TestApi,
    openapi::DOCUMENT,
    sample, TestEnv,
};
use kronos_types::accounts::{Role, Scope, Tier};
use serde_json::{json, Value};

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// A caller of the matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Anonymous,
    /// User A with a session.
    A,
    /// User A with an API key of every user scope.
    AKey,
    /// User B with a session.
    B,
    /// A user whose address is not verified, with a session.
    Unverified,
    Admin,
    RevokedKey,
    /// A's key carrying only `train` (no `read`, `predict` or `backtest`).
    NoScopeKey,
    Expired,
    OtherSigningKey,
    AlgNone,
    Tampered,
}

const EVERYONE: [Who; 12] = [
    Who::Anonymous,
    Who::A,
    Who::AKey,
    Who::B,
    Who::Unverified,
    Who::Admin,
    Who::RevokedKey,
    Who::NoScopeKey,
    Who::Expired,
    Who::OtherSigningKey,
    Who::AlgNone,
    Who::Tampered,
];

/// What a caller may get from a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// Exactly this status.
    Status(u16),
    /// Reaches the handler: anything but 401 and 403, never a 5xx.
    Allowed,
}

fn expected(access: Access, who: Who, scope_of_key: &[Scope]) -> Expect {
    let bad_credential =
        matches!(who, Who::RevokedKey | Who::Expired | Who::OtherSigningKey | Who::AlgNone | Who::Tampered);
    match access {
        Access::OwnToken => Expect::Allowed,
        _ if bad_credential => Expect::Status(401),
        Access::Public => Expect::Allowed,
        _ if who == Who::Anonymous => Expect::Status(401),
        Access::User(scopes) | Access::Verified(scopes) => {
            let lacks_scope = who == Who::NoScopeKey && !scopes.iter().any(|s| scope_of_key.contains(s));
            let unverified = matches!(access, Access::Verified(_)) && who == Who::Unverified;
            if lacks_scope || unverified {
                Expect::Status(403)
            } else {
                Expect::Allowed
            }
        }
        Access::Session => {
            if matches!(who, Who::AKey | Who::NoScopeKey) {
                Expect::Status(403)
            } else {
                Expect::Allowed
            }
        }
        Access::Admin => {
            if who == Who::Admin {
                Expect::Allowed
            } else {
                Expect::Status(403)
            }
        }
    }
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A JWT whose payload says `claims`, signed with nothing.
fn unsigned(claims: &Value) -> String {
    format!("{}.{}.", b64(br#"{"alg":"none","typ":"JWT","kid":"test"}"#), b64(claims.to_string().as_bytes()))
}

async fn login(api: &TestApi, email: &str) -> String {
    let (status, body) = api
        .send_with(
            &reqwest::Client::new(),
            "POST",
            "/v1/auth/login",
            Some(&json!({"email": email, "password": PASSWORD})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().expect("token").to_owned()
}

async fn new_key(api: &TestApi, session: &str, scopes: &[&str]) -> (i64, String) {
    let (status, body) = api
        .send_with(&client_with(session), "POST", "/v1/me/api-keys", Some(&json!({"name": "matrix", "scopes": scopes})))
        .await;
    assert_eq!(status, 201, "{body}");
    (body["id"].as_i64().expect("id"), body["key"].as_str().expect("key").to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_route_answers_every_caller_as_its_class_says() {
    let mut env = TestEnv::new().await;
    // the exchanges answer (a local server in their formats), so the ticker route reaches them
    let exchange = kronos_tests::fake_exchange::FakeExchange::start().await;
    env.config.exchanges.binance_url = exchange.url.clone();
    env.config.exchanges.okx_url = exchange.url.clone();
    // the matrix is about who may call a route; which tiers include bulk batches is the
    // batches tests' business (an excluded tier answers 403 tier_required)
    env.config.batches.tiers = kronos_types::accounts::Tier::ALL.to_vec();
    env.config.exchanges.coingecko_url = exchange.url.clone();
    // billing is configured against a local server in Stripe's formats, so its routes
    // reach their handlers
    let stripe = kronos_tests::fake_stripe::FakeStripe::start(&["price_pro"]).await;
    env.config.billing = kronos_config::BillingConfig {
        secret_key: Some(kronos_config::Secret::new(kronos_tests::fake_stripe::SECRET_KEY)),
        api_base: stripe.url.clone(),
        webhook_secrets: vec![kronos_config::Secret::new(kronos_tests::fake_stripe::WEBHOOK_SECRET)],
        prices: vec![(Tier::Pro, "price_pro".into())],
        ..kronos_config::BillingConfig::default()
    };
    let api = TestApi::start(&env, false).await;
    let alice = create_user(&env, "alice", Role::User, Tier::Pro, true).await;
    let bob = create_user(&env, "bob", Role::User, Tier::Pro, true).await;
    let carol = create_user(&env, "carol", Role::User, Tier::Pro, false).await;
    let a_jwt = login(&api, &alice.email).await;
    let b_jwt = login(&api, &bob.email).await;
    let c_jwt = login(&api, &carol.email).await;
    let admin_jwt = login(&api, &api.admin.email).await;
    let (revoked_id, revoked) = new_key(&api, &a_jwt, &["read"]).await;
    let (status, _) =
        api.send_with(&client_with(&a_jwt), "DELETE", &format!("/v1/me/api-keys/{revoked_id}"), None).await;
    assert_eq!(status, 204);
    let (_, no_scope) = new_key(&api, &a_jwt, &["train"]).await;
    let (spare_key_id, _) = new_key(&api, &a_jwt, &["read"]).await;

    // tokens that must not authenticate
    let now = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").as_secs();
    let (kid, secret) = &env.config.auth.jwt_keys[0];
    let ours = TokenKeys::new(
        SigningKey::new(kid.clone(), secret.expose().as_bytes().to_vec()).expect("key"),
        vec![],
        env.config.auth.access_ttl,
    )
    .expect("keys");
    let session = uuid::Uuid::now_v7().to_string();
    let (expired, _) = ours.issue_at(alice.id, &session, now - 7200).expect("token");
    let theirs =
        TokenKeys::new(SigningKey::new(kid.clone(), vec![7u8; 32]).expect("key"), vec![], env.config.auth.access_ttl)
            .expect("keys");
    let (other_key, _) = theirs.issue(alice.id, &session).expect("token");
    let a_claims = ours.verify(&a_jwt).expect("A's token verifies");
    let alg_none = unsigned(&serde_json::to_value(&a_claims).expect("claims"));
    let parts: Vec<&str> = a_jwt.split('.').collect();
    let mut forged = serde_json::to_value(&a_claims).expect("claims");
    forged["sub"] = json!(bob.id.to_string());
    let tampered = format!("{}.{}.{}", parts[0], b64(forged.to_string().as_bytes()), parts[2]);

    let client = |who: Who| -> reqwest::Client {
        match who {
            Who::Anonymous => reqwest::Client::new(),
            Who::A => client_with(&a_jwt),
            Who::AKey => alice.client(),
            Who::B => client_with(&b_jwt),
            Who::Unverified => client_with(&c_jwt),
            Who::Admin => client_with(&admin_jwt),
            Who::RevokedKey => client_with(&revoked),
            Who::NoScopeKey => client_with(&no_scope),
            Who::Expired => client_with(&expired),
            Who::OtherSigningKey => client_with(&other_key),
            Who::AlgNone => client_with(&alg_none),
            Who::Tampered => client_with(&tampered),
        }
    };

    // things the paths name: A's prediction, a stored asset and group, a model
    let (status, created) =
        api.send_with(&client(Who::A), "POST", "/v1/predictions", Some(&sample::inline_request(40, 3, "naive"))).await;
    assert_eq!(status, 202, "{created}");
    let a_job = created["job"]["id"].as_str().expect("job").to_owned();
    let (status, body) = api
        .post_json(
            "/v1/assets",
            &json!({"symbol": "MTX", "name": "Matrix", "class": "crypto", "binance_symbol": "MTXUSDT"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) =
        api.send("PUT", "/v1/asset-groups/matrix", Some(&json!({"name": "Matrix", "members": ["MTX"]}))).await;
    assert!(status < 300, "{body}");

    let fill = |template: &str| -> String {
        template
            .replace("{id}", if template.starts_with("/v1/me/api-keys") { "SPARE" } else { &a_job })
            .replace("SPARE", &spare_key_id.to_string())
            .replace("/v1/admin/users/{id}", &format!("/v1/admin/users/{}", alice.id))
            .replace("{symbol}", "MTX")
            .replace("{slug}", "matrix")
            .replace("{model}", "naive")
            .replace("{table}", "equity")
    };
    // bodies that reach the handlers without changing who can act next
    let body_of = |template: &str| -> Option<Value> {
        match template {
            "/v1/auth/logout" => Some(json!({"refresh_token": "krr_not-a-token"})),
            _ => Some(json!({})),
        }
    };

    let mut operations: Vec<(String, String)> = Vec::new();
    for (template, item) in DOCUMENT["paths"].as_object().expect("paths") {
        for method in METHODS {
            if item.get(method).is_some() {
                operations.push((method.to_uppercase(), template.clone()));
            }
        }
    }
    // destructive admin routes last, so every other route still finds what it names
    operations.sort_by_key(|(m, t)| (m == "DELETE", t.clone()));
    let mut failures = Vec::new();
    let mut cells = 0;
    for (method, template) in &operations {
        let access = classify(&method.parse().expect("method"), template)
            .unwrap_or_else(|| panic!("{method} {template} is not classified in the access table"));
        let path = fill(template);
        let body = if method == "GET" || method == "DELETE" { None } else { body_of(template) };
        for who in EVERYONE {
            // A's own spare key is revoked by A's DELETE; the others' attempts come first
            let (status, answer) = api.send_with(&client(who), method, &path, body.as_ref()).await;
            cells += 1;
            let want = expected(access, who, &[Scope::Train]);
            let ok = match want {
                Expect::Status(s) => status == s,
                Expect::Allowed => status != 401 && status != 403 && status < 500,
            };
            if !ok {
                failures.push(format!("{method} {path} as {who:?}: {status} (expected {want:?}) {answer}"));
            }
        }
    }
    assert!(failures.is_empty(), "{} of {cells} cells wrong:\n{}", failures.len(), failures.join("\n"));

    // every entry of the access table is a route (no stale classification)
    for (method, path, _) in ROUTES {
        if path.starts_with("/docs/assets") {
            continue;
        }
        assert!(
            operations.iter().any(|(m, t)| m == method && t == path),
            "{method} {path} is classified but not routed"
        );
    }

    // cross-tenant: A's job is A's; B gets 404 everywhere, the admin sees it
    for path in [format!("/v1/jobs/{a_job}"), format!("/v1/predictions/{a_job}"), format!("/v1/jobs/{a_job}/result")] {
        let (b_status, b_body) = api.send_with(&client(Who::B), "GET", &path, None).await;
        assert_eq!(b_status, 404, "{path} for B: {b_body}");
        for who in [Who::A, Who::Admin] {
            let (status, body) = api.send_with(&client(who), "GET", &path, None).await;
            assert_ne!(status, 404, "{path} for {who:?}: {body}");
        }
    }
    let (status, body) = api.send_with(&client(Who::B), "POST", &format!("/v1/jobs/{a_job}/cancel"), None).await;
    assert_eq!(status, 404, "B cancelling A's job: {body}");
    let (_, b_jobs) = api.send_with(&client(Who::B), "GET", "/v1/jobs", None).await;
    assert!(b_jobs["jobs"].as_array().expect("jobs").iter().all(|j| j["id"] != json!(a_job)), "{b_jobs}");
    let (status, _) = api.send_with(&client(Who::B), "GET", &format!("/v1/jobs?user={}", alice.id), None).await;
    assert_eq!(status, 404, "a user asking for another user's jobs");
    let (_, all) = api.get("/v1/jobs?user=all").await;
    assert!(all["jobs"].as_array().expect("jobs").iter().any(|j| j["id"] == json!(a_job)), "{all}");
    let (status, _) = api.send_with(&client(Who::B), "DELETE", &format!("/v1/me/api-keys/{spare_key_id}"), None).await;
    assert_eq!(status, 404, "B revoking A's key");
}
