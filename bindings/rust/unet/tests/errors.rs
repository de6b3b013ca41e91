//! Failures come back as `Err` with libunet's status code and message; nothing panics or aborts.

mod common;

use unet::{ErrorKind, Model, PredictOptions, SegmentOptions, Tile};
use unet_sys as sys;

#[test]
fn a_missing_file_is_an_io_error_naming_it() {
    let err = Model::load("/nonexistent/dir/model.unet").unwrap_err();
    assert_eq!(err.code(), sys::UNET_E_IO);
    assert_eq!(err.kind(), ErrorKind::Io);
    assert!(err.message().contains("/nonexistent/dir/model.unet"), "message: {}", err.message());
    assert!(err.to_string().contains(err.message()));
}

#[test]
fn a_malformed_model_is_a_format_error() {
    let err = Model::from_bytes(b"definitely not a safetensors file", None).unwrap_err();
    assert_eq!(err.code(), sys::UNET_E_FORMAT, "{err}");
    assert_eq!(err.kind(), ErrorKind::Format);
}

#[test]
fn an_unknown_builtin_lists_the_known_ones() {
    assert!(Model::builtin_names().unwrap().contains(&"nuclei"));
    let err = Model::builtin("no-such-model").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert!(err.message().contains("nuclei"), "message: {}", err.message());
}

#[test]
fn a_bad_config_value_is_an_invalid_argument() {
    let err = Model::create(r#"{"depth": 0}"#, 1).unwrap_err();
    assert_eq!(err.code(), sys::UNET_E_INVALID_ARG, "{err}");
    assert!(err.message().contains("depth"), "message: {}", err.message());
    let err = Model::create("{not json", 1).unwrap_err();
    assert!(err.code() < 0 && !err.message().is_empty());
}

#[test]
fn an_option_out_of_range_is_refused_by_the_builder_with_its_bounds() {
    let err = PredictOptions::builder().threads(2).threads(5000).build().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert!(err.message().contains("5000"), "message: {}", err.message());
    let err = SegmentOptions::builder().threshold(1.5).build().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    let err = PredictOptions::builder().set("no_such_key", "1").build().unwrap_err();
    assert!(err.message().contains("no_such_key"), "message: {}", err.message());
    // The first refused value is the one reported; later setters do not run.
    let err = PredictOptions::builder().batch(0).threads(5000).build().unwrap_err();
    assert!(err.message().contains("batch"), "message: {}", err.message());
    // Built options refuse too, and stay as they were.
    let mut opts = PredictOptions::builder().threads(3).build().unwrap();
    let before = opts.to_json().unwrap();
    assert_eq!(opts.set("threads", "-4").unwrap_err().kind(), ErrorKind::InvalidArgument);
    assert_eq!(opts.to_json().unwrap(), before);
    opts.set("threads", "4").unwrap();
    assert_ne!(opts.to_json().unwrap(), before);
}

#[test]
fn a_slice_that_does_not_match_its_shape_is_refused_before_c_sees_it() {
    let model = common::nuclei();
    let image = vec![0u16; 100];
    let err = model.predict(&image, &[10, 11], None).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert!(err.message().contains("100"), "message: {}", err.message());
    let err = model.segment(&image, &[100], None).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    let err = model.predict(&image, &[usize::MAX, 2], None).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
}

#[test]
fn a_tile_off_the_block_grid_fails_at_predict_time() {
    let model = common::nuclei();
    let block = model.block_multiple().unwrap();
    assert!(block > 1);
    let s = common::sample(64, 64, 1);
    let opts = PredictOptions::builder().tile(Tile::Pixels(block + 1)).build().unwrap();
    let err = model.predict(&s.image, &[64, 64], Some(&opts)).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::InvalidArgument | ErrorKind::Shape), "{err}");
    assert!(err.message().contains(&(block + 1).to_string()), "message: {}", err.message());
}
