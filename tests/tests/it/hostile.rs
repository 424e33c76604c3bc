//! Every route against hostile input: NUL and control characters, over-long strings,
//! invalid UTF-8, wrong types, absurd numbers and repeated fields, in path segments,
//! query parameters and JSON bodies (every string and number, however deeply nested).
//! Each answer must be a 4xx with the JSON error body — never a 5xx, never plain text.

use kronos_db::{assets, candles};
use kronos_tests::{fixtures::import_kronos_tiny, http::TestApi, TestEnv};
use kronos_types::{Candle, Interval};
use serde_json::{json, Value};

/// What a query parameter holds, which decides the mutations it gets.
#[derive(Clone, Copy, PartialEq)]
enum Param {
    /// Numbers, enumerations, times, ids: wrong types and absurd numbers are refused.
    Typed,
    /// Names of things (symbols, models, groups): unknown names are refused.
    Name,
    /// Free text (a category): only NUL, over-long and malformed text is refused.
    Text,
}

struct Route {
    method: &'static str,
    /// With `{name}` placeholders, filled from `Fixture`.
    path: &'static str,
    query: Vec<(&'static str, &'static str, Param)>,
    body: Option<Value>,
}

fn route(method: &'static str, path: &'static str) -> Route {
    Route { method, path, query: Vec::new(), body: None }
}

impl Route {
    fn query(mut self, params: &[(&'static str, &'static str, Param)]) -> Self {
        self.query = params.to_vec();
        self
    }
    fn body(mut self, body: Value) -> Self {
        self.body = Some(body);
        self
    }
}

/// A daily series of `n` bars from 2024-01-01.
fn series(n: usize) -> Vec<Candle> {
    kronos_tests::sample::candles(n)
}

fn inline_candles() -> Value {
    json!(series(12))
}

