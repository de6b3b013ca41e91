//! Segmentation of in-memory images into instance labels.

use unet_sys as sys;

use crate::element::{c_shape, Element};
use crate::error::Result;
use crate::progress::{self, Progress};
use crate::segment_options::SegmentOptions;
use crate::Model;

/// Instance labels of one image: 0 background, objects 1..=N in raster order of their first
/// pixel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Segmentation {
    /// Height x width labels, row-major.
    pub labels: Vec<u32>,
    /// Rows.
    pub height: usize,
    /// Columns.
    pub width: usize,
    /// N, the number of objects.
    pub num_objects: u32,
}

impl Model {
    /// Segments an image of `shape` (H, W) or (C, H, W) (row-major) into instance labels, as
    /// the model's output metadata says (threshold and watershed, or three classes), with the
    /// prediction and post-processing options of `opts` (`None`: defaults and the model's).
    pub fn segment<T: Element>(
        &self,
        image: &[T],
        shape: &[usize],
        opts: Option<&SegmentOptions>,
    ) -> Result<Segmentation> {
        self.segment_impl(image, shape, opts, None)
    }

    /// As [`Model::segment`], reporting progress (statistics, prediction, post-processing) to
    /// a closure on this thread; it returns `false` to cancel. A panic in the closure cancels
    /// the run and is resumed once libunet has returned.
    pub fn segment_with_progress<T: Element>(
        &self,
        image: &[T],
        shape: &[usize],
        opts: Option<&SegmentOptions>,
        mut progress: impl FnMut(f64, &str) -> bool,
    ) -> Result<Segmentation> {
        self.segment_impl(image, shape, opts, Some(&mut progress))
    }

    fn segment_impl<T: Element>(
        &self,
        image: &[T],
        shape: &[usize],
        opts: Option<&SegmentOptions>,
        progress: Option<Progress<'_>>,
    ) -> Result<Segmentation> {
        let dims = c_shape("image", image.len(), shape, &[2, 3])?;
        let (height, width) = (shape[shape.len() - 2], shape[shape.len() - 1]);
        let mut labels = vec![0u32; height * width];
        let mut num_objects = 0u32;
        let call = |opts_ptr: *const sys::unet_segment_opts_t| {
            // SAFETY: image holds product(shape) elements of T's dtype, labels H*W.
            unsafe {
                sys::unet_segment(
                    self.as_ptr(),
                    opts_ptr,
                    image.as_ptr().cast(),
                    T::DTYPE,
                    dims.len() as i32,
                    dims.as_ptr(),
                    labels.as_mut_ptr(),
                    labels.len(),
                    &mut num_objects,
                )
            }
        };
        progress::run(opts.map(|o| &*o.raw), progress, call)?;
        Ok(Segmentation { labels, height, width, num_objects })
    }
}
