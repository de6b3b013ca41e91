package org.libunet.fiji;

import java.io.File;

import ij.IJ;
import ij.ImagePlus;
import ij.WindowManager;
import ij.gui.GenericDialog;
import ij.io.FileInfo;
import ij.plugin.PlugIn;
import ij.process.ImageProcessor;

import org.libunet.DType;
import org.libunet.Model;
import org.libunet.TrainListener;
import org.libunet.TrainOptions;
import org.libunet.Trainer;

/**
 * "U-Net Fine-tune...": trains the chosen model further on the current image (the plane shown)
 * and a label image of the same size painted by the user: 0 not annotated (ignored), 1
 * background, 2 and up one value per object. Shows the steps and loss, stops on Esc (nothing
 * is saved then) and saves the result as a .unet file usable as `model=PATH`. Keys: model,
 * tile (training patch size, 0: the default), threads, labels (the label image's title),
 * steps, save (path).
 */
public class FineTuneCommand implements PlugIn {
    static final String NAME = "U-Net Fine-tune";
    /** Stands for "not annotated" in the labels handed to libunet (its ignore_label). */
    private static final long IGNORED = 0xFFFFFFFFL;

    private static Settings remembered = new Settings();
    private static int rememberedSteps = 200;

    @Override
    public void run(String arg) {
        ImagePlus imp = IJ.getImage();
        if (imp == null)
            return;
        String[] titles = WindowManager.getImageTitles();
        if (titles.length < 2) {
            Errors.fail(NAME, "Open the image and a label image (0 ignored, 1 background, 2.. objects).");
            return;
        }
        boolean macro = ij.Macro.getOptions() != null;
        Settings s = Settings.initial(remembered);
        int steps = macro ? 200 : rememberedSteps;
        String labelsDefault = titles[0].equals(imp.getTitle()) ? titles[1] : titles[0];
        GenericDialog gd = new GenericDialog(NAME);
        s.addModelFields(gd, "px training patch (0: the default)");
        gd.addChoice("Labels", titles, labelsDefault);
        gd.addMessage("Labels: 0 not annotated, 1 background, 2 and up one value per object.");
        gd.addNumericField("Steps", steps, 0, 6, "");
        gd.addStringField("Save", defaultPath(imp), 40);
        gd.showDialog();
        if (gd.wasCanceled())
            return;
        try {
            s.readModelFields(gd);
            ImagePlus labels = WindowManager.getImage(gd.getNextChoice());
            steps = Settings.integer(gd.getNextNumber(), "steps");
            String save = gd.getNextString().trim();
            remembered = s;
            rememberedSteps = steps;
            if (labels == null)
                throw new IllegalArgumentException("the label image is not open");
            if (save.isEmpty())
                throw new IllegalArgumentException("a path to save the model is needed (save=...)");
            fineTune(imp, labels, s, steps, save);
        } catch (RuntimeException | LinkageError t) {
            Errors.report(NAME, t);
        }
    }

    private static String defaultPath(ImagePlus imp) {
        FileInfo fi = imp.getOriginalFileInfo();
        String dir = fi != null && fi.directory != null && !fi.directory.isEmpty() ? fi.directory
                : System.getProperty("user.home");
        return new File(dir, imp.getShortTitle() + "-finetuned.unet").getPath();
    }

    /** The painted labels as libunet's instance labels: 1 -> 0, k >= 2 -> k - 1, 0 ignored. */
    static int[] trainingLabels(ImageProcessor ip) {
        int n = ip.getWidth() * ip.getHeight();
        int[] out = new int[n];
        for (int i = 0; i < n; i++) {
            float v = ip.getf(i);
            if (v < 0 || v != Math.rint(v) || v > 1 << 24)
                throw new IllegalArgumentException("label image value " + v + " at pixel ("
                        + i % ip.getWidth() + ", " + i / ip.getWidth()
                        + ") is not 0 (ignored), 1 (background) or an object number >= 2");
            int k = (int) v;
            out[i] = k == 0 ? (int) IGNORED : k - 1;
        }
        return out;
    }

    static void fineTune(ImagePlus imp, ImagePlus labels, Settings s, int steps, String save) {
        if (labels.getWidth() != imp.getWidth() || labels.getHeight() != imp.getHeight())
            throw new IllegalArgumentException("the label image is " + labels.getWidth() + "x"
                    + labels.getHeight() + ", the image " + imp.getWidth() + "x" + imp.getHeight());
        if (steps < 1)
            throw new IllegalArgumentException("steps must be >= 1");
        Pixels px = Pixels.current(imp, 0);
        int[] target = trainingLabels(labels.getProcessor());
        IJ.resetEscape();
        final Trainer[] running = new Trainer[1];
        TrainListener listener = (step, total, loss, metric) -> {
            IJ.showProgress(Math.min((double) step / total, 0.999));
            IJ.showStatus(String.format("%s: step %d/%d, loss %.4f", NAME, step, total, loss));
            if (IJ.escapePressed())
                running[0].cancel();
        };
        long start = System.nanoTime();
        try (Model model = Models.fresh(s.model); TrainOptions o = new TrainOptions()) {
            o.set("steps", steps).threads(s.threads).set("ignore_label", IGNORED);
            if (s.tile > 0)
                o.set("patch", s.tile);
            try (Trainer trainer = new Trainer(model, o, listener)) {
                running[0] = trainer;
                trainer.addData(px.data, px.type, px.shape(), target, DType.U32, px.shape(),
                                Trainer.Split.AUTO);
                trainer.train();
                trainer.save(save);
            }
        }
        IJ.showProgress(1.0);
        IJ.showStatus(String.format("%s: %d steps in %.1f s, saved %s", NAME, steps,
                                    (System.nanoTime() - start) / 1e9, save));
    }
}
