//! A cancelled batch keeps what finished; a worker killed mid-batch loses no series.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_cancelled_batch_keeps_what_finished_and_a_killed_worker_loses_nothing() {
    let env = TestEnv::new().await;
    let api = TestApi::start(&env, true).await;
    let one_per_chunk = [("KRONOS_BATCH_CHUNK_SERIES", "1".to_owned())];
    let mut first = worker(&env, &one_per_chunk);
    let owner = enterprise(&env, "cancel").await;
    let client = owner.client();
    let all: Vec<BatchSeries> = (0..600u64).map(|i| series(&format!("c{i}"), 20, i)).collect();
    let (status, created) =
        upload_parquet(&client, &api, "model=drift&interval=1d&horizon=5", batch_files::write_chunk(&all).unwrap())
            .await;
    assert_eq!(status, 202);
    let id = created["id"].as_str().unwrap().to_owned();
    wait_batch(&client, &api, &id, Duration::from_secs(60), |b| b["series"]["done"].as_i64() >= Some(1)).await;
    let response = client.post(api.url(&format!("/v1/batches/{id}/cancel"))).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let batch = wait_batch(&client, &api, &id, Duration::from_secs(60), ended).await;
    assert_eq!(batch["status"], "cancelled", "{batch}");
    let done = batch["series"]["done"].as_i64().unwrap();
    assert!((1..600).contains(&done), "{batch}");
    let (rows, errors) = results(&client, &api, &id).await;
    let grouped = by_series(&rows);
    assert_eq!(grouped.len() as i64, done);
    assert!(grouped.values().all(|r| r.len() == 5));
    assert_eq!(errors.len() as i64, 600 - done);
    assert!(errors.iter().all(|e| e.reason.contains("cancelled") && !grouped.contains_key(e.series_id.as_str())));

    // a worker killed mid-batch: its chunks go to the next worker, every series once
    let all: Vec<BatchSeries> = (0..400u64).map(|i| series(&format!("k{i}"), 20, i)).collect();
    let (status, created) =
        upload_parquet(&client, &api, "model=drift&interval=1d&horizon=5", batch_files::write_chunk(&all).unwrap())
            .await;
    assert_eq!(status, 202);
    let id = created["id"].as_str().unwrap().to_owned();
    wait_batch(&client, &api, &id, Duration::from_secs(60), |b| b["series"]["done"].as_i64() >= Some(20)).await;
    first.kill9();
    let mid = wait_batch(&client, &api, &id, Duration::from_secs(5), |_| true).await;
    assert!(mid["series"]["done"].as_i64() < Some(400), "the batch ended before the kill: {mid}");
    let _second = worker(&env, &one_per_chunk);
    let batch = wait_batch(&client, &api, &id, Duration::from_secs(120), ended).await;
    assert_eq!(batch["status"], "succeeded", "{batch}");
    let (rows, errors) = results(&client, &api, &id).await;
    assert!(errors.is_empty(), "{errors:?}");
    let grouped = by_series(&rows);
    assert_eq!(grouped.len(), 400);
    assert!(grouped.values().all(|r| r.len() == 5), "every series exactly once");
}
