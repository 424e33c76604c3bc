//! Metrics of a simulation, with buy-and-hold of the same bars as the benchmark.
//!
//! Returns are per-bar equity returns, the first against the starting cash. Sharpe is
//! mean / sample standard deviation × √periods_per_year (zero risk-free rate); Sortino
//! uses the downside deviation √mean(min(r, 0)²); Calmar is CAGR / |max drawdown|.
//! Max drawdown is the lowest equity / running peak − 1, the peak starting at the
//! starting cash. Win rate, profit factor and expectancy are over closed trades.
//! The benchmark buys every asset in equal parts at the first bar's open and holds;
//! alpha and beta regress the strategy's per-bar returns on its (close to close, the
//! first against the first open); alpha is annualised.

use serde::Serialize;

use super::{
    engine::{Simulation, Trade},
    Bars,
};

/// The metrics (fractions, not percentages). A metric that is undefined for the run
/// (no closed trade, no losing trade, a flat equity curve) is `NaN`, shown as `null`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Metrics {
    /// Equity after the last bar.
    pub final_equity: f64,
    /// final / initial − 1.
    pub total_return: f64,
    /// Compound annual growth rate.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<f64>))]
    pub cagr: f64,
    /// Annualised standard deviation of returns.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<f64>))]
    pub volatility: f64,
    /// Sharpe ratio.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<f64>))]
    pub sharpe: f64,
    /// Sortino ratio.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<f64>))]
    pub sortino: f64,
    /// Calmar ratio.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<f64>))]
    pub calmar: f64,
    /// Lowest equity / running peak − 1 (≤ 0).
    pub max_drawdown: f64,
    /// Longest stretch below a previous peak, in bars.
    pub max_drawdown_bars: usize,
    /// Share of closed trades with a positive P&L.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<f64>))]
    pub win_rate: f64,
    /// Gross profit / gross loss of closed trades.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<f64>))]
    pub profit_factor: f64,
    /// Mean P&L of a closed trade.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<f64>))]
    pub expectancy: f64,
    /// Share of bars ending with a position.
    pub exposure: f64,
    /// Round trips completed.
    pub trades_closed: usize,
    /// Positions still open at the end.
    pub trades_open: usize,
    /// Fees paid.
    pub total_fees: f64,
    /// Buy-and-hold total return over the same bars.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<f64>))]
    pub benchmark_return: f64,
    /// Annualised alpha against buy-and-hold.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<f64>))]
    pub alpha: f64,
    /// Beta against buy-and-hold.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<f64>))]
    pub beta: f64,
    /// Periods per year used to annualise.
    pub periods_per_year: f64,
}

/// Per-bar equity returns, the first against the starting cash.
pub fn returns(equity: &[f64], init_cash: f64) -> Vec<f64> {
    let mut prev = init_cash;
    equity
        .iter()
        .map(|e| {
            let r = e / prev - 1.0;
            prev = *e;
            r
        })
        .collect()
}

/// Σ f(x) with eight independent accumulators: the additions pipeline instead of
/// waiting on each other (and the error grows slower than one running sum's).
fn sum_by(v: &[f64], f: impl Fn(f64) -> f64) -> f64 {
    let mut lanes = [0.0f64; 8];
    let chunks = v.chunks_exact(8);
    let tail: f64 = chunks.remainder().iter().map(|x| f(*x)).sum();
    for chunk in chunks {
        for (lane, x) in lanes.iter_mut().zip(chunk) {
            *lane += f(*x);
        }
    }
    lanes.iter().sum::<f64>() + tail
}

fn mean(v: &[f64]) -> f64 {
    sum_by(v, |x| x) / v.len().max(1) as f64
}

fn sample_std(v: &[f64], mean: f64) -> f64 {
    if v.len() < 2 {
        return f64::NAN;
    }
    (sum_by(v, |x| (x - mean) * (x - mean)) / (v.len() - 1) as f64).sqrt()
}

/// Bars per year: trading days (252) for assets that trade on exchange days, calendar
/// time (365 days) for those that trade around the clock; intraday intervals scale
/// with the bars in a day.
pub fn default_periods_per_year(interval: kronos_types::Interval, trading_days: bool) -> f64 {
    let per_day = 86_400.0 / interval.duration().num_seconds() as f64;
    if trading_days && per_day <= 1.0 {
        252.0 * per_day
    } else {
        365.0 * per_day
    }
}

/// Computes every metric of a one-asset simulation.
pub fn metrics(sim: &Simulation, bars: &Bars, periods_per_year: f64) -> Metrics {
    portfolio_metrics(sim, &[bars], periods_per_year)
}

