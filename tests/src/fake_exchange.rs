//! A local HTTP server that answers like Binance, OKX and CoinGecko (their documented
//! response formats), over a deterministic price series, with scripted failures:
//! status codes with `Retry-After`, slow answers and malformed bodies.
//!
//! Every instance serves all three APIs; a test starts one instance per exchange so
//! that it can break one and watch the platform fail over to another.

use std::{
    collections::{HashMap, VecDeque},
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    extract::{Path, Query, State},
    http::{HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
    Json, Router,
};
use chrono::{DateTime, Utc};
use kronos_types::{Candle, Interval};
use serde_json::{json, Value};

/// What the server does with the next request to a path.
#[derive(Debug, Clone)]
pub enum Behaviour {
    /// Answer with this status (and `Retry-After` when given) and a JSON error body.
    Status(u16, Option<String>),
    /// Wait this long before answering normally.
    Delay(Duration),
    /// Answer 200 with a body that is not the documented shape.
    Malformed,
    /// Answer 200 with a body that is not JSON at all.
    NotJson,
    /// Answer normally, but with the second Binance kline's high below its low.
    CorruptBar,
}

#[derive(Default)]
struct Shared {
    scripts: HashMap<String, VecDeque<Behaviour>>,
    hits: HashMap<String, usize>,
}

/// A running fake exchange.
#[derive(Clone)]
pub struct FakeExchange {
    /// Base URL, e.g. `http://127.0.0.1:40123`.
    pub url: String,
    shared: Arc<Mutex<Shared>>,
}

/// Symbols the fake knows (per API).
const BINANCE: [&str; 2] = ["BTCUSDT", "ETHUSDT"];
const OKX: [&str; 2] = ["BTC-USDT", "ETH-USDT"];
const COINGECKO: [&str; 2] = ["bitcoin", "ethereum"];

impl FakeExchange {
    /// Starts a server on a free loopback port.
    pub async fn start() -> Self {
        let shared = Arc::new(Mutex::new(Shared::default()));
        let app = Router::new()
            .route("/api/v3/klines", get(binance_klines))
            .route("/api/v3/ticker/24hr", get(binance_ticker))
            .route("/api/v5/market/candles", get(okx_recent))
            .route("/api/v5/market/history-candles", get(okx_history))
            .route("/api/v5/market/ticker", get(okx_ticker))
            .route("/api/v3/coins/{id}/market_chart/range", get(coingecko_chart))
            .route("/api/v3/simple/price", get(coingecko_price))
            .layer(axum::middleware::from_fn_with_state(shared.clone(), script))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind fake exchange");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { url, shared }
    }

    /// The next requests to `path` get `behaviours`, one each, in order.
    pub fn script(&self, path: &str, behaviours: impl IntoIterator<Item = Behaviour>) {
        let mut s = self.shared.lock().expect("lock");
        s.scripts.entry(path.to_owned()).or_default().extend(behaviours);
    }

    /// Requests received on `path` (including failed ones).
    pub fn hits(&self, path: &str) -> usize {
        self.shared.lock().expect("lock").hits.get(path).copied().unwrap_or(0)
    }
}

async fn script(
    State(shared): State<Arc<Mutex<Shared>>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let path = req.uri().path().to_owned();
    let key = if path.starts_with("/api/v3/coins/") { "/api/v3/coins".to_owned() } else { path.clone() };
    let behaviour = {
        let mut s = shared.lock().expect("lock");
        *s.hits.entry(key.clone()).or_default() += 1;
        s.scripts.get_mut(&key).and_then(VecDeque::pop_front)
    };
    match behaviour {
        None => next.run(req).await,
        Some(Behaviour::Delay(d)) => {
            tokio::time::sleep(d).await;
            next.run(req).await
        }
        Some(Behaviour::Status(code, retry_after)) => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let mut headers = HeaderMap::new();
            if let Some(v) = retry_after {
                headers.insert("retry-after", HeaderValue::from_str(&v).expect("header"));
            }
            let body = if path.starts_with("/api/v5") {
                json!({"code": "50011", "msg": "Too Many Requests", "data": []})
            } else {
                json!({"code": -1003, "msg": "Too many requests; please use the websocket for live updates."})
            };
            (status, headers, Json(body)).into_response()
        }
        Some(Behaviour::Malformed) => Json(json!({"unexpected": [1, 2, 3]})).into_response(),
        Some(Behaviour::NotJson) => (StatusCode::OK, "<html>gateway error</html>").into_response(),
        Some(Behaviour::CorruptBar) => {
            let response = next.run(req).await;
            let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.expect("body");
            let mut rows: Value = serde_json::from_slice(&bytes).expect("klines json");
            if let Some(row) = rows.get_mut(1).and_then(Value::as_array_mut) {
                let low: f64 = row[3].as_str().and_then(|s| s.parse().ok()).expect("low");
                row[2] = json!((low * 0.5).to_string());
            }
            Json(rows).into_response()
        }
    }
}

