//! Live job status over server-sent events: a job's stream shows `queued → running →
//! succeeded` (written by the queries the worker uses) and then ends; another user's
//! job stream is a `404`; the caller's feed shows their jobs as they change and nobody
//! else's; a job's end is shown when the database says so, not at the next read.

use std::time::Duration;

use kronos_api::live::JobWatch;
use kronos_db::jobs;
use kronos_tests::{accounts::create_user, http::TestApi, sample, sse::EventStream, TestEnv};
use kronos_types::accounts::{Role, Tier};
use uuid::Uuid;

const WAIT: Duration = Duration::from_secs(10);

async fn submit(api: &TestApi, client: &reqwest::Client) -> Uuid {
    let (status, created) =
        api.send_with(client, "POST", "/v1/predictions", Some(&sample::inline_request(40, 3, "naive"))).await;
    assert_eq!(status, 202, "{created}");
    created["job"]["id"].as_str().expect("id").parse().expect("uuid")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_job_stream_follows_the_job_to_its_end() {
    let env = TestEnv::new().await;
    let api = TestApi::start(&env, false).await;
    let alice = create_user(&env, "alice", Role::User, Tier::Pro, true).await;
    let bob = create_user(&env, "bob", Role::User, Tier::Pro, true).await;
    let id = submit(&api, &alice.client()).await;
    let url = api.url(&format!("/v1/jobs/{id}/events"));

    let (status, stream, body) = EventStream::open(&bob.client(), &url).await;
    assert!(stream.is_none());
    assert_eq!(status, 404, "another user's job: {body}");
    let (status, _, _) = EventStream::open(&reqwest::Client::new(), &url).await;
    assert_eq!(status, 401);

    let (status, stream, body) = EventStream::open(&alice.client(), &url).await;
    assert_eq!(status, 200, "{body}");
    let mut stream = stream.expect("an event stream");
    let now = stream.next(WAIT).await.expect("the job's state now");
    assert_eq!((now.name.as_str(), now.data["status"].as_str()), ("job", Some("queued")), "{now:?}");
    assert_eq!(now.data["id"], id.to_string());

    let mut conn = api.state.pool.get().await.expect("conn");
    let claimed = jobs::claim(&mut conn, id, "w1", "cpu").await.expect("claim").expect("claimed");
    let running = stream.next(WAIT).await.expect("running");
    assert_eq!(running.data["status"], "running", "{running:?}");
    jobs::set_progress(&mut conn, id, claimed.attempts, 0.5).await.expect("progress");
    let halfway = stream.next(WAIT).await.expect("progress");
    assert_eq!((halfway.data["status"].as_str(), halfway.data["progress"].as_f64()), (Some("running"), Some(0.5)));
    assert!(jobs::mark_succeeded(&mut conn, id, claimed.attempts).await.expect("succeed"));
    let rest = stream.until("end", WAIT).await;
    let names: Vec<(&str, Option<&str>)> = rest.iter().map(|e| (e.name.as_str(), e.data["status"].as_str())).collect();
    assert_eq!(names, [("job", Some("succeeded")), ("end", None)]);
    assert_eq!(rest[0].data["links"]["result"], format!("/v1/predictions/{id}"));
    assert!(stream.next(Duration::from_secs(2)).await.is_none(), "the stream ends after `end`");

    // a finished job's stream is its final state and the end
    let (_, stream, _) = EventStream::open(&alice.client(), &url).await;
    let events = stream.expect("stream").until("end", WAIT).await;
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(events[0].data["status"], "succeeded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_callers_feed_shows_their_jobs_and_nobody_elses() {
    let env = TestEnv::new().await;
    let api = TestApi::start(&env, false).await;
    let alice = create_user(&env, "alice", Role::User, Tier::Pro, true).await;
    let bob = create_user(&env, "bob", Role::User, Tier::Pro, true).await;

    let (status, stream, _) = EventStream::open(&alice.client(), &api.url("/v1/jobs/events")).await;
    assert_eq!(status, 200);
    let mut feed = stream.expect("an event stream");
    assert_eq!(feed.next(WAIT).await.expect("ready").name, "ready");
    let (_, stream, _) = EventStream::open(&alice.client(), &api.url("/v1/jobs/events?kind=training")).await;
    let mut trainings = stream.expect("an event stream");
    assert_eq!(trainings.next(WAIT).await.expect("ready").name, "ready");

    let _bobs = submit(&api, &bob.client()).await;
    let mine = submit(&api, &alice.client()).await;
    let created = feed.next(WAIT).await.expect("alice's new job");
    assert_eq!(
        (created.data["id"].as_str(), created.data["status"].as_str()),
        (Some(&*mine.to_string()), Some("queued"))
    );
    let mut conn = api.state.pool.get().await.expect("conn");
    jobs::claim(&mut conn, mine, "w1", "cpu").await.expect("claim").expect("claimed");
    let running = feed.next(WAIT).await.expect("running");
    assert_eq!(
        (running.data["id"].as_str(), running.data["status"].as_str()),
        (Some(&*mine.to_string()), Some("running"))
    );
    assert!(feed.next(Duration::from_secs(1)).await.is_none(), "bob's job is not in alice's feed");
    assert!(trainings.next(Duration::from_millis(200)).await.is_none(), "a prediction is not a training");

    let (status, _, body) = EventStream::open(&alice.client(), &api.url("/v1/jobs/events?kind=nonsense")).await;
    assert_eq!((status, body["error"]["field"].as_str()), (422, Some("kind")), "{body}");
}

/// The watcher reads every 60 s here, yet a job's end arrives within seconds: the
/// database notifies when jobs end and the watcher reads at once. (Without the
/// notification the end would come a minute later and the wait below fails.)
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_jobs_end_is_shown_without_waiting_for_the_next_read() {
    let env = TestEnv::new().await;
    let api = TestApi::start(&env, false).await;
    let alice = create_user(&env, "alice", Role::User, Tier::Pro, true).await;
    let id = submit(&api, &alice.client()).await;
    let watch =
        JobWatch::start_with(api.state.pool.clone(), Some(env.config.database_url.clone()), Duration::from_secs(60));
    let mut conn = api.state.pool.get().await.expect("conn");
    let job = jobs::watch::find_many(&mut conn, &[id]).await.expect("read").pop().expect("the job");
    let mut seen = watch.job(job);
    // the listener connects and the watcher reads once after it starts listening (as
    // after any reconnection); only then does the job end
    tokio::time::sleep(Duration::from_secs(1)).await;
    let claimed = jobs::claim(&mut conn, id, "w1", "cpu").await.expect("claim").expect("claimed");
    assert!(jobs::mark_succeeded(&mut conn, id, claimed.attempts).await.expect("succeed"));
    let ended = tokio::time::timeout(WAIT, async {
        loop {
            if seen.borrow_and_update().status == kronos_types::jobs::JobStatus::Succeeded {
                return;
            }
            seen.changed().await.expect("the watcher is alive");
        }
    })
    .await;
    assert!(ended.is_ok(), "the job's end was not shown within {WAIT:?} (reads every 60 s)");
}
