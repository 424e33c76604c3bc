//! Kronos batches equal single predictions with the same seed; uploads also come as
//! gzip CSV in a multipart form; results download as CSV, and from S3 streamed or as a
//! presigned URL.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kronos_batches_equal_single_predictions_and_uploads_take_gzip_csv() {
    let env = TestEnv::new().await;
    kronos_tests::fixtures::import_kronos_tiny(&env, "tiny");
    let api = TestApi::start(&env, true).await;
    let cache = env.scratch.join("model-cache");
    let _worker = worker(&env, &[("KRONOS_MODEL_CACHE", cache.display().to_string())]);
    let owner = enterprise(&env, "kronos").await;
    let client = owner.client();

    let rows = fixture_candles(160);
    let mut inline: Vec<Value> = [90usize, 120, 160, 100]
        .iter()
        .enumerate()
        .map(|(i, n)| json!({"id": format!("k{i}"), "candles": rows[..*n]}))
        .collect();
    let mut broken = rows[..50].to_vec();
    broken[10].low = broken[10].high * 2.0;
    inline.push(json!({"id": "broken", "candles": broken}));
    let settings = json!({"model": "tiny", "interval": "5m", "horizon": 4, "samples": 3, "seed": 11,
                          "calendar": "always_open"});
    let mut body = settings.clone();
    body["series"] = json!(inline);
    let response = client.post(api.url("/v1/batches")).json(&body).send().await.unwrap();
    assert_eq!(response.status(), 202);
    let created: Value = response.json().await.unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    let batch = wait_batch(&client, &api, &id, Duration::from_secs(120), ended).await;
    assert_eq!(batch["status"], "succeeded", "{batch}");
    assert_eq!(batch["input_format"], "json");
    let (rows_out, errors) = results(&client, &api, &id).await;
    assert_eq!(errors.len(), 1);
    assert_eq!((errors[0].series_id.as_str(), errors[0].row), ("broken", Some(11)));
    let grouped = by_series(&rows_out);
    for (i, n) in [(0usize, 90usize), (2, 160)] {
        let mut single = settings.clone();
        single["candles"] = json!(rows[..n]);
        let response = client.post(api.url("/v1/predictions")).json(&single).send().await.unwrap();
        assert_eq!(response.status(), 202);
        let job: Value = response.json().await.unwrap();
        let job_id = job["job"]["id"].as_str().unwrap().to_owned();
        let started = Instant::now();
        let prediction = loop {
            let (status, p) = get(&client, &api, &format!("/v1/predictions/{job_id}")).await;
            if status == 200 {
                break p;
            }
            assert!(started.elapsed() < Duration::from_secs(60));
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        assert_equal_to_single(&grouped[format!("k{i}").as_str()], &prediction);
    }

    // a gzip CSV as a multipart upload, results as CSV
    let mut csv = "series_id,ts,open,high,low,close,volume\n".to_owned();
    for s in [series("a", 20, 1), series("b", 25, 2), series("c", 3, 3)] {
        for c in &s.candles {
            csv.push_str(&format!(
                "{},{},{},{},{},{},{}\n",
                s.id,
                kronos_types::rfc3339(c.ts),
                c.open,
                c.high,
                c.low,
                c.close,
                c.volume
            ));
        }
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, csv.as_bytes()).unwrap();
    let gz = gz.finish().unwrap();
    let form = reqwest::multipart::Form::new()
        .text("settings", json!({"model": "naive", "interval": "1d", "horizon": 3}).to_string())
        .part(
            "file",
            reqwest::multipart::Part::bytes(gz).file_name("series.csv.gz").mime_str("application/gzip").unwrap(),
        );
    let response = client.post(api.url("/v1/batches")).multipart(form).send().await.unwrap();
    assert_eq!(response.status(), 202);
    let created: Value = response.json().await.unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    let batch = wait_batch(&client, &api, &id, Duration::from_secs(60), ended).await;
    assert_eq!(batch["status"], "succeeded", "{batch}");
    assert_eq!((batch["series"]["total"].as_i64(), batch["series"]["invalid"].as_i64()), (Some(2), Some(1)));
    let (status, text) = download(&client, &api, &id, "?format=csv&table=errors").await;
    assert_eq!(status, 200);
    let text = String::from_utf8(text).unwrap();
    assert!(text.starts_with("series_id,row,reason\nc,,3 bars;"), "{text}");

    // malformed uploads are refused, and a file that is no Parquet fails its batch
    let form = reqwest::multipart::Form::new().text("settings", "{\"model\": 3}");
    let response = client.post(api.url("/v1/batches")).multipart(form).send().await.unwrap();
    assert_eq!(response.status(), 422);
    let response =
        client.post(api.url("/v1/batches")).header("content-type", "image/png").body("x").send().await.unwrap();
    assert_eq!(response.status(), 415);
    let (status, created) =
        upload_parquet(&client, &api, "model=naive&interval=1d&horizon=3", b"not parquet".to_vec()).await;
    assert_eq!(status, 202);
    let failed = wait_batch(&client, &api, created["id"].as_str().unwrap(), Duration::from_secs(60), ended).await;
    assert_eq!(failed["status"], "failed");
    assert!(failed["error"].as_str().unwrap().contains("Parquet"), "{failed}");
    let (status, _) = download(&client, &api, created["id"].as_str().unwrap(), "").await;
    assert_eq!(status, 409);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn results_on_s3_are_streamed_or_presigned() {
    let env = TestEnv::with_store(kronos_tests::StoreKind::S3).await;
    let api = TestApi::start(&env, true).await;
    let _worker = worker(&env, &[]);
    let owner = enterprise(&env, "s3").await;
    let client = owner.client();
    let body = json!({"model": "drift", "interval": "1d", "horizon": 4,
                      "series": [{"id": "a", "candles": series("a", 30, 1).candles},
                                 {"id": "b", "candles": series("b", 30, 2).candles}]});
    let response = client.post(api.url("/v1/batches")).json(&body).send().await.unwrap();
    assert_eq!(response.status(), 202);
    let created: Value = response.json().await.unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    let batch = wait_batch(&client, &api, &id, Duration::from_secs(60), ended).await;
    assert_eq!(batch["status"], "succeeded", "{batch}");
    let (status, streamed) = download(&client, &api, &id, "").await;
    assert_eq!(status, 200);
    assert_eq!(batch_files::read_results(streamed.clone()).unwrap().len(), 8);
    let (status, presigned) = get(&client, &api, &format!("/v1/batches/{id}/results?presign=true")).await;
    assert_eq!(status, 200, "{presigned}");
    let url = presigned["url"].as_str().unwrap();
    // no credentials of ours: the URL carries its own signature
    let fetched = reqwest::get(url).await.unwrap();
    assert_eq!(fetched.status(), 200, "{url}");
    assert_eq!(fetched.bytes().await.unwrap().to_vec(), streamed);
    let (status, error) = get(&client, &api, &format!("/v1/batches/{id}/results?presign=maybe")).await;
    assert_eq!((status, error["error"]["field"].as_str()), (422, Some("presign")));
}
