"""Running one long C call so a host can stop it: a CancelToken cancelled from any thread, and
Ctrl-C turned into the library's own cancel (then KeyboardInterrupt).

Python runs signal handlers only on the main thread and only between bytecodes, so a SIGINT
that arrives while the main thread sits in a C call (the GIL released) waits for the call to
end. Here a main-thread call runs on a helper thread instead while the main thread waits: the
handler then runs at once, cancels the call's options through the library (thread-safe), and
KeyboardInterrupt is raised when the call has returned."""

import concurrent.futures
import contextlib
import os
import signal
import threading
from typing import Callable, Iterator, Optional, Tuple

from . import _lib
from ._errors import Cancelled


class CancelToken:
    """A cancel request a host can make from any thread (a GUI's Cancel button, a timer).

    Pass it as `cancel=` to Model.predict, Model.segment, Trainer.train or Trainer.step:
    cancel() stops the calls running with it through the library's thread-safe cancel (they
    raise unet.Cancelled), and a call started with a token already cancelled raises
    unet.Cancelled at once. A token stays cancelled; make a new one for the next run."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cancelled = False
        self._targets = []  # cancel functions of the calls running with this token

    @property
    def cancelled(self) -> bool:
        """True once cancel() was called."""
        return self._cancelled

    def cancel(self) -> None:
        """Cancel the calls running with this token, and every later one."""
        with self._lock:
            self._cancelled = True
            for cancel_fn in self._targets:
                cancel_fn()

    @contextlib.contextmanager
    def _attached(self, cancel_fn: Callable[[], object]) -> Iterator[None]:
        """While the block runs, cancel() calls cancel_fn. The lock makes cancel() and the end
        of the block exclusive, so cancel_fn never runs on an options object already freed."""
        with self._lock:
            if self._cancelled:
                raise Cancelled(_lib.E_CANCELLED, "cancelled before the call started")
            self._targets.append(cancel_fn)
        try:
            yield
        finally:
            with self._lock:
                self._targets.remove(cancel_fn)

    def __repr__(self) -> str:
        return "<unet.CancelToken%s>" % (" cancelled" if self._cancelled else "")


# One helper thread for calls made on the main thread (kept, so OpenMP keeps its thread team;
# made again in a forked child, where the parent's thread does not exist).
_executor = None
_executor_pid = None
_executor_lock = threading.Lock()


def _helper():
    global _executor, _executor_pid
    with _executor_lock:
        if _executor is None or _executor_pid != os.getpid():
            _executor = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="unet-call")
            _executor_pid = os.getpid()
        return _executor


def _with_message(fn: Callable[[], int]) -> Tuple[int, str]:
    # The library's message is thread-local: read it on the thread that made the call.
    status = fn()
    return status, (_lib.last_error() if status != _lib.OK else "")


def _interruptible(fn: Callable[[], int], cancel_fn: Callable[[], object]) -> Tuple[int, str]:
    """fn() with Ctrl-C as the library's cancel when called on the main thread with a Python
    SIGINT handler installed (SIG_DFL / SIG_IGN and other threads: a plain call)."""
    previous = signal.getsignal(signal.SIGINT)
    if threading.current_thread() is not threading.main_thread() or not callable(previous):
        return _with_message(fn)
    frames = []

    def on_sigint(signum, frame):
        frames.append(frame)
        cancel_fn()

    future = _helper().submit(_with_message, fn)
    signal.signal(signal.SIGINT, on_sigint)
    try:
        while True:
            try:
                result = future.result(timeout=0.5)
                break
            except concurrent.futures.TimeoutError:
                continue
    finally:
        # signal.signal runs handlers still pending first: a late SIGINT is not lost.
        signal.signal(signal.SIGINT, previous)
    if frames:
        previous(signal.SIGINT, frames[0])  # Python's default raises KeyboardInterrupt
    return result


def call(fn: Callable[[], int], cancel_fn: Callable[[], object],
         token: Optional[CancelToken] = None) -> Tuple[int, str]:
    """(status, message) of the C call fn(); cancel_fn cancels it (thread-safe) on
    token.cancel() or Ctrl-C. Call it while the options cancel_fn touches are alive."""
    if token is not None and not isinstance(token, CancelToken):
        raise TypeError("cancel= takes a unet.CancelToken, not %s" % type(token).__name__)
    with token._attached(cancel_fn) if token is not None else contextlib.nullcontext():
        return _interruptible(fn, cancel_fn)
