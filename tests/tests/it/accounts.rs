//! Accounts end to end: registration → the verification email through the SMTP
//! server → the link works once; login, refresh rotation and reuse detection, logout;
//! password reset; cookie sessions and CSRF; login rate limits; no user enumeration;
//! bad input named; and an audit row for every audited action.

use std::time::Duration;

use kronos_tests::{
    accounts::{client_with, create_user, PASSWORD},
    http::TestApi,
    process::Proc,
    sample, smtp, TestEnv,
};
use kronos_types::accounts::{Role, Tier};
use serde_json::{json, Value};

const MAIL_WAIT: Duration = Duration::from_secs(30);

fn anonymous() -> reqwest::Client {
    reqwest::Client::new()
}

/// A unique address of this test run.
fn address(name: &str) -> String {
    format!("{name}-{}@kronos.test", uuid::Uuid::new_v4().simple())
}

async fn post(api: &TestApi, client: &reqwest::Client, path: &str, body: Value) -> (u16, Value) {
    api.send_with(client, "POST", path, Some(&body)).await
}

async fn login(api: &TestApi, email: &str, password: &str) -> (u16, Value) {
    post(api, &anonymous(), "/v1/auth/login", json!({"email": email, "password": password})).await
}

fn worker(env: &TestEnv) -> Proc {
    Proc::start("kronos-worker", env, &["--devices", "cpu", "--torch-threads", "1"], &[])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn registration_verification_login_refresh_and_logout() {
    let env = TestEnv::new().await;
    let api = TestApi::start(&env, true).await;
    let _worker = worker(&env);
    let email = address("ann");

    // registration sends a link; a second registration of the address answers the same
    let (status, first) = post(
        &api,
        &anonymous(),
        "/v1/auth/register",
        json!({"email": email, "password": PASSWORD, "display_name": "Ann"}),
    )
    .await;
    assert_eq!(status, 202, "{first}");
    let (status, again) =
        post(&api, &anonymous(), "/v1/auth/register", json!({"email": email.to_uppercase(), "password": PASSWORD}))
            .await;
    assert_eq!((status, &again), (202, &first), "a taken address answers like a new one");
    let mail = smtp::wait_for(&email, 1, MAIL_WAIT).await;
    assert_eq!(mail.len(), 1, "one account, one message");
    let message = &mail[0];
    assert_eq!(message.subject, "Kronos: verify your email address");
    assert_eq!(message.from, "no-reply@kronos.test");
    assert!(message.text.contains("Hello Ann,"), "{}", message.text);
    assert!(message.html.contains("Verify my address"), "{}", message.html);
    let token = message.token("http://kronos.test/verify-email?token=").expect("a verification link");

    // unverified: can log in, cannot submit
    let (status, session) = login(&api, &email, PASSWORD).await;
    assert_eq!(status, 200, "{session}");
    assert_eq!(session["user"]["email_verified"], false);
    let me = client_with(session["access_token"].as_str().expect("token"));
    let (status, refused) = post(&api, &me, "/v1/predictions", sample::inline_request(40, 3, "naive")).await;
    assert_eq!((status, refused["error"]["code"].as_str()), (403, Some("email_not_verified")), "{refused}");

    // following the link opens a page whose button posts the token (a GET uses nothing up)
    let link = message.link("http://kronos.test/verify-email?token=").expect("link");
    let path = link.trim_start_matches("http://kronos.test");
    for _ in 0..2 {
        let page = anonymous().get(api.url(path)).send().await.expect("page");
        assert_eq!(page.status(), 200);
        let html = page.text().await.expect("html");
        assert!(html.contains(&format!("name=\"token\" value=\"{token}\"")), "{html}");
    }
    let form = || anonymous().post(api.url("/verify-email")).form(&[("token", token.as_str())]).send();
    let verified = form().await.expect("form");
    assert_eq!(verified.status(), 200);
    assert!(verified.text().await.expect("html").contains("Address verified"));
    // the link works once
    let again = form().await.expect("form");
    assert_eq!(again.status(), 422);
    let (status, twice) = post(&api, &anonymous(), "/v1/auth/verify-email", json!({"token": token})).await;
    assert_eq!((status, twice["error"]["field"].as_str()), (422, Some("token")), "{twice}");
    let (status, created) = post(&api, &me, "/v1/predictions", sample::inline_request(40, 3, "naive")).await;
    assert_eq!(status, 202, "verified now (the auth cache was told): {created}");
    let (_, profile) = api.send_with(&me, "GET", "/v1/me", None).await;
    assert_eq!(
        (profile["email_verified"].as_bool(), profile["profile"]["display_name"].as_str()),
        (Some(true), Some("Ann"))
    );

    // refresh rotates; a used refresh token revokes the session
    let first_refresh = session["refresh_token"].as_str().expect("refresh").to_owned();
    let (status, next) = post(&api, &anonymous(), "/v1/auth/refresh", json!({"refresh_token": first_refresh})).await;
    assert_eq!(status, 200, "{next}");
    let next_refresh = next["refresh_token"].as_str().expect("refresh").to_owned();
    assert_ne!(next_refresh, first_refresh);
    let rotated = client_with(next["access_token"].as_str().expect("token"));
    assert_eq!(api.send_with(&rotated, "GET", "/v1/me", None).await.0, 200);
    let (status, reused) = post(&api, &anonymous(), "/v1/auth/refresh", json!({"refresh_token": first_refresh})).await;
    assert_eq!(status, 401, "a used refresh token: {reused}");
    let (status, _) = post(&api, &anonymous(), "/v1/auth/refresh", json!({"refresh_token": next_refresh})).await;
    assert_eq!(status, 401, "the whole session was revoked with it");
    assert_eq!(api.send_with(&rotated, "GET", "/v1/me", None).await.0, 401, "its access tokens too");

    // logout ends a session
    let (_, session) = login(&api, &email, PASSWORD).await;
    let me = client_with(session["access_token"].as_str().expect("token"));
    let (status, _) = post(&api, &me, "/v1/auth/logout", json!({})).await;
    assert_eq!(status, 204);
    assert_eq!(api.send_with(&me, "GET", "/v1/me", None).await.0, 401);
    let (status, _) =
        post(&api, &anonymous(), "/v1/auth/refresh", json!({"refresh_token": session["refresh_token"]})).await;
    assert_eq!(status, 401);

    // the audit log has each step
    let (_, audit) = api.get("/v1/admin/audit?limit=500").await;
    let actions: Vec<&str> =
        audit["entries"].as_array().expect("entries").iter().filter_map(|e| e["action"].as_str()).collect();
    for action in ["register", "email_verified", "login_succeeded", "refresh_reused", "logout"] {
        assert!(actions.contains(&action), "no {action} in {actions:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn password_reset_end_to_end_and_no_enumeration() {
    let env = TestEnv::new().await;
    let api = TestApi::start(&env, true).await;
    let _worker = worker(&env);
    let user =
        create_user(&env, &format!("reset-{}", uuid::Uuid::new_v4().simple()), Role::User, Tier::Free, true).await;
    let (_, old_session) = login(&api, &user.email, PASSWORD).await;

    let (status, known) = post(&api, &anonymous(), "/v1/auth/password-reset", json!({"email": user.email})).await;
    assert_eq!(status, 202, "{known}");
    let (status, unknown) =
        post(&api, &anonymous(), "/v1/auth/password-reset", json!({"email": address("nobody")})).await;
    assert_eq!((status, &unknown), (202, &known), "an unknown address answers the same");
    let mail = smtp::wait_for(&user.email, 1, MAIL_WAIT).await;
    assert_eq!(mail[0].subject, "Kronos: reset your password");
    let token = mail[0].token("http://kronos.test/reset-password?token=").expect("a reset link");

    // a weak password is refused and the link stays usable
    let (status, weak) =
        post(&api, &anonymous(), "/v1/auth/password-reset/confirm", json!({"token": token, "password": "short"})).await;
    assert_eq!((status, weak["error"]["field"].as_str()), (422, Some("password")), "{weak}");
    let new_password = "a brand new passphrase";
    // the link's page asks for the password; its form sets it
    let page = anonymous().get(api.url(&format!("/reset-password?token={token}"))).send().await.expect("page");
    assert!(page.text().await.expect("html").contains("type=\"password\""));
    let set = anonymous()
        .post(api.url("/reset-password"))
        .form(&[("token", token.as_str()), ("password", new_password)])
        .send()
        .await
        .expect("form");
    assert_eq!(set.status(), 200);
    assert!(set.text().await.expect("html").contains("Password changed"));
    let (status, _) = post(
        &api,
        &anonymous(),
        "/v1/auth/password-reset/confirm",
        json!({"token": token, "password": "yet another passphrase"}),
    )
    .await;
    assert_eq!(status, 422, "the link works once");
    assert_eq!(login(&api, &user.email, PASSWORD).await.0, 401, "the old password is gone");
    assert_eq!(login(&api, &user.email, new_password).await.0, 200);
    let (status, _) =
        post(&api, &anonymous(), "/v1/auth/refresh", json!({"refresh_token": old_session["refresh_token"]})).await;
    assert_eq!(status, 401, "a reset ends every session");

    // login failures say the same whatever failed
    let (s1, wrong) = login(&api, &user.email, "not the password at all").await;
    let (s2, nobody) = login(&api, &address("ghost"), "not the password at all").await;
    let (s3, malformed) = login(&api, "not an address", "not the password at all").await;
    assert_eq!((s1, s2, s3), (401, 401, 401));
    assert_eq!(wrong, nobody);
    assert_eq!(wrong, malformed);

    let (_, audit) = api.get(&format!("/v1/admin/audit?user={}", user.id)).await;
    let actions: Vec<&str> =
        audit["entries"].as_array().expect("entries").iter().filter_map(|e| e["action"].as_str()).collect();
    for action in ["password_reset_requested", "password_changed", "login_failed", "login_succeeded"] {
        assert!(actions.contains(&action), "no {action} in {actions:?}");
    }
    let failed =
        audit["entries"].as_array().expect("entries").iter().find(|e| e["action"] == "login_failed").expect("failure");
    assert_eq!(failed["details"]["reason"], "wrong password");
    assert!(failed["ip"].as_str().is_some_and(|ip| ip == "127.0.0.1"), "{failed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn login_is_rate_limited_per_address_and_per_account() {
    let mut env = TestEnv::new().await;
    env.config.auth.rate_login = kronos_config::Rate { max: 3, window: Duration::from_secs(300) };
    let api = TestApi::start(&env, false).await;
    let user = create_user(&env, "limited", Role::User, Tier::Free, true).await;
    for _ in 0..3 {
        assert_eq!(login(&api, &user.email, "wrong password here").await.0, 401);
    }
    let response = anonymous()
        .post(api.url("/v1/auth/login"))
        .json(&json!({"email": user.email, "password": PASSWORD}))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 429, "even the right password waits out the window");
    let retry: u64 = response.headers()["retry-after"].to_str().expect("ascii").parse().expect("seconds");
    assert!((1..=300).contains(&retry), "{retry}");
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["error"]["code"], "rate_limited");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cookie_sessions_need_the_csrf_header_and_the_same_origin() {
    let env = TestEnv::new().await;
    let api = TestApi::start(&env, false).await;
    let user = create_user(&env, "browser", Role::User, Tier::Pro, true).await;
    let jar = reqwest::Client::builder().cookie_store(true).build().expect("client");
    let (status, body) = api
        .send_with(
            &jar,
            "POST",
            "/v1/auth/login",
            Some(&json!({"email": user.email, "password": PASSWORD, "session": "cookie"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body.get("access_token").is_none() && body.get("refresh_token").is_none(),
        "cookie mode keeps tokens out of the body"
    );
    assert_eq!(api.send_with(&jar, "GET", "/v1/me", None).await.0, 200, "the cookie authenticates");
    // a state-changing request without the CSRF header is refused
    let (status, refused) = api.send_with(&jar, "PATCH", "/v1/me", Some(&json!({"display_name": "B"}))).await;
    assert_eq!((status, refused["error"]["code"].as_str()), (403, Some("csrf")), "{refused}");
    // the page reads the CSRF cookie and echoes it
    let csrf = {
        let response = jar.get(api.url("/v1/me")).send().await.expect("request");
        assert_eq!(response.status(), 200);
        // reqwest's jar does not expose values: log in again and read Set-Cookie
        let login = reqwest::Client::new()
            .post(api.url("/v1/auth/login"))
            .json(&json!({"email": user.email, "password": PASSWORD, "session": "cookie"}))
            .send()
            .await
            .expect("login");
        let cookies: Vec<String> =
            login.headers().get_all("set-cookie").iter().filter_map(|v| v.to_str().ok().map(str::to_owned)).collect();
        let access = cookies.iter().find(|c| c.starts_with("kronos_access=")).expect("access cookie").clone();
        assert!(access.contains("HttpOnly") && access.contains("SameSite=Lax"), "{access}");
        let pick = |name: &str| -> String {
            let c = cookies.iter().find(|c| c.starts_with(&format!("{name}="))).expect(name);
            c[name.len() + 1..].split(';').next().expect("value").to_owned()
        };
        (pick("kronos_access"), pick("kronos_csrf"))
    };
    let (access, token) = csrf;
    let cookie = format!("kronos_access={access}; kronos_csrf={token}");
    let patch = |origin: Option<&str>, header: Option<&str>| {
        let mut request = reqwest::Client::new()
            .patch(api.url("/v1/me"))
            .header("cookie", cookie.clone())
            .json(&json!({"display_name": "Browser"}));
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        if let Some(header) = header {
            request = request.header("x-csrf-token", header);
        }
        request.send()
    };
    assert_eq!(patch(None, Some(&token)).await.expect("request").status(), 200);
    assert_eq!(patch(Some("http://kronos.test"), Some(&token)).await.expect("request").status(), 200);
    assert_eq!(patch(Some("https://evil.example"), Some(&token)).await.expect("request").status(), 403);
    assert_eq!(patch(None, Some("forged")).await.expect("request").status(), 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bad_input_names_the_field_and_keys_and_roles_are_audited() {
    let env = TestEnv::new().await;
    let api = TestApi::start(&env, false).await;
    for (body, field) in [
        (json!({"email": "not-an-address", "password": PASSWORD}), "email"),
        (json!({"email": "a@b", "password": PASSWORD}), "email"),
        (json!({"email": address("weak"), "password": "password1234"}), "password"),
        (json!({"email": address("short"), "password": "short"}), "password"),
        (json!({"email": address("x"), "password": PASSWORD, "admin": true}), "admin"),
        (json!({"password": PASSWORD}), "email"),
    ] {
        let (status, answer) = post(&api, &anonymous(), "/v1/auth/register", body.clone()).await;
        assert_eq!((status, answer["error"]["field"].as_str()), (422, Some(field)), "{body}: {answer}");
    }
    let user = create_user(&env, "keys", Role::User, Tier::Pro, true).await;
    let (_, session) = login(&api, &user.email, PASSWORD).await;
    let me = client_with(session["access_token"].as_str().expect("token"));
    for (body, field) in [
        (json!({"name": "", "scopes": ["read"]}), "name"),
        (json!({"name": "k", "scopes": []}), "scopes"),
        (json!({"name": "k", "scopes": ["admin"]}), "scopes"),
        (json!({"name": "k", "scopes": ["fly"]}), "scopes[0]"),
        (json!({"name": "k", "scopes": ["read"], "expires_at": "2001-01-01T00:00:00Z"}), "expires_at"),
    ] {
        let (status, answer) = post(&api, &me, "/v1/me/api-keys", body.clone()).await;
        assert_eq!((status, answer["error"]["field"].as_str()), (422, Some(field)), "{body}: {answer}");
    }
    for (body, field) in [
        (json!({"avatar_url": "http://plain.example/a.png"}), "avatar_url"),
        (json!({"risk_tolerance": "reckless"}), "risk_tolerance"),
        (json!({"notifications": {"verification": false}}), "notifications.verification"),
        (json!({"email": address("new")}), "current_password"),
    ] {
        let (status, answer) = api.send_with(&me, "PATCH", "/v1/me", Some(&body)).await;
        assert_eq!((status, answer["error"]["field"].as_str()), (422, Some(field)), "{body}: {answer}");
    }
    // a new address needs the current password and is unverified again
    let new_address = address("moved");
    let (status, moved) =
        api.send_with(&me, "PATCH", "/v1/me", Some(&json!({"email": new_address, "current_password": PASSWORD}))).await;
    assert_eq!(
        (status, moved["email"].as_str(), moved["email_verified"].as_bool()),
        (200, Some(new_address.as_str()), Some(false)),
        "{moved}"
    );
    // an admin's catalogue write is audited
    let (status, _) =
        api.post_json("/v1/assets", &json!({"symbol": "AUDITED", "name": "Audited", "class": "stock"})).await;
    assert_eq!(status, 201);
    let (_, writes) = api.get("/v1/admin/audit?action=admin_write").await;
    let write = &writes["entries"][0];
    assert_eq!(
        (write["details"]["route"].as_str(), write["details"]["status"].as_i64()),
        (Some("/v1/assets"), Some(201)),
        "{writes}"
    );
    assert_eq!(write["actor_id"], json!(api.admin.id));
    // a key is shown once, works at once, and stops at once when revoked
    let (status, created) = post(&api, &me, "/v1/me/api-keys", json!({"name": "script", "scopes": ["read"]})).await;
    assert_eq!(status, 201, "{created}");
    let key = created["key"].as_str().expect("key").to_owned();
    assert!(key.starts_with("kr_live_") && key.starts_with(created["prefix"].as_str().expect("prefix")));
    let (_, listed) = api.send_with(&me, "GET", "/v1/me/api-keys", None).await;
    assert!(!listed.to_string().contains(&key), "listings never show the key");
    let scripted = client_with(&key);
    assert_eq!(api.send_with(&scripted, "GET", "/v1/me", None).await.0, 200);
    let id = created["id"].as_i64().expect("id");
    assert_eq!(api.send_with(&me, "DELETE", &format!("/v1/me/api-keys/{id}"), None).await.0, 204);
    assert_eq!(api.send_with(&scripted, "GET", "/v1/me", None).await.0, 401, "revocation applies at once here");
    // the admin changes role and tier; disabling ends the sessions
    let (status, changed) = api
        .send("PATCH", &format!("/v1/admin/users/{}", user.id), Some(&json!({"tier": "basic", "role": "admin"})))
        .await;
    assert_eq!(
        (status, changed["tier"].as_str(), changed["role"].as_str()),
        (200, Some("basic"), Some("admin")),
        "{changed}"
    );
    let (status, _) =
        api.send("PATCH", &format!("/v1/admin/users/{}", user.id), Some(&json!({"disabled": true}))).await;
    assert_eq!(status, 200);
    assert_eq!(api.send_with(&me, "GET", "/v1/me", None).await.0, 401, "a disabled account's session stops");
    assert_eq!(login(&api, &user.email, PASSWORD).await.0, 401);
    let (_, audit) = api.get(&format!("/v1/admin/audit?user={}", user.id)).await;
    let actions: Vec<&str> =
        audit["entries"].as_array().expect("entries").iter().filter_map(|e| e["action"].as_str()).collect();
    for action in
        ["email_changed", "api_key_created", "api_key_revoked", "role_changed", "tier_changed", "user_disabled"]
    {
        assert!(actions.contains(&action), "no {action} in {actions:?}");
    }
    let (status, _) = api.get("/v1/admin/audit?action=teleported").await;
    assert_eq!(status, 422);
    // the log is append-only
    let pool = kronos_db::pool(&env.config.database_url, 1).expect("pool");
    let mut conn = pool.get().await.expect("conn");
    let refused = diesel_async::RunQueryDsl::execute(diesel::sql_query("DELETE FROM audit_log"), &mut conn).await;
    assert!(refused.is_err(), "audit rows cannot be deleted");
}
