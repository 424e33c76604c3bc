//! When an asset trades: which bar times exist for it.
//!
//! One definition serves forecasts (the future bar times of predictions, backtest
//! windows and evaluations), verification (which stored bars follow a forecast) and
//! the data-quality report (which missing bars are gaps):
//!
//! - **always open** (crypto): every bar of the interval;
//! - **US equity** (stocks and indices listed in the US — NASDAQ, NYSE, Cboe, S&P Dow
//!   Jones — or of a `us-` category): daily bars on weekdays; intraday bars that overlap
//!   the regular session, 09:30–16:00 New York time (daylight saving included);
//! - **FX**: from Sunday 17:00 to Friday 17:00 New York time (the interbank week):
//!   daily bars on weekdays, intraday bars that overlap the week;
//! - **weekdays** (other stocks and indices, whose session is not known): daily and
//!   intraday bars on weekdays (intraday nights are not known, so the quality report
//!   looks for intraday gaps within a day only).
//!
//! Weekly bars exist every week. Exchange holidays are not known: a forecast may step
//! onto a holiday, and a holiday shows up as a one-bar gap in the quality report.

use chrono::{DateTime, Datelike, NaiveTime, TimeZone, Timelike, Utc, Weekday};
use chrono_tz::America::New_York;
use serde::{Deserialize, Serialize};

use crate::Interval;

/// Most bars stepped over while looking for the next open one (a week of minutes).
const MAX_CLOSED_STEPS: usize = 7 * 24 * 60 + 1;

/// When an asset trades.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Calendar {
    /// Every minute of every day (crypto).
    #[default]
    AlwaysOpen,
    /// Monday to Friday; the intraday session is not known.
    Weekdays,
    /// US listed stocks and indices: weekdays, regular session 09:30–16:00 New York.
    UsEquity,
    /// Currencies: Sunday 17:00 to Friday 17:00 New York.
    Fx,
}

/// Exchanges whose regular session is the US one.
const US_EXCHANGES: [&str; 12] = [
    "nasdaq",
    "nyse",
    "nyse arca",
    "nyse american",
    "amex",
    "arca",
    "bats",
    "cboe",
    "iex",
    "otc",
    "s&p dow jones indices",
    "dow jones",
];

impl std::str::FromStr for Calendar {
    type Err = crate::Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|c| c.as_str() == s).ok_or_else(|| {
            crate::Error::invalid(
                "calendar",
                format!("unknown calendar {s:?}; expected always_open, weekdays, us_equity or fx"),
            )
        })
    }
}

impl Calendar {
    /// The calendar of an asset of `class` (`stock`, `crypto`, `fx`, `index`) listed on
    /// `exchange`, in `category`.
    pub fn for_asset(class: &str, exchange: Option<&str>, category: Option<&str>) -> Self {
        match class {
            "crypto" => Self::AlwaysOpen,
            "fx" => Self::Fx,
            _ => {
                let exchange = exchange.map(|e| e.trim().to_ascii_lowercase());
                let us_listed = exchange.as_deref().is_some_and(|e| US_EXCHANGES.contains(&e));
                let us_category = category.is_some_and(|c| c.to_ascii_lowercase().starts_with("us-"));
                if us_listed || us_category {
                    Self::UsEquity
                } else {
                    Self::Weekdays
                }
            }
        }
    }

    /// Every calendar.
    pub const ALL: [Calendar; 4] = [Self::AlwaysOpen, Self::Weekdays, Self::UsEquity, Self::Fx];

