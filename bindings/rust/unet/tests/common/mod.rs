//! Shared by the integration tests: the built-in model, sample images, the real data folder.
#![allow(dead_code)] // each test file uses part of it

use std::path::PathBuf;

use unet::{Model, Sample};

/// The built-in nuclei model (every test needs a libunet built with it).
pub fn nuclei() -> Model {
    Model::builtin("nuclei").expect("the built-in model \"nuclei\"")
}

/// A synthetic 16-bit nuclei image of the given size.
pub fn sample(height: usize, width: usize, seed: u64) -> Sample {
    unet::sample_nuclei(height, width, seed, 16).expect("sample image")
}

/// `../shared/data` beside the repository (or `UNET_SHARED_DATA`).
pub fn shared_data() -> PathBuf {
    std::env::var_os("UNET_SHARED_DATA").map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../../shared/data")
    })
}

/// The first page of a grey TIFF as u16 with its (H, W), read with the `tiff` crate.
pub fn read_tiff_u16(path: &std::path::Path) -> (Vec<u16>, [usize; 2]) {
    use tiff::decoder::{Decoder, DecodingResult};
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut decoder = Decoder::new(std::io::BufReader::new(file)).expect("a TIFF file");
    let (w, h) = decoder.dimensions().unwrap();
    let pixels = match decoder.read_image().unwrap() {
        DecodingResult::U16(v) => v,
        DecodingResult::U8(v) => v.into_iter().map(u16::from).collect(),
        other => panic!(
            "unexpected TIFF sample type in {}: {:?}",
            path.display(),
            std::mem::discriminant(&other)
        ),
    };
    assert_eq!(pixels.len(), (w * h) as usize, "{}: one grey channel expected", path.display());
    (pixels, [h as usize, w as usize])
}
