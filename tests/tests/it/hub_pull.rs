//! `kronos models pull` against a local server answering the Hugging Face Hub's
//! documented file API: the official pairing of a model with its tokenizer, gated
//! repositories and tokens, a download dropped mid-file and resumed by a later run, a
//! corrupted file refused, and the registry row that records where the weights came from.

use kronos_db::models;
use kronos_models::{
    kronos::{KronosModel, Preset},
    ComputeDevice,
};
use kronos_tests::{
    fake_hub::{FakeHub, Fault},
    http::TestApi,
    process::run_to_end_with,
    TestEnv,
};

const TOKEN: &str = "hf_fake_token_for_tests_0123456789";

struct Run {
    ok: bool,
    stdout: String,
    stderr: String,
}

fn pull(env: &TestEnv, hub: &FakeHub, args: &[&str], token: Option<&str>) -> Run {
    let mut all = vec!["models", "pull"];
    all.extend_from_slice(args);
    let downloads = env.scratch.join("hub");
    let home = env.scratch.display().to_string();
    all.extend_from_slice(&["--download-dir", downloads.to_str().unwrap()]);
    let extra = [("HF_ENDPOINT", hub.url.as_str()), ("HF_TOKEN", token.unwrap_or("")), ("HOME", home.as_str())];
    let out = run_to_end_with("kronos", env, &all, &extra);
    let run = Run {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert!(!run.stdout.contains(TOKEN) && !run.stderr.contains(TOKEN), "the token was printed: {}", run.stderr);
    run
}

fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    entries.flatten().flat_map(|e| if e.path().is_dir() { files_under(&e.path()) } else { vec![e.path()] }).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_official_model_is_pulled_with_its_tokenizer_resumed_after_a_drop_and_registered() {
    let env = TestEnv::new().await;
    let hub = FakeHub::start().await;
    // the official layout, with weights of the mini shape (the real ones are not reachable)
    let weights = env.scratch.join("weights");
    let (tok_dir, pred_dir) = (weights.join("tokenizer"), weights.join("predictor"));
    KronosModel::init(Preset::Mini, 5, ComputeDevice::Cpu.to_tch()).unwrap().save(&tok_dir, &pred_dir).unwrap();
    let pred_commit = hub.publish_dir("NeoQuasar/Kronos-mini", &pred_dir, Some(TOKEN));
    let tok_commit = hub.publish_dir("NeoQuasar/Kronos-Tokenizer-2k", &tok_dir, None);
    let weights_len = std::fs::metadata(pred_dir.join("model.safetensors")).unwrap().len();

    // gated: without a token the Hub's refusal and what to do about it
    let refused = pull(&env, &hub, &["NeoQuasar/Kronos-mini"], None);
    assert!(!refused.ok);
    assert!(refused.stderr.contains("restricted") && refused.stderr.contains("HF_TOKEN"), "{}", refused.stderr);

    // the connection drops after 1 MiB, then the CDN fails until the run gives up
    hub.fault(
        "NeoQuasar/Kronos-mini",
        "model.safetensors",
        vec![Fault::DropAfter(1 << 20), Fault::Status(503), Fault::Status(503), Fault::Status(503)],
    );
    let interrupted = pull(&env, &hub, &["NeoQuasar/Kronos-mini"], Some(TOKEN));
    assert!(!interrupted.ok);
    assert!(interrupted.stderr.contains("run again to resume"), "{}", interrupted.stderr);
    let part = env.scratch.join("hub/models--NeoQuasar--Kronos-mini").join(&pred_commit).join("model.safetensors.part");
    assert_eq!(std::fs::metadata(&part).unwrap().len(), 1 << 20, "the first MiB is kept");
    let pool = kronos_db::pool(&env.config.database_url, 1).unwrap();
    let mut conn = pool.get().await.unwrap();
    assert!(models::find_by_name(&mut conn, "kronos-mini").await.unwrap().is_none(), "nothing registered");

    // the next run resumes at the byte it stopped at, checks, registers, and cleans up
    let before = hub.seen().len();
    let done = pull(&env, &hub, &["NeoQuasar/Kronos-mini"], Some(TOKEN));
    assert!(done.ok, "{}", done.stderr);
    assert!(done.stderr.contains("resumed at byte 1048576"), "{}", done.stderr);
    assert!(done.stderr.contains("checksum verified"), "{}", done.stderr);
    // the resolve request asks for the rest, and the range survives the redirect to the CDN
    let seen = &hub.seen()[before..];
    let ranged: Vec<_> = seen.iter().filter(|s| s.range.is_some()).map(|s| (s.path.clone(), s.range.clone())).collect();
    assert_eq!(ranged.len(), 2, "{ranged:?}");
    assert!(ranged[0].0.starts_with("/NeoQuasar/Kronos-mini/resolve/"), "{ranged:?}");
    assert!(ranged[1].0.starts_with("/cdn-lfs/"), "{ranged:?}");
    assert!(
        ranged.iter().all(|(_, range)| range.as_deref() == Some("bytes=1048576-")),
        "from the kept MiB: {ranged:?}"
    );
    assert!(done.stdout.contains("registered model kronos-mini"), "{}", done.stdout);
    assert!(files_under(&env.scratch.join("hub")).is_empty(), "downloads are removed once registered");

    let pulled = models::find_by_name(&mut conn, "kronos-mini").await.unwrap().unwrap();
    assert_eq!(pulled.source, kronos_types::registry::ModelSource::Hub);
    assert_eq!(pulled.max_context, 2048, "Kronos-mini's context");
    // the very bytes published: the same weights hash as importing the local files
    let import = run_to_end_with(
        "kronos",
        &env,
        &[
            "models",
            "import",
            "--name",
            "local-copy",
            "--tokenizer",
            tok_dir.to_str().unwrap(),
            "--predictor",
            pred_dir.to_str().unwrap(),
        ],
        &[],
    );
    assert!(import.status.success(), "{}", String::from_utf8_lossy(&import.stderr));
    let local = models::find_by_name(&mut conn, "local-copy").await.unwrap().unwrap();
    assert_eq!(pulled.weights_sha256, local.weights_sha256);
    assert!(weights_len > 1 << 20);

    // the API shows where it came from
    let api = TestApi::start(&env, false).await;
    let (status, listed) = api.get("/v1/models").await;
    assert_eq!(status, 200, "{listed}");
    let view = listed["models"].as_array().unwrap().iter().find(|m| m["name"] == "kronos-mini").unwrap().clone();
    assert_eq!(view["source"], "hub");
    assert_eq!(view["origin"]["endpoint"], hub.url.as_str());
    assert_eq!(view["origin"]["predictor"]["repo"], "NeoQuasar/Kronos-mini");
    assert_eq!(view["origin"]["predictor"]["commit"], pred_commit.as_str());
    assert_eq!(view["origin"]["tokenizer"]["repo"], "NeoQuasar/Kronos-Tokenizer-2k");
    assert_eq!(view["origin"]["tokenizer"]["commit"], tok_commit.as_str());

    // pulling a name that exists is refused before anything is downloaded
    let before = hub.seen().len();
    let again = pull(&env, &hub, &["NeoQuasar/Kronos-mini"], Some(TOKEN));
    assert!(!again.ok && again.stderr.contains("already exists"), "{}", again.stderr);
    assert_eq!(hub.seen().len(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_repositories_revisions_and_corrupt_files_are_refused_and_nothing_is_stored() {
    let env = TestEnv::new().await;
    let hub = FakeHub::start().await;
    let fixtures = kronos_tests::fixtures::kronos_tiny_dir();
    let commit = hub.publish_dir("acme/Kronos-tiny", &fixtures.join("predictor"), None);
    hub.publish_dir("acme/Kronos-Tokenizer-tiny", &fixtures.join("tokenizer"), None);
    hub.publish("acme/not-kronos", vec![("config.json", b"{}".to_vec())], None);
    let tiny = ["acme/Kronos-tiny", "--tokenizer", "acme/Kronos-Tokenizer-tiny"];

    let refused = |args: &[&str], expected: &str| {
        let run = pull(&env, &hub, args, None);
        assert!(!run.ok, "{args:?} was accepted");
        assert!(run.stderr.contains(expected), "{args:?}: expected {expected:?} in {}", run.stderr);
    };
    refused(&["acme/Kronos-tiny"], "--tokenizer: acme/Kronos-tiny is not one of the official Kronos repositories");
    refused(&["acme/../x", "--tokenizer", "a/b"], "repo: ");
    refused(&["acme/nope", "--tokenizer", "acme/Kronos-Tokenizer-tiny"], "repository acme/nope not found");
    refused(&[&tiny[..], &["--revision", "v9"]].concat(), "revision \"v9\" of acme/Kronos-tiny not found");
    refused(&["acme/not-kronos", "--tokenizer", "acme/Kronos-Tokenizer-tiny"], "has no model.safetensors");
    refused(&[&tiny[..], &["--name", "Bad Name"]].concat(), "--name");
    refused(&[&tiny[..], &["--max-context", "0"]].concat(), "--max-context");

    hub.fault("acme/Kronos-tiny", "model.safetensors", vec![Fault::Corrupt]);
    refused(&tiny, "model.safetensors: sha256 mismatch");
    let left = files_under(&env.scratch.join("hub/models--acme--Kronos-tiny"));
    assert!(
        left.iter().all(|f| !f.to_string_lossy().contains("model.safetensors")),
        "the corrupt file is deleted (verified files stay for the next run): {left:?}"
    );
    let pool = kronos_db::pool(&env.config.database_url, 1).unwrap();
    let mut conn = pool.get().await.unwrap();
    assert!(models::list(&mut conn).await.unwrap().is_empty(), "nothing registered");

    // a pinned commit, a chosen name and context
    let run = pull(
        &env,
        &hub,
        &[&tiny[..], &["--revision", &commit, "--name", "tiny-hub", "--max-context", "256"]].concat(),
        None,
    );
    assert!(run.ok, "{}", run.stderr);
    let row = models::find_by_name(&mut conn, "tiny-hub").await.unwrap().unwrap();
    assert_eq!(row.max_context, 256);
    assert_eq!(row.origin.unwrap()["predictor"]["revision"], commit.as_str());
}
