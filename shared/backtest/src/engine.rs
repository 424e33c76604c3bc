//! The simulation: one pass over the bars with plain `f64` state, no allocation per
//! bar besides the curves and the trade list. One asset or several: a portfolio's
//! assets share one cash balance and are aligned on the same bar times.
//!
//! Order of events within bar t: orders from bar t−1's signals fill at t's open
//! (`Fill::NextOpen`), every asset's exits before any entry so that freed cash can be
//! spent; then stops of positions held since before this bar trigger on t's range (a
//! gap through the stop fills at the open; stop-loss is checked before take-profit);
//! with `Fill::Close` the bar's own signals fill at its close; equity is valued at the
//! close; last, with a maintenance margin set, an account whose equity is below that
//! fraction of its gross exposure is liquidated at the close (a margin call).
//!
//! Buying power is equity × leverage − gross exposure (valued at the latest prices).
//! All-in sizing splits it equally among the entries filled at the same moment;
//! with one asset and leverage 1 that is all the cash, the notes' convention.

use serde::{Deserialize, Serialize};

use super::{strategy::Signals, Bars};
use kronos_types::ranges::check_f64;

use crate::error::{Error, Result};

/// When a signal computed at bar t's close is filled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Fill {
    /// At bar t+1's open (the default).
    NextOpen,
    /// At bar t's close.
    Close,
}

/// How large a new position is.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Sizing {
    /// All available cash (fees included): size × price × (1 + fee) + fixed fee = cash.
    AllIn,
    /// This fraction of equity.
    Fraction(f64),
    /// A fixed number of units (fewer when cash runs short).
    Units(f64),
}

/// Simulation settings (defaults: the notes' convention, 10,000 cash, no fees; JSON
/// fields left out keep their default).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
    /// Gross exposure allowed per unit of equity (1: no borrowing; 2: positions up to
    /// twice the equity, the initial margin being 1 / leverage).
    pub leverage: f64,
    /// Liquidate everything at a bar's close when equity falls below this fraction of
    /// gross exposure (0: never).
    pub maintenance_margin: f64,
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
            leverage: 1.0,
            maintenance_margin: 0.0,
        }
    }
}

impl EngineConfig {
    /// Checks every setting; the error names the bad one.
    pub fn validate(&self) -> Result<()> {
        check_f64("init_cash", self.init_cash, 1.0, MAX_CASH)?;
        check_f64("fee", self.fee, 0.0, MAX_FEE)?;
        check_f64("fixed_fee", self.fixed_fee, 0.0, self.init_cash)?;
        check_f64("slippage_bps", self.slippage_bps, 0.0, MAX_SLIPPAGE_BPS)?;
        if !(self.leverage.is_finite() && (1.0..=100.0).contains(&self.leverage)) {
            return Err(Error::invalid("leverage", "leverage must be from 1 to 100"));
        }
        if !(self.maintenance_margin >= 0.0 && self.maintenance_margin < 1.0 / self.leverage) {
            return Err(Error::invalid(
                "maintenance_margin",
                "maintenance_margin must be zero or more and below the initial margin 1 / leverage",
            ));
        }
        match self.sizing {
            Sizing::Fraction(f) if !(f > 0.0 && f <= self.leverage) => {
                return Err(Error::invalid("sizing", "a fraction of equity must be in (0, leverage]"))
            }
            Sizing::Units(u) if !(u > 0.0 && u <= MAX_UNITS) => {
                return Err(Error::invalid("sizing", format!("units must be above 0 and at most {MAX_UNITS:e}")))
            }
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

/// Most starting cash (a trillion in the asset's quote currency).
pub const MAX_CASH: f64 = 1e12;
/// Highest proportional fee (10 % of notional per fill).
pub const MAX_FEE: f64 = 0.1;
/// Highest slippage in basis points (10 %).
pub const MAX_SLIPPAGE_BPS: f64 = 1000.0;
/// Most units per fill with fixed-unit sizing.
pub const MAX_UNITS: f64 = 1e12;

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
    /// Liquidated: equity fell below the maintenance margin.
    MarginCall,
}

impl ExitReason {
    /// The name used in JSON and the trades table (`stop_loss`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Signal => "signal",
            Self::StopLoss => "stop_loss",
            Self::TakeProfit => "take_profit",
            Self::TrailingStop => "trailing_stop",
            Self::End => "end",
            Self::MarginCall => "margin_call",
        }
    }
}

