//! Models: built-in, created, saved and loaded; properties, metadata and tensors.

mod common;

use unet::{ErrorKind, Model};

const CONFIG: &str = r#"{"depth": 3, "base_features": 8, "final_activation": "sigmoid"}"#;

#[test]
fn the_builtin_model_describes_itself() {
    let model = common::nuclei();
    assert_eq!(model.ndim().unwrap(), 2);
    assert_eq!(model.in_channels().unwrap(), 1);
    assert!(model.out_channels().unwrap() >= 1);
    assert!(model.depth().unwrap() >= 2);
    assert_eq!(model.block_multiple().unwrap(), 1 << (model.depth().unwrap() - 1));
    assert!(model.halo().unwrap() > 0);
    assert!(model.param_count().unwrap() > 1000);
    assert!(model.architecture().unwrap().contains("\"depth\""));
    assert!(model.metadata().unwrap().contains("architecture"));
    assert!(unet::version().starts_with("1."));
}

#[test]
fn the_same_seed_gives_the_same_weights() {
    let a = Model::create(CONFIG, 42).unwrap();
    let b = Model::create(CONFIG, 42).unwrap();
    let c = Model::create(CONFIG, 43).unwrap();
    let name = &a.tensors().unwrap()[0].name;
    assert_eq!(a.tensor(name).unwrap(), b.tensor(name).unwrap());
    assert_ne!(a.tensor(name).unwrap(), c.tensor(name).unwrap());
    assert_eq!(a.depth().unwrap(), 3);
}

#[test]
fn tensors_round_trip_through_memory_and_files() {
    let mut model = Model::create(CONFIG, 1).unwrap();
    let tensors = model.tensors().unwrap();
    assert!(tensors.iter().any(|t| t.name == "out.weight"));
    let info = tensors.iter().find(|t| t.name == "out.bias").unwrap();
    let bias: Vec<f32> =
        (0..info.shape.iter().product::<usize>()).map(|i| i as f32 + 0.5).collect();
    model.set_tensor("out.bias", &bias).unwrap();
    assert_eq!(model.tensor("out.bias").unwrap(), bias);
    assert_eq!(model.set_tensor("out.bias", &[1.0; 1000]).unwrap_err().kind(), ErrorKind::Shape);
    assert_eq!(model.tensor("nope").unwrap_err().kind(), ErrorKind::InvalidArgument);

    let bytes = model.to_bytes().unwrap();
    let copy = Model::from_bytes(&bytes, None).unwrap();
    assert_eq!(copy.tensor("out.bias").unwrap(), bias);

    let dir = std::env::temp_dir().join(format!("unet-rust-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("m.unet");
    model.save(&path).unwrap();
    let loaded = Model::load(&path).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    for t in &tensors {
        assert_eq!(loaded.tensor(&t.name).unwrap(), model.tensor(&t.name).unwrap(), "{}", t.name);
    }
}

#[test]
fn metadata_sections_can_be_replaced() {
    let mut model = Model::create(CONFIG, 1).unwrap();
    model.set_metadata("training", Some(r#"{"data": "rust test"}"#)).unwrap();
    assert!(model.metadata().unwrap().contains("rust test"));
    model.set_metadata("training", None).unwrap();
    assert!(!model.metadata().unwrap().contains("rust test"));
    assert!(model.set_metadata("no-such-section", Some("{}")).is_err());
}

#[test]
fn forward_runs_the_raw_network() {
    let model = Model::create(CONFIG, 3).unwrap();
    let shape = [1, 1, 32, 32];
    let input: Vec<f32> = (0..32 * 32).map(|i| (i % 7) as f32 / 7.0).collect();
    let out = model.forward(&input, &shape, None).unwrap();
    assert_eq!(out.shape, model.output_shape(&shape).unwrap());
    assert_eq!(out.shape, vec![1, 1, 32, 32]);
    assert!(out.data.iter().all(|&v| (0.0..=1.0).contains(&v)), "sigmoid output");
    let err = model.forward(&input[..1000], &[1, 1, 10, 100], None).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Shape | ErrorKind::InvalidArgument), "{err}");
}
