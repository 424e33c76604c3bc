//! The market-data endpoints: catalogue, chart candles, indicators — and their 4xx
//! answers to bad input.

use kronos_db::{assets, candles};
use kronos_tests::{http::TestApi, sample, TestEnv};
use kronos_types::Interval;

async fn seeded() -> (TestEnv, TestApi, Vec<kronos_types::Candle>) {
    let env = TestEnv::new().await;
    let api = TestApi::start(&env, false).await;
    let series = sample::candles(300);
    {
        let mut conn = api.state.pool.get().await.unwrap();
        let id = assets::ensure(&mut conn, "DEMO", "stock").await.unwrap();
        candles::upsert(&mut conn, id, Interval::D1, &series, "test").await.unwrap();
        assets::ensure(&mut conn, "BTCUSDT", "crypto").await.unwrap();
    }
    (env, api, series)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chart_candles_page_backwards() {
    let (_env, api, series) = seeded().await;
    let (status, body) = api.get("/v1/assets/demo/candles?interval=1d&limit=100").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["symbol"], "DEMO");
    let bars = body["candles"].as_array().unwrap();
    assert_eq!(bars.len(), 100);
    assert_eq!(body["more_before"], true);
    let last = &series[299];
    assert_eq!(bars[99]["time"], last.ts.timestamp());
    // serde_json parses floats to within one ulp
    assert!((bars[99]["close"].as_f64().unwrap() - last.close).abs() < 1e-9);
    assert!(bars.windows(2).all(|w| w[0]["time"].as_i64() < w[1]["time"].as_i64()));

    // the previous page, then a bounded window
    let to = bars[0]["time"].as_i64().unwrap() - 1;
    let (_, page) = api.get(&format!("/v1/assets/DEMO/candles?interval=1d&limit=1000&to={to}")).await;
    assert_eq!(page["candles"].as_array().unwrap().len(), 200);
    assert_eq!(page["more_before"], false);
    let (_, window) = api.get("/v1/assets/DEMO/candles?interval=1d&from=2024-01-10&to=2024-01-19T00:00:00Z").await;
    assert_eq!(window["candles"].as_array().unwrap().len(), 10);
    let (_, empty) = api.get("/v1/assets/DEMO/candles?interval=1h").await;
    assert_eq!(empty["candles"].as_array().unwrap().len(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn indicators_align_with_candles() {
    let (_env, api, series) = seeded().await;
    let (status, body) =
        api.get("/v1/assets/DEMO/indicators?interval=1d&names=sma_5,rsi_14,macd,bbands_20&limit=50").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["time"].as_array().unwrap().len(), 50);
    assert_eq!(body["time"][49], series[299].ts.timestamp());
    let sma = body["series"]["sma_5"].as_array().unwrap();
    let want: f64 = series[295..300].iter().map(|c| c.close).sum::<f64>() / 5.0;
    assert!((sma[49].as_f64().unwrap() - want).abs() < 1e-9);
    for name in ["rsi_14", "macd", "macd_signal", "macd_hist", "bb_upper_20", "bb_middle_20", "bb_lower_20"] {
        let values = body["series"][name].as_array().unwrap();
        assert_eq!(values.len(), 50, "{name}");
        assert!(values.iter().all(|v| v.is_f64()), "{name} has warm-up gaps after 250 bars of history");
    }
    // the first bars of the history have no value yet
    let (_, early) = api.get("/v1/assets/DEMO/indicators?interval=1d&names=sma_5&to=2024-01-03").await;
    assert_eq!(early["series"]["sma_5"].as_array().unwrap().iter().filter(|v| v.is_null()).count(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_catalogue_lists_assets() {
    let (_env, api, _) = seeded().await;
    let (_, all) = api.get("/v1/assets").await;
    assert_eq!(all["assets"].as_array().unwrap().len(), 2);
    let (_, crypto) = api.get("/v1/assets?class=crypto").await;
    let listed = crypto["assets"].as_array().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["symbol"], "BTCUSDT");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_clear_errors() {
    let (_env, api, _) = seeded().await;
    let cases = [
        ("/v1/assets?class=bond", 422, Some("class")),
        ("/v1/assets/NOPE/candles?interval=1d", 404, None),
        ("/v1/assets/DEMO/candles", 422, Some("interval")),
        ("/v1/assets/DEMO/candles?interval=7m", 422, Some("interval")),
        ("/v1/assets/DEMO/candles?interval=1d&from=2024-02-01&to=2024-01-01", 422, Some("from")),
        ("/v1/assets/DEMO/candles?interval=1d&from=yesterday", 422, Some("from")),
        ("/v1/assets/DEMO/candles?interval=1d&to=2024-13-45", 422, Some("to")),
        ("/v1/assets/DEMO/candles?interval=1d&limit=0", 422, Some("limit")),
        ("/v1/assets/DEMO/candles?interval=1d&limit=5001", 422, Some("limit")),
        ("/v1/assets/DEMO/candles?interval=1d&limit=ten", 422, Some("limit")),
        ("/v1/assets/DEMO/indicators?interval=1d", 422, Some("names")),
        ("/v1/assets/DEMO/indicators?interval=1d&names=sma_20,wma_3", 422, Some("names")),
        ("/v1/assets/DEMO/indicators?interval=1d&names=sma_0", 422, Some("names")),
        ("/v1/assets/NOPE/indicators?interval=1d&names=sma_5", 404, None),
        ("/v1/assets/DEMO/indicators?interval=1d&names=sma_5&limit=9999", 422, Some("limit")),
    ];
    for (path, status, field) in cases {
        let (got, body) = api.get(path).await;
        assert_eq!(got, status, "{path}: {body}");
        assert!(body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{path}: {body}");
        if let Some(field) = field {
            assert_eq!(body["error"]["field"], field, "{path}: {body}");
        }
    }
}
