//! The OpenAPI document against the router it describes: every route is in it (the
//! router is built only through `utoipa_axum::routes!`, and every operation answers
//! from its handler), every operation has a unique id and the error body, and
//! `/openapi.json` and `/docs` serve it. (Every other API test checks the answers it
//! receives against the document: `kronos_tests::openapi::check`.)

use std::collections::BTreeSet;

use kronos_tests::{http::TestApi, openapi::DOCUMENT, TestEnv};
use serde_json::{json, Value};

const HTTP_METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// `(method, template)` of every operation in the document.
fn operations() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (template, item) in DOCUMENT["paths"].as_object().expect("paths") {
        for method in HTTP_METHODS {
            if item.get(method).is_some() {
                out.push((method.to_owned(), template.clone()));
            }
        }
    }
    out
}

#[test]
fn the_document_is_openapi_3_1_with_unique_operation_ids_and_the_error_body() {
    assert_eq!(DOCUMENT["openapi"], "3.1.0");
    let ops = operations();
    assert!(ops.len() >= 43, "only {} operations", ops.len());
    let mut ids = BTreeSet::new();
    for (method, template) in &ops {
        let op = &DOCUMENT["paths"][template][method];
        let id = op["operationId"].as_str().unwrap_or_else(|| panic!("{method} {template} has no operationId"));
        assert!(ids.insert(id.to_owned()), "operationId {id} is used twice");
        assert!(op["tags"].as_array().is_some_and(|t| !t.is_empty()), "{method} {template} has no tag");
        if template.starts_with("/v1/") {
            assert_eq!(
                op.pointer("/responses/4XX/content/application~1json/schema/$ref"),
                Some(&json!("#/components/schemas/ErrorBody")),
                "{method} {template} does not document the error body"
            );
        }
        if method == "post" || method == "put" || method == "patch" {
            let body = op.pointer("/requestBody/content/application~1json/schema");
            assert!(
                body.is_some()
                    || template.ends_with("/cancel")
                    || template.ends_with("/promote")
                    || template.ends_with("/email-verification")
                    || template == "/v1/billing/portal"
                    || op.pointer("/requestBody/content/application~1x-www-form-urlencoded/schema").is_some(),
                "{method} {template} has no request schema"
            );
        }
    }
    for name in ["ErrorBody", "CreatePrediction", "CreateBacktest", "CreateEvaluation", "CreateTraining", "JobView"] {
        assert!(DOCUMENT["components"]["schemas"].get(name).is_some(), "schema {name} missing");
    }
}

/// Whether `schema` says nothing of its fields: `{}` or an object without properties.
fn free_form(schema: &Value) -> bool {
    let typed = ["$ref", "properties", "items", "oneOf", "anyOf", "allOf", "enum", "additionalProperties"];
    let says_something = typed.iter().any(|k| schema.get(k).is_some());
    let plain_type = schema.get("type").is_some_and(|t| t != "object");
    !says_something && !plain_type
}

/// Every JSON answer of every operation has a schema with fields, not a free-form
/// object: clients generate their types from the document. (`/openapi.json` answers
/// the document itself, whose schema is OpenAPI's, not this document's.)
#[test]
fn every_json_answer_has_a_typed_schema() {
    for (method, template) in operations().into_iter().filter(|(_, t)| t != "/openapi.json") {
        let responses = DOCUMENT["paths"][&template][&method]["responses"].as_object().expect("responses");
        for (status, response) in responses {
            if let Some(schema) = response.pointer("/content/application~1json/schema") {
                assert!(!free_form(schema), "{method} {template} {status} answers a free-form object: {schema}");
            }
        }
    }
    assert!(free_form(&json!({})) && free_form(&json!({"type": "object"})));
    assert!(!free_form(&json!({"$ref": "#/components/schemas/JobView"})));
}

/// The router module registers routes only through `routes!` (which adds each to the
/// document); the documented exception is the directory of the docs' static files.
#[test]
fn the_router_has_no_route_outside_the_document() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../api/src");
    let router = std::fs::read_to_string(root.join("routes/mod.rs")).expect("routes/mod.rs");
    let code: String = router.lines().filter(|l| !l.trim_start().starts_with("//")).collect::<Vec<_>>().join("\n");
    for forbidden in [".route(", ".route_service(", ".nest(", ".nest_service(", "Router::new()"] {
        assert!(
            !code.contains(forbidden),
            "api/src/routes/mod.rs adds a route with {forbidden}, bypassing the OpenAPI document"
        );
    }
    let routes_calls = code.matches(".routes(routes!(").count();
    assert!(routes_calls >= 30, "expected the router to be built with routes!, found {routes_calls} calls");
    // outside the router module, only the docs' static files are served
    for entry in walk(&root) {
        let text = std::fs::read_to_string(&entry).expect("source");
        if entry.ends_with("routes/mod.rs") || entry.ends_with("openapi.rs") {
            continue;
        }
        assert!(!text.contains("Router::new()"), "{} builds a router outside the documented one", entry.display());
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out
}

