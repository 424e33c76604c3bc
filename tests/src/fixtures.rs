//! The tiny Kronos fixture (`models/tests/fixtures/kronos-tiny`, weights and outputs
//! generated from the reference implementation), registered through the CLI.

use std::path::{Path, PathBuf};

use crate::{process::run_to_end, TestEnv};

/// The fixture's directory.
pub fn kronos_tiny_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/tests/fixtures/kronos-tiny")
}

/// Registers the fixture's weights as model `name` (`kronos models import`).
pub fn import_kronos_tiny(env: &TestEnv, name: &str) {
    let dir = kronos_tiny_dir();
    let (tok, pred) = (dir.join("tokenizer"), dir.join("predictor"));
    let out = run_to_end(
        "kronos",
        env,
        &[
            "models",
            "import",
            "--name",
            name,
            "--tokenizer",
            tok.to_str().unwrap_or_default(),
            "--predictor",
            pred.to_str().unwrap_or_default(),
        ],
    );
    assert!(out.status.success(), "kronos models import failed: {}", String::from_utf8_lossy(&out.stderr));
}
