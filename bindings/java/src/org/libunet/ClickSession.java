package org.libunet;

/**
 * Click-to-segment on one image: {@link #click} returns the object under a pixel, predicting
 * only a window around it (cached, so later clicks nearby run no network). The session keeps
 * its own copy of the image and borrows the model, which cannot be closed until the session
 * is. Clicks on one session are serialised ({@link #cancel} stops one from another thread);
 * several sessions may share a model across threads.
 */
public final class ClickSession extends Handle {
    private final Model model;
    private final Object clickLock = new Object();

    /**
     * A session on an image (H, W), (C, H, W) or (P, C, H, W) of the given type, with a copy of
     * the options (null: defaults).
     */
    public ClickSession(Model model, Object pixels, DType type, long[] shape, ClickOptions options) {
        super("click session", open(model, pixels, type, shape, options));
        this.model = model;
    }

    private static long open(Model model, Object pixels, DType type, long[] shape,
                             ClickOptions options) {
        if (model == null || type == null)
            throw new IllegalArgumentException("model and type must not be null");
        type.check(pixels, shape, "image");
        long m = model.attach();
        boolean ok = false;
        try {
            long o = options == null ? 0 : options.acquire();
            try {
                long s = Native.clickCreate(m, o, pixels, type.code, shape.clone());
                ok = true;
                return s;
            } finally {
                if (options != null)
                    options.release();
            }
        } finally {
            if (!ok)
                model.detach();
        }
    }

    public Model model() {
        return model;
    }

    @Override
    void free(long pointer) {
        Native.clickFree(pointer);
        model.detach();
    }

    /**
     * Replaces the options by a copy: post-processing keys (threshold, min_distance, split,
     * min_size, max_extent, first_window) keep the cache, prediction keys drop it.
     */
    public void setOptions(ClickOptions options) {
        synchronized (clickLock) {
            long s = acquire();
            try {
                long o = options.acquire();
                try {
                    Native.clickSetOpts(s, o);
                } finally {
                    options.release();
                }
            } finally {
                release();
            }
        }
    }

    /**
     * The object under pixel (x, y) of plane `plane` (0 for (H, W) and (C, H, W) images); an
     * empty result (area 0) on background.
     */
    public ClickResult click(long x, long y, long plane) {
        synchronized (clickLock) {
            long s = acquire();
            try {
                model.acquire();
                try {
                    return Native.click(s, x, y, plane);
                } finally {
                    model.release();
                }
            } finally {
                release();
            }
        }
    }

    /**
     * Thread-safe: stops a click running in another thread (it throws a cancelled
     * UnetException); later clicks are cancelled too, until resetCancel(). What finished before
     * stays cached.
     */
    public void cancel() {
        long s = acquire();
        try {
            Native.clickCancel(s);
        } finally {
            release();
        }
    }

    /** Thread-safe: lets the session click again after cancel(). */
    public void resetCancel() {
        long s = acquire();
        try {
            Native.clickResetCancel(s);
        } finally {
            release();
        }
    }

    /** Work done so far: {network runs, input pixels they processed, pixels cached}. */
    public long[] stats() {
        long s = acquire();
        try {
            return Native.clickStats(s);
        } finally {
            release();
        }
    }
}
