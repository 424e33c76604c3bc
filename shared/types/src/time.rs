//! The one way clients write a time: RFC 3339 (`2024-03-01T00:00:00Z`), a date
//! (`2024-03-01`, midnight UTC) or Unix seconds (`1709251200`), from 1970 to 9999.
//! Every `from`, `to` and `as_of` of the API and the CLI reads times with it, in query
//! strings and JSON bodies alike; answers always write RFC 3339 with `Z`.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use serde::{Deserialize, Deserializer};

use crate::error::{Error, Result};

/// Parses a time for `field` (its name goes into the error).
pub fn parse(field: &str, raw: &str) -> Result<DateTime<Utc>> {
    let raw = raw.trim();
    let parsed = DateTime::parse_from_rfc3339(raw)
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            NaiveDate::parse_from_str(raw, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|d| Utc.from_utc_datetime(&d))
        })
        .or_else(|| raw.parse::<i64>().ok().and_then(|s| Utc.timestamp_opt(s, 0).single()));
    match parsed {
        Some(t) if t.timestamp() >= 0 && t.timestamp() < 253_402_300_800 => Ok(t),
        Some(_) => Err(Error::invalid(field, format!("{field} must be from 1970 to 9999 (got {raw:?})"))),
        None => Err(Error::invalid(
            field,
            format!("{field} must be RFC 3339 (2024-03-01T00:00:00Z), YYYY-MM-DD or Unix seconds (got {raw:?})"),
        )),
    }
}

/// A JSON time in any of the accepted forms (a string, or a number of Unix seconds).
#[derive(Deserialize)]
#[serde(untagged)]
enum Raw {
    Text(String),
    Seconds(i64),
}

/// `#[serde(default, deserialize_with = "crate::time::optional")]` for
/// `Option<DateTime<Utc>>` fields of request bodies and payloads.
pub fn optional<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Option<DateTime<Utc>>, D::Error> {
    let raw: Option<Raw> = Option::deserialize(d)?;
    raw.map(|raw| {
        let text = match raw {
            Raw::Text(s) => s,
            Raw::Seconds(n) => n.to_string(),
        };
        // serde names the field in its error path; the message says what is accepted
        parse("time", &text).map_err(|e| serde::de::Error::custom(e.to_string().replace("time must", "must")))
    })
    .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form_reads_the_same_instant() {
        let want = Utc.with_ymd_and_hms(2024, 3, 1, 0, 0, 0).unwrap();
        for raw in ["2024-03-01T00:00:00Z", "2024-03-01", "1709251200", "2024-03-01T01:00:00+01:00"] {
            assert_eq!(parse("from", raw).unwrap(), want, "{raw}");
        }
        assert!(parse("from", "10000-01-01T00:00:00Z").is_err());
        assert!(parse("from", "-5").is_err());
        assert!(parse("from", "yesterday").is_err());
    }

    #[test]
    fn json_fields_take_strings_and_numbers() {
        #[derive(Deserialize)]
        struct Body {
            #[serde(default, deserialize_with = "optional")]
            from: Option<DateTime<Utc>>,
        }
        let a: Body = serde_json::from_str(r#"{"from": "2024-03-01"}"#).unwrap();
        let b: Body = serde_json::from_str(r#"{"from": 1709251200}"#).unwrap();
        let c: Body = serde_json::from_str(r#"{}"#).unwrap();
        assert_eq!(a.from, b.from);
        assert!(c.from.is_none());
        assert!(serde_json::from_str::<Body>(r#"{"from": "soon"}"#).is_err());
    }
}
