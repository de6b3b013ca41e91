package org.libunet;

/**
 * An owned native object. Every native call runs between {@link #acquire()} and
 * {@link #release()}, and objects that borrow this one (click sessions, trainers) hold it with
 * {@link #attach()} until they close; {@link #close()} is refused while any of these is active,
 * so the native object is never freed under a user.
 */
abstract class Handle implements AutoCloseable {
    private final String what;
    private long pointer;
    private int running; // native calls in progress
    private int attached; // sessions and trainers holding this object
    private boolean exclusive; // a call that needs this object alone (training)

    Handle(String what, long pointer) {
        this.what = what;
        this.pointer = pointer;
    }

    /** Frees the native object; called once, by close(), when nothing uses it. */
    abstract void free(long pointer);

    /** Whether two calls may use this object at the same time. */
    boolean concurrentCalls() {
        return true;
    }

    final synchronized long acquire() {
        check();
        if (exclusive)
            throw new IllegalStateException(what + " is being trained; wait until training returns");
        if (running > 0 && !concurrentCalls())
            throw new IllegalStateException(what + " is used by another running call");
        running++;
        return pointer;
    }

    final synchronized void release() {
        running--;
    }

    /** For a call that must be the only one (a trainer's run of steps). */
    final synchronized long acquireExclusive() {
        check();
        if (exclusive || running > 0)
            throw new IllegalStateException(what + " is used by a running call");
        exclusive = true;
        return pointer;
    }

    final synchronized void releaseExclusive() {
        exclusive = false;
    }

    final synchronized long attach() {
        check();
        attached++;
        return pointer;
    }

    final synchronized void detach() {
        attached--;
    }

    /** The pointer for a thread-safe native call that cannot outlive the lock (cancel). */
    final synchronized long pointerOrZero() {
        return pointer;
    }

    public final synchronized boolean isClosed() {
        return pointer == 0;
    }

    private void check() {
        if (pointer == 0)
            throw new IllegalStateException(what + " is closed");
    }

    /**
     * Releases the native object. Refused with an IllegalStateException while a call is
     * running with it or (for a model) a click session or trainer still uses it; closing
     * twice does nothing.
     */
    @Override
    public synchronized void close() {
        if (pointer == 0)
            return;
        if (running > 0 || exclusive || attached > 0) {
            StringBuilder users = new StringBuilder();
            if (running > 0 || exclusive)
                users.append(exclusive ? "a training run" : running + " running call(s)");
            if (attached > 0)
                users.append(users.length() > 0 ? " and " : "")
                     .append(attached).append(" click session(s) or trainer(s)");
            throw new IllegalStateException("cannot close the " + what + ": it is used by " + users
                    + "; close those first");
        }
        long p = pointer;
        pointer = 0;
        free(p);
    }
}
