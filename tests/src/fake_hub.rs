//! A local HTTP server that answers like the Hugging Face Hub's documented file API:
//! `GET /api/models/{repo}/revision/{revision}[?blobs=true]` (the commit and its files,
//! with Git blob ids, sizes and LFS SHA-256s), `GET /{repo}/resolve/{revision}/{file}`
//! (small files directly with their blob id as `ETag`; LFS files through a `302` to a
//! CDN on another host name with `X-Linked-Etag`/`X-Linked-Size`), `Range` requests (`206`,
//! `Content-Range`, `416`), errors with `X-Error-Code`/`X-Error-Message` and a JSON
//! `error` body, gated repositories that want a bearer token, and scripted faults on
//! LFS downloads (a connection dropped mid-file, a status code, a corrupted byte).

use std::{
    collections::{HashMap, VecDeque},
    path::Path,
    sync::{Arc, Mutex},
};

use axum::{
    body::Body,
    extract::{Path as UrlPath, Query, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
    Router,
};
use bytes::Bytes;
use serde_json::{json, Value};
use sha1::Digest as _;

/// What the CDN does with the next request for an LFS file.
#[derive(Debug, Clone)]
pub enum Fault {
    /// Send this many bytes of the answer, then drop the connection.
    DropAfter(usize),
    /// Answer with this status code.
    Status(u16),
    /// Answer normally with one byte changed.
    Corrupt,
}

/// A request the server saw.
#[derive(Debug, Clone)]
pub struct Seen {
    /// Path (and query).
    pub path: String,
    /// The `Range` header.
    pub range: Option<String>,
    /// The `Authorization` header.
    pub authorization: Option<String>,
}

struct File {
    name: String,
    bytes: Bytes,
    blob_id: String,
    sha256: Option<String>,
}

struct Repo {
    id: String,
    commit: String,
    files: Vec<File>,
    token: Option<String>,
}

#[derive(Default)]
struct Shared {
    repos: HashMap<String, Repo>,
    lfs: HashMap<String, Bytes>,
    faults: HashMap<String, VecDeque<Fault>>,
    seen: Vec<Seen>,
    /// The CDN's address: the same server under another host name (`localhost`), as
    /// the Hub's CDN is another host, so a client must not send it the token.
    cdn: String,
}

/// A running fake Hub.
#[derive(Clone)]
pub struct FakeHub {
    /// Base URL (the endpoint), e.g. `http://127.0.0.1:40123`.
    pub url: String,
    shared: Arc<Mutex<Shared>>,
}

fn git_blob_id(bytes: &[u8]) -> String {
    let mut hasher = sha1::Sha1::new();
    hasher.update(format!("blob {}\0", bytes.len()).as_bytes());
    hasher.update(bytes);
    hex::encode(hasher.finalize())
}

impl FakeHub {
    /// Starts a server on a free loopback port.
    pub async fn start() -> Self {
        let shared = Arc::new(Mutex::new(Shared::default()));
        let app = Router::new()
            .route("/api/models/{namespace}/{name}/revision/{revision}", get(listing))
            .route("/{namespace}/{name}/resolve/{revision}/{*file}", get(resolve))
            .route("/cdn-lfs/{sha256}", get(cdn))
            .layer(axum::middleware::from_fn_with_state(shared.clone(), record))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind fake hub");
        let port = listener.local_addr().expect("addr").port();
        let url = format!("http://127.0.0.1:{port}");
        shared.lock().expect("lock").cdn = format!("http://localhost:{port}");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { url, shared }
    }

    /// Publishes a repository (`main` names its one commit) with these files; files
    /// ending in `.safetensors` are kept in LFS. A `token` makes it gated. Returns the
    /// commit id.
    pub fn publish(&self, id: &str, files: Vec<(&str, Vec<u8>)>, token: Option<&str>) -> String {
        let mut s = self.shared.lock().expect("lock");
        let mut commit_hasher = sha1::Sha1::new();
        commit_hasher.update(id.as_bytes());
        let files: Vec<File> = files
            .into_iter()
            .map(|(name, bytes)| {
                let blob_id = git_blob_id(&bytes);
                commit_hasher.update(blob_id.as_bytes());
                let sha256 = name.ends_with(".safetensors").then(|| hex::encode(sha2::Sha256::digest(&bytes)));
                let bytes = Bytes::from(bytes);
                if let Some(sha) = &sha256 {
                    s.lfs.insert(sha.clone(), bytes.clone());
                }
                File { name: name.to_owned(), bytes, blob_id, sha256 }
            })
            .collect();
        let commit = hex::encode(commit_hasher.finalize());
        let repo = Repo { id: id.to_owned(), commit: commit.clone(), files, token: token.map(str::to_owned) };
        s.repos.insert(id.to_ascii_lowercase(), repo);
        commit
    }

    /// Publishes a Kronos weight directory (`config.json`, `model.safetensors`) with
    /// the `.gitattributes` and `README.md` a Hub repository has.
    pub fn publish_dir(&self, id: &str, dir: &Path, token: Option<&str>) -> String {
        let read = |name: &str| std::fs::read(dir.join(name)).expect("read weights");
        let files = vec![
            (".gitattributes", b"*.safetensors filter=lfs diff=lfs merge=lfs -text\n".to_vec()),
            ("README.md", format!("# {id}\n").into_bytes()),
            ("config.json", read("config.json")),
            ("model.safetensors", read("model.safetensors")),
        ];
        self.publish(id, files, token)
    }

    /// Scripts what the CDN does with the next requests for an LFS file of a repository.
    pub fn fault(&self, repo: &str, file: &str, faults: Vec<Fault>) {
        let mut s = self.shared.lock().expect("lock");
        let sha = s
            .repos
            .get(&repo.to_ascii_lowercase())
            .and_then(|r| r.files.iter().find(|f| f.name == file))
            .and_then(|f| f.sha256.clone())
            .expect("an LFS file of a published repository");
        s.faults.entry(sha).or_default().extend(faults);
    }

    /// Every request so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.shared.lock().expect("lock").seen.clone()
    }
}

