"""One long library call off the GUI thread: a napari thread_worker with progress, Cancel and
results delivered on the GUI thread.

The library reports progress on the thread that called it (the worker); a Qt signal of a QObject
that lives on the GUI thread carries each fraction across (a queued connection), where it moves
napari's progress bar. Cancel sets a flag that the progress callback returns to the library (a
non-zero return is the library's cancel request), which then stops within one batch of tiles (or
one training step) and raises unet.Cancelled.
Library errors (unet.UnetError, and the ValueErrors of bad input) become one napari error
notification; anything else is a bug and reaches napari's own error handler with its traceback."""

import threading
import time

import unet
from napari.qt.threading import create_worker
from napari.utils import progress as napari_progress
from napari.utils.notifications import show_error, show_info
from qtpy.QtCore import QObject, Signal

STEPS = 1000  # resolution of the progress bar


class Job(QObject):
    """Run `fn(report)` in a thread_worker. `report(fraction, text="")` is for the worker thread:
    it forwards progress and returns True once Cancel was pressed (the library's "cancel"
    answer). Callbacks, all on the GUI thread: on_progress(fraction, text), on_done(result),
    on_end(outcome) with outcome "done", "cancelled" or "failed"."""

    progressed = Signal(float, str)

    def __init__(self, fn, desc, on_done=None, on_progress=None, on_end=None, parent=None):
        super().__init__(parent)
        self._fn = fn
        self._on_done = on_done
        self._on_progress = on_progress
        self._on_end = on_end
        self._cancel = threading.Event()
        self.fraction = 0.0
        self.text = ""
        self.outcome = None
        self.returned_at = None  # time.perf_counter() when the result reached the GUI thread
        self.pbar = napari_progress(total=STEPS, desc=desc)
        self.progressed.connect(self._progress)  # a bound method of a GUI-thread QObject: queued
        # connect= at creation: an "errored" handler connected later would not stop the default
        # re-raise of the error in the GUI thread.
        self.worker = create_worker(self._work, _connect={"returned": self._returned,
                                                          "errored": self._errored,
                                                          "finished": self._finished})

    # ---- worker thread ----
    def report(self, fraction, text=""):
        self.progressed.emit(float(fraction), text)
        # Cancel, or the cancel button of napari's activity panel (worker.quit)
        worker = getattr(self, "worker", None)  # not yet set during the first instants
        return self._cancel.is_set() or (worker is not None and worker.abort_requested)

    def _work(self):
        try:
            return "done", self._fn(self.report)
        except unet.Cancelled:
            return "cancelled", None
        except (unet.UnetError, ValueError, OSError) as e:
            return "failed", e

    # ---- GUI thread ----
    def cancel(self):
        self._cancel.set()

    @property
    def running(self):
        return self.outcome is None

    def _progress(self, fraction, text):
        if self.outcome is not None or fraction < self.fraction:
            return
        self.fraction, self.text = min(1.0, fraction), text
        # napari's progress bar may process events, running later reports inside this one:
        # everything below reads self.fraction / self.text, the latest, not the arguments.
        if self._on_progress:
            self._on_progress(self.fraction, self.text)
        self.pbar.update(int(self.fraction * STEPS) - self.pbar.n)

    def _returned(self, value):
        self.returned_at = time.perf_counter()
        outcome, result = value
        if outcome == "done" and self._on_done:
            try:
                self._on_done(result)
            except Exception:  # a bug in the result handler: end cleanly, then let napari show it
                self._end("failed")
                raise
        if outcome == "failed":
            show_error("U-Net: %s" % result)
        elif outcome == "cancelled":
            show_info("U-Net: cancelled")
        self._end(outcome)

    def _errored(self, exc):
        self._end("failed")

    def _finished(self):
        # after returned/errored; alone when napari's activity panel quit the worker (then
        # superqt drops the return value)
        self._end("cancelled")

    def _end(self, outcome):
        if self.outcome is not None:
            return
        self.outcome = outcome
        self.pbar.close()
        if self._on_end:
            self._on_end(outcome)
