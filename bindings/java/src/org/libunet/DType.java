package org.libunet;

/**
 * Element types of images passed to libunet, with the Java array that holds each: byte[] for
 * U8, short[] for U16 (ImageJ's unsigned 16-bit) and I16, int[] for U32, float[] for F32,
 * double[] for F64. Java's signed bytes and shorts are read as unsigned for U8 and U16.
 */
public enum DType {
    U8(1, byte[].class), U16(2, short[].class), I16(3, short[].class), U32(4, int[].class),
    F32(5, float[].class), F64(6, double[].class);

    final int code;
    private final Class<?> arrayClass;

    DType(int code, Class<?> arrayClass) {
        this.code = code;
        this.arrayClass = arrayClass;
    }

    /** The default type of a Java array: byte[] U8, short[] U16, int[] U32, float[], double[]. */
    public static DType of(Object array) {
        if (array instanceof byte[])
            return U8;
        if (array instanceof short[])
            return U16;
        if (array instanceof int[])
            return U32;
        if (array instanceof float[])
            return F32;
        if (array instanceof double[])
            return F64;
        throw new IllegalArgumentException("pixels must be a byte[], short[], int[], float[] or "
                + "double[] array, not " + (array == null ? "null" : array.getClass().getName()));
    }

    /** Checks that `array` is this type's Java array with as many elements as `shape` says. */
    void check(Object array, long[] shape, String what) {
        if (array == null || array.getClass() != arrayClass)
            throw new IllegalArgumentException(what + " of type " + this + " must be a "
                    + arrayClass.getSimpleName() + ", not "
                    + (array == null ? "null" : array.getClass().getSimpleName()));
        long n = elements(shape, what);
        int length = java.lang.reflect.Array.getLength(array);
        if (n != length)
            throw new IllegalArgumentException(what + " has " + length + " elements but shape "
                    + java.util.Arrays.toString(shape) + " needs " + n);
    }

    /** Product of a shape, refusing negative sizes and overflow. */
    static long elements(long[] shape, String what) {
        if (shape == null || shape.length == 0)
            throw new IllegalArgumentException(what + ": a shape is needed");
        long n = 1;
        for (long s : shape) {
            if (s <= 0)
                throw new IllegalArgumentException(what + ": shape " + java.util.Arrays.toString(shape)
                        + " has a size <= 0");
            if (n > Long.MAX_VALUE / s)
                throw new IllegalArgumentException(what + ": shape " + java.util.Arrays.toString(shape)
                        + " is too large");
            n *= s;
        }
        return n;
    }

    /** A Java array length for `n` elements, or an exception saying it cannot hold them. */
    static int arrayLength(long n, String what) {
        if (n > Integer.MAX_VALUE - 8)
            throw new IllegalArgumentException(what + " of " + n
                    + " elements does not fit in a Java array");
        return (int) n;
    }
}