async fn record(
    State(shared): State<Arc<Mutex<Shared>>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let seen = seen(&req);
    shared.lock().expect("lock").seen.push(seen);
    next.run(req).await
}

fn seen(req: &axum::extract::Request) -> Seen {
    let header_text =
        |name: header::HeaderName| req.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    Seen {
        path: req.uri().path_and_query().map(|p| p.to_string()).unwrap_or_default(),
        range: header_text(header::RANGE),
        authorization: header_text(header::AUTHORIZATION),
    }
}

/// The Hub's error answer.
fn hub_error(status: StatusCode, code: &str, message: &str) -> Response {
    let mut headers = HeaderMap::new();
    headers.insert("x-error-code", HeaderValue::from_str(code).expect("header"));
    headers.insert("x-error-message", HeaderValue::from_str(message).expect("header"));
    (status, headers, axum::Json(json!({"error": message}))).into_response()
}

/// The repository, if the caller may see it; else the Hub's answer (unknown and
/// private repositories look the same without a token).
fn visible<'a>(s: &'a Shared, id: &str, headers: &HeaderMap) -> Result<&'a Repo, Box<Response>> {
    let not_found = || {
        hub_error(
            StatusCode::UNAUTHORIZED,
            "RepoNotFound",
            "Repository Not Found for url. Please make sure you specified the correct `repo_id` and `repo_type`.",
        )
    };
    let repo = s.repos.get(&id.to_ascii_lowercase()).ok_or_else(|| Box::new(not_found()))?;
    if let Some(token) = &repo.token {
        let sent = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
        if sent != Some(&format!("Bearer {token}")) {
            return Err(Box::new(hub_error(
                StatusCode::UNAUTHORIZED,
                "GatedRepo",
                &format!("Access to model {} is restricted. You must have access to it and be authenticated to access it. Please log in.", repo.id),
            )));
        }
    }
    Ok(repo)
}

/// The repository at `revision` (`main` or its commit), if the caller may see it.
fn repo_at<'a>(s: &'a Shared, id: &str, revision: &str, headers: &HeaderMap) -> Result<&'a Repo, Box<Response>> {
    let repo = visible(s, id, headers)?;
    if revision == "main" || revision == repo.commit {
        Ok(repo)
    } else {
        Err(Box::new(hub_error(StatusCode::NOT_FOUND, "RevisionNotFound", &format!("Invalid rev id: {revision}"))))
    }
}

async fn listing(
    State(shared): State<Arc<Mutex<Shared>>>,
    UrlPath((namespace, name, revision)): UrlPath<(String, String, String)>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let s = shared.lock().expect("lock");
    let repo = match repo_at(&s, &format!("{namespace}/{name}"), &revision, &headers) {
        Ok(repo) => repo,
        Err(answer) => return *answer,
    };
    let blobs = query.get("blobs").is_some_and(|v| v == "true");
    let siblings: Vec<Value> = repo
        .files
        .iter()
        .map(|f| {
            if !blobs {
                return json!({"rfilename": f.name});
            }
            let mut sibling = json!({"rfilename": f.name, "blobId": f.blob_id, "size": f.bytes.len()});
            if let Some(sha) = &f.sha256 {
                sibling["size"] = json!(134);
                sibling["lfs"] = json!({"sha256": sha, "size": f.bytes.len(), "pointerSize": 134});
            }
            sibling
        })
        .collect();
    axum::Json(json!({
        "_id": format!("{:024x}", repo.commit.len()), "id": repo.id, "modelId": repo.id,
        "private": false, "gated": if repo.token.is_some() { json!("auto") } else { json!(false) },
        "sha": repo.commit, "lastModified": "2025-08-17T12:00:00.000Z", "siblings": siblings,
    }))
    .into_response()
}