/// Every documented operation reaches its handler: not the router's "no such route"
/// fallback, not a 405.
#[tokio::test]
async fn every_documented_operation_reaches_its_handler() {
    let env = TestEnv::new().await;
    let api = TestApi::start(&env, false).await;
    let id = uuid::Uuid::new_v4().to_string();
    for (method, template) in operations() {
        let path = template
            .replace("{id}", &id)
            .replace("{model}", "naive")
            .replace("{symbol}", "AAPL")
            .replace("{slug}", "top10")
            .replace("{table}", "equity");
        let body = (method != "get" && method != "delete").then(|| json!({}));
        let mut request = api.client.request(method.to_uppercase().parse().expect("method"), api.url(&path));
        if let Some(body) = &body {
            request = request.json(body);
        }
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        // an event stream stays open: its status is the answer
        let text = if kronos_tests::sse::is_event_stream(response.headers()) {
            String::new()
        } else {
            response.text().await.unwrap_or_default()
        };
        assert_ne!(status, 405, "{method} {template}: 405 — the router lacks this method");
        let value: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        assert!(
            !(status == 404 && value["error"]["message"] == "no such route"),
            "{method} {template}: the router has no such route"
        );
        kronos_tests::openapi::check(&method, &path, status, &value);
    }
}

#[tokio::test]
async fn openapi_json_serves_the_document_and_docs_serve_local_files() {
    let mut env = TestEnv::new().await;
    // without the installed files, /docs says how to get them
    let api = TestApi::start(&env, false).await;
    let (status, served) = api.get("/openapi.json").await;
    assert_eq!(status, 200);
    assert_eq!(served, *DOCUMENT);
    let (status, body) = api.get("/docs").await;
    assert_eq!(status, 404);
    assert!(body["error"]["message"].as_str().is_some_and(|m| m.contains("ops/up")), "{body}");
    drop(api);

    // with them, /docs is Swagger UI over /openapi.json, its scripts from this server
    let assets = env.scratch.join("swagger-ui");
    std::fs::create_dir_all(&assets).expect("assets dir");
    std::fs::write(assets.join("swagger-ui-bundle.js"), "window.SwaggerUIBundle = function () {};").expect("js");
    std::fs::write(assets.join("swagger-ui.css"), "body {}").expect("css");
    env.config.api.docs_assets = Some(assets);
    let api = TestApi::start(&env, false).await;
    let page = api.client.get(api.url("/docs")).send().await.expect("docs");
    assert_eq!(page.status().as_u16(), 200);
    let html = page.text().await.expect("html");
    assert!(html.contains("/openapi.json") && html.contains("/docs/assets/swagger-ui-bundle.js"), "{html}");
    assert!(!html.contains("http://") && !html.contains("https://"), "the page loads nothing from elsewhere: {html}");
    let js = api.client.get(api.url("/docs/assets/swagger-ui-bundle.js")).send().await.expect("js");
    assert_eq!(js.status().as_u16(), 200);
    assert!(js.text().await.expect("js").contains("SwaggerUIBundle"));
}

/// The check every API test runs on its answers fails on what breaks the document.
#[test]
fn the_answer_check_catches_what_breaks_the_document() {
    use kronos_tests::openapi::check;
    let refused = |method: &'static str, path: &'static str, status: u16, body: Value| {
        std::panic::catch_unwind(move || check(method, path, status, &body)).is_err()
    };
    let id = "0190c9c2-7d4e-7a1b-9c3d-1234567890ab";
    let job = json!({"job": {"id": id}});
    // a body that breaks its schema (a job without its fields)
    assert!(refused("POST", "/v1/predictions", 202, job));
    // a status the operation does not document
    assert!(refused("GET", "/v1/jobs", 201, json!({"jobs": [], "next_cursor": null})));
    // a route that is not in the document answering anything but the error body
    assert!(refused("GET", "/v1/nowhere", 200, json!({})));
    assert!(refused("GET", "/v1/nowhere", 404, json!({"message": "no"})));
    // and what conforms passes
    check("GET", "/v1/jobs", 200, &json!({"jobs": [], "next_cursor": null}));
    check(
        "GET",
        "/v1/nowhere",
        404,
        &json!({"error": {"code": "not_found", "message": "no such route", "field": null}}),
    );
}