/// One round trip (or an open position).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trade {
    /// Index of the asset in the portfolio (0 for a single asset).
    pub asset: usize,
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
    /// Cash at each bar's close (negative while borrowing).
    pub cash: Vec<f64>,
    /// Gross exposure (Σ |units| × close) at each bar's close.
    pub gross_exposure: Vec<f64>,
    /// Trades in entry order (the last one may be open).
    pub trades: Vec<Trade>,
    /// Fees paid in all.
    pub total_fees: f64,
    /// Starting cash.
    pub init_cash: f64,
}

/// One asset of a simulation: its bars and the strategy's signals on them.
#[derive(Debug, Clone, Copy)]
pub struct Instrument<'a> {
    /// Bars (a portfolio's assets share the same bar times).
    pub bars: &'a Bars,
    /// Signals, one per bar.
    pub signals: &'a Signals,
}

struct Open {
    trade: Trade,
    best: f64,
}

/// Where orders fill within a bar.
#[derive(Clone, Copy)]
enum At {
    Open,
    Close,
}

struct Book<'a> {
    instruments: &'a [Instrument<'a>],
    config: &'a EngineConfig,
    cash: f64,
    open: Vec<Option<Open>>,
    /// Latest price of each asset (the mark for equity and buying power).
    mark: Vec<f64>,
    trades: Vec<Trade>,
    fees: f64,
}

