package org.libunet.fiji;

import java.awt.Rectangle;

import ij.ImagePlus;
import ij.gui.PolygonRoi;
import ij.gui.Roi;
import ij.gui.ShapeRoi;
import ij.plugin.filter.ThresholdToSelection;
import ij.plugin.frame.RoiManager;
import ij.process.ByteProcessor;
import ij.process.ImageProcessor;

import org.libunet.ClickResult;

/** Selections from libunet's results: click outlines and the objects of a label image. */
final class Rois {
    private Rois() {
    }

    /** ROI name: the object's number and its area in pixels. */
    static String name(int label, long area) {
        return String.format("U-Net %d (%d px)", label, area);
    }

    /**
     * The object of a click as a traced polygon along pixel edges (the wand's kind of outline,
     * covering exactly the object's pixels), with its holes cut out.
     */
    static Roi fromClick(ClickResult r) {
        int[] xs = r.ringX(0), ys = r.ringY(0);
        Roi outline = new PolygonRoi(xs, ys, xs.length, Roi.TRACED_ROI);
        if (r.ringCount() == 1)
            return outline;
        ShapeRoi shape = new ShapeRoi(outline);
        for (int i = 1; i < r.ringCount(); i++) {
            int[] hx = r.ringX(i), hy = r.ringY(i);
            shape = shape.not(new ShapeRoi(new PolygonRoi(hx, hy, hx.length, Roi.TRACED_ROI)));
        }
        return shape;
    }

    /** The ROI Manager macros see (the batch-mode one in batch mode), opened when needed. */
    static RoiManager manager() {
        RoiManager rm = RoiManager.getInstance();
        return rm != null ? rm : RoiManager.getRoiManager();
    }

    /** Adds a ROI for the image plane (channel, slice, frame) it was found on. */
    static void add(RoiManager rm, ImagePlus imp, Roi roi, String name, int c, int z, int t) {
        roi.setName(name);
        if (imp.isHyperStack() || imp.getNChannels() > 1)
            roi.setPosition(c, z, t);
        else if (imp.getStackSize() > 1)
            roi.setPosition(imp.getStackIndex(c, z, t));
        rm.addRoi(roi);
    }

    /**
     * One ROI per object of a label image (labels 1..count), outlines with holes, in label
     * order: bounding boxes in one pass, then each object traced within its box.
     */
    static Roi[] fromLabels(ImageProcessor labels, int count) {
        int w = labels.getWidth(), h = labels.getHeight();
        int[] x0 = new int[count + 1], y0 = new int[count + 1], x1 = new int[count + 1],
              y1 = new int[count + 1];
        long[] area = new long[count + 1];
        java.util.Arrays.fill(x0, Integer.MAX_VALUE);
        java.util.Arrays.fill(y0, Integer.MAX_VALUE);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                int v = label(labels, x, y);
                if (v <= 0 || v > count)
                    continue;
                area[v]++;
                if (x < x0[v]) x0[v] = x;
                if (y < y0[v]) y0[v] = y;
                if (x > x1[v]) x1[v] = x;
                if (y > y1[v]) y1[v] = y;
            }
        Roi[] rois = new Roi[count + 1];
        ThresholdToSelection tracer = new ThresholdToSelection();
        for (int v = 1; v <= count; v++) {
            if (area[v] == 0)
                continue;
            int bw = x1[v] - x0[v] + 1, bh = y1[v] - y0[v] + 1;
            ByteProcessor mask = new ByteProcessor(bw, bh);
            for (int y = 0; y < bh; y++)
                for (int x = 0; x < bw; x++)
                    if (label(labels, x0[v] + x, y0[v] + y) == v)
                        mask.set(x, y, 255);
            mask.setThreshold(255, 255, ImageProcessor.NO_LUT_UPDATE);
            Roi roi = tracer.convert(mask);
            Rectangle b = roi.getBounds();
            roi.setLocation(x0[v] + b.x, y0[v] + b.y);
            roi.setName(name(v, area[v]));
            rois[v] = roi;
        }
        return rois;
    }

    private static int label(ImageProcessor ip, int x, int y) {
        return ip.getBitDepth() == 32 ? (int) ip.getf(x, y) : ip.get(x, y);
    }
}
