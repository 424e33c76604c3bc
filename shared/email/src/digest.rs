//! The weekly digest: the user's verified forecasts of the week, per model, beside the
//! naive baseline.

use crate::{escape, Recipient, Rendered};

/// One model's week.
#[derive(Debug, Clone)]
pub struct ModelWeek {
    /// The model.
    pub model: String,
    /// Verified forecasts.
    pub forecasts: i64,
    /// Mean absolute error of the close, and naive's.
    pub mae: (f64, f64),
    /// Share of forecasts with the right direction, and naive's.
    pub direction: (f64, f64),
    /// Share of actual closes inside the p10–p90 band.
    pub coverage: f64,
}

/// The digest of the week ending `week_end`.
pub fn weekly(to: Recipient<'_>, week_end: &str, weeks: &[ModelWeek]) -> Rendered {
    let lines: Vec<String> = weeks
        .iter()
        .map(|w| {
            let verdict = if w.mae.0 < w.mae.1 { "beats naive" } else { "behind naive" };
            format!(
                "{}: {} verified forecasts; MAE {:.4} against naive {:.4} ({verdict}); direction {:.0}% against naive {:.0}%; inside the p10–p90 band {:.0}%",
                w.model, w.forecasts, w.mae.0, w.mae.1, w.direction.0 * 100.0, w.direction.1 * 100.0, w.coverage * 100.0
            )
        })
        .collect();
    let intro =
        format!("Your forecasts verified in the week to {week_end}, beside the naive baseline (tomorrow = today):");
    let greeting = crate::greeting(to.name);
    let footer = format!("You receive this weekly because you asked for it. To stop it: {}", to.unsubscribe_link);
    let items: String = lines.iter().map(|l| format!("<li>{}</li>\n", escape(l))).collect();
    Rendered {
        subject: format!("Kronos: your forecasts this week ({} models)", weeks.len()),
        text: format!(
            "{greeting}\n\n{intro}\n\n{}\n\nYour history: {}\n\n{footer}\n",
            lines.iter().map(|l| format!("- {l}")).collect::<Vec<_>>().join("\n"),
            to.account_link
        ),
        html: format!(
            "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>Your week</title></head>\n<body style=\"font-family: sans-serif; max-width: 40em\">\n<p>{}</p>\n<p>{}</p>\n<ul>\n{items}</ul>\n<p><a href=\"{}\">Your history</a></p>\n<p style=\"color: #555\">{}</p>\n</body></html>\n",
            escape(&greeting),
            escape(&intro),
            escape(to.account_link),
            escape(&footer)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_digest_puts_each_model_beside_naive() {
        let to = Recipient {
            name: Some("Ann"),
            account_link: "https://k.example/history",
            unsubscribe_link: "https://k.example/unsubscribe?token=1.weekly_digest.ab",
        };
        let week = ModelWeek {
            model: "kronos-demo".into(),
            forecasts: 12,
            mae: (1.5, 2.0),
            direction: (0.58, 0.5),
            coverage: 0.8,
        };
        let m = weekly(to, "2026-11-30", &[week]);
        assert!(
            m.text.contains("kronos-demo: 12 verified forecasts; MAE 1.5000 against naive 2.0000 (beats naive)"),
            "{}",
            m.text
        );
        assert!(m.text.contains("direction 58% against naive 50%") && m.text.contains("weekly_digest"));
        assert!(m.html.contains("<li>kronos-demo"));
    }
}
