//! The demo market data (genuine OHLCV files from PyPI wheels, fetched and checked by
//! `ops/test`), imported into a test's database through the CLI.

use std::path::PathBuf;

use crate::{process::run_to_end, TestEnv};

/// Path of a demo file; `ops/test` sets `KRONOS_DEMO_DIR`.
pub fn file(name: &str) -> PathBuf {
    let dir = std::env::var("KRONOS_DEMO_DIR")
        .expect("KRONOS_DEMO_DIR is not set: run the tests through ops/test, which fetches the demo data");
    let path = PathBuf::from(dir).join(name);
    assert!(path.is_file(), "demo file {} is missing (ops/test fetches it)", path.display());
    path
}

/// Imports the 2,335 GOOGL daily bars (2009-05-22 to 2018-08-29) as `symbol`.
pub fn import_googl(env: &TestEnv, symbol: &str) {
    let path = file("STOCKS_GOOGL.csv");
    let out = run_to_end(
        "kronos",
        env,
        &[
            "import",
            "--file",
            path.to_str().unwrap_or_default(),
            "--symbol",
            symbol,
            "--interval",
            "1d",
            "--class",
            "stock",
        ],
    );
    assert!(out.status.success(), "import failed: {}", String::from_utf8_lossy(&out.stderr));
}

/// Imports every ticker of the demo `stocks.csv.gz` (AAPL, GOOG, IBM, MSFT, FB; daily).
pub fn import_stocks(env: &TestEnv) {
    let path = file("stocks.csv.gz");
    let out = run_to_end(
        "kronos",
        env,
        &["import", "--file", path.to_str().unwrap_or_default(), "--interval", "1d", "--class", "stock"],
    );
    assert!(out.status.success(), "import failed: {}", String::from_utf8_lossy(&out.stderr));
}