/// Computes every metric; the benchmark holds `assets` in equal parts.
pub fn portfolio_metrics(sim: &Simulation, assets: &[&Bars], periods_per_year: f64) -> Metrics {
    let r = returns(&sim.equity, sim.init_cash);
    let n = r.len();
    let final_equity = sim.equity.last().copied().unwrap_or(sim.init_cash);
    let total_return = final_equity / sim.init_cash - 1.0;
    let years = n as f64 / periods_per_year;
    let cagr = if years > 0.0 && final_equity > 0.0 {
        (final_equity / sim.init_cash).powf(1.0 / years) - 1.0
    } else {
        f64::NAN
    };
    let m = mean(&r);
    let sd = sample_std(&r, m);
    let downside = (sum_by(&r, |x| x.min(0.0) * x.min(0.0)) / n.max(1) as f64).sqrt();
    let (max_drawdown, max_drawdown_bars) = drawdown(&sim.equity, sim.init_cash);
    let closed: Vec<&Trade> = sim.trades.iter().filter(|t| t.exit_bar.is_some()).collect();
    let wins: f64 = closed.iter().filter(|t| t.pnl > 0.0).map(|t| t.pnl).sum();
    let losses: f64 = -closed.iter().filter(|t| t.pnl < 0.0).map(|t| t.pnl).sum::<f64>();
    let benchmark_value = benchmark_value(assets);
    let benchmark = returns(&benchmark_value, 1.0);
    let (alpha, beta) = regress(&r, &benchmark, periods_per_year);
    Metrics {
        final_equity,
        total_return,
        cagr,
        volatility: sd * periods_per_year.sqrt(),
        sharpe: m / sd * periods_per_year.sqrt(),
        sortino: m / downside * periods_per_year.sqrt(),
        calmar: cagr / max_drawdown.abs(),
        max_drawdown,
        max_drawdown_bars,
        win_rate: closed.iter().filter(|t| t.pnl > 0.0).count() as f64 / closed.len() as f64,
        profit_factor: wins / losses,
        expectancy: closed.iter().map(|t| t.pnl).sum::<f64>() / closed.len() as f64,
        exposure: sim.gross_exposure.iter().filter(|g| **g > 0.0).count() as f64 / n.max(1) as f64,
        trades_closed: closed.len(),
        trades_open: sim.trades.len() - closed.len(),
        total_fees: sim.total_fees,
        benchmark_return: benchmark_value.last().map_or(f64::NAN, |v| v - 1.0),
        alpha,
        beta,
        periods_per_year,
    }
}

/// (max drawdown, longest stretch below a peak in bars).
fn drawdown(equity: &[f64], init_cash: f64) -> (f64, usize) {
    let (mut peak, mut worst, mut run, mut longest) = (init_cash, 0.0f64, 0usize, 0usize);
    for e in equity {
        if *e >= peak {
            peak = *e;
            run = 0;
        } else {
            run += 1;
            longest = longest.max(run);
        }
        worst = worst.min(e / peak - 1.0);
    }
    (worst, longest)
}

/// Equal-weight buy-and-hold value per unit invested at each bar's close: asset i's
/// share is `close[t] / open[0]` over the number of assets.
pub fn benchmark_value(assets: &[&Bars]) -> Vec<f64> {
    let n = assets.first().map_or(0, |b| b.len());
    let weight = 1.0 / assets.len().max(1) as f64;
    (0..n)
        .map(|t| assets.iter().map(|b| b.close[t] / b.open.first().copied().unwrap_or(f64::NAN)).sum::<f64>() * weight)
        .collect()
}

/// Least-squares `r = α + β b`; α annualised (per-bar α × periods per year).
fn regress(r: &[f64], b: &[f64], periods_per_year: f64) -> (f64, f64) {
    let (mr, mb) = (mean(r), mean(b));
    let mut cov = [0.0f64; 4];
    for (i, (x, y)) in r.iter().zip(b).enumerate() {
        cov[i % 4] += (x - mr) * (y - mb);
    }
    let cov: f64 = cov.iter().sum();
    let var = sum_by(b, |y| (y - mb) * (y - mb));
    let beta = cov / var;
    ((mr - beta * mb) * periods_per_year, beta)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drawdown_and_returns_by_hand() {
        let (dd, bars) = drawdown(&[110.0, 99.0, 121.0, 100.0, 90.0], 100.0);
        assert!((dd - (90.0 / 121.0 - 1.0)).abs() < 1e-12);
        assert_eq!(bars, 2);
        let r = returns(&[110.0, 99.0], 100.0);
        assert!((r[0] - 0.1).abs() < 1e-12 && (r[1] - (-0.1)).abs() < 1e-12);
        let (alpha, beta) = regress(&[0.02, 0.04, 0.06], &[0.01, 0.02, 0.03], 252.0);
        assert!((beta - 2.0).abs() < 1e-12 && alpha.abs() < 1e-9);
    }
}
