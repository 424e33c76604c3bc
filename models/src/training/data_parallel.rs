//! One training step's forward and backward passes, on the CPU split across its cores
//! by rows of the batch.
//!
//! libtorch parallelises each operation across the cores; a predictor step is hundreds
//! of operations, many too small to split, and between them the other cores wait (on a
//! 2-core machine a sixth of a Kronos-mini step's samples were OpenMP threads spinning).
//! Here the batch of a stage whose loss is a mean over rows
//! ([`Trainable::loss_splits_by_rows`]) is cut into one part per core (each part at
//! least [`MIN_ROWS_PER_PART`] rows) and each part runs its whole forward and backward
//! pass on its own thread with its share of the libtorch threads, as data-parallel
//! training does across machines: the first part on the model itself, each other part
//! on a replica (the model's structure with its own variables) whose weights are copied
//! from the model before the step and whose gradients are added to the model's after it,
//! weighted so the sum is the gradient of the whole batch's mean loss.
//!
//! Repeatable: each part's random draws come from its own stream
//! ([`with_stream`](crate::kronos::random::with_stream)) seeded on the calling thread
//! from libtorch's generator, and the gradients are added in part order. The split
//! depends on the number of threads, so runs with different thread counts differ as any
//! change of batch arithmetic does.

use std::collections::HashMap;

use tch::{nn::VarStore, Device, Tensor};

use super::trainer::Trainable;
use super::windows::WindowBatch;
use super::TrainError;
use crate::kronos::layers::{current_matmul_kind, with_matmul_kind};
use crate::kronos::random::{next_u64, with_stream};

/// Fewest rows a part gets: below this a part's products are too small to run well
/// (a judgement, measured only at 8 rows per part on 2 cores).
pub const MIN_ROWS_PER_PART: usize = 4;

/// A model's replicas for splitting its training steps across the CPU's cores.
#[derive(Debug)]
pub struct DataParallel<M> {
    replicas: Vec<M>,
    /// The stage whose step last ran: every variable store is copied into the replicas
    /// when the stage changes, only the trained one between steps of a stage.
    synced_stage: Option<usize>,
}

impl<M: Trainable + Send> DataParallel<M> {
    /// One replica per libtorch thread beyond the first, at most one per
    /// [`MIN_ROWS_PER_PART`] rows of a `batch_size` batch, on the CPU for a model that
    /// has replicas; none otherwise (every step then runs as one part).
    pub fn new(model: &M, device: Device, batch_size: usize) -> Result<Self, TrainError> {
        let threads = usize::try_from(tch::get_num_threads()).unwrap_or(1);
        let parts = threads.min(batch_size / MIN_ROWS_PER_PART).max(1);
        let wanted = if device == Device::Cpu { parts - 1 } else { 0 };
        let mut replicas = Vec::with_capacity(wanted);
        for _ in 0..wanted {
            match model.replica() {
                Some(replica) => replicas.push(replica?),
                None => break,
            }
        }
        Ok(Self { replicas, synced_stage: None })
    }

    /// Parts a step of stage `stage` on `rows` rows is split into.
    pub fn parts(&self, model: &M, stage: usize, rows: usize) -> usize {
        if model.loss_splits_by_rows(stage) {
            (self.replicas.len() + 1).min(rows).max(1)
        } else {
            1
        }
    }

