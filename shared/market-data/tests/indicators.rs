//! Indicators against independent references: hand-computed values on tiny series,
//! and straightforward loop implementations of the textbook definitions on a long
//! random walk.

use chrono::{Duration, TimeZone, Utc};
use kronos_market_data::indicators::{compute, Indicator, IndicatorSeries};
use kronos_types::Candle;

fn candles_from_closes(closes: &[f64]) -> Vec<Candle> {
    let start = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
    closes
        .iter()
        .enumerate()
        .map(|(i, &c)| Candle {
            ts: start + Duration::days(i as i64),
            open: c,
            high: c * 1.01,
            low: c * 0.99,
            close: c,
            volume: 100.0 + i as f64,
            amount: 0.0,
        })
        .collect()
}

/// A deterministic random walk with varying ranges and volumes.
fn walk(n: usize) -> Vec<Candle> {
    let start = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
    let mut state = 42u64;
    let mut next = || {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut close = 100.0;
    (0..n)
        .map(|i| {
            let open = close;
            close = open * (1.0 + (next() - 0.5) * 0.04);
            let high = open.max(close) * (1.0 + next() * 0.01);
            let low = open.min(close) * (1.0 - next() * 0.01);
            Candle {
                ts: start + Duration::hours(i as i64),
                open,
                high,
                low,
                close,
                volume: 1000.0 + next() * 500.0,
                amount: 0.0,
            }
        })
        .collect()
}

fn get<'a>(out: &'a [IndicatorSeries], name: &str) -> &'a [Option<f64>] {
    &out.iter().find(|s| s.name == name).unwrap_or_else(|| panic!("no column {name}")).values
}

fn assert_matches(name: &str, got: &[Option<f64>], want: &[Option<f64>]) {
    assert_eq!(got.len(), want.len(), "{name}: length");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        match (g, w) {
            (None, None) => {}
            (Some(g), Some(w)) => assert!((g - w).abs() <= 1e-9 * w.abs().max(1.0), "{name}[{i}]: got {g}, want {w}"),
            _ => panic!("{name}[{i}]: got {g:?}, want {w:?}"),
        }
    }
}

// ---- reference implementations (loops over the textbook definitions) ----

fn sma(x: &[f64], n: usize) -> Vec<Option<f64>> {
    (0..x.len()).map(|i| (i + 1 >= n).then(|| x[i + 1 - n..=i].iter().sum::<f64>() / n as f64)).collect()
}

/// `ewm(alpha, adjust=False, min_periods)` over a series whose leading values may be missing.
fn ewm(x: &[Option<f64>], alpha: f64, min_periods: usize) -> Vec<Option<f64>> {
    let mut state: Option<f64> = None;
    let mut seen = 0;
    x.iter()
        .map(|v| {
            if let Some(v) = v {
                seen += 1;
                state = Some(match state {
                    None => *v,
                    Some(s) => (1.0 - alpha) * s + alpha * v,
                });
            }
            if seen >= min_periods {
                state
            } else {
                None
            }
        })
        .collect()
}

fn ema(x: &[f64], n: usize) -> Vec<Option<f64>> {
    ewm(&x.iter().map(|v| Some(*v)).collect::<Vec<_>>(), 2.0 / (n as f64 + 1.0), n)
}

fn rsi(x: &[f64], n: usize) -> Vec<Option<f64>> {
    let deltas: Vec<Option<f64>> = (0..x.len()).map(|i| (i > 0).then(|| x[i] - x[i - 1])).collect();
    let gains: Vec<Option<f64>> = deltas.iter().map(|d| d.map(|d| d.max(0.0))).collect();
    let losses: Vec<Option<f64>> = deltas.iter().map(|d| d.map(|d| (-d).max(0.0))).collect();
    let (g, l) = (ewm(&gains, 1.0 / n as f64, n), ewm(&losses, 1.0 / n as f64, n));
    g.iter()
        .zip(&l)
        .map(|(g, l)| match (g, l) {
            (Some(g), Some(l)) if *l == 0.0 => Some(if *g == 0.0 { 50.0 } else { 100.0 }),
            (Some(g), Some(l)) => Some(100.0 - 100.0 / (1.0 + g / l)),
            _ => None,
        })
        .collect()
}

fn population_std(w: &[f64]) -> f64 {
    let m = w.iter().sum::<f64>() / w.len() as f64;
    (w.iter().map(|v| (v - m).powi(2)).sum::<f64>() / w.len() as f64).sqrt()
}

// ---- tests ----

