package org.libunet;

/**
 * Progress of a prediction or segmentation, called on the thread that made the call with a
 * non-decreasing fraction in [0, 1] (1 only on success) and the stage's name ("statistics",
 * "predicting", ...). An exception thrown here cancels the run; the call then rethrows it.
 * To stop a run without an exception, call {@code cancel()} on its options.
 */
public interface ProgressListener {
    void progress(double fraction, String stage);
}
