//! The simulation: one pass over the bars with plain `f64` state, no allocation per
//! bar besides the equity curve and the trade list.
//!
//! Order of events within bar t: orders from bar t−1's signals fill at t's open
//! (`Fill::NextOpen`); then stops of a position held since before this bar trigger
//! on t's range (a gap through the stop fills at the open; stop-loss is checked before
//! take-profit); with `Fill::Close` the bar's own signals fill at its close; equity is
//! valued at the close.

use serde::{Deserialize, Serialize};

use super::{strategy::Signals, Bars};
use crate::error::{Error, Result};

/// When a signal computed at bar t's close is filled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fill {
    /// At bar t+1's open (the default).
    NextOpen,
    /// At bar t's close.
    Close,
}

/// How large a new position is.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sizing {
    /// All available cash (fees included): size × price × (1 + fee) + fixed fee = cash.
    AllIn,
    /// This fraction of equity.
    Fraction(f64),
    /// A fixed number of units (fewer when cash runs short).
    Units(f64),
}

/// Simulation settings (defaults: the notes' convention, 10,000 cash, no fees).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EngineConfig {
    /// Starting cash.
    pub init_cash: f64,
    /// Fee as a fraction of traded notional, on entry and exit.
    pub fee: f64,
    /// Fixed fee per fill.
    pub fixed_fee: f64,
    /// Slippage in basis points, against the trader on every fill.
    pub slippage_bps: f64,
    /// Position size.
    pub sizing: Sizing,
    /// When signals fill.
    pub fill: Fill,
    /// Whether short signals open short positions.
    pub allow_short: bool,
    /// Exit when the price moves this fraction against the entry.
    pub stop_loss: Option<f64>,
    /// Exit when the price moves this fraction in favour.
    pub take_profit: Option<f64>,
    /// Exit when the price falls this fraction from the best price since entry.
    pub trailing_stop: Option<f64>,
    /// Close a position still open after the last bar at its close (default: marked,
    /// reported open).
    pub close_at_end: bool,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            init_cash: 10_000.0,
            fee: 0.0,
            fixed_fee: 0.0,
            slippage_bps: 0.0,
            sizing: Sizing::AllIn,
            fill: Fill::NextOpen,
            allow_short: false,
            stop_loss: None,
            take_profit: None,
            trailing_stop: None,
            close_at_end: false,
        }
    }
}

impl EngineConfig {
    /// Checks every setting; the error names the bad one.
    pub fn validate(&self) -> Result<()> {
        let positive = |field: &str, v: f64| {
            if v.is_finite() && v > 0.0 {
                Ok(())
            } else {
                Err(Error::invalid(field, format!("{field} must be a positive number")))
            }
        };
        positive("init_cash", self.init_cash)?;
        for (field, v) in [("fee", self.fee), ("fixed_fee", self.fixed_fee), ("slippage_bps", self.slippage_bps)] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(Error::invalid(field, format!("{field} must be zero or more")));
            }
        }
        if self.fee >= 1.0 {
            return Err(Error::invalid("fee", "fee is a fraction of notional and must be below 1"));
        }
        match self.sizing {
            Sizing::Fraction(f) if !(f > 0.0 && f <= 1.0) => {
                return Err(Error::invalid("sizing", "a fraction of equity must be in (0, 1]"))
            }
            Sizing::Units(u) => positive("sizing", u)?,
            _ => {}
        }
        for (field, v) in
            [("stop_loss", self.stop_loss), ("take_profit", self.take_profit), ("trailing_stop", self.trailing_stop)]
        {
            if let Some(v) = v {
                if !(v > 0.0 && v < 1.0) {
                    return Err(Error::invalid(field, format!("{field} must be a fraction in (0, 1)")));
                }
            }
        }
        Ok(())
    }
}

/// Long or short.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Bought first.
    Long,
    /// Sold first.
    Short,
}

/// Why a trade ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExitReason {
    /// The strategy's exit (or reversal) signal.
    Signal,
    /// Stop-loss.
    StopLoss,
    /// Take-profit.
    TakeProfit,
    /// Trailing stop.
    TrailingStop,
    /// Closed at the last bar (`close_at_end`).
    End,
}

/// One round trip (or an open position).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trade {
    /// Long or short.
    pub direction: Direction,
    /// Units.
    pub size: f64,
    /// Entry bar index.
    pub entry_bar: usize,
    /// Entry bar time (Unix s).
    pub entry_time: i64,
    /// Fill price (slippage included).
    pub entry_price: f64,
    /// Fees paid on entry.
    pub entry_fees: f64,
    /// Exit bar index (`None`: still open).
    pub exit_bar: Option<usize>,
    /// Exit bar time.
    pub exit_time: Option<i64>,
    /// Exit fill price (open trades: the last close, for the marked P&L).
    pub exit_price: f64,
    /// Fees paid on exit.
    pub exit_fees: f64,
    /// Profit after fees (open trades: marked at the last close, no exit fee).
    pub pnl: f64,
    /// `pnl` over the entry notional.
    pub return_fraction: f64,
    /// Why it ended.
    pub exit_reason: Option<ExitReason>,
}

