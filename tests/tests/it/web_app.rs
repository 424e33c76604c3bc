//! The web application's files at `/`: pages get `index.html` with the same-origin
//! content security policy, hashed build files are cached for a year and sent gzipped
//! to clients that accept it, and the API's own routes and JSON 404s are untouched.

use kronos_tests::{http::TestApi, TestEnv};

fn build(dir: &std::path::Path) {
    std::fs::create_dir_all(dir.join("_app")).expect("dir");
    std::fs::write(dir.join("index.html"), "<!doctype html><title>Kronos</title>").expect("index");
    std::fs::write(dir.join("_app/index-abc123.js"), "console.log('kronos')").expect("js");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, b"console.log('kronos')").expect("gzip");
    std::fs::write(dir.join("_app/index-abc123.js.gz"), gz.finish().expect("gzip")).expect("js.gz");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_get_the_application_and_build_files_are_cached() {
    let mut env = TestEnv::new().await;
    let dir = env.scratch.join("web");
    build(&dir);
    env.config.api.web_dir = Some(dir);
    let api = TestApi::start(&env, false).await;
    let client = reqwest::Client::builder().no_gzip().build().expect("client");
    let get = |path: &str, gzip: bool| {
        let mut request = client.get(api.url(path));
        if gzip {
            request = request.header("accept-encoding", "gzip");
        }
        request.send()
    };

    for page in ["/", "/assets/AAPL", "/assets/BRK.B", "/history", "/admin/users"] {
        let r = get(page, false).await.expect("request");
        assert_eq!(r.status(), 200, "{page}");
        assert_eq!(r.headers()["cache-control"], "no-cache", "{page}");
        let csp = r.headers()["content-security-policy"].to_str().expect("csp").to_owned();
        assert!(csp.contains("default-src 'self'") && csp.contains("script-src 'self'"), "{page}: {csp}");
        assert!(!csp.contains("http"), "no remote origin: {csp}");
        assert!(r.text().await.expect("body").contains("<title>Kronos</title>"), "{page}");
    }

    let js = get("/_app/index-abc123.js", true).await.expect("request");
    assert_eq!(js.status(), 200);
    assert_eq!(js.headers()["cache-control"], "public, max-age=31536000, immutable");
    assert_eq!(js.headers()["content-encoding"], "gzip");
    let plain = get("/_app/index-abc123.js", false).await.expect("request");
    assert!(plain.headers().get("content-encoding").is_none());
    assert_eq!(plain.text().await.expect("body"), "console.log('kronos')");

    // a missing build file, an unknown API route and a write to a page are JSON 404s
    for (method, path) in [("GET", "/_app/missing.js"), ("GET", "/v1/nothing-here"), ("POST", "/history")] {
        let (status, body) = api.send(method, path, None).await;
        assert_eq!(status, 404, "{method} {path}: {body}");
        assert!(body["error"]["message"].is_string(), "{method} {path}: {body}");
    }
    // the API's own pages and documents are still theirs
    let (status, _) = api.get("/openapi.json").await;
    assert_eq!(status, 200);
    let verify = get("/verify-email?token=abc", false).await.expect("request");
    assert!(verify.text().await.expect("body").contains("Verify my address"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_build_the_root_is_a_json_404() {
    let env = TestEnv::new().await;
    let api = TestApi::start(&env, false).await;
    let (status, body) = api.get("/").await;
    assert_eq!(status, 404, "{body}");
}
