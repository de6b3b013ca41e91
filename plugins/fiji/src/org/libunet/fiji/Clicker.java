package org.libunet.fiji;

import java.util.HashMap;
import java.util.Map;

import ij.IJ;
import ij.ImageListener;
import ij.ImagePlus;
import ij.gui.Roi;
import ij.plugin.frame.RoiManager;

import org.libunet.ClickOptions;
import org.libunet.ClickResult;
import org.libunet.ClickSession;

/**
 * Click-to-segment for the tool and the Click command: one libunet click session per image,
 * on the plane shown, kept between clicks (its cache makes later clicks nearby cheap) and
 * rebuilt when the plane, the pixels, the model or the threads change; closed with the image.
 */
final class Clicker {
    private static final Map<Integer, Entry> sessions = new HashMap<Integer, Entry>();
    private static boolean listening;

    /** The session of the click running now (cancelRunning stops it), else null. */
    private static ClickSession running;
    private static final Object runningLock = new Object();

    /** Latency of the last click in milliseconds, and whether it built a new session. */
    static volatile double lastMillis;
    static volatile boolean lastWasFirst;

    private static final class Entry {
        ClickSession session;
        int plane, channel;
        Object pixels;
        long checksum;
        String sessionKey, clickKey;
        int objects; // ROIs added from this image, for their names
    }

    private Clicker() {
    }

    /**
     * Segments the object under (x, y) on the plane shown (of `channel`, 0: the current one)
     * and adds its outline to the ROI Manager; returns the result (empty on background).
     */
    static ClickResult click(ImagePlus imp, int channel, Settings s, int x, int y) {
        return click(imp, channel, imp.getSlice(), imp.getFrame(), s, x, y);
    }

    /**
     * The same on the plane (channel, slice, frame) given (1-based; channel 0: the current
     * one), so a click queued behind a slow one segments the plane it was made on.
     */
    static synchronized ClickResult click(ImagePlus imp, int channel, int slice, int frame,
                                          Settings s, int x, int y) {
        listen();
        long start = System.nanoTime();
        int c = Pixels.channel(imp, channel);
        Pixels px = Pixels.of(imp, c, slice, frame);
        int plane = imp.getStackIndex(c, slice, frame);
        if (x < 0 || y < 0 || x >= px.width || y >= px.height)
            throw new IllegalArgumentException("point (" + x + ", " + y + ") is outside the image");
        Entry e = sessions.get(imp.getID());
        long checksum = px.checksum();
        boolean fresh = e == null || e.plane != plane || e.pixels != px.data
                || e.checksum != checksum || !e.sessionKey.equals(s.sessionKey());
        if (fresh) {
            int objects = e == null ? 0 : e.objects;
            if (e != null)
                e.session.close();
            sessions.remove(imp.getID());
            e = new Entry();
            e.objects = objects;
            ClickOptions o = s.clickOptions();
            try {
                e.session = new ClickSession(Models.get(s.model), px.data, px.type, px.shape(), o);
            } finally {
                o.close();
            }
            e.plane = plane;
            e.channel = c;
            e.pixels = px.data;
            e.checksum = checksum;
            e.sessionKey = s.sessionKey();
            e.clickKey = s.clickKey();
            sessions.put(imp.getID(), e);
        } else if (!e.clickKey.equals(s.clickKey())) {
            ClickOptions o = s.clickOptions(); // post-processing keys: the cache stays
            try {
                e.session.setOptions(o);
            } finally {
                o.close();
            }
            e.clickKey = s.clickKey();
        }
        synchronized (runningLock) {
            running = e.session;
        }
        ClickResult r;
        try {
            r = e.session.click(x, y, 0);
        } finally {
            // Under the lock: a cancel cannot land after the reset and stop the next click.
            synchronized (runningLock) {
                running = null;
                e.session.resetCancel();
            }
        }
        if (!r.isEmpty()) {
            Roi roi = Rois.fromClick(r);
            RoiManager rm = Rois.manager();
            Rois.add(rm, imp, roi, Rois.name(++e.objects, r.area()), c, slice, frame);
            if (!IJ.isMacro() || !ij.macro.Interpreter.isBatchMode())
                imp.setRoi((Roi) roi.clone());
        }
        lastMillis = (System.nanoTime() - start) / 1e6;
        lastWasFirst = fresh;
        IJ.showStatus(r.isEmpty() ? "U-Net: no object under the click"
                : String.format("U-Net: %d px object in %.0f ms", r.area(), lastMillis));
        return r;
    }

    /**
     * Stops the click running now, if any (it throws a cancelled UnetException); thread-safe.
     * The session stays: what finished before stays cached.
     */
    static void cancelRunning() {
        synchronized (runningLock) {
            if (running != null)
                running.cancel();
        }
    }

    /**
     * Polls ImageJ's Esc flag while clicks run and cancels the running click while it is set
     * (again and again: the session may not be running yet when Esc is pressed); interrupt the
     * returned thread when the clicks are done.
     */
    static Thread watchEscape() {
        Thread t = new Thread(() -> {
            try {
                for (;;) {
                    if (IJ.escapePressed())
                        cancelRunning();
                    Thread.sleep(20);
                }
            } catch (InterruptedException e) {
                // the clicks ended
            }
        }, "U-Net click Esc");
        t.setDaemon(true);
        t.start();
        return t;
    }

    /** Frees every session (the cache can be large). */
    static synchronized void clear() {
        for (Entry e : sessions.values())
            e.session.close();
        sessions.clear();
    }

    private static void listen() {
        if (listening)
            return;
        listening = true;
        ImagePlus.addImageListener(new ImageListener() {
            @Override
            public void imageOpened(ImagePlus imp) {
            }

            @Override
            public void imageClosed(ImagePlus imp) {
                synchronized (Clicker.class) {
                    Entry e = sessions.remove(imp.getID());
                    if (e != null)
                        e.session.close();
                }
            }

            @Override
            public void imageUpdated(ImagePlus imp) {
            }
        });
    }
}
