package org.libunet;

/** Library-wide functions: version, built-in model names, sample images, the channel rule. */
public final class Unet {
    private Unet() {
    }

    /** "MAJOR.MINOR.PATCH" of the libunet actually loaded. */
    public static String version() {
        return Native.version();
    }

    /** Names {@link Model#builtin} knows ("nuclei"). */
    public static String[] builtinNames() {
        return Native.builtinNames();
    }

    /** The static name of a status code ("invalid argument", ...). */
    public static String statusString(int code) {
        return Native.statusString(code);
    }

    /** Where the native libraries were loaded from. */
    public static String libraryDirectory() {
        return Native.directory();
    }

    /**
     * A synthetic fluorescence-nuclei image (what the built-in model was trained on) into
     * `image` (height x width, values below 2^bits) and its instance labels (may be null).
     * Returns the object count. The same seed gives the same image.
     */
    public static int sampleNuclei(long seed, int bits, int height, int width, short[] image,
                                   int[] labels) {
        long n = (long) height * width;
        if (height <= 0 || width <= 0 || image == null || image.length != n
                || (labels != null && labels.length != n))
            throw new IllegalArgumentException("image (and labels) must hold height x width = "
                    + n + " elements");
        return Native.sampleNuclei(seed, bits, height, width, image, labels);
    }

    /** {@link #channelRule}'s channel meaning "by the rule". */
    public static final long CHANNEL_AUTO = -1;

    /**
     * The channel rule of every libunet entry point (the library's own, so Fiji, napari,
     * Python and the `unet` program read colour alike): what a model with `modelChannels`
     * input channels reads of `image`, shaped (C, H, W) or (P, C, H, W). channel >= 0 takes
     * that channel (one-channel models); {@link #CHANNEL_AUTO}: C equal to the model's as they
     * are; colour (C 3 or 4) for a one-channel model per pixel R when R, G and B are equal,
     * else the luminance 0.299 R + 0.587 G + 0.114 B (alpha ignored); RGBA for a 3-channel
     * model its RGB. Returns float32 (P, modelChannels, H, W) values; other channel counts
     * throw UnetException asking for a channel.
     */
    public static float[] channelRule(int modelChannels, long channel, Object image, DType type,
                                      long[] shape) {
        if (shape == null || shape.length < 2 || shape.length > 4)
            throw new IllegalArgumentException("shape must be (H, W), (C, H, W) or (P, C, H, W)");
        type.check(image, shape, "image");
        long planes = shape.length == 4 ? shape[0] : 1;
        long n = planes * Math.max(modelChannels, 1) * shape[shape.length - 2]
                * shape[shape.length - 1];
        if (n > Integer.MAX_VALUE - 8)
            throw new IllegalArgumentException("the converted image would have " + n
                    + " elements, more than a Java array holds");
        float[] out = new float[(int) n];
        Native.channelRule(modelChannels, channel, image, type.code, shape, out);
        return out;
    }
}
