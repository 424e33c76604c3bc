//! What any string from a client must satisfy before a handler sees it: no NUL (which
//! PostgreSQL cannot store in text), no control characters in path segments and query
//! values, and a sane length. Checked once, where input enters (the extractors).

use crate::error::ApiError;

/// Longest path segment accepted (symbols, slugs, ids, model names are far shorter).
pub const MAX_PATH_PARAM: usize = 256;

/// Longest query value accepted.
pub const MAX_QUERY_VALUE: usize = 2048;

/// Longest string inside a JSON body (descriptions are at most 500 characters;
/// nothing a request carries is longer).
pub const MAX_JSON_STRING: usize = 4096;

/// A path segment or query value: printable, at most `max` characters.
pub fn check_param(field: &str, value: &str, max: usize) -> Result<(), ApiError> {
    if value.chars().any(char::is_control) {
        return Err(ApiError::invalid(field, format!("{field} must not contain control characters (such as NUL)")));
    }
    if value.chars().count() > max {
        return Err(ApiError::invalid(field, format!("{field} is longer than {max} characters")));
    }
    Ok(())
}

/// A string inside a JSON body: no NUL, at most [`MAX_JSON_STRING`] characters (tabs
/// and new lines are allowed, as in a description).
pub fn check_json_string(field: &str, value: &str) -> Result<(), ApiError> {
    if value.contains('\0') {
        return Err(ApiError::invalid(field, format!("{field} must not contain the NUL character")));
    }
    if value.chars().count() > MAX_JSON_STRING {
        return Err(ApiError::invalid(field, format!("{field} is longer than {MAX_JSON_STRING} characters")));
    }
    Ok(())
}

/// Whether a JSON text may hold a string that [`check_json_string`] refuses: an escaped
/// NUL or a string longer than the limit (in bytes, an upper bound of characters).
/// One pass over the bytes; bodies that pass are not parsed twice.
pub fn json_needs_string_check(bytes: &[u8]) -> bool {
    let mut in_string = false;
    let mut escaped = false;
    let mut length = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if in_string {
            if escaped {
                escaped = false;
                if b == b'u' && bytes.get(i + 1..i + 5).is_some_and(|hex| hex == b"0000") {
                    return true;
                }
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            length += 1;
            if length > MAX_JSON_STRING {
                return true;
            }
        } else if b == b'"' {
            in_string = true;
            length = 0;
        }
        i += 1;
    }
    false
}

/// The first string (key or value) of `value` that [`check_json_string`] refuses, as an
/// error naming its path (`candles[3].ts`, `name`).
pub fn check_json_value(value: &serde_json::Value) -> Result<(), ApiError> {
    fn walk(value: &serde_json::Value, path: &mut String) -> Result<(), ApiError> {
        let field = |path: &str| if path.is_empty() { "body".to_owned() } else { path.to_owned() };
        match value {
            serde_json::Value::String(s) => check_json_string(&field(path), s),
            serde_json::Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    let len = path.len();
                    path.push_str(&format!("[{i}]"));
                    walk(item, path)?;
                    path.truncate(len);
                }
                Ok(())
            }
            serde_json::Value::Object(map) => {
                for (key, item) in map {
                    let len = path.len();
                    if !path.is_empty() {
                        path.push('.');
                    }
                    path.push_str(key);
                    check_json_string(&field(path), key)?;
                    walk(item, path)?;
                    path.truncate(len);
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }
    walk(value, &mut String::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_and_long_strings_are_found_by_the_byte_scan() {
        assert!(!json_needs_string_check(br#"{"symbol": "AAPL", "note": "a \"quoted\" \\u0000 text"}"#));
        assert!(json_needs_string_check(br#"{"symbol": "AA\u0000PL"}"#));
        let long = format!(r#"{{"name": "{}"}}"#, "x".repeat(MAX_JSON_STRING + 1));
        assert!(json_needs_string_check(long.as_bytes()));
        let ok = format!(r#"{{"name": "{}"}}"#, "x".repeat(MAX_JSON_STRING - 1));
        assert!(!json_needs_string_check(ok.as_bytes()));
    }

    #[test]
    fn the_offending_string_is_named_by_its_path() {
        let body: serde_json::Value =
            serde_json::from_str(r#"{"members": ["BTCUSDT", "ETH\u0000"], "name": "x"}"#).unwrap();
        let e = check_json_value(&body).unwrap_err();
        assert_eq!(e.field(), Some("members[1]"));
        assert!(check_param("symbol", "A\u{0}", 10).is_err());
        assert!(check_param("symbol", "AAPL", 3).is_err());
        assert!(check_param("symbol", "AAPL", 4).is_ok());
    }
}
