package org.libunet.fiji;

import ij.IJ;

import org.libunet.ProgressListener;

/**
 * Shows a call's progress in ImageJ's bar, as part `index` of `count` parts of a command, and
 * turns Esc into the library's cancel (the call then stops and leaves no result).
 */
final class Progress implements ProgressListener {
    private final Runnable cancel;
    private final int index, count;

    Progress(Runnable cancel, int index, int count) {
        this.cancel = cancel;
        this.index = index;
        this.count = count;
    }

    @Override
    public void progress(double fraction, String stage) {
        IJ.showProgress(Math.min((index + fraction) / count, 0.999));
        if (IJ.escapePressed())
            cancel.run();
    }
}
