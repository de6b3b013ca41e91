package org.libunet.fiji;

import ij.IJ;
import ij.ImagePlus;
import ij.ImageStack;
import ij.gui.GenericDialog;
import ij.plugin.PlugIn;
import ij.process.FloatProcessor;

import org.libunet.Model;
import org.libunet.PredictOptions;

/**
 * "U-Net Predict...": the model's output for the current image as a 32-bit `<title>-prediction`
 * (a hyperstack with one channel per output channel, and the image's slices and frames; the
 * current channel of a multichannel image is read). Keys: model, tile, threads, tta.
 */
public class PredictCommand implements PlugIn {
    static final String NAME = "U-Net Predict";
    private static Settings remembered = new Settings();

    @Override
    public void run(String arg) {
        ImagePlus imp = IJ.getImage();
        if (imp == null)
            return;
        Settings s = Settings.initial(remembered);
        GenericDialog gd = new GenericDialog(NAME);
        s.addModelFields(gd, "px (0: automatic, -1: whole image)");
        s.addTtaField(gd);
        gd.showDialog();
        if (gd.wasCanceled())
            return;
        try {
            s.readModelFields(gd);
            s.readTtaField(gd);
            remembered = s;
            predict(imp, s);
        } catch (RuntimeException | LinkageError t) {
            Errors.report(NAME, t);
        }
    }

    static ImagePlus predict(ImagePlus imp, Settings s) {
        Model model = Models.get(s.model);
        int c = imp.getChannel(), nz = imp.getNSlices(), nt = imp.getNFrames(), planes = nz * nt;
        int w = imp.getWidth(), h = imp.getHeight(), channels = model.outChannels();
        ImageStack stack = new ImageStack(w, h);
        IJ.resetEscape();
        PredictOptions o = new PredictOptions();
        try {
            o.tile(s.tile).threads(s.threads).set("tta", s.tta);
            for (int t = 1, i = 0; t <= nt; t++)
                for (int z = 1; z <= nz; z++, i++) {
                    Pixels px = Pixels.of(imp, c, z, t);
                    o.progress(new Progress(o::cancel, i, planes));
                    float[] out = model.predict(px.data, px.type, px.shape(), o);
                    for (int k = 0; k < channels; k++) {
                        float[] plane = new float[w * h];
                        System.arraycopy(out, k * w * h, plane, 0, w * h);
                        stack.addSlice(new FloatProcessor(w, h, plane, null));
                    }
                }
        } finally {
            o.close();
        }
        ImagePlus out = new ImagePlus(imp.getShortTitle() + "-prediction", stack);
        if (stack.getSize() > 1) {
            out.setDimensions(channels, nz, nt);
            out.setOpenAsHyperStack(true);
        }
        out.setCalibration(imp.getCalibration().copy());
        out.resetDisplayRange();
        IJ.showProgress(1.0);
        out.show();
        return out;
    }
}
