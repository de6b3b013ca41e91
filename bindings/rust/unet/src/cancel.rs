//! Cancelling a running call from another thread.

use std::fmt;
use std::sync::Arc;

use crate::opts::{Cancellable, RawOpts};

pub(crate) trait Target: Send + Sync {
    fn cancel(&self);
}

impl<K: Cancellable> Target for RawOpts<K> {
    fn cancel(&self) {
        // SAFETY: unet_*_opts_cancel is thread-safe and the Arc keeps the object alive; it
        // cannot fail on a valid object.
        unsafe { K::cancel(self.as_ptr()) };
    }
}

/// Cancels the calls running with one options object or on one click session, from any thread
/// (a GUI's Cancel button, a request timeout).
///
/// Get one from [`PredictOptions::cancel_handle`](crate::PredictOptions::cancel_handle),
/// [`SegmentOptions::cancel_handle`](crate::SegmentOptions::cancel_handle) or
/// [`ClickSession::cancel_handle`](crate::ClickSession::cancel_handle). The running call
/// returns [`ErrorKind::Cancelled`](crate::ErrorKind::Cancelled) within one tile batch (a
/// click: at its next network run or statistics pass). The request stays set: later calls are
/// cancelled too until `reset_cancel` of the options or the session. The handle keeps the
/// options' C object alive, so it may outlive them; a handle of a dropped click session does
/// nothing.
#[derive(Clone)]
pub struct CancelHandle {
    target: Arc<dyn Target>,
}

impl CancelHandle {
    pub(crate) fn new<K: Cancellable + 'static>(opts: &Arc<RawOpts<K>>) -> Self {
        CancelHandle { target: opts.clone() }
    }

    pub(crate) fn of(target: Arc<dyn Target>) -> Self {
        CancelHandle { target }
    }

    /// Requests cancellation.
    pub fn cancel(&self) {
        self.target.cancel();
    }
}

impl fmt::Debug for CancelHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CancelHandle")
    }
}
