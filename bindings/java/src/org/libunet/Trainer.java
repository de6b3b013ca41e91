package org.libunet;

/**
 * Trains (or fine-tunes) a model in place. While {@link #train} or {@link #step} runs, the
 * model serves no other call (they are refused); between runs it may predict and be saved.
 * The model cannot be closed before the trainer.
 */
public final class Trainer extends Handle {
    /** Where added data goes: by the trainer's val_fraction, or explicitly. */
    public enum Split {
        AUTO, TRAIN, VAL
    }

    private final Model model;
    private final Object runLock = new Object();

    /** A trainer for `model` with a copy of the options (null: defaults). */
    public Trainer(Model model, TrainOptions options, TrainListener listener) {
        super("trainer", open(model, options, listener));
        this.model = model;
    }

    public Trainer(Model model, TrainOptions options) {
        this(model, options, null);
    }

    private static long open(Model model, TrainOptions options, TrainListener listener) {
        if (model == null)
            throw new IllegalArgumentException("model must not be null");
        long m = model.attach();
        boolean ok = false;
        try {
            long o = options == null ? 0 : options.acquire();
            try {
                long t = Native.trainerCreate(m, o, listener);
                ok = true;
                return t;
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
        Native.trainerFree(pointer);
        model.detach();
    }

    public void addData(Object image, long[] shape, Object labels, long[] labelShape, Split split) {
        addData(image, DType.of(image), shape, labels, DType.of(labels), labelShape, split);
    }

    /**
     * Adds an image ((H, W) or (C, H, W)) and its labels ((H, W) integer instance labels,
     * masks or class maps; float targets for restoration), copied now.
     */
    public void addData(Object image, DType type, long[] shape, Object labels, DType labelType,
                        long[] labelShape, Split split) {
        type.check(image, shape, "image");
        labelType.check(labels, labelShape, "labels");
        synchronized (runLock) {
            long t = acquire();
            try {
                Native.trainerAddData(t, image, type.code, shape.clone(), labels, labelType.code,
                        labelShape.clone(), (split == null ? Split.AUTO : split).ordinal());
            } finally {
                release();
            }
        }
    }

    /** Trains until the total step count of the options. */
    public void train() {
        run(-1);
    }

    /** Takes `steps` more steps. */
    public void step(long steps) {
        if (steps < 0)
            throw new IllegalArgumentException("steps must be >= 0");
        run(steps);
    }

    private void run(long steps) {
        synchronized (runLock) {
            long t = acquire();
            try {
                model.acquireExclusive();
                try {
                    Native.trainerRun(t, steps);
                } finally {
                    model.releaseExclusive();
                }
            } finally {
                release();
            }
        }
    }

    /** Validates now: {loss, metric} (NaN without validation data). */
    public double[] evaluate() {
        synchronized (runLock) {
            long t = acquire();
            try {
                model.acquire();
                try {
                    return Native.trainerEvaluate(t);
                } finally {
                    model.release();
                }
            } finally {
                release();
            }
        }
    }

    /** The last validation's figures as JSON. */
    public String metrics() {
        synchronized (runLock) {
            long t = acquire();
            try {
                return Native.trainerMetrics(t);
            } finally {
                release();
            }
        }
    }

    /** {steps taken, steps planned}. */
    public long[] progress() {
        synchronized (runLock) {
            long t = acquire();
            try {
                return Native.trainerProgress(t);
            } finally {
                release();
            }
        }
    }

    /** Saves the model with preprocessing and training provenance as a .unet file. */
    public void save(String path) {
        synchronized (runLock) {
            long t = acquire();
            try {
                Native.trainerSave(t, path);
            } finally {
                release();
            }
        }
    }

    /**
     * Thread-safe: stops a running train() or step() after its current step (CANCELLED). The
     * request stays: later runs of this trainer stop at once, until resetCancel().
     */
    public void cancel() {
        synchronized (this) {
            long t = pointerOrZero();
            if (t != 0)
                Native.trainerCancel(t);
        }
    }

    /**
     * Thread-safe: lets train() and step() run again after cancel(); they continue from where
     * the cancelled run stopped (weights, optimizer state, step).
     */
    public void resetCancel() {
        synchronized (this) {
            long t = pointerOrZero();
            if (t != 0)
                Native.trainerResetCancel(t);
        }
    }
}
