//! Candle import into PostgreSQL: upserts, validation reports, demo-file spellings.

use std::io::Write;

use kronos_db::{assets, candles};
use kronos_market_data::import::parse_file;
use kronos_tests::TestEnv;
use kronos_types::Interval;

fn write(env: &TestEnv, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let path = env.scratch.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reimport_upserts_and_bad_rows_are_not_stored() {
    let env = TestEnv::new().await;
    let pool = kronos_db::pool(&env.config.database_url, 2).unwrap();
    let mut conn = pool.get().await.unwrap();
    let text = "Date,Open,High,Low,Close,Volume\n1/4/1999,10,12,9,11,100\n1/5/1999,11,13,10,12,100\n1/6/1999,11,,10,12,100\n1/7/1999,11,9,10,12,100\n";
    let parsed = parse_file(&write(&env, "spx.csv", text.as_bytes()), Some("SPX"), None).unwrap();
    assert_eq!(parsed.rejected.iter().map(|r| r.row).collect::<Vec<_>>(), vec![3, 4]);
    let id = assets::ensure(&mut conn, "SPX", "index").await.unwrap();
    candles::upsert(&mut conn, id, Interval::D1, &parsed.series["SPX"], "import").await.unwrap();
    assert_eq!(candles::count(&mut conn, id, Interval::D1).await.unwrap(), 2);
    // corrected file: same dates, new close, one more day
    let fixed = "Date,Open,High,Low,Close,Volume\n1/4/1999,10,12,9,11.5,100\n1/5/1999,11,13,10,12,100\n1/6/1999,11,13,10,12,100\n";
    let parsed = parse_file(&write(&env, "spx2.csv", fixed.as_bytes()), Some("SPX"), None).unwrap();
    candles::upsert(&mut conn, id, Interval::D1, &parsed.series["SPX"], "import").await.unwrap();
    let stored = candles::latest(&mut conn, id, Interval::D1, 10).await.unwrap();
    assert_eq!(stored.len(), 3);
    assert_eq!(stored[0].close, 11.5, "re-import replaced the row");
    assert_eq!(stored[0].amount, 0.0);
    assert_eq!(assets::ensure(&mut conn, "spx", "index").await.unwrap(), id, "same asset");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gzip_long_format_imports_every_ticker() {
    let env = TestEnv::new().await;
    let text = "Ticker,Date,Open,High,Low,Close,Volume,Adj Close\nAAPL,2000-03-01,118.56,132.06,118.5,130.31,9616100,4.18\nIBM,2000-03-01,102,105,101,104,100,90\nAAPL,2000-03-02,127.0,127.94,120.69,122.0,2779100,3.91\n";
    let mut gz = flate2_writer();
    gz.write_all(text.as_bytes()).unwrap();
    let path = write(&env, "stocks.csv.gz", &gz.finish().unwrap());
    let parsed = parse_file(&path, None, None).unwrap();
    assert_eq!(parsed.series["AAPL"].len(), 2);
    assert_eq!(parsed.series["IBM"].len(), 1);
    assert_eq!(parsed.rows_read, 3);
}

fn flate2_writer() -> GzWriter {
    GzWriter::default()
}

/// Minimal gzip writer (stored blocks) so the test needs no extra crate.
#[derive(Default)]
struct GzWriter(Vec<u8>);

impl Write for GzWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl GzWriter {
    fn finish(self) -> std::io::Result<Vec<u8>> {
        let mut child = std::process::Command::new("gzip")
            .arg("-c")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()?;
        child.stdin.take().expect("stdin").write_all(&self.0)?;
        Ok(child.wait_with_output()?.stdout)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_copy_inserts_then_updates() {
    let env = TestEnv::new().await;
    let pool = kronos_db::pool(&env.config.database_url, 2).unwrap();
    let mut conn = pool.get().await.unwrap();
    let id = assets::ensure(&mut conn, "BULK", "crypto").await.unwrap();
    let mut series = kronos_tests::sample::candles(1000);
    let url = &env.config.database_url;
    let n = kronos_db::candles_bulk::upsert(url, id, Interval::H1, &series, "import").await.unwrap();
    assert_eq!(n, 1000);
    series[10].close *= 1.01;
    series[10].high = series[10].high.max(series[10].close);
    series.extend(kronos_tests::sample::candles(1001).into_iter().skip(1000));
    let n = kronos_db::candles_bulk::upsert(url, id, Interval::H1, &series, "import").await.unwrap();
    assert_eq!(n, 1001, "1000 updates and 1 insert");
    let stored = candles::latest(&mut conn, id, Interval::H1, 5000).await.unwrap();
    assert_eq!(stored, series, "stored rows equal the last load, bit for bit");
    assert_eq!(candles::count(&mut conn, id, Interval::D1).await.unwrap(), 0, "other intervals untouched");
}
