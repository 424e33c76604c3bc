//! A job of the user's finished or failed.

use crate::{notice, Recipient, Rendered};

/// `what` (e.g. "backtest") job `id` succeeded; `to.account_link` opens its page.
pub fn finished(to: Recipient<'_>, what: &str, id: &str) -> Rendered {
    notice(
        to.name,
        &format!("Kronos: your {what} is ready"),
        &format!("Your {what} is ready"),
        &[format!("Your {what} job {id} finished.")],
        (to.account_link, "See the result"),
        to.unsubscribe_link,
    )
}

/// `what` job `id` failed for good (its retries are spent) with `error`.
pub fn failed(to: Recipient<'_>, what: &str, id: &str, error: &str) -> Rendered {
    let error: String = error.chars().take(300).collect();
    notice(
        to.name,
        &format!("Kronos: your {what} failed"),
        &format!("Your {what} failed"),
        &[
            format!("Your {what} job {id} failed: {error}"),
            "Nothing was charged against your quota twice; you can submit it again.".to_owned(),
        ],
        (to.account_link, "See the job"),
        to.unsubscribe_link,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_emails_name_the_job_and_cut_long_errors() {
        let to = Recipient {
            name: None,
            account_link: "https://k.example/backtests",
            unsubscribe_link: "https://k.example/unsubscribe?token=1.backtest_jobs.ab",
        };
        let ok = finished(to, "backtest", "0192");
        assert_eq!(ok.subject, "Kronos: your backtest is ready");
        assert!(ok.text.contains("job 0192 finished") && ok.text.contains("backtest_jobs"));
        let bad = failed(to, "training", "0193", &"x".repeat(1000));
        assert!(bad.text.contains("job 0193 failed") && !bad.text.contains(&"x".repeat(301)));
    }
}
