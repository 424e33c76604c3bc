//! Training loop: losses fall on a learnable series, a run resumed from a checkpoint
//! ends with exactly the weights of the uninterrupted run, cancellation stops it, and
//! metrics are measured beside the naive baseline.

#![expect(clippy::unwrap_used, reason = "tests fail loudly on a broken fixture")]

use std::path::Path;

use chrono::{Duration, NaiveDate};
use kronos_models::kronos::{KronosModel, PredictorConfig, Preset, TokenizerConfig};
use kronos_models::training::{
    checkpoint::{Checkpoint, TrainingState},
    data_parallel::DataParallel,
    kronos_losses::{predictor_loss, tokenizer_loss, StageLoss},
    token_cache::{encode, TokenCache},
    train, KronosTrainable, Progress, Regressor, RegressorConfig, RegressorKind, Series, TrainError, TrainPlan,
    Trainable, TrainingHooks, WindowSet, WindowSpec,
};
use tch::Device;

/// A noisy sine wave with a trend: learnable, not trivial.
fn series(n: usize) -> Series {
    let t0 = NaiveDate::from_ymd_opt(2020, 1, 1).unwrap().and_hms_opt(0, 0, 0).unwrap();
    let mut state = 12345u64;
    let bars = (0..n)
        .map(|i| {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let noise = ((state >> 33) as f64 / (1u64 << 31) as f64 - 0.5) * 0.4;
            let c = 100.0 + 10.0 * (i as f64 / 6.0).sin() + i as f64 * 0.05 + noise;
            [c - 0.2, c + 0.5, c - 0.5, c, 1000.0 + 100.0 * (i as f64 / 3.0).cos(), 0.0]
        })
        .collect();
    Series { symbol: "SYN".into(), times: (0..n).map(|i| t0 + Duration::days(i as i64)).collect(), bars }
}

fn set() -> WindowSet {
    WindowSet::new(
        vec![series(400)],
        WindowSpec { lookback: 24, horizon: 4, validation_fraction: 0.25, max_validation_windows: 16 },
    )
    .unwrap()
}

fn tiny_kronos(seed: i64) -> KronosModel {
    let tok = TokenizerConfig {
        d_in: 6,
        d_model: 32,
        n_heads: 2,
        ff_dim: 64,
        n_enc_layers: 2,
        n_dec_layers: 2,
        ffn_dropout_p: 0.0,
        attn_dropout_p: 0.0,
        resid_dropout_p: 0.0,
        s1_bits: 4,
        s2_bits: 4,
        beta: 0.05,
        gamma0: 1.0,
        gamma: 1.1,
        zeta: 0.05,
        group_size: 4,
    };
    let pred = PredictorConfig {
        s1_bits: 4,
        s2_bits: 4,
        n_layers: 2,
        d_model: 32,
        n_heads: 2,
        ff_dim: 64,
        ..Preset::Mini.predictor()
    };
    tch::manual_seed(seed);
    KronosModel::from_configs(&tok, &pred, Device::Cpu).unwrap()
}

fn plan() -> TrainPlan {
    TrainPlan { batch_size: 8, eval_every: 10, checkpoint_every: 10, seed: 3, device: Device::Cpu }
}

/// Keeps the latest checkpoint in a directory, stops after `stop_after` steps.
struct Keep<'a> {
    dir: &'a Path,
    stop_after: Option<usize>,
    seen: Vec<Progress>,
}