/// The fake series: bar `ts` of `interval` (deterministic, positive, consistent OHLC).
pub fn bar_at(interval: Interval, ts: DateTime<Utc>) -> Candle {
    let i = ts.timestamp() / interval.duration().num_seconds();
    let price = |k: i64| 100.0 + 10.0 * ((k as f64) / 7.0).sin() + (k % 1000) as f64 * 0.01;
    let (open, close) = (price(i - 1), price(i));
    let volume = 10.0 + (i % 7) as f64;
    Candle {
        ts,
        open,
        high: open.max(close) * 1.002,
        low: open.min(close) * 0.998,
        close,
        volume,
        amount: volume * close,
    }
}

/// Start of the bar of `interval` holding `t` (weeks from Monday).
pub fn bar_start(interval: Interval, t: DateTime<Utc>) -> DateTime<Utc> {
    interval.bar_start(t)
}

/// Bars from `first` (a bar start) through the bar open now, at most `n`.
fn bars_from(interval: Interval, first: DateTime<Utc>, n: usize) -> Vec<Candle> {
    let step = interval.duration();
    let now = Utc::now();
    let mut out = Vec::new();
    let mut ts = first;
    while ts <= now && out.len() < n {
        out.push(bar_at(interval, ts));
        ts += step;
    }
    out
}

/// The `n` most recent bars, the still-open one last.
fn latest(interval: Interval, n: usize) -> Vec<Candle> {
    let step = interval.duration();
    let current = bar_start(interval, Utc::now());
    bars_from(interval, current - step * (n as i32 - 1), n)
}

fn interval_from(code: &str) -> Option<Interval> {
    Some(match code {
        "1m" => Interval::M1,
        "5m" => Interval::M5,
        "15m" => Interval::M15,
        "30m" => Interval::M30,
        "1h" | "1H" => Interval::H1,
        "4h" | "4H" => Interval::H4,
        "1d" | "1Dutc" => Interval::D1,
        "1w" | "1Wutc" => Interval::W1,
        _ => return None,
    })
}

fn binance_error(code: i64, msg: &str) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({"code": code, "msg": msg}))).into_response()
}

async fn binance_klines(Query(q): Query<HashMap<String, String>>) -> Response {
    if !q.get("symbol").is_some_and(|s| BINANCE.contains(&s.as_str())) {
        return binance_error(-1121, "Invalid symbol.");
    }
    let Some(interval) = q.get("interval").and_then(|i| interval_from(i)) else {
        return binance_error(-1120, "Invalid interval.");
    };
    let limit = q.get("limit").and_then(|l| l.parse::<usize>().ok()).unwrap_or(500).min(1000);
    let bars = match q.get("startTime").and_then(|s| s.parse::<i64>().ok()) {
        Some(ms) => {
            let start = DateTime::from_timestamp_millis(ms).expect("startTime");
            let mut first = bar_start(interval, start);
            if first < start {
                first += interval.duration();
            }
            bars_from(interval, first, limit)
        }
        None => latest(interval, limit),
    };
    let step = interval.duration().num_milliseconds();
    let rows: Vec<Value> = bars
        .iter()
        .map(|c| {
            let t = c.ts.timestamp_millis();
            json!([
                t,
                c.open.to_string(),
                c.high.to_string(),
                c.low.to_string(),
                c.close.to_string(),
                c.volume.to_string(),
                t + step - 1,
                c.amount.to_string(),
                42,
                "0",
                "0",
                "0"
            ])
        })
        .collect();
    Json(Value::Array(rows)).into_response()
}

async fn binance_ticker(Query(q): Query<HashMap<String, String>>) -> Response {
    let Some(symbol) = q.get("symbol").filter(|s| BINANCE.contains(&s.as_str())) else {
        return binance_error(-1121, "Invalid symbol.");
    };
    let (last, open) = ticker_prices();
    Json(json!({
        "symbol": symbol, "priceChange": (last - open).to_string(),
        "priceChangePercent": format!("{:.3}", (last / open - 1.0) * 100.0),
        "lastPrice": last.to_string(), "openPrice": open.to_string(), "volume": "1234.5",
        "quoteVolume": (1234.5 * last).to_string(), "closeTime": Utc::now().timestamp_millis(), "count": 1000
    }))
    .into_response()
}

/// Last price (current hour's close) and the price 24 hours before.
pub fn ticker_prices() -> (f64, f64) {
    let now = bar_start(Interval::H1, Utc::now());
    (bar_at(Interval::H1, now).close, bar_at(Interval::H1, now - chrono::Duration::hours(24)).close)
}

fn okx_error(code: &str, msg: &str) -> Response {
    Json(json!({"code": code, "msg": msg, "data": []})).into_response()
}