/// What the simulation produced.
#[derive(Debug, Clone, PartialEq)]
pub struct Simulation {
    /// Equity at each bar's close.
    pub equity: Vec<f64>,
    /// Signed units held at each bar's close.
    pub position: Vec<f64>,
    /// Trades in entry order (the last one may be open).
    pub trades: Vec<Trade>,
    /// Fees paid in all.
    pub total_fees: f64,
    /// Starting cash.
    pub init_cash: f64,
}

struct Open {
    trade: Trade,
    best: f64,
}

struct State<'a> {
    bars: &'a Bars,
    config: &'a EngineConfig,
    cash: f64,
    open: Option<Open>,
    trades: Vec<Trade>,
    fees: f64,
}

impl State<'_> {
    fn slip(&self, price: f64, buying: bool) -> f64 {
        let s = self.config.slippage_bps / 10_000.0;
        if buying {
            price * (1.0 + s)
        } else {
            price * (1.0 - s)
        }
    }

    fn units(&self, price: f64, equity: f64) -> f64 {
        let c = self.config;
        let budget = match c.sizing {
            Sizing::AllIn => equity,
            Sizing::Fraction(f) => equity * f,
            Sizing::Units(u) => u * price * (1.0 + c.fee) + c.fixed_fee,
        }
        .min(equity);
        ((budget - c.fixed_fee) / (price * (1.0 + c.fee))).max(0.0)
    }

    fn enter(&mut self, t: usize, raw: f64, direction: Direction) {
        let price = self.slip(raw, direction == Direction::Long);
        let size = self.units(price, self.cash);
        if size <= 0.0 {
            return;
        }
        let fees = size * price * self.config.fee + self.config.fixed_fee;
        match direction {
            Direction::Long => self.cash -= size * price + fees,
            Direction::Short => self.cash += size * price - fees,
        }
        self.fees += fees;
        let trade = Trade {
            direction,
            size,
            entry_bar: t,
            entry_time: self.bars.time.get(t).copied().unwrap_or_default(),
            entry_price: price,
            entry_fees: fees,
            exit_bar: None,
            exit_time: None,
            exit_price: price,
            exit_fees: 0.0,
            pnl: 0.0,
            return_fraction: 0.0,
            exit_reason: None,
        };
        self.open = Some(Open { trade, best: raw });
    }

    fn exit(&mut self, t: usize, raw: f64, reason: ExitReason) {
        let Some(Open { mut trade, .. }) = self.open.take() else { return };
        let long = trade.direction == Direction::Long;
        let price = self.slip(raw, !long);
        let fees = trade.size * price * self.config.fee + self.config.fixed_fee;
        if long {
            self.cash += trade.size * price - fees;
        } else {
            self.cash -= trade.size * price + fees;
        }
        self.fees += fees;
        let gross = (price - trade.entry_price) * trade.size * if long { 1.0 } else { -1.0 };
        trade.exit_bar = Some(t);
        trade.exit_time = self.bars.time.get(t).copied();
        trade.exit_price = price;
        trade.exit_fees = fees;
        trade.pnl = gross - trade.entry_fees - fees;
        trade.return_fraction = trade.pnl / (trade.entry_price * trade.size);
        trade.exit_reason = Some(reason);
        self.trades.push(trade);
    }

    /// Acts on bar `s`'s signals at `price`, filled on bar `t`.
    fn act(&mut self, signals: &Signals, s: usize, t: usize, price: f64) {
        let long = self.open.as_ref().map(|o| o.trade.direction == Direction::Long);
        match long {
            Some(true) if signals.long_exit[s] => self.exit(t, price, ExitReason::Signal),
            Some(false) if signals.short_exit[s] => self.exit(t, price, ExitReason::Signal),
            _ => {}
        }
        if self.open.is_none() {
            if signals.long_entry[s] {
                self.enter(t, price, Direction::Long);
            } else if self.config.allow_short && signals.short_entry[s] {
                self.enter(t, price, Direction::Short);
            }
        }
    }

    /// Stop-loss, take-profit and trailing stop on bar `t`'s range.
    fn stops(&mut self, t: usize) {
        let c = self.config;
        let Some(open) = self.open.as_mut() else { return };
        if open.trade.entry_bar >= t {
            return;
        }
        let (o, h, l) = (self.bars.open[t], self.bars.high[t], self.bars.low[t]);
        let e = open.trade.entry_price;
        let long = open.trade.direction == Direction::Long;
        // (level, reason) pairs, checked in order; adverse ones first
        let mut levels: Vec<(f64, ExitReason)> = Vec::with_capacity(3);
        if let Some(sl) = c.stop_loss {
            levels.push((if long { e * (1.0 - sl) } else { e * (1.0 + sl) }, ExitReason::StopLoss));
        }
        if let Some(ts) = c.trailing_stop {
            levels.push((if long { open.best * (1.0 - ts) } else { open.best * (1.0 + ts) }, ExitReason::TrailingStop));
        }
        let adverse = levels.iter().copied().find(|(level, _)| if long { l <= *level } else { h >= *level });
        if let Some((level, reason)) = adverse {
            let price = if long { o.min(level) } else { o.max(level) };
            return self.exit(t, price, reason);
        }
        if let Some(tp) = c.take_profit {
            let level = if long { e * (1.0 + tp) } else { e * (1.0 - tp) };
            if (long && h >= level) || (!long && l <= level) {
                let price = if long { o.max(level) } else { o.min(level) };
                return self.exit(t, price, ExitReason::TakeProfit);
            }
        }
        open.best = if long { open.best.max(h) } else { open.best.min(l) };
    }

    fn equity_at(&self, price: f64) -> (f64, f64) {
        match &self.open {
            Some(o) if o.trade.direction == Direction::Long => (self.cash + o.trade.size * price, o.trade.size),
            Some(o) => (self.cash - o.trade.size * price, -o.trade.size),
            None => (self.cash, 0.0),
        }
    }
}

