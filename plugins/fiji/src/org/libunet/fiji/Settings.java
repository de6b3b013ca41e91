package org.libunet.fiji;

import ij.Macro;
import ij.gui.GenericDialog;

import org.libunet.ClickOptions;
import org.libunet.Options;
import org.libunet.SegmentOptions;

/**
 * The values the dialogs share, with their macro keys: model, tile, threads (every command),
 * threshold, min_size, min_distance, diameter (Segment and Click), tta (Segment, Click and
 * Predict). The object keys are text so that "auto" (the model's own value; for diameter:
 * measured on the image) can be given; libunet validates every value and its error names the
 * bounds.
 */
final class Settings {
    String model = Models.DEFAULT;
    int tile = 0;
    int threads = 0;
    String threshold = "auto", minSize = "auto", minDistance = "auto", diameter = "auto";
    boolean tta = false;

    Settings copy() {
        Settings s = new Settings();
        s.model = model;
        s.tile = tile;
        s.threads = threads;
        s.threshold = threshold;
        s.minSize = minSize;
        s.minDistance = minDistance;
        s.diameter = diameter;
        s.tta = tta;
        return s;
    }

    /** Last values in interactive use; the defaults when a macro runs the command. */
    static Settings initial(Settings remembered) {
        return Macro.getOptions() != null ? new Settings() : remembered.copy();
    }

    void addModelFields(GenericDialog gd, String tileHelp) {
        gd.addStringField("Model", model, 24);
        gd.addMessage("A built-in model (nuclei) or the path of a .unet file.");
        gd.addNumericField("Tile", tile, 0, 6, tileHelp);
        gd.addNumericField("Threads", threads, 0, 6, "(0: the CPUs ImageJ may use)");
    }

    void readModelFields(GenericDialog gd) {
        model = gd.getNextString().trim();
        tile = integer(gd.getNextNumber(), "tile");
        threads = integer(gd.getNextNumber(), "threads");
        if (model.isEmpty())
            model = Models.DEFAULT;
    }

    void addObjectFields(GenericDialog gd) {
        gd.addStringField("Threshold", threshold, 8);
        gd.addStringField("Min_size", minSize, 8);
        gd.addStringField("Min_distance", minDistance, 8);
        gd.addStringField("Diameter", diameter, 8);
        addTtaField(gd);
        gd.addMessage("auto: the model's value. Diameter: the objects' typical size in pixels,\n"
                + "which the image is resized from to the model's (auto: measured on the image).");
    }

    void readObjectFields(GenericDialog gd) {
        threshold = gd.getNextString().trim();
        minSize = gd.getNextString().trim();
        minDistance = gd.getNextString().trim();
        diameter = gd.getNextString().trim();
        readTtaField(gd);
    }

    /** The `tta` key (Segment, Click and Predict); read back with readTtaField. */
    void addTtaField(GenericDialog gd) {
        gd.addCheckbox("TTA (average over the four flips; about four times the network time)",
                       tta);
    }

    void readTtaField(GenericDialog gd) {
        tta = gd.getNextBoolean();
    }

    static int integer(double v, String key) {
        if (Double.isNaN(v) || v != Math.rint(v) || Math.abs(v) > Integer.MAX_VALUE)
            throw new IllegalArgumentException(key + " must be a whole number");
        return (int) v;
    }

    SegmentOptions segmentOptions() {
        SegmentOptions o = new SegmentOptions();
        try {
            o.set("tile", tile).threads(threads);
            objectOptions(o);
            return o;
        } catch (RuntimeException e) {
            o.close();
            throw e;
        }
    }

    /** Click sessions tile on their own; `tile` here sets the window predicted around a click. */
    ClickOptions clickOptions() {
        ClickOptions o = new ClickOptions();
        try {
            o.threads(threads);
            if (tile > 0)
                o.set("first_window", tile);
            objectOptions(o);
            return o;
        } catch (RuntimeException e) {
            o.close();
            throw e;
        }
    }

    /** The object keys: the same for Segment and Click, so clicks give the segmented objects. */
    private void objectOptions(Options<?> o) {
        o.set("threshold", threshold);
        o.set("min_size", minSize);
        o.set("min_distance", minDistance);
        o.set("diameter", diameter);
        o.set("tta", tta);
    }

    /** What decides a click session's predictions (changing these rebuilds it). */
    String sessionKey() {
        return model + "|" + threads + "|" + tta;
    }

    /** Everything a click session's options hold. */
    String clickKey() {
        return sessionKey() + "|" + tile + "|" + threshold + "|" + minSize + "|" + minDistance
                + "|" + diameter;
    }
}
