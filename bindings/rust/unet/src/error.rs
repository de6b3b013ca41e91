//! Errors: the status code of the C call and the message libunet gave for it.

use std::ffi::{c_int, CStr};
use std::fmt;

use unet_sys as sys;

/// What kind of failure an [`Error`] is, from its status code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A bad argument, option, config key or value (`UNET_E_INVALID_ARG`).
    InvalidArgument,
    /// A file could not be opened, read or written (`UNET_E_IO`).
    Io,
    /// A file or document is malformed (`UNET_E_FORMAT`).
    Format,
    /// Out of memory, or a size too large to allocate (`UNET_E_NOMEM`).
    OutOfMemory,
    /// Cancelled by a progress closure or a [`CancelHandle`](crate::CancelHandle)
    /// (`UNET_E_CANCELLED`).
    Cancelled,
    /// Valid, but not supported by this build of libunet (`UNET_E_UNSUPPORTED`).
    Unsupported,
    /// An image or tensor shape the model cannot take (`UNET_E_SHAPE`).
    Shape,
    /// A bug in libunet (`UNET_E_INTERNAL`).
    Internal,
    /// A status code this crate does not know.
    Other,
}

/// A failed libunet call: its status code and libunet's message naming the offending value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    code: i32,
    message: String,
}

/// The result of every fallible call of this crate.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// An error with this status code and message.
    pub fn new(code: i32, message: impl Into<String>) -> Error {
        Error { code, message: message.into() }
    }

    /// The error for a status just returned by libunet, with the calling thread's last error
    /// message (read now: the next libunet call on this thread replaces it).
    pub(crate) fn from_status(code: c_int) -> Error {
        // SAFETY: unet_last_error returns a valid NUL-terminated thread-local string.
        let message = unsafe { CStr::from_ptr(sys::unet_last_error()) };
        let mut message = message.to_string_lossy().into_owned();
        if message.is_empty() {
            message = status_string(code);
        }
        Error { code, message }
    }

    /// An invalid-argument error found on the Rust side (before calling libunet).
    pub(crate) fn invalid(message: impl Into<String>) -> Error {
        Error::new(sys::UNET_E_INVALID_ARG, message)
    }

    /// The status code (a negative `UNET_E_*` value of unet.h).
    pub fn code(&self) -> i32 {
        self.code
    }

    /// The kind of failure, from the status code.
    pub fn kind(&self) -> ErrorKind {
        match self.code {
            sys::UNET_E_INVALID_ARG => ErrorKind::InvalidArgument,
            sys::UNET_E_IO => ErrorKind::Io,
            sys::UNET_E_FORMAT => ErrorKind::Format,
            sys::UNET_E_NOMEM => ErrorKind::OutOfMemory,
            sys::UNET_E_CANCELLED => ErrorKind::Cancelled,
            sys::UNET_E_UNSUPPORTED => ErrorKind::Unsupported,
            sys::UNET_E_SHAPE => ErrorKind::Shape,
            sys::UNET_E_INTERNAL => ErrorKind::Internal,
            _ => ErrorKind::Other,
        }
    }

    /// libunet's message ("tile 100 is not a multiple of 8 (model depth 4)", ...).
    pub fn message(&self) -> &str {
        &self.message
    }
}

/// libunet's name of a status code ("invalid argument", ...).
fn status_string(code: c_int) -> String {
    // SAFETY: unet_status_string returns a static NUL-terminated string, never NULL.
    unsafe { CStr::from_ptr(sys::unet_status_string(code)) }.to_string_lossy().into_owned()
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}, code {})", self.message, status_string(self.code), self.code)
    }
}

impl std::error::Error for Error {}

/// `Ok(())` for UNET_OK, else the error with the thread's last message.
pub(crate) fn check(status: c_int) -> Result<()> {
    if status == sys::UNET_OK {
        Ok(())
    } else {
        Err(Error::from_status(status))
    }
}
