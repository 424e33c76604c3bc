//! Query strings whose failures are JSON errors naming the parameter.

use axum::{extract::FromRequestParts, http::request::Parts};
use serde::de::DeserializeOwned;

use super::text::{check_param, MAX_QUERY_VALUE};
use crate::error::ApiError;

/// Like axum's `Query`, but the query string is decoded strictly (percent escapes must
/// decode to UTF-8), every value is checked (no control characters such as NUL, at
/// most [`MAX_QUERY_VALUE`] characters), a parameter given twice is refused, and every
/// failure is a `422` naming the parameter.
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiQuery<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Send,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parse_query(parts.uri.query().unwrap_or("")).map(Self)
    }
}

/// Parses a query string with the checks of [`ApiQuery`].
pub fn parse_query<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    {
        let pairs = decode(query)?;
        for (i, (key, value)) in pairs.iter().enumerate() {
            check_param("query", key, 64)?;
            check_param(key, value, MAX_QUERY_VALUE)?;
            if pairs[..i].iter().any(|(k, _)| k == key) {
                return Err(ApiError::invalid(key, format!("{key} is given more than once")));
            }
        }
        serde_urlencoded::from_str::<T>(query).map_err(|e| {
            let message = e.to_string();
            let field = super::json::named_field(&message).unwrap_or_else(|| "query".to_owned());
            ApiError::invalid(&field, message)
        })
    }
}

/// `application/x-www-form-urlencoded` pairs, refusing escapes that are not UTF-8.
fn decode(query: &str) -> Result<Vec<(String, String)>, ApiError> {
    query
        .split('&')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let (key, value) = part.split_once('=').unwrap_or((part, ""));
            let key = unescape(key).ok_or_else(|| ApiError::invalid("query", "a parameter name is not valid UTF-8"))?;
            let value = unescape(value).ok_or_else(|| ApiError::invalid(&key, format!("{key} is not valid UTF-8")))?;
            Ok((key, value))
        })
        .collect()
}

/// Percent-decodes one component (`+` is a space); `None` when it is not UTF-8.
fn unescape(raw: &str) -> Option<String> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    // a lone % is kept, as browsers send it
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_strictly() {
        assert_eq!(decode("a=1&b=x+y%21").unwrap(), vec![("a".into(), "1".into()), ("b".into(), "x y!".into())]);
        assert_eq!(decode("names=sma_20%2Crsi_14").unwrap()[0].1, "sma_20,rsi_14");
        assert!(decode("symbol=%FF").is_err());
        assert_eq!(decode("flag").unwrap(), vec![("flag".into(), String::new())]);
        assert_eq!(decode("x=100%").unwrap()[0].1, "100%");
    }
}
