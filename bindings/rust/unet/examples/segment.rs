//! Segments the nuclei of a TIFF image with libunet's built-in model.
//!
//! ```sh
//! cargo run --example segment -- IN.tif [OUT.tif]
//! ```
//! Prints `N objects`; with OUT.tif, writes the instance labels there (16-bit while they fit,
//! else 32-bit). Grey images of 8, 16 or 32 bits (integer or float) are read; colour images go
//! to libunet as channels (it applies its colour rule).

use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::process::ExitCode;

use tiff::decoder::{Decoder, DecodingResult};
use tiff::encoder::{colortype, TiffEncoder};
use unet::{Element, Model, Segmentation};

type BoxError = Box<dyn std::error::Error>;

/// Interleaved (H, W, C) samples to the planar (C, H, W) layout libunet takes.
fn planar<T: Copy>(samples: &[T], channels: usize) -> Vec<T> {
    if channels == 1 {
        return samples.to_vec();
    }
    let pixels = samples.len() / channels;
    (0..channels).flat_map(|c| (0..pixels).map(move |p| samples[p * channels + c])).collect()
}

fn segment<T: Element>(
    model: &Model,
    samples: &[T],
    h: usize,
    w: usize,
) -> unet::Result<Segmentation> {
    let channels = samples.len() / (h * w);
    let image = planar(samples, channels);
    let shape: Vec<usize> = if channels == 1 { vec![h, w] } else { vec![channels, h, w] };
    model.segment(&image, &shape, None)
}

fn write_labels(path: &str, seg: &Segmentation) -> Result<(), BoxError> {
    let mut encoder = TiffEncoder::new(BufWriter::new(File::create(path)?))?;
    let (w, h) = (seg.width as u32, seg.height as u32);
    if seg.num_objects <= u16::MAX as u32 {
        let labels: Vec<u16> = seg.labels.iter().map(|&l| l as u16).collect();
        encoder.write_image::<colortype::Gray16>(w, h, &labels)?;
    } else {
        encoder.write_image::<colortype::Gray32>(w, h, &seg.labels)?;
    }
    Ok(())
}

fn run(args: &[String]) -> Result<(), BoxError> {
    let input = args.first().ok_or("usage: segment IN.tif [OUT.tif]")?;
    let mut decoder = Decoder::new(BufReader::new(File::open(input)?))?;
    let (w, h) = decoder.dimensions()?;
    let (w, h) = (w as usize, h as usize);
    let model = Model::builtin("nuclei")?;
    let seg = match decoder.read_image()? {
        DecodingResult::U8(v) => segment(&model, &v, h, w)?,
        DecodingResult::U16(v) => segment(&model, &v, h, w)?,
        DecodingResult::I16(v) => segment(&model, &v, h, w)?,
        DecodingResult::U32(v) => segment(&model, &v, h, w)?,
        DecodingResult::F32(v) => segment(&model, &v, h, w)?,
        DecodingResult::F64(v) => segment(&model, &v, h, w)?,
        _ => return Err(format!("{input}: unsupported TIFF sample type").into()),
    };
    println!("{} objects", seg.num_objects);
    if let Some(output) = args.get(1) {
        write_labels(output, &seg)?;
    }
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("segment: {e}");
            ExitCode::FAILURE
        }
    }
}
