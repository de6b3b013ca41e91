package org.libunet;

/** Library-wide functions: version, built-in model names, sample images. */
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
}
