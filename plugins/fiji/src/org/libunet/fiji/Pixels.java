package org.libunet.fiji;

import ij.ImagePlus;
import ij.ImageStack;

import org.libunet.DType;
import org.libunet.Unet;

/**
 * One plane of an ImagePlus as the model reads it: 8-bit as U8, 16-bit as U16, 32-bit as F32,
 * and RGB by libunet's own channel rule (Unet.channelRule: equal channels give that channel,
 * otherwise the luminance 0.299 R + 0.587 G + 0.114 B), shaped (H, W).
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
        return of(imp, channel(imp, channel), imp.getSlice(), imp.getFrame());
    }

    /** The channel meant (0: the current one), checked to exist. */
    static int channel(ImagePlus imp, int channel) {
        int c = channel > 0 ? channel : imp.getChannel();
        if (c > imp.getNChannels())
            throw new IllegalArgumentException("channel " + c + " does not exist: "
                    + imp.getTitle() + " has " + imp.getNChannels() + " channel(s)");
        return c;
    }

    /** RGB through the library's channel rule (unpacked to (3, H, W) bytes first). */
    private static Pixels rgb(int[] p, int w, int h) {
        int n = p.length;
        byte[] planes = new byte[3 * n];
        for (int i = 0; i < n; i++) {
            int v = p[i];
            planes[i] = (byte) (v >> 16);
            planes[n + i] = (byte) (v >> 8);
            planes[2 * n + i] = (byte) v;
        }
        float[] model = Unet.channelRule(1, Unet.CHANNEL_AUTO, planes, DType.U8,
                new long[] {3, h, w});
        return new Pixels(model, DType.F32, w, h);
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