#[test]
fn hand_computed_values() {
    let c = candles_from_closes(&[1.0, 2.0, 3.0, 4.0, 5.0]);
    let out = compute(&c, &[Indicator::Sma(3), Indicator::Ema(3), Indicator::Rsi(2)]).unwrap();
    assert_matches("sma_3", get(&out, "sma_3"), &[None, None, Some(2.0), Some(3.0), Some(4.0)]);
    // alpha 0.5 from 1: 1, 1.5, 2.25, 3.125, 4.0625
    assert_matches("ema_3", get(&out, "ema_3"), &[None, None, Some(2.25), Some(3.125), Some(4.0625)]);
    // only gains: RSI 100 once defined
    assert_matches("rsi_2", get(&out, "rsi_2"), &[None, None, Some(100.0), Some(100.0), Some(100.0)]);
    let flat = candles_from_closes(&[7.0; 30]);
    let out = compute(&flat, &[Indicator::Rsi(14), Indicator::Bollinger(20, 2.0)]).unwrap();
    assert_eq!(get(&out, "rsi_14")[29], Some(50.0));
    assert_eq!(get(&out, "bb_upper_20")[29], Some(7.0));
    assert_eq!(get(&out, "bb_lower_20")[29], Some(7.0));
}

#[test]
fn matches_loop_references_on_a_random_walk() {
    let c = walk(400);
    let close: Vec<f64> = c.iter().map(|c| c.close).collect();
    let indicators: Vec<Indicator> =
        ["sma_20", "ema_12", "rsi_14", "macd", "bbands_20", "atr_14", "volume_ratio_20", "bbands_10_1.5"]
            .iter()
            .map(|n| n.parse().unwrap())
            .collect();
    let out = compute(&c, &indicators).unwrap();

    assert_matches("sma_20", get(&out, "sma_20"), &sma(&close, 20));
    assert_matches("ema_12", get(&out, "ema_12"), &ema(&close, 12));
    assert_matches("rsi_14", get(&out, "rsi_14"), &rsi(&close, 14));

    let (fast, slow) = (ema(&close, 12), ema(&close, 26));
    let line: Vec<Option<f64>> = fast.iter().zip(&slow).map(|(f, s)| Some((*f)? - (*s)?)).collect();
    let signal = ewm(&line, 2.0 / 10.0, 9);
    let hist: Vec<Option<f64>> = line.iter().zip(&signal).map(|(l, s)| Some((*l)? - (*s)?)).collect();
    assert_matches("macd", get(&out, "macd"), &line);
    assert_matches("macd_signal", get(&out, "macd_signal"), &signal);
    assert_matches("macd_hist", get(&out, "macd_hist"), &hist);
    assert_eq!(get(&out, "macd_signal").iter().position(Option::is_some), Some(25 + 8));

    for (suffix, n, k) in [("20", 20usize, 2.0), ("10_1.5", 10, 1.5)] {
        let mid = sma(&close, n);
        let upper: Vec<Option<f64>> =
            (0..close.len()).map(|i| mid[i].map(|m| m + k * population_std(&close[i + 1 - n..=i]))).collect();
        let lower: Vec<Option<f64>> =
            (0..close.len()).map(|i| mid[i].map(|m| m - k * population_std(&close[i + 1 - n..=i]))).collect();
        assert_matches("bb_middle", get(&out, &format!("bb_middle_{suffix}")), &mid);
        assert_matches("bb_upper", get(&out, &format!("bb_upper_{suffix}")), &upper);
        assert_matches("bb_lower", get(&out, &format!("bb_lower_{suffix}")), &lower);
    }

    let tr: Vec<Option<f64>> = (0..c.len())
        .map(|i| {
            let hl = c[i].high - c[i].low;
            Some(if i == 0 {
                hl
            } else {
                hl.max((c[i].high - c[i - 1].close).abs()).max((c[i].low - c[i - 1].close).abs())
            })
        })
        .collect();
    assert_matches("atr_14", get(&out, "atr_14"), &ewm(&tr, 1.0 / 14.0, 14));

    let volume: Vec<f64> = c.iter().map(|c| c.volume).collect();
    let vol_mean = sma(&volume, 20);
    let ratio: Vec<Option<f64>> = volume.iter().zip(&vol_mean).map(|(v, m)| m.map(|m| v / m)).collect();
    assert_matches("volume_ratio_20", get(&out, "volume_ratio_20"), &ratio);
}

#[test]
fn names_parse_and_bad_names_are_refused() {
    assert_eq!("SMA_20".parse::<Indicator>().unwrap(), Indicator::Sma(20));
    assert_eq!("macd".parse::<Indicator>().unwrap(), Indicator::Macd(12, 26, 9));
    assert_eq!("macd_5_35_5".parse::<Indicator>().unwrap(), Indicator::Macd(5, 35, 5));
    assert_eq!("bbands_20_2.5".parse::<Indicator>().unwrap(), Indicator::Bollinger(20, 2.5));
    assert_eq!("volume_ratio_10".parse::<Indicator>().unwrap(), Indicator::VolumeRatio(10));
    for bad in ["sma", "sma_0", "sma_x", "ema_501", "macd_26_12_9", "wma_10", "bbands_20_0", "rsi_1.5", ""] {
        let err = bad.parse::<Indicator>().unwrap_err();
        assert!(
            matches!(err, kronos_market_data::Error::Invalid { ref field, .. } if field == "names"),
            "{bad}: {err:?}"
        );
    }
}
