package org.libunet;

/**
 * Options of {@link Model#predict}: threads, tile, halo, blend, batch, border, normalize,
 * norm_low, norm_high, norm_mean, norm_std, precise (see {@link #describe()}).
 */
public final class PredictOptions extends Options<PredictOptions> {
    private volatile ProgressListener listener;

    public PredictOptions() {
        super(PREDICT, "predict options");
    }

    /** Tile core size: 0 automatic, -1 the whole image, else a multiple of the block multiple. */
    public PredictOptions tile(long tile) {
        return set("tile", tile);
    }

    public PredictOptions progress(ProgressListener listener) {
        this.listener = listener;
        return this;
    }

    ProgressListener listener() {
        return listener;
    }

    /**
     * Thread-safe: a call running with these options stops within one tile batch and throws
     * an UnetException with code CANCELLED. The request stays set (later calls are cancelled
     * too) until {@link #resetCancel()}.
     */
    public void cancel() {
        cancelNative();
    }

    public void resetCancel() {
        resetCancelNative();
    }
}
