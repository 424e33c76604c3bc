"""vectorbt side of ops/bench-backtest: the same SMA(10, 50) backtest (no fee) on the long series
and the same 1,000-combination sweep (fast 2..41 × slow 50..74, ranked by Sharpe) on
GOOG, median wall time of several runs after one warm-up run (numba compiles first).

usage: vectorbt_bench.py LONG.csv GOOG.csv RUNS
"""

import json
import sys
import time

import numpy as np
import pandas as pd
import vectorbt as vbt


def load(path):
    df = pd.read_csv(path, parse_dates=["time"], index_col="time")
    return df["open"].astype(float), df["close"].astype(float)


def sma_backtest(open_, close):
    fast, slow = close.rolling(10).mean(), close.rolling(50).mean()
    up = (fast > slow) & (fast.shift(1) <= slow.shift(1))
    dn = (fast < slow) & (fast.shift(1) >= slow.shift(1))
    pf = vbt.Portfolio.from_signals(close, entries=up.shift(1, fill_value=False), exits=dn.shift(1, fill_value=False),
                                    price=open_, fees=0.0, init_cash=10_000.0, size=np.inf, freq="1D")
    pf.sharpe_ratio()
    pf.max_drawdown()
    return float(pf.final_value())


def sweep(open_, close):
    fasts, slows = np.arange(2, 42), np.arange(50, 75)
    fast = vbt.MA.run(close, window=np.repeat(fasts, len(slows)), short_name="fast")
    slow = vbt.MA.run(close, window=np.tile(slows, len(fasts)), short_name="slow")
    entries = fast.ma_crossed_above(slow)
    exits = fast.ma_crossed_below(slow)
    entries = entries.shift(1, fill_value=False)
    exits = exits.shift(1, fill_value=False)
    pf = vbt.Portfolio.from_signals(close, entries=entries, exits=exits, price=open_, fees=0.001,
                                    init_cash=10_000.0, size=np.inf, freq="1D")
    sharpe = pf.sharpe_ratio().sort_values(ascending=False)
    return len(sharpe)


def timed(fn, runs):
    fn()  # warm-up: numba compilation
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times)), out


def main():
    vbt.settings.returns["year_freq"] = "252 days"
    long_open, long_close = load(sys.argv[1])
    goog_open, goog_close = load(sys.argv[2])
    runs = int(sys.argv[3])
    t, final = timed(lambda: sma_backtest(long_open, long_close), runs)
    print(json.dumps({"engine": "vectorbt", "task": "sma_10_50", "bars": len(long_close), "runs": runs,
                      "median_s": round(t, 6), "final_equity": round(final, 4)}))
    t, n = timed(lambda: sweep(goog_open, goog_close), runs)
    print(json.dumps({"engine": "vectorbt", "task": f"sweep_{n}", "bars": len(goog_close), "runs": runs,
                      "median_s": round(t, 6)}))


if __name__ == "__main__":
    main()