    /// Computes stage `stage`'s loss on `batch` and adds its gradients to the stage's
    /// parameters' gradients (which the caller zeroes between steps); returns the loss.
    pub fn accumulate_gradients(&mut self, model: &M, stage: usize, batch: &WindowBatch) -> Result<f64, TrainError> {
        let rows = batch.windows.len();
        let parts = self.parts(model, stage, rows);
        let seeds: Vec<u64> = (0..parts).map(|_| next_u64()).collect();
        if parts == 1 {
            return Ok(part_backward(model, stage, batch, 1.0, seeds[0]));
        }
        self.sync(model, stage)?;
        let threads = tch::get_num_threads();
        // the cores are shared out among the parts
        let per_part = (threads / parts as i32).max(1);
        let matmul_kind = current_matmul_kind();
        let slices = split_rows(rows, parts);
        let weight = |len: usize| len as f64 / rows as f64;
        tch::set_num_threads(per_part);
        let value = std::thread::scope(|scope| {
            let handles: Vec<_> = self
                .replicas
                .iter_mut()
                .zip(slices.iter().zip(&seeds).skip(1))
                .map(|(replica, (&(start, len), &seed))| {
                    let part = batch.rows(start, len);
                    scope.spawn(move || {
                        tch::set_num_threads(per_part);
                        let run = || part_backward(&*replica, stage, &part, weight(len), seed);
                        match matmul_kind {
                            Some(kind) => with_matmul_kind(kind, run),
                            None => run(),
                        }
                    })
                })
                .collect();
            let (start, len) = slices[0];
            let mut value = part_backward(model, stage, &batch.rows(start, len), weight(len), seeds[0]);
            for handle in handles {
                // a part that panicked panics the step, as the single-part path would
                value += handle.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            }
            value
        });
        tch::set_num_threads(threads);
        for replica in &self.replicas[..parts - 1] {
            add_gradients(model.var_store(stage), replica.var_store(stage));
        }
        Ok(value)
    }

    /// Copies the model's weights into the replicas: every store when the stage
    /// changed, else the trained one.
    fn sync(&mut self, model: &M, stage: usize) -> Result<(), TrainError> {
        let mut stores: Vec<usize> =
            if self.synced_stage == Some(stage) { Vec::new() } else { (0..model.stages().len()).collect() };
        if !stores.contains(&stage) {
            stores.push(stage);
        }
        for replica in &self.replicas {
            for &index in &stores {
                copy_weights(model.var_store(index), replica.var_store(index))?;
            }
        }
        self.synced_stage = Some(stage);
        Ok(())
    }
}

/// One part's forward and backward pass with its loss scaled by `weight`; returns the
/// scaled loss.
fn part_backward<M: Trainable>(model: &M, stage: usize, batch: &WindowBatch, weight: f64, seed: u64) -> f64 {
    with_stream(seed, || {
        let loss = model.loss(stage, batch, true).loss;
        let value = loss.double_value(&[]) * weight;
        (loss * weight).backward();
        value
    })
}

/// `to ← from` for every variable, by name.
fn copy_weights(from: &VarStore, to: &VarStore) -> Result<(), TrainError> {
    let source = from.variables();
    for (name, mut target) in to.variables() {
        let Some(value) = source.get(&name) else {
            return Err(TrainError::Param("replica", format!("variable {name} is missing from the model")));
        };
        tch::no_grad(|| target.copy_(value));
    }
    Ok(())
}

/// Adds the replica's gradients to the model's, by name, and zeroes the replica's.
fn add_gradients(model: &VarStore, replica: &VarStore) {
    let targets: HashMap<String, Tensor> = model.variables();
    for (name, variable) in replica.variables() {
        let mut grad = variable.grad();
        if !grad.defined() {
            continue;
        }
        if let Some(mut target) = targets.get(&name).map(Tensor::grad).filter(Tensor::defined) {
            let _ = tch::no_grad(|| target.g_add_(&grad));
        }
        let _ = tch::no_grad(|| grad.zero_());
    }
}

/// `(start, len)` of `parts` consecutive slices of `rows` rows, sizes differing by one
/// at most.
pub fn split_rows(rows: usize, parts: usize) -> Vec<(usize, usize)> {
    let parts = parts.clamp(1, rows.max(1));
    let (base, extra) = (rows / parts, rows % parts);
    let mut start = 0;
    (0..parts)
        .map(|i| {
            let len = base + usize::from(i < extra);
            let slice = (start, len);
            start += len;
            slice
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_split_into_near_equal_consecutive_parts() {
        assert_eq!(split_rows(16, 2), vec![(0, 8), (8, 8)]);
        assert_eq!(split_rows(7, 3), vec![(0, 3), (3, 2), (5, 2)]);
        assert_eq!(split_rows(2, 4), vec![(0, 1), (1, 1)]);
        assert_eq!(split_rows(5, 1), vec![(0, 5)]);
    }
}
