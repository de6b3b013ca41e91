//! Click-to-segment: a session on one image finds the object under each click, predicting
//! only the windows clicks need and caching them.

use std::marker::PhantomData;
use std::ptr::{self, NonNull};
use std::sync::{Arc, Mutex};

use unet_sys as sys;

use crate::cancel::{CancelHandle, Target};
use crate::click_options::ClickOptions;
use crate::element::{c_shape, Element};
use crate::error::{check, Error, Result};
use crate::Model;

/// A click-to-segment session on one image.
///
/// The C session keeps pointers to the model and to the image: the lifetime `'a` borrows
/// both, so the compiler enforces what the C API asks (the image stays alive and unchanged,
/// the model outlives the session). To segment an edited image, drop the session and start a
/// new one. A session is used by one thread at a time (`Send`, and clicks take `&mut self`);
/// several sessions may share one model across threads.
///
/// ```no_run
/// # fn main() -> unet::Result<()> {
/// let model = unet::Model::builtin("nuclei")?;
/// let sample = unet::sample_nuclei(256, 256, 1, 16)?;
/// let mut session = model.click_session(&sample.image, &[256, 256], None)?;
/// let object = session.click(120, 80)?;
/// println!("{} pixels, outline {:?}", object.area(), object.ring(0)?);
/// # Ok(())
/// # }
/// ```
///
/// Changing the image while a session uses it does not compile:
/// ```compile_fail
/// # fn main() -> unet::Result<()> {
/// let model = unet::Model::builtin("nuclei")?;
/// let mut image = vec![0u16; 64 * 64];
/// let mut session = model.click_session(&image, &[64, 64], None)?;
/// image[0] = 1; // error: `image` is borrowed by the session
/// session.click(1, 1)?;
/// # Ok(())
/// # }
/// ```
/// and neither does a session that outlives its model:
/// ```compile_fail
/// # fn main() -> unet::Result<()> {
/// let image = vec![0u16; 64 * 64];
/// let mut session = {
///     let model = unet::Model::builtin("nuclei")?;
///     model.click_session(&image, &[64, 64], None)? // error: `model` does not live long enough
/// };
/// session.click(1, 1)?;
/// # Ok(())
/// # }
/// ```
pub struct ClickSession<'a> {
    ptr: NonNull<sys::unet_click_session_t>,
    /// The same pointer for cancel handles, cleared (under its lock) before the session is
    /// freed, so a handle that outlives the session never reaches freed memory.
    shared: Arc<SharedSession>,
    _borrows: PhantomData<(&'a Model, &'a [u8])>,
}

/// What a [`CancelHandle`] of a click session holds.
struct SharedSession(Mutex<Option<SessionPtr>>);

struct SessionPtr(NonNull<sys::unet_click_session_t>);

// SAFETY: only unet_click_session_cancel, which is thread-safe, is called through it, and
// only while the session lives (the lock orders it before the free).
unsafe impl Send for SessionPtr {}

impl Target for SharedSession {
    fn cancel(&self) {
        let live = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(p) = live.as_ref() {
            // SAFETY: the session is alive while the pointer is set (Drop clears it first).
            unsafe { sys::unet_click_session_cancel(p.0.as_ptr()) };
        }
    }
}

// SAFETY: the C session may move between threads; it is never used from two at once (`&mut`
// for clicks, and the type is not Sync).
unsafe impl Send for ClickSession<'_> {}

/// Work a session has done so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ClickStats {
    /// Network runs.
    pub network_runs: u64,
    /// Input pixels those runs processed (halo included).
    pub network_pixels: u64,
    /// Image pixels whose probabilities are cached.
    pub cached_pixels: u64,
}

/// The bounding box of a clicked object, in image pixels.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BBox {
    /// Column of the top-left pixel.
    pub x: usize,
    /// Row of the top-left pixel.
    pub y: usize,
    /// Columns.
    pub width: usize,
    /// Rows.
    pub height: usize,
}

/// The object found by one click (empty when the click was on background).
pub struct ClickResult {
    ptr: NonNull<sys::unet_click_result_t>,
}