    /// The API's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AlwaysOpen => "always_open",
            Self::Weekdays => "weekdays",
            Self::UsEquity => "us_equity",
            Self::Fx => "fx",
        }
    }

    /// The calendar of an inline series without one: always open when any bar falls on
    /// a weekend (UTC), weekdays otherwise.
    pub fn infer(times: &[DateTime<Utc>]) -> Self {
        if times.iter().any(|t| !is_weekday(t.weekday())) {
            Self::AlwaysOpen
        } else {
            Self::Weekdays
        }
    }

    /// Whether the bar of `interval` starting at `start` is a trading bar.
    pub fn is_trading_bar(self, interval: Interval, start: DateTime<Utc>) -> bool {
        if self == Self::AlwaysOpen || interval == Interval::W1 {
            return true;
        }
        if interval == Interval::D1 {
            return is_weekday(start.weekday());
        }
        let end = start + interval.duration();
        match self {
            Self::AlwaysOpen => true,
            Self::Weekdays => is_weekday(start.weekday()),
            Self::UsEquity => overlaps_us_session(start, end),
            Self::Fx => overlaps_fx_week(start, end),
        }
    }

    /// The `n` trading bars after `last` (a bar start), oldest first.
    pub fn next_bars(self, interval: Interval, last: DateTime<Utc>, n: usize) -> Vec<DateTime<Utc>> {
        let step = interval.duration();
        let mut out = Vec::with_capacity(n);
        let mut t = last;
        while out.len() < n {
            // a closed stretch never lasts more than a weekend, so the search is bounded
            let mut found = None;
            for _ in 0..MAX_CLOSED_STEPS {
                t += step;
                if self.is_trading_bar(interval, t) {
                    found = Some(t);
                    break;
                }
            }
            match found {
                Some(next) => out.push(next),
                // cannot happen for the calendars above; fall back to plain steps
                None => {
                    t += step;
                    out.push(t);
                }
            }
        }
        out
    }

    /// Trading bars strictly between two bar starts `a < b` (the bars a gap misses).
    /// Intraday bars of the [`Calendar::Weekdays`] calendar count only within a day.
    pub fn bars_between(self, interval: Interval, a: DateTime<Utc>, b: DateTime<Utc>) -> i64 {
        let step = interval.duration();
        let plain = ((b - a).num_seconds() / step.num_seconds() - 1).max(0);
        let intraday = step < chrono::Duration::days(1);
        if self == Self::AlwaysOpen || interval == Interval::W1 {
            return plain;
        }
        if self == Self::Weekdays && intraday && a.date_naive() != b.date_naive() {
            return 0;
        }
        let mut missing = 0;
        let mut t = a + step;
        while t < b {
            missing += i64::from(self.is_trading_bar(interval, t));
            t += step;
        }
        missing
    }
}

fn is_weekday(day: Weekday) -> bool {
    !matches!(day, Weekday::Sat | Weekday::Sun)
}

/// New York wall-clock time of `ts` (hour, minute) and its weekday.
fn new_york(ts: DateTime<Utc>) -> (Weekday, NaiveTime) {
    let local = New_York.from_utc_datetime(&ts.naive_utc());
    (local.weekday(), local.time())
}

/// Whether `[start, end)` overlaps a weekday's 09:30–16:00 New York session.
fn overlaps_us_session(start: DateTime<Utc>, end: DateTime<Utc>) -> bool {
    let open = NaiveTime::from_hms_opt(9, 30, 0).unwrap_or_default();
    let close = NaiveTime::from_hms_opt(16, 0, 0).unwrap_or_default();
    // bars are at most four hours long, so checking both ends and the session open
    // inside the bar is enough
    let (day, t0) = new_york(start);
    let last = end - chrono::Duration::seconds(1);
    let (end_day, t1) = new_york(last);
    let in_session = |d: Weekday, t: NaiveTime| is_weekday(d) && t >= open && t < close;
    if in_session(day, t0) || in_session(end_day, t1) {
        return true;
    }
    // the session lies wholly inside the bar (a bar from before the open to after it)
    day == end_day && is_weekday(day) && t0 < open && t1 >= open
}

