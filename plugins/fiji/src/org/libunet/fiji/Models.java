package org.libunet.fiji;

import java.io.File;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

import org.libunet.Model;
import org.libunet.Unet;

/**
 * The models the commands use, by the `model` key's value: a built-in name ("nuclei") or a
 * .unet path. Loaded models are kept for the ImageJ session (a file is reloaded when it
 * changes), so the second command on a model does not load it again.
 */
final class Models {
    static final String DEFAULT = "nuclei";

    private static final Map<String, Entry> cache = new HashMap<String, Entry>();

    private static final class Entry {
        final Model model;
        final long modified, size;

        Entry(Model model, long modified, long size) {
            this.model = model;
            this.modified = modified;
            this.size = size;
        }
    }

    private Models() {
    }

    static boolean isBuiltin(String spec) {
        return Arrays.asList(Unet.builtinNames()).contains(spec);
    }

    /** The shared model for `spec`; throws IllegalArgumentException when there is none. */
    static synchronized Model get(String spec) {
        spec = spec.trim();
        if (isBuiltin(spec)) {
            Entry e = cache.get(spec);
            if (e == null) {
                e = new Entry(Model.builtin(spec), 0, 0);
                cache.put(spec, e);
            }
            return e.model;
        }
        File f = file(spec);
        String key = f.getAbsolutePath();
        Entry e = cache.get(key);
        if (e == null || e.modified != f.lastModified() || e.size != f.length()) {
            // A changed file: the old model stays with whoever still uses it.
            e = new Entry(Model.load(key), f.lastModified(), f.length());
            cache.put(key, e);
        }
        return e.model;
    }

    /** A new, unshared copy of the model (for fine-tuning, which changes its weights). */
    static Model fresh(String spec) {
        spec = spec.trim();
        if (isBuiltin(spec))
            return Model.builtin(spec);
        return Model.load(file(spec).getAbsolutePath());
    }

    private static File file(String spec) {
        File f = new File(spec);
        if (!f.isFile())
            throw new IllegalArgumentException("model '" + spec + "' is neither a built-in model ("
                    + String.join(", ", Unet.builtinNames()) + ") nor a .unet file");
        return f;
    }
}