fn routes() -> Vec<Route> {
    use Param::{Name, Text, Typed};
    let series_query =
        [("interval", "1d", Typed), ("from", "2024-01-05", Typed), ("to", "2024-06-01", Typed), ("limit", "50", Typed)];
    vec![
        route("GET", "/v1/models").query(&[("lineage", "tiny", Name), ("status", "candidate", Typed)]),
        route("GET", "/v1/models/{model}"),
        route("DELETE", "/v1/models/{model}"),
        route("POST", "/v1/models/{model}/promote"),
        route("GET", "/v1/models/{model}/assets"),
        route("POST", "/v1/models/{model}/assets").body(json!({"symbols": ["GOOG"], "weight": 2.0})),
        route("PATCH", "/v1/models/{model}/assets/{symbol}").body(json!({"enabled": false, "weight": 3.0})),
        route("DELETE", "/v1/models/{model}/assets/{symbol}"),
        route("POST", "/v1/trainings").body(json!({
            "preset": "mini", "symbols": ["GOOG"], "interval": "1d", "from": "2024-01-01", "to": "2024-09-01",
            "steps": 10, "tokenizer_steps": 2, "lookback": 16, "horizon": 4, "batch_size": 4, "learning_rate": 0.001,
            "validation_fraction": 0.2, "eval_every": 5, "checkpoint_every": 5, "seed": 1, "lineage": "sweep"})),
        route("GET", "/v1/trainings/{id}"),
        route("POST", "/v1/verifications").body(json!({"limit": 10})),
        route("GET", "/v1/verifications/{id}"),
        route("POST", "/v1/backtests").body(json!({
            "symbols": ["GOOG"], "interval": "1d", "from": "2024-02-01", "to": "2024-09-01",
            "strategy": {"kind": "sma_cross", "fast": 5, "slow": 20},
            "engine": {"init_cash": 10000.0, "fee": 0.001, "fixed_fee": 1.0, "slippage_bps": 2.0, "leverage": 1.0,
                       "stop_loss": 0.1, "take_profit": 0.2, "sizing": {"fraction": 0.5}},
            "periods_per_year": 252.0,
            "sweep": {"grid": {"fast": [5, 10]}, "rank_by": "sharpe", "top": 5}})),
        route("POST", "/v1/backtests").body(json!({
            "symbols": ["GOOG"], "strategy": {"kind": "model", "rule": "prob_up", "entry": 0.6, "exit": 0.5},
            "model": {"name": "drift", "context": 32, "horizon": 3, "every": 2, "samples": 4, "temperature": 1.0,
                      "top_k": 0, "top_p": 0.9, "seed": 1}})),
        route("GET", "/v1/backtests/{id}"),
        route("GET", "/v1/backtests/{id}/{table}").query(&[("format", "json", Typed)]),
        route("POST", "/v1/evaluations").body(json!({
            "symbols": ["GOOG"], "interval": "1d", "from": "2024-03-01", "to": "2024-08-01",
            "model": {"name": "drift", "context": 32, "horizon": 3, "every": 1}})),
        route("GET", "/v1/evaluations/{id}"),
        route("GET", "/v1/accuracy").query(&[
            ("model", "drift", Name),
            ("asset", "GOOG", Name),
            ("user", "7", Typed),
            ("from", "2024-01-01", Typed),
            ("to", "2025-01-01", Typed),
            ("group_by", "asset", Typed),
            ("source", "live", Typed),
        ]),
        route("GET", "/v1/assets").query(&[
            ("class", "stock", Typed),
            ("category", "technology", Text),
            ("group", "sweep", Name),
            ("active", "true", Typed),
        ]),
        route("POST", "/v1/assets").body(json!({
            "symbol": "NEWX", "class": "crypto", "name": "New X", "exchange": "binance", "category": "defi",
            "binance_symbol": "NEWXUSDT", "okx_symbol": "NEWX-USDT", "coingecko_id": "new-x", "market_cap_rank": 50})),
        route("GET", "/v1/assets/{symbol}"),
        route("PATCH", "/v1/assets/{symbol}").body(json!({"active": true})),
        route("DELETE", "/v1/assets/{symbol}").query(&[("with_candles", "false", Typed)]),
        route("GET", "/v1/asset-groups"),
        route("GET", "/v1/asset-groups/{slug}"),
        route("PUT", "/v1/asset-groups/{slug}")
            .body(json!({"name": "Sweep", "description": "a group", "members": ["GOOG"]})),
        route("DELETE", "/v1/asset-groups/{slug}"),
        route("POST", "/v1/asset-groups/{slug}/members").body(json!({"symbols": ["GOOG"]})),
        route("GET", "/v1/assets/{symbol}/candles").query(&series_query),
        route("GET", "/v1/assets/{symbol}/indicators").query(&[
            ("interval", "1d", Typed),
            ("names", "sma_5,rsi_14", Typed),
            ("limit", "50", Typed),
        ]),
        route("GET", "/v1/assets/{symbol}/quality").query(&[("interval", "1d", Typed)]),
        route("GET", "/v1/assets/{symbol}/ticker"),
        route("POST", "/v1/predictions").body(json!({
            "symbol": "GOOG", "interval": "1d", "horizon": 5, "model": "drift", "context": 100, "priority": 5,
            "as_of": "2024-06-01"})),
        route("POST", "/v1/predictions").body(json!({
            "candles": inline_candles(), "interval": "1d", "horizon": 2, "model": "tiny", "samples": 2,
            "temperature": 1.0, "top_k": 0, "top_p": 0.9, "seed": 1, "max_context": 64, "calendar": "always_open"})),
        route("GET", "/v1/predictions/{id}").query(&[("include", "raw", Typed)]),
        route("GET", "/v1/jobs").query(&[
            ("kind", "prediction", Typed),
            ("status", "queued", Typed),
            ("batch_id", "0192a3b4-0000-7000-8000-000000000000", Typed),
            ("limit", "10", Typed),
            ("cursor", "0192a3b4-0000-7000-8000-000000000000", Typed),
        ]),
        route("GET", "/v1/jobs/{id}"),
        route("GET", "/v1/jobs/{id}/events"),
        route("GET", "/v1/jobs/events").query(&[("kind", "prediction", Typed)]),
        route("POST", "/v1/jobs/{id}/cancel"),
        route("GET", "/v1/jobs/{id}/result"),
    ]
}

/// Values placeholders take in the valid form of each route.
struct Fixture {
    job: String,
}

impl Fixture {
    fn fill(&self, path: &str, name: &str, value: &str) -> String {
        let mut out = path.to_owned();
        for (key, default) in
            [("model", "tiny"), ("symbol", "GOOG"), ("slug", "sweep"), ("id", self.job.as_str()), ("table", "equity")]
        {
            let v = if key == name { value } else { default };
            out = out.replace(&format!("{{{key}}}"), v);
        }
        out
    }
}

/// Path segments, query values and JSON strings that no input may carry.
const NUL: &str = "GO%00OG";
const CONTROL: &str = "GO%07OG";
const BAD_UTF8: &str = "GO%FFOG";

fn long(n: usize) -> String {
    "A".repeat(n)
}

