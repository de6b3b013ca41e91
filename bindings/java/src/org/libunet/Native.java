package org.libunet;

import java.nio.file.Path;

/**
 * Every native method of the binding. The static initialiser loads libunet and the JNI
 * library here, in the class that declares the natives (so they bind to this class loader).
 */
final class Native {
    private static final String DIRECTORY;

    static {
        Path[] libraries = NativeLibrary.locate();
        for (Path p : libraries)
            System.load(p.toString());
        DIRECTORY = libraries[0].getParent().toString();
    }

    private Native() {
    }

    static String directory() {
        return DIRECTORY;
    }

    // Model integer properties (modelInt's `which`).
    static final int NDIM = 0, IN_CHANNELS = 1, OUT_CHANNELS = 2, DEPTH = 3, HALO = 4,
            BLOCK_MULTIPLE = 5;

    static native String version();
    static native String statusString(int code);
    static native String[] builtinNames();
    static native int sampleNuclei(long seed, int bits, int height, int width, short[] image,
                                   int[] labels);
    static native void channelRule(int modelChannels, long channel, Object image, int dtype,
                                   long[] shape, float[] output);

    static native long modelLoad(String path);
    static native long modelBuiltin(String name);
    static native long modelCreate(String configJson, long seed);
    static native void modelSave(long model, String path);
    static native void modelFree(long model);
    static native int modelInt(long model, int which);
    static native long modelParamCount(long model);
    static native String modelJson(long model, boolean metadata);
    static native long[] modelOutputShape(long model, long[] shape);

    static native long optsCreate(int kind);
    static native void optsFree(int kind, long opts);
    static native void optsSet(int kind, long opts, String key, String value);
    static native void optsSetJson(int kind, long opts, String json);
    static native String optsJson(int kind, long opts);
    static native String optsDescribe(int kind, long opts);
    static native void optsCancel(int kind, long opts, boolean cancel);
    static native void optsCopyPredict(int kind, long opts, long predictOpts);

    static native void predict(long model, long opts, Object input, int dtype, long[] shape,
                               float[] output, ProgressListener listener);
    static native int segment(long model, long opts, Object input, int dtype, long[] shape,
                              int[] labels, ProgressListener listener);
    static native void forward(long model, long opts, float[] input, long[] shape,
                               float[] output);

    static native long clickCreate(long model, long opts, Object image, int dtype, long[] shape);
    static native void clickFree(long session);
    static native void clickSetOpts(long session, long opts);
    static native ClickResult click(long session, long x, long y, long plane);
    static native long[] clickStats(long session);
    static native void clickCancel(long session);
    static native void clickResetCancel(long session);

    static native long trainerCreate(long model, long opts, TrainListener listener);
    static native void trainerFree(long trainer);
    static native void trainerAddData(long trainer, Object image, int dtype, long[] shape,
                                      Object labels, int labelDtype, long[] labelShape, int split);
    /** steps < 0: train to the total; else that many more steps. */
    static native void trainerRun(long trainer, long steps);
    static native double[] trainerEvaluate(long trainer);
    static native String trainerMetrics(long trainer);
    static native long[] trainerProgress(long trainer);
    static native void trainerSave(long trainer, String path);
    static native void trainerCancel(long trainer);
    static native void trainerResetCancel(long trainer);
}