/// schemathesis (PyPI; `ops/test` installs it) against a running API with the seed
/// catalogue and the demo stocks: every operation of `/openapi.json`, with examples,
/// boundary values and fuzzed input; no answer may be a 5xx or fall outside the
/// document.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn schemathesis_finds_no_server_error_and_no_answer_outside_the_document() {
    let bin = std::env::var("KRONOS_SCHEMATHESIS")
        .expect("KRONOS_SCHEMATHESIS is not set: run the tests through ops/test, which installs schemathesis");
    let mut env = TestEnv::new().await;
    // the exchanges answer (as a local server in their formats): a ticker the fuzzer
    // asks for is served, or refused as unknown, never a 5xx for an unreachable source
    let exchange = kronos_tests::fake_exchange::FakeExchange::start().await;
    env.config.exchanges.binance_url = exchange.url.clone();
    env.config.exchanges.okx_url = exchange.url.clone();
    env.config.exchanges.coingecko_url = exchange.url.clone();
    // /docs as ops/up serves it, when ops/test installed its files
    env.config.api.docs_assets = std::env::var_os("KRONOS_API_DOCS_ASSETS").map(Into::into);
    let seeded = kronos_tests::process::run_to_end("kronos", &env, &["assets", "seed"]);
    assert!(seeded.status.success(), "{}", String::from_utf8_lossy(&seeded.stderr));
    kronos_tests::demo::import_stocks(&env);
    let api = TestApi::start(&env, true).await;
    let report = env.scratch.join("schemathesis.xml");
    // path parameters that name stored things, so requests reach the handlers' logic
    let config = env.scratch.join("schemathesis.toml");
    std::fs::write(
        &config,
        "[parameters]\n\"path.symbol\" = \"AAPL\"\n\"path.model\" = \"naive\"\n\"path.slug\" = \"top10\"\n",
    )
    .expect("config");
    let run = || {
        tokio::process::Command::new(&bin)
            .arg("--config-file")
            .arg(&config)
            .args(["run", &format!("{}/openapi.json", api.base)])
            // as the admin: every operation reaches its handler
            .args(["--header", &format!("Authorization: Bearer {}", api.admin.key)])
            .args(["--checks", "not_a_server_error,response_schema_conformance"])
            // event streams stay open (tests/it/job_events.rs covers them)
            .args(["--exclude-path-regex", "/events$"])
            .args(["--phases", "examples,coverage,fuzzing", "--max-examples", "20", "--workers", "2"])
            .args(["--seed", "7", "--report", "junit", "--report-junit-path"])
            .arg(&report)
            .arg("--no-color")
            // its reports and example database stay in this test's scratch directory
            .current_dir(&env.scratch)
            .output()
    };
    let mut out = run().await.expect("schemathesis runs");
    // Python 3.11's ast.parse now and then raises "AST constructor recursion depth
    // mismatch" inside hypothesis's own introspection (CPython gh-106905): a crash of
    // the fuzzer, not a finding about the API. The venv's sitecustomize (ops/lib.sh)
    // turns it into a SyntaxError hypothesis handles; a run that still crashes that way,
    // with no failure reported, is run again once.
    let crashed_only = |out: &std::process::Output| {
        let text = String::from_utf8_lossy(&out.stdout);
        !out.status.success() && text.contains("AST constructor recursion depth mismatch") && !text.contains("FAILURES")
    };
    if crashed_only(&out) {
        println!("schemathesis crashed inside Python's ast module; running it again");
        out = run().await.expect("schemathesis runs");
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}");
    assert!(out.status.success(), "schemathesis found problems:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    // it really exercised the API: every operation it found but the event streams was
    // selected, and it found them all (it leaves out the one that serves the document
    // it reads)
    let line =
        stdout.lines().find(|l| l.contains("selected /")).unwrap_or_else(|| panic!("no operation count: {stdout}"));
    let counts: Vec<usize> = line.split(|c: char| !c.is_ascii_digit()).filter_map(|n| n.parse().ok()).collect();
    assert_eq!(counts.len(), 2, "{line}");
    let streams = operations().iter().filter(|(_, t)| t.ends_with("/events")).count();
    assert!(streams >= 2, "the event streams are in the document");
    assert_eq!(counts[0] + streams, counts[1], "every operation but the event streams was selected: {line}");
    assert!(counts[1] + 1 >= operations().len(), "schemathesis saw {} of {} operations", counts[1], operations().len());
}
