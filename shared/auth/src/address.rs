//! Email addresses as accounts use them: trimmed, at most 254 characters, one `@`
//! between a local part (at most 64 characters, no spaces or control characters) and a
//! domain of dot-separated labels (letters, digits, hyphens; at least two labels).
//! Stored as written; compared without regard to case.

use crate::error::{Error, Result};

/// The address in `raw`, checked (the error names `field`).
pub fn parse(field: &'static str, raw: &str) -> Result<String> {
    let address = raw.trim();
    let invalid = |why: &str| Error::invalid(field, format!("{address:?} is not an email address: {why}"));
    if address.is_empty() || address.len() > 254 {
        return Err(invalid("it must have 3 to 254 characters"));
    }
    let (local, domain) = address.rsplit_once('@').ok_or_else(|| invalid("it has no @"))?;
    if local.is_empty() || local.len() > 64 {
        return Err(invalid("the part before @ must have 1 to 64 characters"));
    }
    if local.chars().any(|c| c.is_whitespace() || c.is_control() || matches!(c, '@' | '<' | '>' | '"' | ',' | ';')) {
        return Err(invalid("the part before @ holds a character addresses cannot"));
    }
    let labels: Vec<&str> = domain.split('.').collect();
    let label_ok = |l: &&str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_alphanumeric() || c == '-')
    };
    if labels.len() < 2 || !labels.iter().all(label_ok) {
        return Err(invalid("the domain must be names separated by dots (example.com)"));
    }
    Ok(address.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_addresses_and_names_the_field() {
        assert_eq!(parse("email", "  Ann.Smith+kronos@Example.co.uk ").unwrap(), "Ann.Smith+kronos@Example.co.uk");
        for bad in [
            "",
            "ann",
            "ann@",
            "@example.com",
            "ann@example",
            "ann smith@example.com",
            "ann@exa mple.com",
            "ann@-x.com",
            "a@b@c.com",
        ] {
            match parse("email", bad) {
                Err(Error::Invalid { field, .. }) => assert_eq!(field, "email", "{bad}"),
                other => panic!("{bad:?}: {other:?}"),
            }
        }
        assert!(parse("email", &format!("{}@example.com", "a".repeat(65))).is_err());
    }
}