// SAFETY: a result is immutable after the click that made it.
unsafe impl Send for ClickResult {}
unsafe impl Sync for ClickResult {}

impl Model {
    /// A click-to-segment session on an image of `shape` (H, W), (C, H, W) or (P, C, H, W)
    /// (row-major), with a copy of `opts` (`None`: defaults and the model's metadata).
    pub fn click_session<'a, T: Element>(
        &'a self,
        image: &'a [T],
        shape: &[usize],
        opts: Option<&ClickOptions>,
    ) -> Result<ClickSession<'a>> {
        let dims = c_shape("image", image.len(), shape, &[2, 3, 4])?;
        let mut ptr = ptr::null_mut();
        let opts_ptr = opts.map_or(ptr::null(), |o| o.raw.as_ptr() as *const _);
        // SAFETY: image holds product(shape) elements of T's dtype and outlives the session
        // ('a); the session copies opts and the shape.
        check(unsafe {
            sys::unet_click_session_create(
                self.as_ptr(),
                opts_ptr,
                image.as_ptr().cast(),
                T::DTYPE,
                dims.len() as i32,
                dims.as_ptr(),
                &mut ptr,
            )
        })?;
        let ptr =
            NonNull::new(ptr).ok_or_else(|| Error::new(sys::UNET_E_INTERNAL, "no session"))?;
        let shared = Arc::new(SharedSession(Mutex::new(Some(SessionPtr(ptr)))));
        Ok(ClickSession { ptr, shared, _borrows: PhantomData })
    }
}

impl<'a> ClickSession<'a> {
    /// The object under pixel (x, y) of a 2-D or (C, H, W) image.
    pub fn click(&mut self, x: usize, y: usize) -> Result<ClickResult> {
        self.click_plane(x, y, 0)
    }

    /// The object under pixel (x, y) of plane `plane` of a (P, C, H, W) stack.
    pub fn click_plane(&mut self, x: usize, y: usize, plane: usize) -> Result<ClickResult> {
        let mut out = ptr::null_mut();
        // SAFETY: exclusive use of a live session; libunet checks the coordinates.
        check(unsafe {
            sys::unet_click(self.ptr.as_ptr(), x as i64, y as i64, plane as i64, &mut out)
        })?;
        let ptr = NonNull::new(out).ok_or_else(|| Error::new(sys::UNET_E_INTERNAL, "no result"))?;
        Ok(ClickResult { ptr })
    }

    /// Replaces the session's options by a copy of `opts`. Changing only post-processing keys
    /// keeps the cache; a changed prediction key drops it.
    pub fn set_options(&mut self, opts: &ClickOptions) -> Result<()> {
        // SAFETY: exclusive use of a live session; the options are copied.
        check(unsafe { sys::unet_click_session_set_opts(self.ptr.as_ptr(), opts.raw.as_ptr()) })
    }

    /// A handle that cancels a click running on this session from another thread (the click
    /// returns [`ErrorKind::Cancelled`](crate::ErrorKind::Cancelled)); later clicks are
    /// cancelled too until [`reset_cancel`](Self::reset_cancel). What finished before stays
    /// cached, and after the reset a click gives what it would have given without the cancel.
    pub fn cancel_handle(&self) -> CancelHandle {
        CancelHandle::of(self.shared.clone())
    }

    /// Lets the session click again after a cancel.
    pub fn reset_cancel(&self) -> Result<()> {
        // SAFETY: a live session; the call is thread-safe.
        check(unsafe { sys::unet_click_session_reset_cancel(self.ptr.as_ptr()) })
    }

    /// Work done so far.
    pub fn stats(&self) -> Result<ClickStats> {
        let (mut runs, mut pixels, mut cached) = (0i64, 0i64, 0i64);
        // SAFETY: a live session and valid out-parameters.
        check(unsafe {
            sys::unet_click_session_stats(self.ptr.as_ptr(), &mut runs, &mut pixels, &mut cached)
        })?;
        Ok(ClickStats {
            network_runs: runs as u64,
            network_pixels: pixels as u64,
            cached_pixels: cached as u64,
        })
    }
}

