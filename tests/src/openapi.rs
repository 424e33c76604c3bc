//! Every answer an API test receives is checked against the OpenAPI document the API
//! serves: the operation is found by method and path template, the response by status
//! (`200`, else `4XX`/`5XX`), and a JSON body must match its schema. A route or status
//! missing from the document, or a body that breaks its schema, fails the test.

use std::{
    collections::HashMap,
    sync::{Arc, LazyLock, Mutex},
};

use serde_json::{json, Value};

/// The API's document, as `/openapi.json` serves it.
pub static DOCUMENT: LazyLock<Value> =
    LazyLock::new(|| serde_json::to_value(kronos_api::api_document()).expect("the OpenAPI document serialises"));

type Validators = Mutex<HashMap<String, Arc<jsonschema::Validator>>>;
static VALIDATORS: LazyLock<Validators> = LazyLock::new(Default::default);

/// The document's path template that `path` (no query) matches, preferring the one
/// with the most literal segments.
pub fn template_of(path: &str) -> Option<String> {
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    let paths = DOCUMENT["paths"].as_object()?;
    paths
        .keys()
        .filter_map(|template| {
            let parts: Vec<&str> = template.split('/').collect();
            if parts.len() != segments.len() {
                return None;
            }
            let mut literal = 0;
            for (part, segment) in parts.iter().zip(&segments) {
                if part.starts_with('{') {
                    if segment.is_empty() {
                        return None;
                    }
                } else if part == segment {
                    literal += 1;
                } else {
                    return None;
                }
            }
            Some((literal, template.clone()))
        })
        .max()
        .map(|(_, template)| template)
}

/// A validator of `schema`, whose `$ref`s point into the document's components.
fn validator(key: &str, schema: &Value) -> Arc<jsonschema::Validator> {
    let mut cache = VALIDATORS.lock().expect("validator cache");
    if let Some(v) = cache.get(key) {
        return v.clone();
    }
    let mut root = schema.as_object().cloned().unwrap_or_default();
    root.insert("$schema".into(), json!("https://json-schema.org/draft/2020-12/schema"));
    root.insert("components".into(), DOCUMENT["components"].clone());
    let compiled = Arc::new(
        jsonschema::options()
            .should_validate_formats(true)
            .build(&Value::Object(root))
            .unwrap_or_else(|e| panic!("schema of {key} does not compile: {e}")),
    );
    cache.insert(key.to_owned(), compiled.clone());
    compiled
}

/// Checks one answer; `body` is `Null` when it was not JSON.
pub fn check(method: &str, url_path: &str, status: u16, body: &Value) {
    let path = url_path.split('?').next().unwrap_or(url_path);
    let method = method.to_ascii_lowercase();
    let operation = template_of(path).and_then(|t| DOCUMENT["paths"][&t].get(&method).map(|op| (t, op.clone())));
    let Some((template, operation)) = operation else {
        // no such route or method: the router's own 404/405, in the error body
        assert!(matches!(status, 404 | 405), "{method} {path} answered {status} but is not in the OpenAPI document");
        check_error_body(&format!("{method} {path}"), body);
        return;
    };
    let responses = &operation["responses"];
    let range = format!("{}XX", status / 100);
    let response = responses
        .get(status.to_string())
        .or_else(|| responses.get(&range))
        .or_else(|| responses.get("default"))
        .unwrap_or_else(|| panic!("{method} {template}: status {status} is not in the OpenAPI document"));
    let Some(schema) = response.pointer("/content/application~1json/schema") else {
        return;
    };
    if body.is_null() && status < 300 && response["content"].as_object().is_some_and(|c| c.len() > 1) {
        // an alternative non-JSON representation (Parquet)
        return;
    }
    let key = format!("{method} {template} {status}");
    let v = validator(&key, schema);
    let errors: Vec<String> = v.iter_errors(body).map(|e| format!("{} at {}", e, e.instance_path())).collect();
    assert!(errors.is_empty(), "{key}: the body breaks the OpenAPI schema: {errors:?}\nbody: {body}");
}

fn check_error_body(what: &str, body: &Value) {
    let v = validator("ErrorBody", &json!({"$ref": "#/components/schemas/ErrorBody"}));
    assert!(v.is_valid(body), "{what}: not the error body: {body}");
}