impl TrainingHooks for Keep<'_> {
    fn on_progress(&mut self, progress: &Progress) -> bool {
        self.seen.push(progress.clone());
        self.stop_after.is_none_or(|n| progress.step < n)
    }
    fn on_checkpoint(&mut self, dir: &Path, _state: &TrainingState) -> Result<(), TrainError> {
        let _ = std::fs::remove_dir_all(self.dir);
        copy_dir(dir, self.dir);
        Ok(())
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn weights(vs: &tch::nn::VarStore) -> Vec<(String, tch::Tensor)> {
    let mut v: Vec<_> = vs.variables().into_iter().collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

#[test]
fn both_kronos_losses_are_finite_and_have_gradients() {
    let model = tiny_kronos(1);
    let x = tch::Tensor::randn([3, 9, 6], (tch::Kind::Float, Device::Cpu)).clamp(-5.0, 5.0);
    let stamps = tch::Tensor::zeros([3, 9, 5], (tch::Kind::Int64, Device::Cpu));
    let l1 = tokenizer_loss(&model, &x, true);
    assert!(l1.loss.double_value(&[]).is_finite());
    l1.loss.backward();
    let (s1, s2) = encode(&model, &x);
    let l2 = predictor_loss(&model, &s1, &s2, &stamps, true);
    let v = l2.loss.double_value(&[]);
    // two cross-entropies over 16-token vocabularies start near ln 16 ≈ 2.8
    assert!(v.is_finite() && v > 1.0 && v < 5.0, "{v}");
    l2.loss.backward();
    let with_grad = model.predictor_vars().trainable_variables().iter().filter(|v| v.grad().defined()).count();
    assert!(with_grad > 0);
}

#[test]
fn kept_tokens_are_the_tokens_the_tokenizer_gives_each_batch() {
    let set = set();
    let w = &set.train;
    let trainable = KronosTrainable::new(tiny_kronos(1), (1, 1), (1e-3, 1e-3), 512);
    // the second batch repeats two windows of the first and one of its own
    let batches = [vec![w[0], w[1], w[2], w[3]], vec![w[2], w[5], w[3], w[5], w[4]]];
    for windows in &batches {
        let batch = set.batch(windows, Device::Cpu);
        let (s1, s2) = trainable.tokens.tokens(&trainable.model, &batch, &batch.x);
        let (e1, e2) = encode(&trainable.model, &batch.x);
        assert!(s1.equal(&e1) && s2.equal(&e2), "tokens differ from the tokenizer's");
    }
    assert_eq!(trainable.tokens.len(), 6);
    // another set's windows of the same names are other bars: not taken for these
    let other =
        WindowSet::new(vec![Series { bars: series(400).bars.into_iter().rev().collect(), ..series(400) }], set.spec)
            .unwrap();
    let batch = other.batch(&batches[0], Device::Cpu);
    let (s1, s2) = trainable.tokens.tokens(&trainable.model, &batch, &batch.x);
    let (e1, e2) = encode(&trainable.model, &batch.x);
    assert!(s1.equal(&e1) && s2.equal(&e2), "another set's tokens were taken");
    assert_eq!(trainable.tokens.len(), 10);
    // training the tokenizer forgets them
    let batch = set.batch(&batches[0], Device::Cpu);
    let _ = trainable.loss(0, &batch, true);
    assert!(trainable.tokens.is_empty());
    // a budget of three windows keeps three, and the rest are still right
    let len = set.spec.len();
    let small = TokenCache::new(3 * 4 * len);
    for windows in &batches {
        let batch = set.batch(windows, Device::Cpu);
        let (s1, s2) = small.tokens(&trainable.model, &batch, &batch.x);
        let (e1, e2) = encode(&trainable.model, &batch.x);
        assert!(s1.equal(&e1) && s2.equal(&e2));
    }
    assert_eq!(small.len(), 3);
}

/// Least squares from a window's first bars to its last bar: a loss that is a mean over
/// rows and has no random draws, for checking a split step against the whole batch.
struct LinearFit {
    vars: tch::nn::VarStore,
    weights: tch::Tensor,
    inputs: i64,
}

impl LinearFit {
    fn new(window: usize) -> Self {
        let vars = tch::nn::VarStore::new(Device::Cpu);
        let inputs = (window as i64 - 1) * 6;
        let weights = vars.root().randn("weights", &[inputs, 6], 0.0, 0.1);
        Self { vars, weights, inputs }
    }
}

impl Trainable for LinearFit {
    fn stages(&self) -> Vec<kronos_models::training::StagePlan> {
        Vec::new()
    }
    fn var_store(&self, _stage: usize) -> &tch::nn::VarStore {
        &self.vars
    }
    fn loss(&self, _stage: usize, batch: &kronos_models::training::windows::WindowBatch, _train: bool) -> StageLoss {
        let (b, len, _) = batch.x.size3().unwrap();
        let inputs = batch.x.narrow(1, 0, len - 1).reshape([b, self.inputs]);
        let target = batch.x.narrow(1, len - 1, 1).reshape([b, 6]);
        StageLoss { loss: (inputs.matmul(&self.weights) - target).square().mean(tch::Kind::Float) }
    }
    fn tokens_per_window(&self, _stage: usize, window_len: usize) -> usize {
        window_len
    }
    fn save_weights(&self, _dir: &Path) -> Result<(), TrainError> {
        Ok(())
    }
    fn evaluate(&self, _set: &WindowSet, _seed: u64) -> Result<kronos_models::metrics::Comparison, TrainError> {
        Err(TrainError::Param("evaluate", "not needed here".into()))
    }
    fn replica(&self) -> Option<Result<Self, TrainError>> {
        Some(Ok(Self::new(self.inputs as usize / 6 + 1)))
    }
    fn loss_splits_by_rows(&self, _stage: usize) -> bool {
        true
    }
}

#[test]
fn a_step_split_across_threads_has_the_gradient_of_the_whole_batch() {
    tch::set_num_threads(2);
    let set = set();
    let model = LinearFit::new(set.spec.len());
    let batch = set.train_batch(1, 0, 9, Device::Cpu);
    let mut parallel = DataParallel::new(&model, Device::Cpu, 9).unwrap();
    assert_eq!(parallel.parts(&model, 0, 9), 2);
    let gradient = |model: &LinearFit| model.weights.grad().copy();
    for step in 0..2 {
        if step == 1 {
            // the next step copies the changed weights into the replica first
            tch::no_grad(|| {
                let _ = model.weights.shallow_clone().g_mul_scalar_(0.5);
            });
        }
        model.weights.shallow_clone().zero_grad();
        let split_loss = parallel.accumulate_gradients(&model, 0, &batch).unwrap();
        let split = gradient(&model);
        model.weights.shallow_clone().zero_grad();
        let whole = model.loss(0, &batch, true).loss;
        whole.backward();
        assert!((whole.double_value(&[]) - split_loss).abs() < 1e-6, "step {step}: loss differs");
        assert!(split.allclose(&gradient(&model), 1e-5, 1e-6, false), "step {step}: split gradient differs");
    }
}

#[test]
fn kronos_losses_fall_and_metrics_sit_beside_naive() {
    let set = set();
    let model = KronosTrainable::new(tiny_kronos(1), (60, 120), (2e-3, 2e-3), 512);
    let dir = tempfile::tempdir().unwrap();
    let mut hooks = Keep { dir: &dir.path().join("ckpt"), stop_after: None, seen: Vec::new() };
    let report = train(&model, &set, &plan(), None, &mut hooks).unwrap();
    let (_, tok_val) = report.state.losses("tokenizer");
    let (train_loss, val_loss) = report.state.losses("predictor");
    assert_eq!(tok_val.len(), 6);
    assert_eq!(val_loss.len(), 12);
    assert!(tok_val.last() < tok_val.first(), "tokenizer validation loss did not fall: {tok_val:?}");
    assert!(val_loss.last() < val_loss.first(), "predictor validation loss did not fall: {val_loss:?}");
    assert!(train_loss.last() < train_loss.first());
    assert_eq!(report.metrics.windows, 16);
    assert!(report.metrics.model.mae.is_finite() && report.metrics.naive.mae > 0.0);
    assert_eq!(hooks.seen.len(), 180);
    assert!(hooks.seen.last().unwrap().eta_seconds == 0.0);
    assert!(Checkpoint::read(&dir.path().join("ckpt")).unwrap().state.step == 180);
}

#[test]
fn a_resumed_run_ends_with_the_uninterrupted_weights() {
    let set = set();
    let dir = tempfile::tempdir().unwrap();
    let ckpt = dir.path().join("ckpt");

    let straight = KronosTrainable::new(tiny_kronos(5), (20, 20), (1e-3, 1e-3), 512);
    let mut hooks = Keep { dir: &dir.path().join("other"), stop_after: None, seen: Vec::new() };
    train(&straight, &set, &plan(), None, &mut hooks).unwrap();

    // interrupted after step 30 (checkpoint at 30, in the predictor stage), then resumed
    let first = KronosTrainable::new(tiny_kronos(5), (20, 20), (1e-3, 1e-3), 512);
    let mut hooks = Keep { dir: &ckpt, stop_after: Some(30), seen: Vec::new() };
    let err = train(&first, &set, &plan(), None, &mut hooks).unwrap_err();
    assert!(matches!(err, TrainError::Cancelled(30)), "{err}");
    let checkpoint = Checkpoint::read(&ckpt).unwrap();
    assert_eq!(checkpoint.state.step, 30);
    let resumed =
        KronosTrainable::new(KronosTrainable::load_weights(&ckpt, Device::Cpu).unwrap(), (20, 20), (1e-3, 1e-3), 512);
    let mut hooks = Keep { dir: &ckpt, stop_after: None, seen: Vec::new() };
    let report = train(&resumed, &set, &plan(), Some(checkpoint), &mut hooks).unwrap();
    assert_eq!(report.resumed_from, 30);
    assert_eq!(hooks.seen.len(), 10);

    for store in [0, 1] {
        for ((name, a), (_, b)) in weights(straight.var_store(store)).iter().zip(weights(resumed.var_store(store))) {
            assert!(a.allclose(&b, 1e-6, 1e-6, false), "{name} differs after resuming");
        }
    }
}

#[test]
fn regressors_learn_and_serve_intervals() {
    let set = set();
    for kind in [RegressorKind::Lstm, RegressorKind::Gru, RegressorKind::Transformer] {
        let config = RegressorConfig { hidden: 32, ..RegressorConfig::small(kind, 24, 4) };
        let mut model = Regressor::new(config, 150, 3e-3, Device::Cpu).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let mut hooks = Keep { dir: &dir.path().join("ckpt"), stop_after: None, seen: Vec::new() };
        let report = train(&model, &set, &TrainPlan { eval_every: 50, ..plan() }, None, &mut hooks).unwrap();
        let (_, val) = report.state.losses("regressor");
        assert!(val.last() < val.first(), "{kind:?} validation loss did not fall: {val:?}");
        // the sine is learnable: the regressor beats repeating the last close
        assert!(report.metrics.model.mae < report.metrics.naive.mae, "{kind:?}: {:?}", report.metrics);

        model.calibrate(&set);
        let saved = dir.path().join("saved");
        model.save_weights(&saved).unwrap();
        let loaded = Regressor::load(&saved, Device::Cpu).unwrap();
        let (history, _, _) = set.split_window(set.validation[0]);
        let a = model.forecast(history).unwrap();
        let b = loaded.forecast(history).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.mean.len(), 4);
        for i in 0..4 {
            assert!(a.p10[i] <= a.p50[i] && a.p50[i] <= a.p90[i]);
        }
        assert!((0.0..=1.0).contains(&a.prob_up));
    }
}
