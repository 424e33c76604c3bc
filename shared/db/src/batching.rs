//! Opportunistic request coalescing ("group commit"): concurrent callers hand in one
//! item each; a background task runs them as one batch per database round trip.
//!
//! Batches form only under load: while `in_flight` batches are running, new items
//! wait and are taken together; an idle system runs each item alone at once.

use std::{future::Future, sync::Arc};

use tokio::sync::{mpsc, oneshot, Semaphore};

/// The coalescing task has stopped (process shutting down).
#[derive(Debug, Clone, thiserror::Error)]
#[error("batching task stopped")]
pub struct Stopped;

type Slot<I, O> = (I, oneshot::Sender<O>);

/// The submission side of a coalescer; cheap to clone.
pub struct Coalescer<I, O> {
    tx: mpsc::Sender<Slot<I, O>>,
}

impl<I, O> Clone for Coalescer<I, O> {
    fn clone(&self) -> Self {
        Self { tx: self.tx.clone() }
    }
}

impl<I: Send + 'static, O: Send + 'static> Coalescer<I, O> {
    /// Starts the task. `run` gets a batch and must return one output per input, in order.
    pub fn start<F, Fut>(max_batch: usize, in_flight: usize, run: F) -> Self
    where
        F: Fn(Vec<I>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Vec<O>> + Send + 'static,
    {
        let max_batch = max_batch.max(1);
        let (tx, mut rx) = mpsc::channel::<Slot<I, O>>(max_batch * in_flight.max(1) * 2);
        let permits = Arc::new(Semaphore::new(in_flight.max(1)));
        let run = Arc::new(run);
        tokio::spawn(async move {
            while let Some(first) = rx.recv().await {
                let Ok(permit) = permits.clone().acquire_owned().await else {
                    return;
                };
                let mut batch = vec![first];
                while batch.len() < max_batch {
                    match rx.try_recv() {
                        Ok(next) => batch.push(next),
                        Err(_) => break,
                    }
                }
                let run = run.clone();
                tokio::spawn(async move {
                    let (inputs, replies): (Vec<I>, Vec<oneshot::Sender<O>>) = batch.into_iter().unzip();
                    let outputs = run(inputs).await;
                    for (reply, output) in replies.into_iter().zip(outputs) {
                        let _ = reply.send(output);
                    }
                    drop(permit);
                });
            }
        });
        Self { tx }
    }

    /// Submits one item and waits for its output.
    pub async fn call(&self, input: I) -> Result<O, Stopped> {
        let (reply, output) = oneshot::channel();
        self.tx.send((input, reply)).await.map_err(|_| Stopped)?;
        output.await.map_err(|_| Stopped)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test]
    async fn every_caller_gets_its_own_output_and_batches_form_under_load() {
        let batches = Arc::new(AtomicUsize::new(0));
        let seen = batches.clone();
        let c = Coalescer::start(16, 1, move |xs: Vec<u32>| {
            seen.fetch_add(1, Ordering::SeqCst);
            async move {
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                xs.into_iter().map(|x| x * 2).collect()
            }
        });
        let calls: Vec<_> = (0..64u32)
            .map(|i| {
                let c = c.clone();
                tokio::spawn(async move { (i, c.call(i).await.unwrap()) })
            })
            .collect();
        for call in calls {
            let (i, out) = call.await.unwrap();
            assert_eq!(out, i * 2);
        }
        let n = batches.load(Ordering::SeqCst);
        assert!((4..64).contains(&n), "64 items in {n} batches of at most 16");
    }
}