/// Whether `[start, end)` overlaps the FX week (Sunday 17:00 to Friday 17:00 New York).
fn overlaps_fx_week(start: DateTime<Utc>, end: DateTime<Utc>) -> bool {
    let open_at = |ts: DateTime<Utc>| {
        let (day, t) = new_york(ts);
        let five_pm = t.hour() >= 17;
        match day {
            Weekday::Sat => false,
            Weekday::Sun => five_pm,
            Weekday::Fri => !five_pm,
            _ => true,
        }
    };
    open_at(start) || open_at(end - chrono::Duration::seconds(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn daily_stock_forecasts_skip_the_weekend() {
        let friday = at("2024-03-01T00:00:00Z");
        let bars = Calendar::UsEquity.next_bars(Interval::D1, friday, 3);
        assert_eq!(bars, vec![at("2024-03-04T00:00:00Z"), at("2024-03-05T00:00:00Z"), at("2024-03-06T00:00:00Z")]);
        let bars = Calendar::Weekdays.next_bars(Interval::D1, friday, 1);
        assert_eq!(bars, vec![at("2024-03-04T00:00:00Z")]);
        let bars = Calendar::Fx.next_bars(Interval::D1, friday, 1);
        assert_eq!(bars, vec![at("2024-03-04T00:00:00Z")]);
    }

    #[test]
    fn crypto_trades_every_bar() {
        let friday = at("2024-03-01T00:00:00Z");
        let bars = Calendar::AlwaysOpen.next_bars(Interval::D1, friday, 2);
        assert_eq!(bars, vec![at("2024-03-02T00:00:00Z"), at("2024-03-03T00:00:00Z")]);
    }

    #[test]
    fn us_intraday_bars_follow_the_session_across_daylight_saving() {
        // winter: 09:30 New York = 14:30 UTC; the 14:00 UTC hour overlaps the open
        let last = at("2024-01-05T20:00:00Z"); // Friday 15:00 New York, the last hour
        let bars = Calendar::UsEquity.next_bars(Interval::H1, last, 2);
        assert_eq!(bars, vec![at("2024-01-08T14:00:00Z"), at("2024-01-08T15:00:00Z")]);
        // summer: 09:30 New York = 13:30 UTC
        let last = at("2024-07-05T19:00:00Z");
        let bars = Calendar::UsEquity.next_bars(Interval::H1, last, 1);
        assert_eq!(bars, vec![at("2024-07-08T13:00:00Z")]);
        // a 30-minute bar ending at the open is not a trading bar
        assert!(!Calendar::UsEquity.is_trading_bar(Interval::M30, at("2024-07-08T13:00:00Z")));
        assert!(Calendar::UsEquity.is_trading_bar(Interval::M30, at("2024-07-08T13:30:00Z")));
        assert!(!Calendar::UsEquity.is_trading_bar(Interval::M30, at("2024-07-08T20:00:00Z")));
    }

    #[test]
    fn fx_week_runs_sunday_evening_to_friday_evening_new_york() {
        // summer: the week ends at 21:00 UTC on Friday and opens at 21:00 UTC on Sunday
        let bars = Calendar::Fx.next_bars(Interval::H1, at("2017-06-02T20:00:00Z"), 1);
        assert_eq!(bars, vec![at("2017-06-04T21:00:00Z")]);
        // winter: one hour later
        let bars = Calendar::Fx.next_bars(Interval::H1, at("2017-12-01T21:00:00Z"), 1);
        assert_eq!(bars, vec![at("2017-12-03T22:00:00Z")]);
    }

    #[test]
    fn gaps_count_only_trading_bars() {
        let friday = at("2024-03-01T00:00:00Z");
        let next_tuesday = at("2024-03-05T00:00:00Z");
        assert_eq!(Calendar::UsEquity.bars_between(Interval::D1, friday, next_tuesday), 1);
        assert_eq!(Calendar::AlwaysOpen.bars_between(Interval::D1, friday, next_tuesday), 3);
        // five weeks and a day of daily bars: 25 + 1 weekdays missing in between
        let later = at("2024-04-08T00:00:00Z");
        let slow = {
            let mut t = friday + chrono::Duration::days(1);
            let mut n = 0;
            while t < later {
                n += i64::from(is_weekday(t.weekday()));
                t += chrono::Duration::days(1);
            }
            n
        };
        assert_eq!(Calendar::UsEquity.bars_between(Interval::D1, friday, later), slow);
        // overnight is not a gap for a US stock, nor for an unknown session
        let close = at("2024-03-04T20:00:00Z");
        let open = at("2024-03-05T14:00:00Z");
        assert_eq!(Calendar::UsEquity.bars_between(Interval::H1, close, open), 0);
        assert_eq!(Calendar::Weekdays.bars_between(Interval::H1, close, open), 0);
    }

    #[test]
    fn assets_get_their_calendar() {
        assert_eq!(Calendar::for_asset("crypto", Some("binance"), None), Calendar::AlwaysOpen);
        assert_eq!(Calendar::for_asset("stock", Some("NASDAQ"), None), Calendar::UsEquity);
        assert_eq!(Calendar::for_asset("index", Some("S&P Dow Jones Indices"), None), Calendar::UsEquity);
        assert_eq!(Calendar::for_asset("stock", Some("XETRA"), None), Calendar::Weekdays);
        assert_eq!(Calendar::for_asset("stock", None, None), Calendar::Weekdays);
        assert_eq!(Calendar::for_asset("index", None, Some("us-equity-index")), Calendar::UsEquity);
        assert_eq!(Calendar::for_asset("fx", None, None), Calendar::Fx);
    }
}
