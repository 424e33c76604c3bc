//! The asset catalogue: the seed, filters, groups, per-model pools, deactivation —
//! through the CLI and the API, with 4xx answers naming the field for bad input.

use kronos_db::{assets, candles, models, models::NewModel};
use kronos_tests::{http::TestApi, process::run_to_end, sample, TestEnv};
use kronos_types::Interval;
use serde_json::{json, Value};

fn symbols(body: &Value) -> Vec<String> {
    body["assets"].as_array().unwrap().iter().map(|a| a["symbol"].as_str().unwrap().to_owned()).collect()
}

async fn seeded() -> (TestEnv, TestApi) {
    let env = TestEnv::new().await;
    let out = run_to_end("kronos", &env, &["assets", "seed"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("groups"));
    // seeding twice changes nothing
    assert!(run_to_end("kronos", &env, &["assets", "seed"]).status.success());
    let api = TestApi::start(&env, false).await;
    (env, api)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seed_catalogue_lists_and_filters() {
    let (_env, api) = seeded().await;
    let (status, all) = api.get("/v1/assets").await;
    assert_eq!(status, 200);
    let all_symbols = symbols(&all);
    for s in ["BTCUSDT", "ETHUSDT", "SOLUSDT", "AAPL", "MSFT", "SPX", "IXIC", "EURUSD"] {
        assert!(all_symbols.contains(&s.to_owned()), "{s} seeded");
    }
    let btc = all["assets"].as_array().unwrap().iter().find(|a| a["symbol"] == "BTCUSDT").unwrap();
    assert_eq!(btc["binance_symbol"], "BTCUSDT");
    assert_eq!(btc["okx_symbol"], "BTC-USDT");
    assert_eq!(btc["coingecko_id"], "bitcoin");
    assert_eq!(btc["category"], "layer1");
    assert_eq!(btc["market_cap_rank"], 1);

    let (_, crypto) = api.get("/v1/assets?class=crypto").await;
    assert!(crypto["assets"].as_array().unwrap().iter().all(|a| a["class"] == "crypto"));
    let (_, meme) = api.get("/v1/assets?category=meme").await;
    assert_eq!(symbols(&meme), ["DOGEUSDT", "PEPEUSDT", "SHIBUSDT", "WIFUSDT"]);
    // group members come in group order (Top10 by market-cap rank)
    let (_, top) = api.get("/v1/assets?group=top10").await;
    let top = symbols(&top);
    assert_eq!(top.len(), 10);
    assert_eq!(&top[..2], ["BTCUSDT", "ETHUSDT"]);

    let (_, groups) = api.get("/v1/asset-groups").await;
    let slugs: Vec<&str> = groups["groups"].as_array().unwrap().iter().map(|g| g["slug"].as_str().unwrap()).collect();
    for slug in ["top10", "defi", "layer1", "layer2", "meme"] {
        assert!(slugs.contains(&slug), "{slug}");
    }
    let (status, defi) = api.get("/v1/asset-groups/defi").await;
    assert_eq!(status, 200);
    let members: Vec<&str> =
        defi["members"].as_array().unwrap().iter().map(|m| m["symbol"].as_str().unwrap()).collect();
    assert_eq!(members, ["UNIUSDT", "AAVEUSDT", "LINKUSDT", "MKRUSDT"]);
    assert_eq!(defi["members"][0]["position"], 1);

    // bad input
    for (path, field) in [
        ("/v1/assets?class=bond", "class"),
        ("/v1/assets?active=maybe", "active"),
        ("/v1/assets?group=Not%20A%20Slug", "group"),
    ] {
        let (status, body) = api.get(path).await;
        assert_eq!(status, 422, "{path}: {body}");
        assert_eq!(body["error"]["field"], field, "{path}");
    }
    assert_eq!(api.get("/v1/asset-groups/nope").await.0, 404);
    assert_eq!(api.get("/v1/assets/NOPE").await.0, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assets_and_groups_are_edited_and_deactivation_keeps_history() {
    let (env, api) = seeded().await;
    // create, then update one field (others keep their values)
    let spec = json!({"symbol": "arbusdt2", "name": "Test", "class": "crypto", "binance_symbol": "ARBUSDT",
                      "okx_symbol": "ARB-USDT", "category": "layer2"});
    let (status, body) = api.post_json("/v1/assets", &spec).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["symbol"], "ARBUSDT2");
    let (_, body) =
        api.post_json("/v1/assets", &json!({"symbol": "ARBUSDT2", "class": "crypto", "market_cap_rank": 61})).await;
    assert_eq!(body["okx_symbol"], "ARB-USDT");
    assert_eq!(body["market_cap_rank"], 61);
    for (body, field) in [
        (json!({"symbol": "X Y", "class": "crypto"}), "symbol"),
        (json!({"symbol": "XY", "class": "bond"}), "class"),
        (json!({"symbol": "XY", "class": "crypto", "okx_symbol": "XYUSDT"}), "okx_symbol"),
        (json!({"symbol": "XY", "class": "crypto", "coingecko_id": "Bit Coin"}), "coingecko_id"),
        (json!({"symbol": "XY", "class": "crypto", "market_cap_rank": 0}), "market_cap_rank"),
        (json!({"symbol": "XY", "class": "crypto", "colour": "red"}), "colour"),
        (json!({"class": "crypto"}), "symbol"),
    ] {
        let (status, answer) = api.post_json("/v1/assets", &body).await;
        assert_eq!(status, 422, "{body}: {answer}");
        assert_eq!(answer["error"]["field"], field, "{body}: {answer}");
    }

    // groups: replace in order, append, refuse unknown members
    let (status, group) = api
        .send("PUT", "/v1/asset-groups/majors", Some(&json!({"name": "Majors", "members": ["ethusdt", "BTCUSDT"]})))
        .await;
    assert_eq!(status, 200, "{group}");
    assert_eq!(group["members"][0]["symbol"], "ETHUSDT");
    let (_, group) =
        api.post_json("/v1/asset-groups/majors/members", &json!({"symbols": ["SOLUSDT", "BTCUSDT"]})).await;
    let members: Vec<&str> =
        group["members"].as_array().unwrap().iter().map(|m| m["symbol"].as_str().unwrap()).collect();
    assert_eq!(members, ["ETHUSDT", "BTCUSDT", "SOLUSDT"]);
    let (status, err) =
        api.send("PUT", "/v1/asset-groups/majors", Some(&json!({"name": "Majors", "members": ["NOPE"]}))).await;
    assert_eq!((status, err["error"]["field"].as_str()), (422, Some("members")), "{err}");
    let (_, still) = api.get("/v1/asset-groups/majors").await;
    assert_eq!(still["members"].as_array().unwrap().len(), 3, "a refused edit changes nothing");
    let (status, err) = api.send("PUT", "/v1/asset-groups/Bad_Slug", Some(&json!({"name": "x", "members": []}))).await;
    assert_eq!((status, err["error"]["field"].as_str()), (422, Some("slug")));
    assert_eq!(api.post_json("/v1/asset-groups/nope/members", &json!({"symbols": ["BTCUSDT"]})).await.0, 404);

    // deactivation keeps candles and predictions' history, reactivation restores
    let series = sample::candles(50);
    {
        let mut conn = api.state.pool.get().await.unwrap();
        let btc = assets::find_by_symbol(&mut conn, "BTCUSDT").await.unwrap().unwrap();
        candles::upsert(&mut conn, btc.id, Interval::D1, &series, "test").await.unwrap();
    }
    let (status, body) = api.send("PATCH", "/v1/assets/btcusdt", Some(&json!({"active": false}))).await;
    assert_eq!((status, body["active"].as_bool()), (200, Some(false)), "{body}");
    let (_, inactive) = api.get("/v1/assets?active=false").await;
    assert_eq!(symbols(&inactive), ["BTCUSDT"]);
    let (_, bars) = api.get("/v1/assets/BTCUSDT/candles?interval=1d").await;
    assert_eq!(bars["candles"].as_array().unwrap().len(), 50, "history kept");
    assert_eq!(api.send("PATCH", "/v1/assets/NOPE", Some(&json!({"active": false}))).await.0, 404);
    let (status, err) = api.send("PATCH", "/v1/assets/BTCUSDT", Some(&json!({"active": "no"}))).await;
    assert_eq!((status, err["error"]["field"].as_str()), (422, Some("active")), "{err}");
    // the CLI does the same
    let out = run_to_end("kronos", &env, &["assets", "activate", "BTCUSDT"]);
    assert!(out.status.success());
    let out = run_to_end("kronos", &env, &["assets", "deactivate", "NOPE"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown symbol"));
    let out = run_to_end("kronos", &env, &["assets", "add", "--symbol", "ZZ", "--class", "bond"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("class"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn model_pools_take_symbols_and_whole_groups() {
    let (env, api) = seeded().await;
    {
        let mut conn = api.state.pool.get().await.unwrap();
        models::insert(
            &mut conn,
            &NewModel {
                name: "kronos-test".into(),
                source: kronos_types::registry::ModelSource::Init,
                storage_prefix: "models/test".into(),
                tokenizer_config: json!({}),
                predictor_config: json!({}),
                max_context: 512,
                parameters: 1,
                weights_sha256: "00".into(),
                origin: None,
            },
        )
        .await
        .unwrap();
    }
    // an inactive member of a group stays out
    api.send("PATCH", "/v1/assets/MKRUSDT", Some(&json!({"active": false}))).await;
    let (status, pool) = api.post_json("/v1/models/kronos-test/assets", &json!({"group": "defi", "weight": 2.0})).await;
    assert_eq!(status, 201, "{pool}");
    assert_eq!(pool["added"], 3);
    assert_eq!(symbols(&pool), ["AAVEUSDT", "LINKUSDT", "UNIUSDT"]);
    assert!(pool["assets"].as_array().unwrap().iter().all(|a| a["weight"] == 2.0 && a["enabled"] == true));
    // adding again keeps settings; the model may be named by id too
    let (_, again) = api.post_json("/v1/models/kronos-test/assets", &json!({"symbols": ["uniusdt", "BTCUSDT"]})).await;
    assert_eq!(again["added"], 1);
    let id = again["model_id"].as_i64().unwrap();
    let (status, pool) = api
        .send("PATCH", &format!("/v1/models/{id}/assets/UNIUSDT"), Some(&json!({"enabled": false, "weight": 5})))
        .await;
    assert_eq!(status, 200, "{pool}");
    let uni = pool["assets"].as_array().unwrap().iter().find(|a| a["symbol"] == "UNIUSDT").unwrap().clone();
    assert_eq!((uni["enabled"].as_bool(), uni["weight"].as_f64()), (Some(false), Some(5.0)));
    assert_eq!(api.send("DELETE", "/v1/models/kronos-test/assets/BTCUSDT", None).await.0, 200);
    assert_eq!(api.send("DELETE", "/v1/models/kronos-test/assets/BTCUSDT", None).await.0, 404);

    for (body, field) in [
        (json!({"group": "defi", "weight": 0}), "weight"),
        (json!({"group": "defi", "weight": 1e6}), "weight"),
        (json!({"group": "nope"}), "group"),
        (json!({"symbols": ["NOPE"]}), "symbols"),
        (json!({"symbols": ["MKRUSDT"]}), "symbols"),
        (json!({"symbols": []}), "symbols"),
        (json!({"symbols": ["BTCUSDT"], "group": "defi"}), "body"),
        (json!({}), "body"),
    ] {
        let (status, answer) = api.post_json("/v1/models/kronos-test/assets", &body).await;
        assert_eq!(status, 422, "{body}: {answer}");
        assert_eq!(answer["error"]["field"], field, "{body}: {answer}");
    }
    assert_eq!(api.get("/v1/models/nope/assets").await.0, 404);
    let (status, _) = api.send("PATCH", "/v1/models/kronos-test/assets/AAVEUSDT", Some(&json!({}))).await;
    assert_eq!(status, 422);

    // the CLI sees and edits the same pool
    let out = run_to_end("kronos", &env, &["pools", "add", "kronos-test", "--group", "layer2"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("3 assets added"));
    let out = run_to_end("kronos", &env, &["pools", "show", "kronos-test"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("ARBUSDT") && text.contains("UNIUSDT") && text.contains("disabled"), "{text}");
    let out = run_to_end("kronos", &env, &["pools", "show", "nope"]);
    assert!(!out.status.success());
}
