package org.libunet;

/**
 * A libunet call failed: {@link #code()} is the library's stable status code (one of the
 * constants below) and the message says what was wrong, as {@code unet_last_error()} gave it.
 */
public class UnetException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public static final int INVALID_ARG = -1;
    public static final int IO = -2;
    public static final int FORMAT = -3;
    public static final int NOMEM = -4;
    public static final int CANCELLED = -5;
    public static final int UNSUPPORTED = -6;
    public static final int SHAPE = -7;
    public static final int INTERNAL = -8;

    private final int code;

    public UnetException(int code, String message) {
        super(message);
        this.code = code;
    }

    /** The status code (negative); {@link #CANCELLED} when a run was cancelled. */
    public int code() {
        return code;
    }

    /** True when the failure is a cancellation (progress listener, cancel(), Esc). */
    public boolean isCancelled() {
        return code == CANCELLED;
    }
}
