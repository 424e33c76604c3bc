//! Calendar features the predictor embeds, and future bar times.

use chrono::{Datelike, Duration, NaiveDateTime, Timelike};

use super::predictor::TIME_FEATURES;

/// `[minute, hour, weekday (Monday = 0), day of month, month]` of a bar time.
pub fn time_features(ts: NaiveDateTime) -> [i64; TIME_FEATURES] {
    [
        i64::from(ts.minute()),
        i64::from(ts.hour()),
        i64::from(ts.weekday().num_days_from_monday()),
        i64::from(ts.day()),
        i64::from(ts.month()),
    ]
}

/// The series' bar spacing: the most frequent gap between consecutive times (the
/// smallest on ties), so that overnight and weekend gaps do not count.
pub fn typical_step(times: &[NaiveDateTime]) -> Option<Duration> {
    let mut gaps: Vec<i64> = times.windows(2).map(|w| (w[1] - w[0]).num_seconds()).filter(|g| *g > 0).collect();
    gaps.sort_unstable();
    let mut best: Option<(i64, usize)> = None;
    let mut i = 0;
    while i < gaps.len() {
        let j = gaps[i..].iter().position(|g| *g != gaps[i]).map_or(gaps.len(), |k| i + k);
        if best.is_none_or(|(_, n)| j - i > n) {
            best = Some((gaps[i], j - i));
        }
        i = j;
    }
    best.map(|(seconds, _)| Duration::seconds(seconds))
}

/// `count` times continuing `last` every `step`.
pub fn continue_times(last: NaiveDateTime, step: Duration, count: usize) -> Vec<NaiveDateTime> {
    (1..=count as i32).map(|k| last + step * k).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap()
    }

    #[test]
    fn features_follow_the_reference_order() {
        // 2024-06-18 was a Tuesday
        assert_eq!(time_features(t("2024-06-18 11:15:00")), [15, 11, 1, 18, 6]);
    }

    #[test]
    fn typical_step_ignores_session_gaps() {
        let times = [
            t("2024-06-18 14:50:00"),
            t("2024-06-18 14:55:00"),
            t("2024-06-18 15:00:00"),
            t("2024-06-19 09:35:00"),
            t("2024-06-19 09:40:00"),
        ];
        assert_eq!(typical_step(&times), Some(Duration::minutes(5)));
        let next = continue_times(times[4], Duration::minutes(5), 2);
        assert_eq!(next, vec![t("2024-06-19 09:45:00"), t("2024-06-19 09:50:00")]);
    }
}
