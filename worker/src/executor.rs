//! Dedicated compute threads of one device. Closures sent here run off the async
//! runtime; their results come back through a oneshot channel.

use std::thread;

use crossbeam_channel::{unbounded, Sender};
use tokio::sync::oneshot;

type Work = Box<dyn FnOnce() + Send + 'static>;

/// A fixed set of OS threads bound to one device.
#[derive(Clone)]
pub struct ComputeExecutor {
    tx: Sender<Work>,
}

/// The executor's threads are gone (the process is shutting down).
#[derive(Debug, thiserror::Error)]
#[error("compute executor stopped")]
pub struct ExecutorStopped;

impl ComputeExecutor {
    /// Starts `threads` threads named `{name}-{i}`.
    pub fn start(name: &str, threads: usize) -> std::io::Result<Self> {
        let (tx, rx) = unbounded::<Work>();
        for i in 0..threads.max(1) {
            let rx = rx.clone();
            thread::Builder::new().name(format!("{name}-{i}")).spawn(move || {
                while let Ok(work) = rx.recv() {
                    work();
                }
            })?;
        }
        Ok(Self { tx })
    }

    /// Runs `f` on a compute thread and waits for its result without blocking the runtime.
    pub async fn run<T, F>(&self, f: F) -> Result<T, ExecutorStopped>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let (done, result) = oneshot::channel();
        self.tx
            .send(Box::new(move || {
                let _ = done.send(f());
            }))
            .map_err(|_| ExecutorStopped)?;
        result.await.map_err(|_| ExecutorStopped)
    }
}