/// One request and why it is hostile.
struct Probe {
    method: &'static str,
    url: String,
    body: Option<String>,
    why: String,
}

/// Every mutation of every number and string inside `value`, by JSON path.
fn body_mutations(value: &Value, path: &str, out: &mut Vec<(String, Value)>) {
    match value {
        Value::String(_) => {
            out.push((format!("{path}: NUL"), json!("GO\u{0}OG")));
            out.push((format!("{path}: over-long"), json!(long(5000))));
            out.push((format!("{path}: wrong type"), json!({"nested": true})));
        }
        Value::Number(_) => {
            for (why, v) in [
                ("absurd", json!(1e308)),
                ("absurd negative", json!(-1e308)),
                ("huge integer", json!(u64::MAX)),
                ("wrong type", json!("12")),
            ] {
                out.push((format!("{path}: {why}"), v));
            }
        }
        Value::Bool(_) => out.push((format!("{path}: wrong type"), json!("yes"))),
        Value::Array(items) => {
            out.push((format!("{path}: wrong type"), json!({"not": "a list"})));
            for (i, item) in items.iter().enumerate().take(2) {
                let mut inner = Vec::new();
                body_mutations(item, &format!("{path}[{i}]"), &mut inner);
                for (why, v) in inner {
                    let mut copy = items.clone();
                    copy[i] = v;
                    out.push((why, Value::Array(copy)));
                }
            }
        }
        Value::Object(map) => {
            if !path.is_empty() {
                out.push((format!("{path}: wrong type"), json!(["not", "an", "object"])));
            }
            for (key, item) in map {
                let mut inner = Vec::new();
                let child = if path.is_empty() { key.clone() } else { format!("{path}.{key}") };
                body_mutations(item, &child, &mut inner);
                for (why, v) in inner {
                    let mut copy = map.clone();
                    copy.insert(key.clone(), v);
                    out.push((why, Value::Object(copy)));
                }
            }
        }
        Value::Null => {}
    }
}

fn probes(api: &TestApi, fixture: &Fixture) -> Vec<Probe> {
    let mut out = Vec::new();
    for r in routes() {
        let valid_query: Vec<String> = r.query.iter().map(|(k, v, _)| format!("{k}={v}")).collect();
        let url = |path: String, query: &[String]| {
            if query.is_empty() {
                api.url(&path)
            } else {
                api.url(&format!("{path}?{}", query.join("&")))
            }
        };
        let body = r.body.as_ref().map(Value::to_string);
        let placeholders: Vec<&str> = ["model", "symbol", "slug", "id", "table"]
            .into_iter()
            .filter(|p| r.path.contains(&format!("{{{p}}}")))
            .collect();
        // path segments
        for name in &placeholders {
            let long_segment = long(300);
            let mut bad = vec![
                ("NUL", NUL),
                ("control character", CONTROL),
                ("invalid UTF-8", BAD_UTF8),
                ("over-long", long_segment.as_str()),
            ];
            if *name == "id" {
                bad.push(("wrong type", "not-a-uuid"));
            }
            for (why, value) in bad {
                out.push(Probe {
                    method: r.method,
                    url: url(fixture.fill(r.path, name, value), &valid_query),
                    body: body.clone(),
                    why: format!("{} {}: {{{name}}} {why}", r.method, r.path),
                });
            }
        }
        let path = fixture.fill(r.path, "", "");
        // query parameters
        for (i, (key, _, kind)) in r.query.iter().enumerate() {
            let long_value = long(3000);
            let mut bad = vec![
                ("NUL", NUL.to_owned()),
                ("control character", CONTROL.to_owned()),
                ("invalid UTF-8", BAD_UTF8.to_owned()),
                ("over-long", long_value),
            ];
            match kind {
                Param::Typed => {
                    bad.extend([
                        ("wrong type", "abc".to_owned()),
                        ("absurd", "1e308".to_owned()),
                        ("absurd negative", "-1e308".to_owned()),
                    ]);
                    bad.push(("huge integer", "99999999999999999999999".to_owned()));
                }
                Param::Name => bad.push(("unknown name", "no-such-thing".to_owned())),
                Param::Text => {}
            }
            for (why, value) in bad {
                let mut query = valid_query.clone();
                query[i] = format!("{key}={value}");
                out.push(Probe {
                    method: r.method,
                    url: url(path.clone(), &query),
                    body: body.clone(),
                    why: format!("{} {}?{key}: {why}", r.method, r.path),
                });
            }
            let mut twice = valid_query.clone();
            twice.push(valid_query[i].clone());
            out.push(Probe {
                method: r.method,
                url: url(path.clone(), &twice),
                body: body.clone(),
                why: format!("{} {}?{key}: given twice", r.method, r.path),
            });
        }
        // JSON bodies
        if let Some(valid) = &r.body {
            let mut mutations = Vec::new();
            body_mutations(valid, "", &mut mutations);
            for (why, mutated) in mutations {
                out.push(Probe {
                    method: r.method,
                    url: url(path.clone(), &valid_query),
                    body: Some(mutated.to_string()),
                    why: format!("{} {} body {why}", r.method, r.path),
                });
            }
            // a field given twice
            if let Some((key, value)) = valid.as_object().and_then(|m| m.iter().next()) {
                let text = valid.to_string();
                let twice = format!("{{\"{key}\":{value},{}", &text[1..]);
                out.push(Probe {
                    method: r.method,
                    url: url(path.clone(), &valid_query),
                    body: Some(twice),
                    why: format!("{} {} body: {key} given twice", r.method, r.path),
                });
            }
            for (why, raw) in [("malformed JSON", "{\"symbol\": "), ("not an object", "[1, 2]"), ("empty", "")] {
                out.push(Probe {
                    method: r.method,
                    url: url(path.clone(), &valid_query),
                    body: Some(raw.to_owned()),
                    why: format!("{} {} body: {why}", r.method, r.path),
                });
            }
        }
    }
    out
}