fn okx_candles(q: &HashMap<String, String>, max: usize) -> Response {
    if !q.get("instId").is_some_and(|s| OKX.contains(&s.as_str())) {
        return okx_error("51001", "Instrument ID does not exist");
    }
    let Some(interval) = q.get("bar").and_then(|b| interval_from(b)) else {
        return okx_error("51000", "Parameter bar error");
    };
    let limit = q.get("limit").and_then(|l| l.parse::<usize>().ok()).unwrap_or(100).min(max);
    let ms = |k: &str| q.get(k).and_then(|v| v.parse::<i64>().ok());
    let (after, before) = (ms("after"), ms("before"));
    let step = interval.duration();
    // newest first: walk back from the newest bar the filters allow
    let mut ts = bar_start(interval, Utc::now());
    if let Some(after) = after {
        let bound = DateTime::from_timestamp_millis(after).expect("after");
        while ts >= bound {
            ts -= step;
        }
    }
    let current = bar_start(interval, Utc::now());
    let listed = q.get("instId").is_some_and(|i| i == "ETH-USDT").then(okx_eth_listing);
    let mut rows = Vec::new();
    while rows.len() < limit && before.is_none_or(|b| ts.timestamp_millis() > b) && listed.is_none_or(|l| ts >= l) {
        let c = bar_at(interval, ts);
        let confirm = if ts == current { "0" } else { "1" };
        rows.push(json!([
            ts.timestamp_millis().to_string(),
            c.open.to_string(),
            c.high.to_string(),
            c.low.to_string(),
            c.close.to_string(),
            c.volume.to_string(),
            c.amount.to_string(),
            c.amount.to_string(),
            confirm
        ]));
        ts -= step;
    }
    Json(json!({"code": "0", "msg": "", "data": rows})).into_response()
}

/// On the fake OKX, ETH-USDT has bars only from this time on (a listing date: earlier
/// history windows come back empty).
pub fn okx_eth_listing() -> DateTime<Utc> {
    bar_start(Interval::D1, Utc::now()) - chrono::Duration::hours(1500)
}

async fn okx_recent(Query(q): Query<HashMap<String, String>>) -> Response {
    okx_candles(&q, 300)
}

async fn okx_history(Query(q): Query<HashMap<String, String>>) -> Response {
    okx_candles(&q, 100)
}

async fn okx_ticker(Query(q): Query<HashMap<String, String>>) -> Response {
    let Some(inst) = q.get("instId").filter(|s| OKX.contains(&s.as_str())) else {
        return okx_error("51001", "Instrument ID does not exist");
    };
    let (last, open) = ticker_prices();
    Json(json!({"code": "0", "msg": "", "data": [{
        "instType": "SPOT", "instId": inst, "last": last.to_string(), "lastSz": "0.1",
        "open24h": open.to_string(), "high24h": (last.max(open) * 1.01).to_string(),
        "low24h": (last.min(open) * 0.99).to_string(), "vol24h": "2000", "volCcy24h": (2000.0 * last).to_string(),
        "ts": Utc::now().timestamp_millis().to_string()
    }]}))
    .into_response()
}

/// CoinGecko price at `t`: the fake hourly series' close of the hour holding `t`.
pub fn coingecko_price_at(t: DateTime<Utc>) -> f64 {
    bar_at(Interval::H1, bar_start(Interval::H1, t)).close
}

async fn coingecko_chart(Path(id): Path<String>, Query(q): Query<HashMap<String, String>>) -> Response {
    if !COINGECKO.contains(&id.as_str()) {
        return (StatusCode::NOT_FOUND, Json(json!({"error": "coin not found"}))).into_response();
    }
    let secs = |k: &str| q.get(k).and_then(|v| v.parse::<i64>().ok());
    let (Some(from), Some(to)) = (secs("from"), secs("to")) else {
        return (StatusCode::BAD_REQUEST, Json(json!({"error": "from and to are required"}))).into_response();
    };
    // 5-minutely within a day, hourly up to 90 days, daily beyond (CoinGecko's granularity)
    let span = to - from;
    let step = if span <= 86_400 {
        300
    } else if span <= 90 * 86_400 {
        3600
    } else {
        86_400
    };
    let mut t = from.div_euclid(step) * step + 60; // samples land a minute past the mark
    let (mut prices, mut volumes) = (Vec::new(), Vec::new());
    while t <= to {
        let at = DateTime::from_timestamp(t, 0).expect("time");
        prices.push(json!([t * 1000, coingecko_price_at(at)]));
        volumes.push(json!([t * 1000, 5.0e9]));
        t += step;
    }
    Json(json!({"prices": prices, "market_caps": [], "total_volumes": volumes})).into_response()
}

async fn coingecko_price(Query(q): Query<HashMap<String, String>>) -> Response {
    let mut out = serde_json::Map::new();
    let (last, open) = ticker_prices();
    for id in q.get("ids").map(|s| s.split(',').collect::<Vec<_>>()).unwrap_or_default() {
        if COINGECKO.contains(&id) {
            out.insert(
                id.to_owned(),
                json!({
                    "usd": last, "usd_24h_vol": 3.0e10, "usd_24h_change": (last / open - 1.0) * 100.0,
                    "last_updated_at": Utc::now().timestamp()
                }),
            );
        }
    }
    Json(Value::Object(out)).into_response()
}
