//! Kronos platform: the transactional emails, each rendered as a subject, a plain-text
//! body and an HTML body from the facts it needs. Everything interpolated into HTML is
//! escaped. No I/O: the API writes the rendered message to the outbox and an email job
//! delivers it. Optional emails (`notice`) end with the link that turns their kind off.

pub mod alerts;
pub mod billing;
pub mod digest;
pub mod jobs;

/// Who an optional email goes to, and its links.
#[derive(Debug, Clone, Copy)]
pub struct Recipient<'a> {
    /// The user's name, when they gave one.
    pub name: Option<&'a str>,
    /// The page the email's button opens (the account page, an asset page).
    pub account_link: &'a str,
    /// The link that turns this kind of email off.
    pub unsubscribe_link: &'a str,
}

/// A message ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub text: String,
    /// HTML body.
    pub html: String,
}

/// Escapes `s` for HTML text and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The HTML frame every message shares.
fn page(title: &str, paragraphs: &[String], link: &str, button: &str, after: &str) -> String {
    let body: String = paragraphs.iter().map(|p| format!("<p>{}</p>\n", escape(p))).collect();
    format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>{title}</title></head>\n\
         <body style=\"font-family: sans-serif; max-width: 36em\">\n<h1>{title}</h1>\n{body}\
         <p><a href=\"{link}\" style=\"display: inline-block; padding: .6em 1.2em; background: #1a56db; color: #fff; text-decoration: none; border-radius: 4px\">{button}</a></p>\n\
         <p style=\"color: #555\">{after}</p>\n<p style=\"color: #555\">If the button does not work, open this address: {link}</p>\n</body></html>\n",
        title = escape(title),
        link = escape(link),
        button = escape(button),
        after = escape(after),
    )
}

/// The greeting: the user's name when they gave one.
pub(crate) fn greeting(name: Option<&str>) -> String {
    match name.map(str::trim).filter(|n| !n.is_empty()) {
        Some(name) => format!("Hello {name},"),
        None => "Hello,".to_owned(),
    }
}

/// An optional email: greeting, paragraphs, one call to action, and the link that
/// turns this kind of email off (in the text and the HTML).
pub(crate) fn notice(
    name: Option<&str>,
    subject: &str,
    title: &str,
    paragraphs: &[String],
    (link, button): (&str, &str),
    unsubscribe: &str,
) -> Rendered {
    let mut all = vec![greeting(name)];
    all.extend(paragraphs.iter().cloned());
    let after = format!("You receive this because of your Kronos account. To stop these emails: {unsubscribe}");
    let body: Vec<&str> = all.iter().map(String::as_str).collect();
    Rendered {
        subject: subject.to_owned(),
        text: format!("{}\n\n{button}: {link}\n\n{after}\n", body.join("\n\n")),
        html: page(title, &all, link, button, &after),
    }
}

/// The message that verifies an address: `link` opens the verification page, valid
/// for `valid_hours`.
pub fn verification(name: Option<&str>, link: &str, valid_hours: u64) -> Rendered {
    let title = "Verify your email address";
    let paragraphs = vec![
        greeting(name),
        "Welcome to Kronos. Confirm that this address is yours to start asking for forecasts.".to_owned(),
    ];
    let after =
        format!("The link works once and expires in {valid_hours} hours. If you did not sign up, ignore this message.");
    Rendered {
        subject: "Kronos: verify your email address".to_owned(),
        text: format!("{}\n\n{}\n\nOpen this link to verify it:\n{link}\n\n{after}\n", paragraphs[0], paragraphs[1]),
        html: page(title, &paragraphs, link, "Verify my address", &after),
    }
}

/// The message that resets a password: `link` opens the reset page, valid for
/// `valid_minutes`.
pub fn password_reset(name: Option<&str>, link: &str, valid_minutes: u64) -> Rendered {
    let title = "Reset your password";
    let paragraphs = vec![greeting(name), "Someone asked to reset the password of your Kronos account.".to_owned()];
    let after = format!(
        "The link works once and expires in {valid_minutes} minutes. If you did not ask for it, ignore this message: your password stays as it is."
    );
    Rendered {
        subject: "Kronos: reset your password".to_owned(),
        text: format!(
            "{}\n\n{}\n\nOpen this link to choose a new password:\n{link}\n\n{after}\n",
            paragraphs[0], paragraphs[1]
        ),
        html: page(title, &paragraphs, link, "Choose a new password", &after),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_carry_the_link_in_both_bodies_and_escape_html() {
        let link = "https://kronos.example/verify-email?token=abc&x=1";
        let m = verification(Some("<Ann>"), link, 24);
        assert!(m.text.contains(link) && m.text.contains("Hello <Ann>,"));
        assert!(m.html.contains("https://kronos.example/verify-email?token=abc&amp;x=1"));
        assert!(m.html.contains("Hello &lt;Ann&gt;,") && !m.html.contains("<Ann>"));
        let r = password_reset(None, link, 60);
        assert!(r.text.starts_with("Hello,") && r.text.contains("60 minutes"));
        assert_eq!(escape(r#"<a href="x">'&"#), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;");
    }
}