impl Drop for ClickSession<'_> {
    fn drop(&mut self) {
        // Under the lock: a handle's cancel either finished or will find no session.
        let mut live = self.shared.0.lock().unwrap_or_else(|e| e.into_inner());
        *live = None;
        // SAFETY: created by unet_click_session_create, freed once.
        unsafe { sys::unet_click_session_free(self.ptr.as_ptr()) }
    }
}

impl std::fmt::Debug for ClickSession<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("ClickSession").field(&self.stats().ok()).finish()
    }
}

impl ClickResult {
    fn ptr(&self) -> *const sys::unet_click_result_t {
        self.ptr.as_ptr()
    }

    /// The object's bounding box (zeros when empty).
    pub fn bbox(&self) -> BBox {
        let mut b = [0i64; 4];
        // SAFETY: a live result and room for 4 values; cannot fail on a valid result.
        unsafe { sys::unet_click_result_bbox(self.ptr(), b.as_mut_ptr()) };
        BBox { x: b[0] as usize, y: b[1] as usize, width: b[2] as usize, height: b[3] as usize }
    }

    /// The object's pixel count (0 when the click was on background).
    pub fn area(&self) -> u64 {
        let mut area = 0i64;
        // SAFETY: as for bbox().
        unsafe { sys::unet_click_result_area(self.ptr(), &mut area) };
        area as u64
    }

    /// `true` when the object was found whole, `false` when `max_extent` cut it.
    pub fn is_complete(&self) -> bool {
        let mut complete = 0;
        // SAFETY: as for bbox().
        unsafe { sys::unet_click_result_complete(self.ptr(), &mut complete) };
        complete != 0
    }

    /// `true` when the click was on background.
    pub fn is_empty(&self) -> bool {
        self.area() == 0
    }

    /// The object's mask over its bounding box, row by row: 1 on the object, 0 off it (empty
    /// when the result is).
    pub fn mask(&self) -> &[u8] {
        let mut mask = ptr::null();
        // SAFETY: the mask is owned by the result (borrowed as long as `self`) and holds
        // bbox width x height bytes.
        unsafe {
            sys::unet_click_result_mask(self.ptr(), &mut mask);
            let b = self.bbox();
            if mask.is_null() {
                &[]
            } else {
                std::slice::from_raw_parts(mask, b.width * b.height)
            }
        }
    }

    /// Number of outline rings (0 when empty; ring 0 is the outline, the others holes).
    pub fn ring_count(&self) -> usize {
        let mut count = 0i64;
        // SAFETY: as for bbox().
        unsafe { sys::unet_click_result_ring_count(self.ptr(), &mut count) };
        count as usize
    }

    /// Ring `index` as (x, y) vertices at pixel corners: ring 0 clockwise on screen (positive
    /// shoelace area), holes counter-clockwise; the last vertex joins the first.
    pub fn ring(&self, index: usize) -> Result<&[[i64; 2]]> {
        let mut xy = ptr::null();
        let mut n = 0i64;
        // SAFETY: the ring is owned by the result (borrowed as long as `self`) and holds
        // 2 n int64 values, read as n pairs.
        unsafe {
            check(sys::unet_click_result_ring(self.ptr(), index as i64, &mut xy, &mut n))?;
            if xy.is_null() || n <= 0 {
                return Ok(&[]);
            }
            Ok(std::slice::from_raw_parts(xy as *const [i64; 2], n as usize))
        }
    }

    /// Every ring, outline first.
    pub fn rings(&self) -> Result<Vec<&[[i64; 2]]>> {
        (0..self.ring_count()).map(|i| self.ring(i)).collect()
    }
}

impl Drop for ClickResult {
    fn drop(&mut self) {
        // SAFETY: created by unet_click, freed once.
        unsafe { sys::unet_click_result_free(self.ptr.as_ptr()) }
    }
}

impl std::fmt::Debug for ClickResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClickResult")
            .field("bbox", &self.bbox())
            .field("area", &self.area())
            .field("complete", &self.is_complete())
            .finish()
    }
}