async fn resolve(
    State(shared): State<Arc<Mutex<Shared>>>,
    UrlPath((namespace, name, revision, file)): UrlPath<(String, String, String, String)>,
    headers: HeaderMap,
) -> Response {
    let s = shared.lock().expect("lock");
    let repo = match repo_at(&s, &format!("{namespace}/{name}"), &revision, &headers) {
        Ok(repo) => repo,
        Err(answer) => return *answer,
    };
    let Some(f) = repo.files.iter().find(|f| f.name == file) else {
        return hub_error(StatusCode::NOT_FOUND, "EntryNotFound", &format!("{file} does not exist on \"{revision}\""));
    };
    let mut out = HeaderMap::new();
    out.insert("x-repo-commit", HeaderValue::from_str(&repo.commit).expect("header"));
    match &f.sha256 {
        Some(sha) => {
            out.insert("x-linked-etag", HeaderValue::from_str(&format!("\"{sha}\"")).expect("header"));
            out.insert("x-linked-size", HeaderValue::from(f.bytes.len() as u64));
            out.insert(header::ETAG, HeaderValue::from_str(&format!("\"{}\"", f.blob_id)).expect("header"));
            out.insert(header::LOCATION, HeaderValue::from_str(&format!("{}/cdn-lfs/{sha}", s.cdn)).expect("header"));
            (StatusCode::FOUND, out).into_response()
        }
        None => {
            out.insert(header::ETAG, HeaderValue::from_str(&format!("\"{}\"", f.blob_id)).expect("header"));
            ranged(f.bytes.clone(), &headers, out, None)
        }
    }
}

async fn cdn(
    State(shared): State<Arc<Mutex<Shared>>>,
    UrlPath(sha256): UrlPath<String>,
    headers: HeaderMap,
) -> Response {
    let (bytes, fault) = {
        let mut s = shared.lock().expect("lock");
        let fault = s.faults.get_mut(&sha256).and_then(VecDeque::pop_front);
        (s.lfs.get(&sha256).cloned(), fault)
    };
    let Some(bytes) = bytes else {
        return (StatusCode::NOT_FOUND, "NoSuchKey").into_response();
    };
    match fault {
        Some(Fault::Status(code)) => {
            (StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_GATEWAY), "Service Unavailable").into_response()
        }
        Some(Fault::Corrupt) => {
            let mut changed = bytes.to_vec();
            let middle = changed.len() / 2;
            changed[middle] ^= 0xff;
            ranged(Bytes::from(changed), &headers, HeaderMap::new(), None)
        }
        Some(Fault::DropAfter(n)) => ranged(bytes, &headers, HeaderMap::new(), Some(n)),
        None => ranged(bytes, &headers, HeaderMap::new(), None),
    }
}

/// Answers a GET with `Range` support (`bytes=N-` and `bytes=N-M`); `drop_after` sends
/// that many bytes and then breaks the connection.
fn ranged(bytes: Bytes, request: &HeaderMap, mut out: HeaderMap, drop_after: Option<usize>) -> Response {
    let len = bytes.len();
    out.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    let range = request
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("bytes="))
        .and_then(|v| v.split_once('-'))
        .map(|(start, end)| (start.parse::<usize>().ok(), end.parse::<usize>().ok()));
    let (status, body) = match range {
        Some((Some(start), _)) if start >= len => {
            out.insert(header::CONTENT_RANGE, HeaderValue::from_str(&format!("bytes */{len}")).expect("header"));
            return (StatusCode::RANGE_NOT_SATISFIABLE, out).into_response();
        }
        Some((Some(start), end)) => {
            let end = end.map_or(len - 1, |e| e.min(len - 1));
            out.insert(
                header::CONTENT_RANGE,
                HeaderValue::from_str(&format!("bytes {start}-{end}/{len}")).expect("header"),
            );
            (StatusCode::PARTIAL_CONTENT, bytes.slice(start..=end))
        }
        _ => (StatusCode::OK, bytes),
    };
    out.insert(header::CONTENT_LENGTH, HeaderValue::from(body.len() as u64));
    let body = match drop_after {
        Some(n) if n < body.len() => {
            let chunks: Vec<Result<Bytes, std::io::Error>> = vec![
                Ok(body.slice(..n)),
                Err(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "scripted drop")),
            ];
            Body::from_stream(futures::stream::iter(chunks))
        }
        _ => Body::from(body),
    };
    (status, out, body).into_response()
}
