//! Element types an image may have, and the check of an image slice against its shape.

use unet_sys as sys;

use crate::error::{Error, Result};

mod sealed {
    pub trait Sealed {}
}

/// A pixel type libunet reads: `u8`, `u16`, `i16`, `u32`, `f32` or `f64`.
///
/// Sealed: the C library knows exactly these six.
pub trait Element: Copy + Send + Sync + sealed::Sealed + 'static {
    /// The `UNET_*` element type of unet.h.
    const DTYPE: sys::unet_dtype_t;
}

macro_rules! element {
    ($($t:ty => $dtype:ident),*) => {$(
        impl sealed::Sealed for $t {}
        impl Element for $t {
            const DTYPE: sys::unet_dtype_t = sys::$dtype;
        }
    )*};
}

element!(u8 => UNET_U8, u16 => UNET_U16, i16 => UNET_I16, u32 => UNET_U32, f32 => UNET_F32,
         f64 => UNET_F64);

/// The shape as the C API takes it (`int64_t` axes), after checking its rank is one of `ranks`.
/// `what` names the argument in error messages.
pub(crate) fn c_dims(what: &str, shape: &[usize], ranks: &[usize]) -> Result<Vec<i64>> {
    if !ranks.contains(&shape.len()) {
        return Err(Error::invalid(format!(
            "{what} shape {shape:?} has {} axes; expected {}",
            shape.len(),
            ranks.iter().map(|r| r.to_string()).collect::<Vec<_>>().join(" or ")
        )));
    }
    shape
        .iter()
        .map(|&d| {
            i64::try_from(d).map_err(|_| Error::invalid(format!("{what} axis {d} is too large")))
        })
        .collect()
}

/// As [`c_dims`], and the slice must hold exactly product(shape) elements (libunet cannot
/// check the length of memory it is given).
pub(crate) fn c_shape(
    what: &str,
    len: usize,
    shape: &[usize],
    ranks: &[usize],
) -> Result<Vec<i64>> {
    let dims = c_dims(what, shape, ranks)?;
    let count = shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d));
    if count != Some(len) {
        return Err(Error::invalid(format!(
            "{what} has {len} elements but its shape {shape:?} needs {}",
            count.map_or("more than usize::MAX".to_string(), |c| c.to_string())
        )));
    }
    Ok(dims)
}

/// A count or size option as the C `int` it is passed as; values that do not fit are refused
/// here with the option's name (libunet would see a wrapped value).
pub(crate) fn c_int_arg(name: &str, value: usize) -> Result<std::ffi::c_int> {
    std::ffi::c_int::try_from(value)
        .map_err(|_| Error::invalid(format!("{name} {value} is out of range")))
}

/// As [`c_int_arg`], for `int64_t` parameters.
pub(crate) fn i64_arg(name: &str, value: u64) -> Result<i64> {
    i64::try_from(value).map_err(|_| Error::invalid(format!("{name} {value} is out of range")))
}