/// Simulates `signals` on `bars`.
pub fn run(bars: &Bars, signals: &Signals, config: &EngineConfig) -> Result<Simulation> {
    config.validate()?;
    let n = bars.len();
    if n == 0 {
        return Err(Error::invalid("bars", "no bars to backtest"));
    }
    if [bars.open.len(), bars.high.len(), bars.low.len(), bars.time.len(), signals.long_entry.len()]
        .iter()
        .any(|len| *len != n)
        || signals.long_exit.len() != n
        || signals.short_entry.len() != n
        || signals.short_exit.len() != n
    {
        return Err(Error::invalid("bars", "bars and signals differ in length"));
    }
    let mut state = State { bars, config, cash: config.init_cash, open: None, trades: Vec::new(), fees: 0.0 };
    let mut equity = Vec::with_capacity(n);
    let mut position = Vec::with_capacity(n);
    for t in 0..n {
        if config.fill == Fill::NextOpen && t > 0 {
            state.act(signals, t - 1, t, bars.open[t]);
        }
        state.stops(t);
        if config.fill == Fill::Close {
            state.act(signals, t, t, bars.close[t]);
        }
        let (value, units) = state.equity_at(bars.close[t]);
        equity.push(value);
        position.push(units);
    }
    let last = n - 1;
    if config.close_at_end {
        state.exit(last, bars.close[last], ExitReason::End);
        if let Some(v) = equity.last_mut() {
            *v = state.cash;
        }
    } else if let Some(Open { mut trade, .. }) = state.open.take() {
        let sign = if trade.direction == Direction::Long { 1.0 } else { -1.0 };
        trade.exit_price = bars.close[last];
        trade.pnl = (trade.exit_price - trade.entry_price) * trade.size * sign - trade.entry_fees;
        trade.return_fraction = trade.pnl / (trade.entry_price * trade.size);
        state.trades.push(trade);
    }
    Ok(Simulation { equity, position, trades: state.trades, total_fees: state.fees, init_cash: config.init_cash })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backtest::strategy::Signals;

    fn bars(open: &[f64], close: &[f64]) -> Bars {
        let n = close.len();
        Bars {
            time: (0..n as i64).collect(),
            open: open.to_vec(),
            high: open.iter().zip(close).map(|(o, c)| o.max(*c)).collect(),
            low: open.iter().zip(close).map(|(o, c)| o.min(*c)).collect(),
            close: close.to_vec(),
        }
    }

    fn signals(n: usize, entries: &[usize], exits: &[usize]) -> Signals {
        let mut s = Signals {
            long_entry: vec![false; n],
            long_exit: vec![false; n],
            short_entry: vec![false; n],
            short_exit: vec![false; n],
        };
        entries.iter().for_each(|i| s.long_entry[*i] = true);
        exits.iter().for_each(|i| s.long_exit[*i] = true);
        s
    }

    #[test]
    fn fills_at_the_next_open_with_fees_on_both_sides() {
        let b = bars(&[10.0, 10.0, 12.0, 11.0, 13.0], &[10.0, 11.0, 12.0, 12.0, 14.0]);
        let cfg = EngineConfig { init_cash: 1000.0, fee: 0.01, ..EngineConfig::default() };
        let sim = run(&b, &signals(5, &[0], &[2]), &cfg).unwrap();
        // buy at open[1] = 10: size = 1000 / (10 × 1.01); sell at open[3] = 11
        let size = 1000.0 / 10.1;
        let t = &sim.trades[0];
        assert!((t.size - size).abs() < 1e-9);
        assert_eq!((t.entry_bar, t.exit_bar), (1, Some(3)));
        let cash = size * 11.0 * 0.99;
        assert!((sim.equity[4] - cash).abs() < 1e-9);
        assert!((sim.equity[1] - size * 11.0).abs() < 1e-9, "valued at the close");
        assert!((sim.total_fees - (size * 10.0 * 0.01 + size * 11.0 * 0.01)).abs() < 1e-9);
        assert!((t.pnl - (cash - 1000.0)).abs() < 1e-9);
    }

    #[test]
    fn an_open_position_is_marked_not_closed() {
        let b = bars(&[10.0, 10.0, 12.0], &[10.0, 11.0, 13.0]);
        let sim = run(&b, &signals(3, &[0], &[]), &EngineConfig::default()).unwrap();
        assert_eq!(sim.trades[0].exit_bar, None);
        assert!((sim.equity[2] - 1000.0 * 13.0).abs() < 1e-6);
        let closed =
            run(&b, &signals(3, &[0], &[]), &EngineConfig { close_at_end: true, ..EngineConfig::default() }).unwrap();
        assert_eq!(closed.trades[0].exit_reason, Some(ExitReason::End));
    }

    #[test]
    fn stops_fill_at_the_level_or_the_gapped_open() {
        // enter at open[1] = 100; bar 2 trades down to 94 (stop 5 % = 95 → filled at 95);
        let mut b = bars(&[100.0, 100.0, 99.0, 90.0], &[100.0, 100.0, 96.0, 91.0]);
        b.low[2] = 94.0;
        let cfg = EngineConfig { stop_loss: Some(0.05), init_cash: 100.0, ..EngineConfig::default() };
        let sim = run(&b, &signals(4, &[0], &[]), &cfg).unwrap();
        assert_eq!(sim.trades[0].exit_reason, Some(ExitReason::StopLoss));
        assert!((sim.trades[0].exit_price - 95.0).abs() < 1e-9);
        // a gap below the stop fills at the open
        let mut g = bars(&[100.0, 100.0, 90.0], &[100.0, 100.0, 91.0]);
        g.low[2] = 89.0;
        let sim = run(&g, &signals(3, &[0], &[]), &cfg).unwrap();
        assert!((sim.trades[0].exit_price - 90.0).abs() < 1e-9);
    }

    #[test]
    fn shorts_profit_when_the_price_falls() {
        let b = bars(&[100.0, 100.0, 90.0, 80.0], &[100.0, 95.0, 85.0, 80.0]);
        let mut s = signals(4, &[], &[]);
        s.short_entry[0] = true;
        s.short_exit[2] = true;
        let cfg = EngineConfig { allow_short: true, init_cash: 1000.0, ..EngineConfig::default() };
        let sim = run(&b, &s, &cfg).unwrap();
        let t = &sim.trades[0];
        assert_eq!(t.direction, Direction::Short);
        // short 10 units at 100, cover at 80
        assert!((t.pnl - 200.0).abs() < 1e-9);
        assert!((sim.equity[3] - 1200.0).abs() < 1e-9);
    }

    #[test]
    fn refuses_bad_settings_naming_them() {
        let b = bars(&[1.0], &[1.0]);
        let s = signals(1, &[], &[]);
        for (cfg, field) in [
            (EngineConfig { fee: -0.1, ..EngineConfig::default() }, "fee"),
            (EngineConfig { init_cash: 0.0, ..EngineConfig::default() }, "init_cash"),
            (EngineConfig { stop_loss: Some(1.5), ..EngineConfig::default() }, "stop_loss"),
            (EngineConfig { sizing: Sizing::Fraction(2.0), ..EngineConfig::default() }, "sizing"),
        ] {
            match run(&b, &s, &cfg) {
                Err(Error::Invalid { field: f, .. }) => assert_eq!(f, field),
                other => panic!("{other:?}"),
            }
        }
        assert!(run(&Bars::default(), &signals(0, &[], &[]), &EngineConfig::default()).is_err());
    }
}
