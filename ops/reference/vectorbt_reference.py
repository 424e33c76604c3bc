"""Reference backtests with vectorbt (a dev/CI tool only: Apache-2.0 +
Commons Clause, never shipped). Reads one ticker from the demo stocks file and prints
JSON: the bars, then per (fast, slow, fee) run the trades and the metrics, following
the convention in ../shared/notes/backtest.md (signals at t's close, filled at t+1's
open, fees on notional, all-in, open positions marked at the last close).

usage: vectorbt_reference.py STOCKS_CSV_GZ TICKER INIT_CASH PERIODS_PER_YEAR SPEC ...
  SPEC: sma:FAST:SLOW:FEE | rsi:PERIOD:LOWER:UPPER:FEE | bb:PERIOD:K:FEE

Signals are computed here with pandas from the definitions (independently of the Rust
code): SMA crossovers; Wilder's RSI (ewm alpha=1/N, adjust=False, min_periods=N; 100
without losses, 50 when flat) crossing below LOWER (entry) / above UPPER (exit); the
close crossing below the lower Bollinger band (SMA − K population std) for entry and
above the middle band for exit.
"""

import json
import sys

import numpy as np
import pandas as pd
import vectorbt as vbt


def below(x, level):
    """x went from at or above level to below it."""
    return (x < level) & (x.shift(1) >= level.shift(1) if hasattr(level, "shift") else x.shift(1) >= level)


def above(x, level):
    """x went from at or below level to above it."""
    return (x > level) & (x.shift(1) <= level.shift(1) if hasattr(level, "shift") else x.shift(1) <= level)


def signals(close, spec):
    kind, *params = spec.split(":")
    fee = float(params[-1])
    if kind == "sma":
        fast, slow = close.rolling(int(params[0])).mean(), close.rolling(int(params[1])).mean()
        return above(fast, slow), below(fast, slow), fee
    if kind == "rsi":
        n, lower, upper = int(params[0]), float(params[1]), float(params[2])
        delta = close.diff()
        gain = delta.clip(lower=0).where(delta.notna())
        loss = (-delta).clip(lower=0).where(delta.notna())
        avg_gain = gain.ewm(alpha=1 / n, adjust=False, min_periods=n, ignore_na=True).mean()
        avg_loss = loss.ewm(alpha=1 / n, adjust=False, min_periods=n, ignore_na=True).mean()
        rsi = 100 - 100 / (1 + avg_gain / avg_loss)
        rsi = rsi.mask(avg_loss == 0, 100.0).mask((avg_loss == 0) & (avg_gain == 0), 50.0)
        return below(rsi, lower), above(rsi, upper), fee
    if kind == "bb":
        n, k = int(params[0]), float(params[1])
        mid = close.rolling(n).mean()
        lower = mid - k * close.rolling(n).std(ddof=0)
        return below(close, lower), above(close, mid), fee
    raise SystemExit(f"unknown strategy spec {spec}")


def main():
    path, ticker, init_cash, ppy = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
    df = pd.read_csv(path)
    df = df[df["Ticker"] == ticker].copy()
    df["Date"] = pd.to_datetime(df["Date"])
    df = df.set_index("Date").sort_index()
    close, open_ = df["Close"].astype(float), df["Open"].astype(float)
    # vectorbt's year is 365 days unless told otherwise
    vbt.settings.returns["year_freq"] = f"{ppy} days"
    out = {
        "bars": {
            "time": [int(t.timestamp()) for t in df.index],
            "open": open_.tolist(),
            "high": df["High"].astype(float).tolist(),
            "low": df["Low"].astype(float).tolist(),
            "close": close.tolist(),
        },
        "runs": [],
    }
    for spec in sys.argv[5:]:
        up, dn, fee = signals(close, spec)
        pf = vbt.Portfolio.from_signals(
            close,
            entries=up.shift(1, fill_value=False),
            exits=dn.shift(1, fill_value=False),
            price=open_,
            fees=fee,
            init_cash=init_cash,
            size=np.inf,
            freq="1D",
        )
        rec = pf.trades.records_arr
        closed = rec["status"] == 1
        trades = [
            {
                "entry_bar": int(r["entry_idx"]),
                "exit_bar": int(r["exit_idx"]) if r["status"] == 1 else None,
                "entry_price": float(r["entry_price"]),
                "exit_price": float(r["exit_price"]),
                "size": float(r["size"]),
                "pnl": float(r["pnl"]),
            }
            for r in rec
        ]
        out["runs"].append(
            {
                "spec": spec,
                "trades": trades,
                "metrics": {
                    "final_equity": float(pf.final_value()),
                    "total_return": float(pf.total_return()),
                    "max_drawdown": float(pf.max_drawdown()),
                    "sharpe": float(pf.sharpe_ratio()),
                    "trades_closed": int(closed.sum()),
                    "trades_open": int((~closed).sum()),
                    "win_rate": float((rec["pnl"][closed] > 0).mean()) if closed.any() else None,
                    "total_fees": float(pf.orders.records_arr["fees"].sum()),
                },
            }
        )
    print(json.dumps(out))


if __name__ == "__main__":
    main()