impl Book<'_> {
    fn slip(&self, price: f64, buying: bool) -> f64 {
        let s = self.config.slippage_bps / 10_000.0;
        if buying {
            price * (1.0 + s)
        } else {
            price * (1.0 - s)
        }
    }

    /// (equity, gross exposure) at the marks.
    fn value(&self) -> (f64, f64) {
        let (mut equity, mut gross) = (self.cash, 0.0);
        for (open, mark) in self.open.iter().zip(&self.mark) {
            if let Some(o) = open {
                let notional = o.trade.size * mark;
                gross += notional;
                equity += if o.trade.direction == Direction::Long { notional } else { -notional };
            }
        }
        (equity, gross)
    }

    /// Units bought with at most `budget` (fees included) at `price`.
    fn units(&self, price: f64, budget: f64, equity: f64) -> f64 {
        let c = self.config;
        let wanted = match c.sizing {
            Sizing::AllIn => budget,
            Sizing::Fraction(f) => equity * f,
            Sizing::Units(u) => u * price * (1.0 + c.fee) + c.fixed_fee,
        }
        .min(budget);
        ((wanted - c.fixed_fee) / (price * (1.0 + c.fee))).max(0.0)
    }

    fn enter(&mut self, i: usize, t: usize, raw: f64, direction: Direction, budget: f64, equity: f64) {
        let price = self.slip(raw, direction == Direction::Long);
        let size = self.units(price, budget, equity);
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
            asset: i,
            direction,
            size,
            entry_bar: t,
            entry_time: self.instruments[i].bars.time.get(t).copied().unwrap_or_default(),
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
        self.open[i] = Some(Open { trade, best: raw });
    }

    fn exit(&mut self, i: usize, t: usize, raw: f64, reason: ExitReason) {
        let Some(Open { mut trade, .. }) = self.open[i].take() else { return };
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
        trade.exit_time = self.instruments[i].bars.time.get(t).copied();
        trade.exit_price = price;
        trade.exit_fees = fees;
        trade.pnl = gross - trade.entry_fees - fees;
        trade.return_fraction = trade.pnl / (trade.entry_price * trade.size);
        trade.exit_reason = Some(reason);
        self.trades.push(trade);
    }

    /// Acts on bar `s`'s signals, filled on bar `t` at its open or close: every exit,
    /// then the entries, sharing the buying power left.
    fn act(&mut self, s: usize, t: usize, at: At) {
        // most bars signal nothing: skip them without touching the book
        let quiet = self.instruments.iter().all(|inst| {
            let g = inst.signals;
            !(g.long_entry[s] | g.long_exit[s] | g.short_entry[s] | g.short_exit[s])
        });
        if quiet {
            return;
        }
        let price = |bars: &Bars| match at {
            At::Open => bars.open[t],
            At::Close => bars.close[t],
        };
        for (i, inst) in self.instruments.iter().enumerate() {
            self.mark[i] = price(inst.bars);
            let signals = inst.signals;
            let exit = match self.open[i].as_ref().map(|o| o.trade.direction) {
                Some(Direction::Long) => signals.long_exit[s],
                Some(Direction::Short) => signals.short_exit[s],
                None => false,
            };
            if exit {
                self.exit(i, t, self.mark[i], ExitReason::Signal);
            }
        }
        let wants = |signals: &Signals| {
            if signals.long_entry[s] {
                Some(Direction::Long)
            } else if self.config.allow_short && signals.short_entry[s] {
                Some(Direction::Short)
            } else {
                None
            }
        };
        let entering = self
            .instruments
            .iter()
            .enumerate()
            .filter(|(i, inst)| self.open[*i].is_none() && wants(inst.signals).is_some())
            .count();
        if entering == 0 {
            return;
        }
        let (equity, gross) = self.value();
        let mut power = equity * self.config.leverage - gross;
        // all-in shares the buying power equally; the other sizings take what they ask
        // for while it lasts
        let share = match self.config.sizing {
            Sizing::AllIn => power / entering as f64,
            _ => f64::INFINITY,
        };
        for (i, inst) in self.instruments.iter().enumerate() {
            if self.open[i].is_some() || power <= 0.0 {
                continue;
            }
            if let Some(direction) = wants(inst.signals) {
                self.enter(i, t, self.mark[i], direction, share.min(power), equity);
                if let Some(o) = &self.open[i] {
                    power -= o.trade.size * o.trade.entry_price * (1.0 + self.config.fee) + self.config.fixed_fee;
                }
            }
        }
    }

    /// Stop-loss, take-profit and trailing stop of asset `i` on bar `t`'s range.
    fn stops(&mut self, i: usize, t: usize) {
        let c = self.config;
        let bars = self.instruments[i].bars;
        let Some(open) = self.open[i].as_mut() else { return };
        if open.trade.entry_bar >= t {
            return;
        }
        let (o, h, l) = (bars.open[t], bars.high[t], bars.low[t]);
        let e = open.trade.entry_price;
        let long = open.trade.direction == Direction::Long;
        // adverse levels first: stop-loss, then the trailing stop
        let stop = c.stop_loss.map(|sl| (if long { e * (1.0 - sl) } else { e * (1.0 + sl) }, ExitReason::StopLoss));
        let trail = c
            .trailing_stop
            .map(|ts| (if long { open.best * (1.0 - ts) } else { open.best * (1.0 + ts) }, ExitReason::TrailingStop));
        let adverse =
            [stop, trail].into_iter().flatten().find(|(level, _)| if long { l <= *level } else { h >= *level });
        if let Some((level, reason)) = adverse {
            let price = if long { o.min(level) } else { o.max(level) };
            return self.exit(i, t, price, reason);
        }
        if let Some(tp) = c.take_profit {
            let level = if long { e * (1.0 + tp) } else { e * (1.0 - tp) };
            if (long && h >= level) || (!long && l <= level) {
                let price = if long { o.max(level) } else { o.min(level) };
                return self.exit(i, t, price, ExitReason::TakeProfit);
            }
        }
        open.best = if long { open.best.max(h) } else { open.best.min(l) };
    }

    fn close_all(&mut self, t: usize, reason: ExitReason) {
        for i in 0..self.instruments.len() {
            let close = self.instruments[i].bars.close[t];
            self.exit(i, t, close, reason);
        }
    }
}

/// Simulates `signals` on the bars of one asset.
pub fn run(bars: &Bars, signals: &Signals, config: &EngineConfig) -> Result<Simulation> {
    run_portfolio(&[Instrument { bars, signals }], config)
}

