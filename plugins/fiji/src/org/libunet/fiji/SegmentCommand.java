package org.libunet.fiji;

import ij.IJ;
import ij.ImagePlus;
import ij.ImageStack;
import ij.gui.GenericDialog;
import ij.gui.Roi;
import ij.plugin.PlugIn;
import ij.plugin.frame.RoiManager;
import ij.process.FloatProcessor;
import ij.process.ImageProcessor;
import ij.process.ShortProcessor;

import org.libunet.Labels;
import org.libunet.Model;
import org.libunet.SegmentOptions;

/**
 * "U-Net Segment...": instance labels of the current image as `<title>-labels` (16-bit, or
 * 32-bit past 65535 objects in a plane); a stack gives a label stack with objects 1..N in each
 * plane (the current channel of a multichannel image). Keys: model, tile, threads, threshold,
 * min_size, min_distance, rois (also add every object's outline to the ROI Manager).
 */
public class SegmentCommand implements PlugIn {
    static final String NAME = "U-Net Segment";
    private static Settings remembered = new Settings();
    private static boolean rememberedRois;

    /** Duration of the last run's segmentation in milliseconds (tests print it). */
    static volatile double lastMillis;

    @Override
    public void run(String arg) {
        ImagePlus imp = IJ.getImage();
        if (imp == null)
            return;
        Settings s = Settings.initial(remembered);
        boolean rois = ij.Macro.getOptions() != null ? false : rememberedRois;
        GenericDialog gd = new GenericDialog(NAME);
        s.addModelFields(gd, "px (0: automatic, -1: whole image)");
        s.addObjectFields(gd);
        gd.addCheckbox("ROIs (add every object to the ROI Manager)", rois);
        gd.showDialog();
        if (gd.wasCanceled())
            return;
        try {
            s.readModelFields(gd);
            s.readObjectFields(gd);
            rois = gd.getNextBoolean();
            remembered = s;
            rememberedRois = rois;
            segment(imp, s, rois);
        } catch (RuntimeException | LinkageError t) {
            Errors.report(NAME, t);
        }
    }

    static ImagePlus segment(ImagePlus imp, Settings s, boolean addRois) {
        Model model = Models.get(s.model);
        int c = imp.getChannel(), nz = imp.getNSlices(), nt = imp.getNFrames(), planes = nz * nt;
        Labels[] labels = new Labels[planes];
        IJ.resetEscape();
        long start = System.nanoTime();
        SegmentOptions o = s.segmentOptions();
        try {
            for (int t = 1, i = 0; t <= nt; t++)
                for (int z = 1; z <= nz; z++, i++) {
                    Pixels px = Pixels.of(imp, c, z, t);
                    o.progress(new Progress(o::cancel, i, planes));
                    labels[i] = model.segment(px.data, px.type, px.shape(), o);
                }
        } finally {
            o.close();
        }
        lastMillis = (System.nanoTime() - start) / 1e6;
        int most = 0;
        for (Labels l : labels)
            most = Math.max(most, l.count());
        ImageStack stack = new ImageStack(imp.getWidth(), imp.getHeight());
        for (Labels l : labels)
            stack.addSlice(processor(l, most > 65535));
        ImagePlus out = new ImagePlus(imp.getShortTitle() + "-labels", stack);
        if (planes > 1)
            out.setDimensions(1, nz, nt);
        out.setCalibration(imp.getCalibration().copy());
        out.setDisplayRange(0, Math.max(most, 1));
        if (addRois) {
            RoiManager rm = Rois.manager();
            for (int t = 1, i = 0; t <= nt; t++)
                for (int z = 1; z <= nz; z++, i++) {
                    Roi[] found = Rois.fromLabels(stack.getProcessor(i + 1), labels[i].count());
                    for (int v = 1; v < found.length; v++)
                        if (found[v] != null)
                            Rois.add(rm, out, found[v], found[v].getName(), 1, z, t);
                }
        }
        IJ.showProgress(1.0);
        int total = 0;
        for (Labels l : labels)
            total += l.count();
        IJ.showStatus(String.format("%s: %d object(s) in %.2f s", NAME, total, lastMillis / 1e3));
        out.show();
        return out;
    }

    private static ImageProcessor processor(Labels l, boolean wide) {
        int[] v = l.labels();
        if (wide) {
            float[] f = new float[v.length];
            for (int i = 0; i < v.length; i++)
                f[i] = v[i];
            return new FloatProcessor(l.width(), l.height(), f, null);
        }
        short[] p = new short[v.length];
        for (int i = 0; i < v.length; i++)
            p[i] = (short) v[i];
        return new ShortProcessor(l.width(), l.height(), p, null);
    }
}
