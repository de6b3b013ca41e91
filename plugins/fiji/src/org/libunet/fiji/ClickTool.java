package org.libunet.fiji;

import java.awt.event.MouseEvent;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

import ij.IJ;
import ij.ImagePlus;
import ij.gui.GenericDialog;
import ij.gui.ImageCanvas;
import ij.plugin.tool.PlugInTool;

/**
 * "U-Net Click Tool": a click outlines the object under the cursor and adds it to the ROI
 * Manager. Double-click the tool's icon for its options (model, threads, object keys, and the
 * channel the model reads in multichannel images).
 */
public class ClickTool extends PlugInTool {
    static final String NAME = "U-Net Click Tool";

    private static Settings settings = new Settings();
    private static int channel = 0; // 0: the channel shown

    /** Installs the tool (PlugInTool.run) and loads its model meanwhile, for a quick first click. */
    @Override
    public void run(String arg) {
        super.run(arg);
        final String model = settings.model;
        Thread preload = new Thread(() -> {
            try {
                Models.get(model);
            } catch (RuntimeException | LinkageError e) {
                // The first click loads it again and reports the error to the user.
            }
        }, "U-Net model preload");
        preload.setDaemon(true);
        preload.start();
    }

    /**
     * Runs the click off the event thread: a first click measures the image's scale and runs
     * the network, which takes seconds on a large image, and ImageJ must stay responsive
     * meanwhile (menus, zoom, other windows). Clicks made during a slow one wait their turn
     * in order, each on the plane it was made on. Esc stops the running click and drops the
     * waiting ones, as it stops ImageJ's commands; the next press starts afresh.
     */
    @Override
    public void mousePressed(ImagePlus imp, MouseEvent e) {
        e.consume(); // no selection or other default handling of the press
        ImageCanvas canvas = imp.getCanvas();
        final int x = canvas != null ? canvas.offScreenX(e.getX()) : e.getX();
        final int y = canvas != null ? canvas.offScreenY(e.getY()) : e.getY();
        final int slice = imp.getSlice(), frame = imp.getFrame();
        final int c = channel > 0 ? channel : imp.getChannel(); // the one shown now
        final Settings s = settings;
        IJ.resetEscape(); // a new press: an Esc pressed before it is history
        IJ.showStatus("U-Net: segmenting at (" + x + ", " + y + ")...");
        worker().execute(() -> {
            if (imp.getWindow() == null)
                return; // the image was closed while the click waited
            if (IJ.escapePressed()) {
                IJ.showStatus(NAME + ": cancelled");
                return;
            }
            Thread escape = Clicker.watchEscape();
            try {
                Clicker.click(imp, c, slice, frame, s, x, y);
            } catch (RuntimeException | LinkageError t) {
                Errors.report(NAME, t);
            } finally {
                escape.interrupt();
            }
        });
    }

    private static ExecutorService clicks;

    /** One daemon thread for every click of the tool (sessions are used one call at a time). */
    private static synchronized ExecutorService worker() {
        if (clicks == null)
            clicks = Executors.newSingleThreadExecutor(r -> {
                Thread t = new Thread(r, "U-Net clicks");
                t.setDaemon(true);
                return t;
            });
        return clicks;
    }

    @Override
    public String getToolName() {
        return NAME;
    }

    /** A nucleus with its outline and a click point. */
    @Override
    public String getToolIcon() {
        return "C8bfo22ccC037O22ccC000o6644";
    }

    @Override
    public void showOptionsDialog() {
        GenericDialog gd = new GenericDialog(NAME + " options");
        Settings s = settings.copy();
        s.addModelFields(gd, "px window around a click (0: automatic)");
        s.addObjectFields(gd);
        gd.addNumericField("Channel", channel, 0, 6, "(0: the channel shown)");
        gd.showDialog();
        if (gd.wasCanceled())
            return;
        try {
            s.readModelFields(gd);
            s.readObjectFields(gd);
            int c = Settings.integer(gd.getNextNumber(), "channel");
            if (c < 0)
                throw new IllegalArgumentException("channel must be >= 0");
            s.clickOptions().close(); // validates every value now, not at the next click
            settings = s;
            channel = c;
        } catch (RuntimeException | LinkageError t) {
            Errors.report(NAME, t);
        }
    }
}
