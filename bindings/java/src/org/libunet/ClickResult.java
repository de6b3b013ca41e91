package org.libunet;

/**
 * The object found by a click: bounding box, pixel count, mask and outline rings (vertices at
 * pixel corners, ring 0 the outline, clockwise on screen; further rings are holes).
 */
public final class ClickResult {
    private final int x, y, width, height;
    private final long area;
    private final boolean complete;
    private final byte[] mask;
    private final int[][] rings;

    // Called from JNI.
    ClickResult(int x, int y, int width, int height, long area, boolean complete, byte[] mask,
                int[][] rings) {
        this.x = x;
        this.y = y;
        this.width = width;
        this.height = height;
        this.area = area;
        this.complete = complete;
        this.mask = mask;
        this.rings = rings;
    }

    /** True when the click hit background (no object). */
    public boolean isEmpty() {
        return area == 0;
    }

    /** Left column of the bounding box. */
    public int x() {
        return x;
    }

    /** Top row of the bounding box. */
    public int y() {
        return y;
    }

    public int width() {
        return width;
    }

    public int height() {
        return height;
    }

    /** Pixel count of the object. */
    public long area() {
        return area;
    }

    /** False when the object reached the session's max_extent and was cut there. */
    public boolean isComplete() {
        return complete;
    }

    /** The mask over the bounding box, row by row: 1 on the object, 0 off it (empty: length 0). */
    public byte[] mask() {
        return mask;
    }

    public int ringCount() {
        return rings.length;
    }

    /** Ring i's vertices as x0, y0, x1, y1, ... (corners of pixels, image coordinates). */
    public int[] ring(int i) {
        return rings[i];
    }

    public int[] ringX(int i) {
        int[] r = rings[i], xs = new int[r.length / 2];
        for (int k = 0; k < xs.length; k++)
            xs[k] = r[2 * k];
        return xs;
    }

    public int[] ringY(int i) {
        int[] r = rings[i], ys = new int[r.length / 2];
        for (int k = 0; k < ys.length; k++)
            ys[k] = r[2 * k + 1];
        return ys;
    }
}