async fn fixture(env: &TestEnv, api: &TestApi) -> Fixture {
    import_kronos_tiny(env, "tiny");
    {
        let mut conn = api.state.pool.get().await.unwrap();
        let id = assets::ensure(&mut conn, "GOOG", "stock").await.unwrap();
        candles::upsert(&mut conn, id, Interval::D1, &series(300), "test").await.unwrap();
    }
    let (status, _) =
        api.send("PUT", "/v1/asset-groups/sweep", Some(&json!({"name": "Sweep", "members": ["GOOG"]}))).await;
    assert_eq!(status, 200);
    let (status, created) = api
        .post_json("/v1/predictions", &json!({"symbol": "GOOG", "interval": "1d", "horizon": 3, "model": "naive"}))
        .await;
    assert_eq!(status, 202, "{created}");
    Fixture { job: created["job"]["id"].as_str().unwrap().to_owned() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_answers_hostile_input_with_a_json_4xx() {
    let env = TestEnv::new().await;
    let api = TestApi::start(&env, false).await;
    let fixture = fixture(&env, &api).await;
    let probes = probes(&api, &fixture);
    assert!(probes.len() > 600, "the sweep covers {} requests", probes.len());
    let mut failures = Vec::new();
    for probe in &probes {
        let method = reqwest::Method::from_bytes(probe.method.as_bytes()).unwrap();
        let mut request = api.client.request(method, &probe.url);
        if let Some(body) = &probe.body {
            request = request.header("content-type", "application/json").body(body.clone());
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        let json: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if !(400..500).contains(&status) || !json["error"]["code"].is_string() {
            failures.push(format!("{} -> {status} {}", probe.why, text.chars().take(200).collect::<String>()));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} hostile requests were not a JSON 4xx:\n{}",
        failures.len(),
        probes.len(),
        failures.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_router_answers_in_json_too() {
    let env = TestEnv::new().await;
    let api = TestApi::start(&env, false).await;
    for (method, path, status) in [
        ("PATCH", "/v1/jobs", 405),
        ("DELETE", "/v1/predictions", 405),
        ("PUT", "/v1/accuracy", 405),
        ("GET", "/v2/nothing", 404),
        ("GET", "/v1/assets/%FF/candles", 422),
    ] {
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let response = api.client.request(m, api.url(path)).send().await.unwrap();
        assert_eq!(response.status().as_u16(), status, "{method} {path}");
        if status == 405 {
            assert!(response.headers().contains_key("allow"), "{method} {path}: Allow kept");
        }
        let body: Value = response.json().await.unwrap_or(Value::Null);
        assert!(body["error"]["code"].is_string(), "{method} {path}: {body}");
    }
    // a body that is not JSON at all, and a query string that is not UTF-8
    let response = api
        .client
        .post(api.url("/v1/predictions"))
        .header("content-type", "text/plain")
        .body("hi")
        .send()
        .await
        .unwrap();
    assert!(response.status().is_client_error());
    assert!(response.json::<Value>().await.unwrap()["error"]["code"].is_string());
}
