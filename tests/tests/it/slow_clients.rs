//! Slow and greedy clients cannot hold the API: headers must arrive within the header
//! timeout, a body that stops arriving is a 408, connections beyond the cap wait, and
//! every answer carries nosniff, no-store and frame protection.

use std::time::{Duration, Instant};

use kronos_tests::{http::TestApi, TestEnv};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

async fn connect(api: &TestApi) -> TcpStream {
    TcpStream::connect(api.base.trim_start_matches("http://")).await.unwrap()
}

/// Reads until the server closes the connection (or `limit` passes); returns the text.
async fn read_to_close(stream: &mut TcpStream, limit: Duration) -> Option<String> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = Instant::now() + limit;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return Some(String::from_utf8_lossy(&out).into_owned()),
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
            Err(_) => return None,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incomplete_headers_and_stalled_bodies_are_cut_off() {
    let mut env = TestEnv::new().await;
    env.config.api.header_read_timeout = Duration::from_secs(1);
    env.config.api.body_read_timeout = Duration::from_secs(1);
    let api = TestApi::start(&env, false).await;

    // headers that never end: the connection is closed after the header timeout
    let mut slow = connect(&api).await;
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: kronos\r\nX-Slow: ").await.unwrap();
    let started = Instant::now();
    let answer = read_to_close(&mut slow, Duration::from_secs(5)).await;
    assert!(answer.is_some(), "the connection was still open after 5 s");
    assert!(started.elapsed() < Duration::from_secs(4), "closed after {:?}", started.elapsed());

    // a body that stops arriving: 408 with the JSON error body
    let mut stalled = connect(&api).await;
    stalled
        .write_all(
            format!(
                "POST /v1/predictions HTTP/1.1\r\nHost: kronos\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"model\":",
                api.admin.key
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    let answer = read_to_close(&mut stalled, Duration::from_secs(5)).await.expect("an answer within 5 s");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("\"code\":\"request_timeout\""), "{answer}");

    // every answer is hardened
    let response = api.client.get(api.url("/v1/models")).send().await.unwrap();
    let headers = response.headers();
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(headers["x-frame-options"], "DENY");
    assert!(headers["content-security-policy"].to_str().unwrap().contains("frame-ancestors 'none'"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_cap_wait_for_a_free_slot() {
    let mut env = TestEnv::new().await;
    env.config.api.max_connections = 2;
    env.config.api.header_read_timeout = Duration::from_secs(30);
    let api = TestApi::start(&env, false).await;
    // two idle connections take both slots
    let mut idle = vec![connect(&api).await, connect(&api).await];
    for c in &mut idle {
        c.write_all(b"GET /healthz HTTP/1.1\r\nHost: kronos\r\n").await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut third = connect(&api).await;
    third.write_all(b"GET /healthz HTTP/1.1\r\nHost: kronos\r\nConnection: close\r\n\r\n").await.unwrap();
    assert!(read_to_close(&mut third, Duration::from_millis(700)).await.is_none(), "served beyond the cap");
    // a slot frees: the waiting connection is served
    drop(idle.pop());
    let answer = read_to_close(&mut third, Duration::from_secs(5)).await.expect("served once a slot freed");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}
