package org.libunet.fiji;

import ij.ImagePlus;
import ij.ImageStack;

import org.libunet.DType;

/**
 * One plane of an ImagePlus as the model reads it: 8-bit as U8, 16-bit as U16, 32-bit as F32,
 * and RGB by libunet's channel rule (equal channels: that channel; otherwise the luminance
 * 0.299 R + 0.587 G + 0.114 B), shaped (H, W).
 */
final class Pixels {
    final Object data;
    final DType type;
    final int width, height;

    private Pixels(Object data, DType type, int width, int height) {
        this.data = data;
        this.type = type;
        this.width = width;
        this.height = height;
    }

    long[] shape() {
        return new long[] {height, width};
    }

    /** Plane (channel, slice, frame), 1-based as in ImageJ. */
    static Pixels of(ImagePlus imp, int channel, int slice, int frame) {
        ImageStack stack = imp.getImageStack();
        int index = imp.getStackIndex(channel, slice, frame);
        Object p = stack.getPixels(index);
        int w = imp.getWidth(), h = imp.getHeight();
        if (p instanceof byte[])
            return new Pixels(p, DType.U8, w, h);
        if (p instanceof short[])
            return new Pixels(p, DType.U16, w, h);
        if (p instanceof float[])
            return new Pixels(p, DType.F32, w, h);
        if (p instanceof int[])
            return rgb((int[]) p, w, h);
        throw new IllegalArgumentException("unsupported image type (" + imp.getBitDepth() + "-bit)");
    }

    /** The plane shown now, of the given channel (0: the current channel). */
    static Pixels current(ImagePlus imp, int channel) {
        int c = channel > 0 ? channel : imp.getChannel();
        if (c > imp.getNChannels())
            throw new IllegalArgumentException("channel " + c + " does not exist: "
                    + imp.getTitle() + " has " + imp.getNChannels() + " channel(s)");
        return of(imp, c, imp.getSlice(), imp.getFrame());
    }

    private static Pixels rgb(int[] p, int w, int h) {
        boolean equal = true;
        for (int i = 0; i < p.length && equal; i++) {
            int v = p[i];
            int r = (v >> 16) & 0xff, g = (v >> 8) & 0xff, b = v & 0xff;
            equal = r == g && g == b;
        }
        if (equal) {
            byte[] grey = new byte[p.length];
            for (int i = 0; i < p.length; i++)
                grey[i] = (byte) p[i];
            return new Pixels(grey, DType.U8, w, h);
        }
        float[] luminance = new float[p.length];
        for (int i = 0; i < p.length; i++) {
            int v = p[i];
            luminance[i] = 0.299f * ((v >> 16) & 0xff) + 0.587f * ((v >> 8) & 0xff)
                    + 0.114f * (v & 0xff);
        }
        return new Pixels(luminance, DType.F32, w, h);
    }

    /** A cheap fingerprint of the values, to notice edits made in place. */
    long checksum() {
        long s = 1125899906842597L;
        if (data instanceof byte[]) {
            for (byte v : (byte[]) data)
                s = 31 * s + v;
        } else if (data instanceof short[]) {
            for (short v : (short[]) data)
                s = 31 * s + v;
        } else {
            for (float v : (float[]) data)
                s = 31 * s + Float.floatToRawIntBits(v);
        }
        return s;
    }
}
