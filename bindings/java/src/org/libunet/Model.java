package org.libunet;

/**
 * A U-Net model: built in ({@link #builtin}), loaded from a {@code .unet} file ({@link #load})
 * or created from a config. Models are immutable while they predict, so several threads may
 * predict, segment and click with one model at once. {@link #close()} is refused while a call,
 * a {@link ClickSession} or a {@link Trainer} still uses the model.
 *
 * <p>Images are Java arrays (see {@link DType}) with a shape: (H, W), (C, H, W), or for
 * {@link #predict} also (P, C, H, W) with P planes (Z or T) predicted one by one.
 */
public final class Model extends Handle {
    private final String source;

    private Model(long pointer, String source) {
        super("model " + source, pointer);
        this.source = source;
    }

    /** Loads a .unet file. */
    public static Model load(String path) {
        if (path == null)
            throw new IllegalArgumentException("path must not be null");
        return new Model(Native.modelLoad(path), path);
    }

    /** A model compiled into libunet, by name (see {@link Unet#builtinNames()}): "nuclei". */
    public static Model builtin(String name) {
        if (name == null)
            throw new IllegalArgumentException("name must not be null");
        return new Model(Native.modelBuiltin(name), name);
    }

    /** A new model from a U-Net config (JSON; "{}" for the defaults), weights from a seed. */
    public static Model create(String configJson, long seed) {
        if (configJson == null)
            throw new IllegalArgumentException("config must not be null");
        return new Model(Native.modelCreate(configJson, seed), "created");
    }

    /** Where the model came from: a built-in name or a path. */
    public String source() {
        return source;
    }

    @Override
    void free(long pointer) {
        Native.modelFree(pointer);
    }

    public void save(String path) {
        if (path == null)
            throw new IllegalArgumentException("path must not be null");
        long p = acquire();
        try {
            Native.modelSave(p, path);
        } finally {
            release();
        }
    }

    private int intProperty(int which) {
        long p = acquire();
        try {
            return Native.modelInt(p, which);
        } finally {
            release();
        }
    }

    /** Spatial dimensions (2). */
    public int ndim() {
        return intProperty(Native.NDIM);
    }

    public int inChannels() {
        return intProperty(Native.IN_CHANNELS);
    }

    public int outChannels() {
        return intProperty(Native.OUT_CHANNELS);
    }

    public int depth() {
        return intProperty(Native.DEPTH);
    }

    /** Receptive-field margin in pixels. */
    public int halo() {
        return intProperty(Native.HALO);
    }

    /** Product of the pooling factors: tiles are multiples of it. */
    public int blockMultiple() {
        return intProperty(Native.BLOCK_MULTIPLE);
    }

    public long paramCount() {
        long p = acquire();
        try {
            return Native.modelParamCount(p);
        } finally {
            release();
        }
    }

    /** The architecture (U-Net config with every key) as JSON. */
    public String architecture() {
        long p = acquire();
        try {
            return Native.modelJson(p, false);
        } finally {
            release();
        }
    }

    /** The libunet metadata document (preprocessing, output, training, ...) as JSON. */
    public String metadata() {
        long p = acquire();
        try {
            return Native.modelJson(p, true);
        } finally {
            release();
        }
    }

    /** Shape of {@link #predict}'s result for an input shape. */
    public long[] predictShape(long[] shape) {
        DType.elements(shape, "image");
        int out = outChannels();
        switch (shape.length) {
        case 2:
            return new long[] {out, shape[0], shape[1]};
        case 3:
            return new long[] {out, shape[1], shape[2]};
        case 4:
            return new long[] {shape[0], out, shape[2], shape[3]};
        default:
            throw new IllegalArgumentException("an image is (H, W), (C, H, W) or (P, C, H, W), not "
                    + shape.length + "-D");
        }
    }

    /** Prediction with the array's default element type (see {@link DType#of}). */
    public float[] predict(Object pixels, long[] shape, PredictOptions options) {
        return predict(pixels, DType.of(pixels), shape, options);
    }

    /**
     * The model's output (probabilities, or whatever its last layer gives) for an image, as
     * float32 (C_out, H, W), or (P, C_out, H, W) for a (P, C, H, W) stack; options may be null.
     * Throws UnetException (code CANCELLED when cancelled) or the progress listener's exception.
     */
    public float[] predict(Object pixels, DType type, long[] shape, PredictOptions options) {
        type.check(pixels, shape, "image");
        long[] outShape = predictShape(shape);
        float[] output = new float[DType.arrayLength(DType.elements(outShape, "output"), "the output")];
        long m = acquire();
        try {
            long o = options == null ? 0 : options.acquire();
            try {
                Native.predict(m, o, pixels, type.code, shape.clone(), output,
                        options == null ? null : options.listener());
            } finally {
                if (options != null)
                    options.release();
            }
        } finally {
            release();
        }
        return output;
    }

    public Labels segment(Object pixels, long[] shape, SegmentOptions options) {
        return segment(pixels, DType.of(pixels), shape, options);
    }

    /**
     * Instance labels of an (H, W) or (C, H, W) image: 0 background, objects 1..N in raster
     * order of their first pixel, as the model's output metadata says to cut them.
     */
    public Labels segment(Object pixels, DType type, long[] shape, SegmentOptions options) {
        type.check(pixels, shape, "image");
        if (shape.length != 2 && shape.length != 3)
            throw new IllegalArgumentException("segment takes an (H, W) or (C, H, W) image, not "
                    + shape.length + "-D");
        int h = (int) shape[shape.length - 2], w = (int) shape[shape.length - 1];
        int[] labels = new int[DType.arrayLength((long) h * w, "the labels")];
        long m = acquire();
        int count;
        try {
            long o = options == null ? 0 : options.acquire();
            try {
                count = Native.segment(m, o, pixels, type.code, shape.clone(), labels,
                        options == null ? null : options.listener());
            } finally {
                if (options != null)
                    options.release();
            }
        } finally {
            release();
        }
        return new Labels(labels, count, h, w);
    }

    /**
     * The raw network on float32 NCHW input (no normalisation, no padding); of the options
     * only threads and precise are used. The input's size must be one the network accepts.
     */
    public float[] forward(float[] input, long[] shape, PredictOptions options) {
        DType.F32.check(input, shape, "input");
        long m = acquire();
        try {
            long[] outShape = Native.modelOutputShape(m, shape.clone());
            float[] output = new float[DType.arrayLength(DType.elements(outShape, "output"), "the output")];
            long o = options == null ? 0 : options.acquire();
            try {
                Native.forward(m, o, input, shape.clone(), output);
            } finally {
                if (options != null)
                    options.release();
            }
            return output;
        } finally {
            release();
        }
    }

    /** A click-to-segment session on an image of the array's default type. */
    public ClickSession clickSession(Object pixels, long[] shape, ClickOptions options) {
        return new ClickSession(this, pixels, DType.of(pixels), shape, options);
    }

    @Override
    public String toString() {
        return "Model(" + source + ")";
    }
}
