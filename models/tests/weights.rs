//! Weight files: random weights written with the official key names reload
//! identically; missing or mis-shaped keys are named in the error; the presets have
//! the published parameter counts.

#![expect(clippy::unwrap_used, reason = "tests fail loudly on a broken fixture")]

use std::path::Path;

use kronos_models::kronos::weights::load_into;
use kronos_models::kronos::{KronosModel, Preset};
use tch::{Device, Tensor};

fn tensors(file: &Path) -> Vec<(String, Tensor)> {
    let mut t = Tensor::read_safetensors(file).unwrap();
    t.sort_by(|a, b| a.0.cmp(&b.0));
    t
}

#[test]
fn random_weights_round_trip_with_the_official_key_names() {
    let dir = tempfile::tempdir().unwrap();
    let (tok, pred) = (dir.path().join("tok"), dir.path().join("pred"));
    let model = KronosModel::init(Preset::Mini, 7, Device::Cpu).unwrap();
    model.save(&tok, &pred).unwrap();

    let names: Vec<String> = tensors(&pred.join("model.safetensors")).into_iter().map(|t| t.0).collect();
    for key in [
        "embedding.emb_s1.weight",
        "embedding.fusion_proj.bias",
        "time_emb.minute_embed.weight",
        "transformer.3.self_attn.q_proj.weight",
        "transformer.0.self_attn.rotary.inv_freq",
        "dep_layer.cross_attn.k_proj.bias",
        "dep_layer.norm.weight",
        "head.proj_s2.weight",
        "norm.weight",
    ] {
        assert!(names.iter().any(|n| n == key), "{key} missing from {names:?}");
    }
    let tok_names: Vec<String> = tensors(&tok.join("model.safetensors")).into_iter().map(|t| t.0).collect();
    for key in ["tokenizer.bsq.basis", "encoder.2.ffn.w1.weight", "post_quant_embed_pre.weight", "head.bias"] {
        assert!(tok_names.iter().any(|n| n == key), "{key} missing");
    }
    assert!(!tok_names.iter().any(|n| n.starts_with("encoder.3.")), "the tokenizer has n_enc_layers - 1 blocks");

    let reloaded = KronosModel::load(&tok, &pred, Device::Cpu).unwrap();
    assert!(reloaded.unexpected_keys.is_empty());
    let re_dir = dir.path().join("again");
    reloaded.save(&re_dir.join("tok"), &re_dir.join("pred")).unwrap();
    for (a, b) in [(&pred, re_dir.join("pred")), (&tok, re_dir.join("tok"))] {
        let (x, y) = (tensors(&a.join("model.safetensors")), tensors(&b.join("model.safetensors")));
        assert_eq!(x.len(), y.len());
        for ((na, ta), (nb, tb)) in x.iter().zip(&y) {
            assert_eq!(na, nb);
            assert!(ta.equal(tb), "{na} changed in the round trip");
        }
    }
}

#[test]
fn missing_and_misshaped_keys_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let model = KronosModel::init(Preset::Mini, 1, Device::Cpu).unwrap();
    let file = dir.path().join("model.safetensors");
    let mut kept: Vec<(String, Tensor)> = model
        .predictor_vars()
        .variables()
        .into_iter()
        .filter(|(name, _)| name != "norm.weight")
        .map(
            |(name, t)| {
                if name == "head.proj_s1.bias" {
                    (name, Tensor::zeros([3], tch::kind::FLOAT_CPU))
                } else {
                    (name, t)
                }
            },
        )
        .collect();
    kept.push(("transformer.0.self_attn.rotary.inv_freq".into(), Tensor::zeros([32], tch::kind::FLOAT_CPU)));
    Tensor::write_safetensors(&kept, &file).unwrap();
    let err = load_into(model.predictor_vars(), &file).unwrap_err().to_string();
    assert!(err.contains("missing keys: norm.weight"), "{err}");
    assert!(err.contains("head.proj_s1.bias (file [3], model [1024])"), "{err}");
}

#[test]
fn presets_have_the_published_parameter_counts() {
    for (preset, params) in [(Preset::Mini, 4_108_032), (Preset::Small, 24_741_376)] {
        let model = KronosModel::init(preset, 0, Device::Cpu).unwrap();
        assert_eq!(model.predictor_parameters(), params, "{preset:?}");
    }
    let base = Preset::Base.predictor();
    let d = base.d_model as i64;
    let ff = base.ff_dim as i64;
    let block = 2 * d + 4 * (d * d + d) + 3 * d * ff;
    let total =
        2 * 1024 * d + (2 * d * d + d) + 136 * d + 12 * block + d + (4 * (d * d + d) + d) + 2 * (1024 * d + 1024);
    assert_eq!(total, 102_310_592);
}
