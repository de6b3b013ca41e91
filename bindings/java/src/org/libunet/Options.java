package org.libunet;

/**
 * An options object of libunet: a table of named, validated keys. Values are set as text
 * ({@code set("tile", "256")}, {@code set("threshold", "auto")}) or as JSON, and refused with
 * an {@link UnetException} naming the bounds; {@link #describe()} gives the table (name, type,
 * default, min, max, choices) for building dialogs. An options object serves one call at a
 * time; it may be reused after the call returns.
 */
public abstract class Options<T extends Options<T>> extends Handle {
    static final int PREDICT = 0, SEGMENT = 1, CLICK = 2, TRAIN = 3;

    final int kind;

    Options(int kind, String what) {
        super(what, Native.optsCreate(kind));
        this.kind = kind;
    }

    @SuppressWarnings("unchecked")
    private T self() {
        return (T) this;
    }

    @Override
    final void free(long pointer) {
        Native.optsFree(kind, pointer);
    }

    @Override
    final boolean concurrentCalls() {
        return false;
    }

    /** Sets one key from text (numbers, "true"/"false", names, "auto" where allowed). */
    public T set(String key, String value) {
        if (key == null || value == null)
            throw new IllegalArgumentException("option key and value must not be null");
        long p = acquire();
        try {
            Native.optsSet(kind, p, key, value);
        } finally {
            release();
        }
        return self();
    }

    public T set(String key, long value) {
        return set(key, Long.toString(value));
    }

    public T set(String key, double value) {
        return set(key, Double.toString(value));
    }

    public T set(String key, boolean value) {
        return set(key, value ? "true" : "false");
    }

    /** Sets the keys of a JSON object ({@code {"tile": 256, "threshold": null}}). */
    public T setJson(String jsonObject) {
        if (jsonObject == null)
            throw new IllegalArgumentException("JSON must not be null");
        long p = acquire();
        try {
            Native.optsSetJson(kind, p, jsonObject);
        } finally {
            release();
        }
        return self();
    }

    /** The current values as a JSON object. */
    public String json() {
        long p = acquire();
        try {
            return Native.optsJson(kind, p);
        } finally {
            release();
        }
    }

    /** The option table as a JSON array of {name, type, default, min, max, choices, help}. */
    public String describe() {
        long p = acquire();
        try {
            return Native.optsDescribe(kind, p);
        } finally {
            release();
        }
    }

    public T threads(int threads) {
        return set("threads", threads);
    }

    /** Thread-safe: cancels calls running with these options (and later ones, until reset). */
    void cancelNative() {
        synchronized (this) {
            long p = pointerOrZero();
            if (p != 0)
                Native.optsCancel(kind, p, true);
        }
    }

    void resetCancelNative() {
        long p = acquire();
        try {
            Native.optsCancel(kind, p, false);
        } finally {
            release();
        }
    }
}
