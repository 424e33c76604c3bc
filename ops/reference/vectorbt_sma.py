"""Reference SMA-crossover backtests with vectorbt (a dev/CI tool only: Apache-2.0 +
Commons Clause, never shipped). Reads one ticker from the demo stocks file and prints
JSON: the bars, then per (fast, slow, fee) run the trades and the metrics, following
the convention in ../shared/notes/backtest.md (signals at t's close, filled at t+1's
open, fees on notional, all-in, open positions marked at the last close).

usage: vectorbt_sma.py STOCKS_CSV_GZ TICKER INIT_CASH PERIODS_PER_YEAR FAST:SLOW:FEE ...
"""

import json
import sys

import numpy as np
import pandas as pd
import vectorbt as vbt


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
        fast_n, slow_n, fee = spec.split(":")
        fast_n, slow_n, fee = int(fast_n), int(slow_n), float(fee)
        fast, slow = close.rolling(fast_n).mean(), close.rolling(slow_n).mean()
        up = (fast > slow) & (fast.shift(1) <= slow.shift(1))
        dn = (fast < slow) & (fast.shift(1) >= slow.shift(1))
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
                "fast": fast_n,
                "slow": slow_n,
                "fee": fee,
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
