package org.libunet;

/**
 * Options of {@link Model#segment}: every predict key, and threshold, min_distance, split,
 * min_size, scale, diameter, pixel_size, strip_rows, strip_overlap ("auto" takes the model's
 * value; scale "auto", the default, measures the objects' diameter on the image when the model
 * records its training diameter, as the built-in model does).
 */
public final class SegmentOptions extends Options<SegmentOptions> {
    private volatile ProgressListener listener;

    public SegmentOptions() {
        super(SEGMENT, "segment options");
    }

    public SegmentOptions tile(long tile) {
        return set("tile", tile);
    }

    /** Copies the values of every predict option (not its progress or cancel state). */
    public SegmentOptions predictOptions(PredictOptions predict) {
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

    public SegmentOptions progress(ProgressListener listener) {
        this.listener = listener;
        return this;
    }

    ProgressListener listener() {
        return listener;
    }

    /** Thread-safe cancel, as {@link PredictOptions#cancel()}. */
    public void cancel() {
        cancelNative();
    }

    public void resetCancel() {
        resetCancelNative();
    }
}
