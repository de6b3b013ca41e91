package org.libunet;

/** Instance labels of one plane: 0 background, objects 1..count, row by row. */
public final class Labels {
    private final int[] labels;
    private final int count, height, width;

    Labels(int[] labels, int count, int height, int width) {
        this.labels = labels;
        this.count = count;
        this.height = height;
        this.width = width;
    }

    /** The labels, height x width row by row (uint32 values in Java ints). */
    public int[] labels() {
        return labels;
    }

    /** Number of objects N. */
    public int count() {
        return count;
    }

    public int height() {
        return height;
    }

    public int width() {
        return width;
    }
}
