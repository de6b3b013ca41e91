package org.libunet.fiji;

import java.awt.Polygon;

import ij.IJ;
import ij.ImagePlus;
import ij.gui.GenericDialog;
import ij.gui.Roi;

import org.libunet.ClickResult;

/**
 * "U-Net Click...": what the tool does, for each point of the current point selection, so
 * macros and headless runs can click: {@code makePoint(x, y); run("U-Net Click...", "");}.
 * Keys: model, tile (the window predicted around a click), threads, threshold, min_size,
 * min_distance, diameter, tta. Esc stops the clicks.
 */
public class ClickCommand implements ij.plugin.PlugIn {
    static final String NAME = "U-Net Click";
    private static Settings remembered = new Settings();

    @Override
    public void run(String arg) {
        ImagePlus imp = IJ.getImage();
        if (imp == null)
            return;
        Roi roi = imp.getRoi();
        if (roi == null || roi.getType() != Roi.POINT) {
            Errors.fail(NAME, "A point selection is needed (Point tool, or makePoint(x, y) in a macro).");
            return;
        }
        Settings s = Settings.initial(remembered);
        GenericDialog gd = new GenericDialog(NAME);
        s.addModelFields(gd, "px window around a click (0: automatic)");
        s.addObjectFields(gd);
        gd.showDialog();
        if (gd.wasCanceled())
            return;
        try {
            s.readModelFields(gd);
            s.readObjectFields(gd);
            remembered = s;
            clickAll(imp, s, roi.getPolygon());
        } catch (RuntimeException | LinkageError t) {
            Errors.report(NAME, t);
        }
    }

    /**
     * Clicks every point in order. Esc stops the running click and drops the points after it,
     * as with the tool; the objects of the points done before stay in the ROI Manager.
     */
    private static void clickAll(ImagePlus imp, Settings s, Polygon points) {
        IJ.resetEscape();
        Thread escape = Clicker.watchEscape();
        try {
            int found = 0;
            for (int i = 0; i < points.npoints; i++) {
                if (IJ.escapePressed()) {
                    IJ.showStatus(NAME + ": cancelled");
                    return;
                }
                ClickResult r = Clicker.click(imp, 0, s, points.xpoints[i], points.ypoints[i]);
                if (!r.isEmpty())
                    found++;
            }
            IJ.showStatus(NAME + ": " + found + " of " + points.npoints + " point(s) on an object");
        } finally {
            escape.interrupt();
        }
    }
}
