package org.libunet;

/**
 * Options of a {@link ClickSession}: the predict keys it uses (threads, halo, border,
 * normalize..., precise) and threshold, min_distance, split, min_size, max_extent,
 * first_window, scale, diameter (scale "auto", the default: the segmentation scale, measured
 * once per session, so clicked objects equal {@link Model#segment}'s).
 */
public final class ClickOptions extends Options<ClickOptions> {
    public ClickOptions() {
        super(CLICK, "click options");
    }

    /** Copies the values of every predict option. */
    public ClickOptions predictOptions(PredictOptions predict) {
        long p = acquire();
        try {
            long q = predict.acquire();
            try {
                Native.optsCopyPredict(kind, p, q);
            } finally {
                predict.release();
            }
        } finally {
            release();
        }
        return this;
    }
}