/// Simulates several assets sharing one cash balance. Every asset's bars must have the
/// same times (see `align`).
pub fn run_portfolio(instruments: &[Instrument<'_>], config: &EngineConfig) -> Result<Simulation> {
    config.validate()?;
    let Some(first) = instruments.first() else {
        return Err(Error::invalid("symbols", "a backtest needs at least one asset"));
    };
    let n = first.bars.len();
    if n == 0 {
        return Err(Error::invalid("bars", "no bars to backtest"));
    }
    for inst in instruments {
        let (b, s) = (inst.bars, inst.signals);
        if [b.open.len(), b.high.len(), b.low.len(), b.close.len(), b.time.len()].iter().any(|len| *len != n)
            || [s.long_entry.len(), s.long_exit.len(), s.short_entry.len(), s.short_exit.len()]
                .iter()
                .any(|len| *len != n)
        {
            return Err(Error::invalid("bars", "bars and signals differ in length"));
        }
        if b.time != first.bars.time {
            return Err(Error::invalid("bars", "a portfolio's assets must share the same bar times"));
        }
    }
    let assets = instruments.len();
    let mut book = Book {
        instruments,
        config,
        cash: config.init_cash,
        open: (0..assets).map(|_| None).collect(),
        mark: instruments.iter().map(|inst| inst.bars.open[0]).collect(),
        trades: Vec::new(),
        fees: 0.0,
    };
    let mut equity = Vec::with_capacity(n);
    let mut cash = Vec::with_capacity(n);
    let mut gross_exposure = Vec::with_capacity(n);
    for t in 0..n {
        if config.fill == Fill::NextOpen && t > 0 {
            book.act(t - 1, t, At::Open);
        }
        for i in 0..assets {
            book.stops(i, t);
        }
        if config.fill == Fill::Close {
            book.act(t, t, At::Close);
        }
        for (mark, inst) in book.mark.iter_mut().zip(instruments) {
            *mark = inst.bars.close[t];
        }
        let (mut value, mut gross) = book.value();
        if config.maintenance_margin > 0.0 && gross > 0.0 && value < config.maintenance_margin * gross {
            book.close_all(t, ExitReason::MarginCall);
            (value, gross) = book.value();
        }
        equity.push(value);
        cash.push(book.cash);
        gross_exposure.push(gross);
    }
    let last = n - 1;
    if config.close_at_end {
        book.close_all(last, ExitReason::End);
        if let (Some(v), Some(c), Some(g)) = (equity.last_mut(), cash.last_mut(), gross_exposure.last_mut()) {
            (*v, *c, *g) = (book.cash, book.cash, 0.0);
        }
    } else {
        for (open, inst) in book.open.iter_mut().zip(instruments) {
            if let Some(Open { mut trade, .. }) = open.take() {
                let sign = if trade.direction == Direction::Long { 1.0 } else { -1.0 };
                trade.exit_price = inst.bars.close[last];
                trade.pnl = (trade.exit_price - trade.entry_price) * trade.size * sign - trade.entry_fees;
                trade.return_fraction = trade.pnl / (trade.entry_price * trade.size);
                book.trades.push(trade);
            }
        }
    }
    book.trades.sort_by_key(|trade| (trade.entry_bar, trade.asset));
    Ok(Simulation {
        equity,
        cash,
        gross_exposure,
        trades: book.trades,
        total_fees: book.fees,
        init_cash: config.init_cash,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::Signals;

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
    fn portfolio_assets_share_cash_and_exits_free_it_for_entries() {
        // A is bought on bar 1 with all the cash; on bar 2 A exits and B enters, paid
        // with A's proceeds; on bar 3 both A and B signal and split what is left.
        let a = bars(&[10.0, 10.0, 20.0, 20.0, 20.0], &[10.0, 10.0, 20.0, 20.0, 20.0]);
        let b = bars(&[5.0, 5.0, 5.0, 5.0, 10.0], &[5.0, 5.0, 5.0, 5.0, 10.0]);
        let sa = signals(5, &[0], &[1]);
        let sb = signals(5, &[1], &[]);
        let cfg = EngineConfig { init_cash: 1000.0, ..EngineConfig::default() };
        let sim = run_portfolio(&[Instrument { bars: &a, signals: &sa }, Instrument { bars: &b, signals: &sb }], &cfg)
            .unwrap();
        // A: 100 units at 10, sold at 20 → 2000 cash; B: 400 units at 5, worth 4000 at the end
        assert_eq!(sim.trades.len(), 2);
        assert_eq!((sim.trades[0].asset, sim.trades[0].exit_bar), (0, Some(2)));
        assert_eq!((sim.trades[1].asset, sim.trades[1].entry_bar), (1, 2));
        assert!((sim.trades[1].size - 400.0).abs() < 1e-9);
        assert!((sim.equity[4] - 4000.0).abs() < 1e-9);
        assert!(sim.cash[4].abs() < 1e-9 && (sim.gross_exposure[4] - 4000.0).abs() < 1e-9);

        // two entries at once split the buying power equally
        let both = signals(5, &[0], &[]);
        let sim =
            run_portfolio(&[Instrument { bars: &a, signals: &both }, Instrument { bars: &b, signals: &both }], &cfg)
                .unwrap();
        assert!((sim.trades[0].size - 50.0).abs() < 1e-9, "500 of cash at 10");
        assert!((sim.trades[1].size - 100.0).abs() < 1e-9, "500 of cash at 5");
        // a fraction of equity each, in asset order, while the cash lasts
        let c = bars(&[2.0; 5], &[2.0; 5]);
        let cfg_fraction = EngineConfig { sizing: Sizing::Fraction(0.4), ..cfg };
        let three = [
            Instrument { bars: &a, signals: &both },
            Instrument { bars: &b, signals: &both },
            Instrument { bars: &c, signals: &both },
        ];
        let sim = run_portfolio(&three, &cfg_fraction).unwrap();
        let spent: Vec<f64> = sim.trades.iter().map(|t| t.size * t.entry_price).collect();
        assert!((spent[0] - 400.0).abs() < 1e-9 && (spent[1] - 400.0).abs() < 1e-9, "{spent:?}");
        assert!((spent[2] - 200.0).abs() < 1e-9, "the rest: {spent:?}");
        let misaligned = bars(&[1.0; 4], &[1.0; 4]);
        let s4 = signals(4, &[], &[]);
        assert!(run_portfolio(
            &[Instrument { bars: &a, signals: &sa }, Instrument { bars: &misaligned, signals: &s4 }],
            &cfg
        )
        .is_err());
    }

    #[test]
    fn leverage_borrows_and_a_margin_call_liquidates_at_the_close() {
        // 2× leverage: 1000 of equity buys 200 units at 10, cash −1000.
        let b = bars(&[10.0, 10.0, 11.0, 7.0, 6.0], &[10.0, 10.0, 11.0, 7.0, 6.0]);
        let cfg = EngineConfig { init_cash: 1000.0, leverage: 2.0, ..EngineConfig::default() };
        let sim = run(&b, &signals(5, &[0], &[]), &cfg).unwrap();
        assert!((sim.trades[0].size - 200.0).abs() < 1e-9);
        assert!((sim.cash[1] + 1000.0).abs() < 1e-9);
        assert!((sim.equity[2] - 1200.0).abs() < 1e-9, "gains twice as fast");
        assert!((sim.equity[4] - 200.0).abs() < 1e-9, "and loses twice as fast");
        // maintenance 30 %: at 7, equity 400 < 0.3 × 1400 → liquidated at 7
        let called = run(&b, &signals(5, &[0], &[]), &EngineConfig { maintenance_margin: 0.3, ..cfg }).unwrap();
        let t = &called.trades[0];
        assert_eq!((t.exit_bar, t.exit_reason), (Some(3), Some(ExitReason::MarginCall)));
        assert!((called.equity[4] - 400.0).abs() < 1e-9, "flat after the call");
        assert_eq!(called.gross_exposure[4], 0.0);
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
            (EngineConfig { leverage: 0.5, ..EngineConfig::default() }, "leverage"),
            (EngineConfig { leverage: 2.0, maintenance_margin: 0.5, ..EngineConfig::default() }, "maintenance_margin"),
        ] {
            match run(&b, &s, &cfg) {
                Err(Error::Invalid { field: f, .. }) => assert_eq!(f, field),
                other => panic!("{other:?}"),
            }
        }
        assert!(run(&Bars::default(), &signals(0, &[], &[]), &EngineConfig::default()).is_err());
    }
}
