//! Synthetic fluorescence-nuclei images, as `unet sample` writes them.

use unet_sys as sys;

use crate::element::i64_arg;
use crate::error::{check, Error, Result};
use crate::opts::{RawOpts, SampleKind};

/// A synthetic image and its instance labels.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sample {
    /// Height x width pixels, row-major, below 2^bits.
    pub image: Vec<u16>,
    /// Instance labels 1..=N (0 background), row-major.
    pub labels: Vec<u32>,
    /// Rows.
    pub height: usize,
    /// Columns.
    pub width: usize,
    /// N, the number of nuclei.
    pub num_objects: u32,
}

/// Generates synthetic fluorescence nuclei (what the built-in model was trained on): the same
/// seed and size give the same image. `height` and `width` are 16 to 16384; `bits` is 8, 12 or
/// 16 (the classic scene).
pub fn sample_nuclei(height: usize, width: usize, seed: u64, bits: u32) -> Result<Sample> {
    let opts = RawOpts::<SampleKind>::new()?;
    // SAFETY: a valid options object.
    opts.apply(|p| unsafe { sys::unet_sample_opts_set_seed(p, seed) })?;
    opts.set("bits", &bits.to_string())?;
    let (h, w) = (i64_arg("height", height as u64)?, i64_arg("width", width as u64)?);
    let count = height
        .checked_mul(width)
        .ok_or_else(|| Error::invalid(format!("sample size {height} x {width} is too large")))?;
    if !(16..=16384).contains(&height) || !(16..=16384).contains(&width) {
        // Checked here too: the buffers below are allocated before libunet sees the size.
        return Err(Error::invalid(format!(
            "sample size {height} x {width}: each side must be 16 to 16384"
        )));
    }
    let mut image = vec![0u16; count];
    let mut labels = vec![0u32; count];
    let mut num_objects = 0u32;
    // SAFETY: buffers of height * width elements.
    check(unsafe {
        sys::unet_sample_nuclei(
            opts.as_ptr(),
            h,
            w,
            image.as_mut_ptr(),
            labels.as_mut_ptr(),
            &mut num_objects,
        )
    })?;
    Ok(Sample { image, labels, height, width, num_objects })
}
