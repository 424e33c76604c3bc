//! Helpers shared by the model tests.

use std::path::PathBuf;

use kronos_models::kronos::KronosModel;
use tch::Device;

/// The tiny Kronos fixture (`tests/fixtures/kronos-tiny`) on the CPU.
#[expect(clippy::unwrap_used, reason = "tests fail loudly on a broken fixture")]
pub fn tiny_model() -> KronosModel {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/kronos-tiny");
    KronosModel::load(&dir.join("tokenizer"), &dir.join("predictor"), Device::Cpu).unwrap()
}
