import java.io.File;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import org.libunet.ClickResult;
import org.libunet.ClickSession;
import org.libunet.DType;
import org.libunet.Labels;
import org.libunet.Model;
import org.libunet.PredictOptions;
import org.libunet.SegmentOptions;
import org.libunet.TrainOptions;
import org.libunet.Trainer;
import org.libunet.Unet;
import org.libunet.UnetException;

/**
 * Tests of the Java binding, run with -Xcheck:jni from copies of the binding's jar in a folder
 * outside the build tree, with LD_LIBRARY_PATH empty and a native cache of their own. A plain
 * runner: each test is a method; the last line is "N passed, N failed".
 *
 * Arguments: REFERENCE_DIR (java_reference's image.u16, predict.f32, labels.u32) BUILD_DIR
 * BINDING_JAR TEST_JAR.
 */
public class ApiTest {
    static final int H = 200, W = 328;
    static final long[] SHAPE = {H, W};

    static Path reference, buildDir, jar, cacheHome;
    static short[] image;
    static float[] referencePrediction;
    static int[] referenceLabels;

    interface Body {
        void run() throws Exception;
    }

    public static void main(String[] args) throws Exception {
        if (args.length == 1 && args[0].equals("--library-directory")) {
            // Child JVM of testLibraryPathProperty: where did the natives come from?
            System.out.println(Unet.libraryDirectory());
            return;
        }
        if (args.length == 3 && args[0].equals("--run")) {
            System.exit(run(Paths.get(args[1]), Paths.get(args[2])));
            return;
        }
        System.exit(isolated(Paths.get(args[0]), Paths.get(args[1]), Paths.get(args[2]),
                             Paths.get(args[3])));
    }

    /**
     * Runs the tests in a child JVM that sees nothing of the build tree: the jars and the
     * reference data are copied to a new temporary folder, which also holds the native cache
     * (XDG_CACHE_HOME), and LD_LIBRARY_PATH is empty.
     */
    static int isolated(Path referenceDir, Path build, Path bindingJar, Path testJar)
            throws Exception {
        Path tmp = Files.createTempDirectory("libunet-java-test-");
        try {
            for (String f : new String[] {"image.u16", "predict.f32", "labels.u32"})
                Files.copy(referenceDir.resolve(f), tmp.resolve(f));
            Files.copy(bindingJar, tmp.resolve("libunet.jar"));
            Files.copy(testJar, tmp.resolve("test.jar"));
            ProcessBuilder pb = new ProcessBuilder(
                    Paths.get(System.getProperty("java.home"), "bin", "java").toString(),
                    "-Xcheck:jni", "-cp", "test.jar:libunet.jar", "ApiTest", "--run",
                    tmp.toString(), build.toRealPath().toString());
            pb.directory(tmp.toFile());
            pb.environment().put("LD_LIBRARY_PATH", "");
            pb.environment().put("XDG_CACHE_HOME", tmp.resolve("cache").toString());
            pb.redirectErrorStream(true);
            Process child = pb.start();
            // Echo the child's output; -Xcheck:jni only warns, so a warning fails the run here.
            java.io.BufferedReader lines = new java.io.BufferedReader(
                    new java.io.InputStreamReader(child.getInputStream(), "UTF-8"));
            boolean jniWarning = false;
            for (String line; (line = lines.readLine()) != null;) {
                System.out.println(line);
                jniWarning |= line.contains("in native method") || line.contains("JNI ");
            }
            int status = child.waitFor();
            if (jniWarning) {
                System.out.println("FAIL -Xcheck:jni reported a problem (above)");
                System.out.println("0 passed, 1 failed");
                return 1;
            }
            return status;
        } finally {
            removeTree(tmp.toFile());
        }
    }

    static int run(Path dir, Path build) throws Exception {
        reference = dir;
        buildDir = build;
        jar = dir.resolve("libunet.jar").toRealPath();
        cacheHome = Paths.get(System.getenv("XDG_CACHE_HOME"));
        image = shorts(reference.resolve("image.u16"));
        referencePrediction = floats(reference.resolve("predict.f32"));
        referenceLabels = ints(reference.resolve("labels.u32"));

        List<String> failed = new ArrayList<String>();
        int passed = 0;
        String[] order = {"testLoadsFromJarIntoPrivateCache", "testLibraryPathProperty",
            "testVersionAndBuiltins", "testPredictEqualsC", "testSegmentEqualsC",
            "testClickMatchesSegment", "testClickCancel", "testErrorsBecomeUnetException", "testBadArrays",
            "testOptionsJson", "testListenerExceptionRethrown", "testCancelFromAnotherThread",
            "testSegmentCancel", "testCloseWhileRunningRefused", "testCloseWithSessionRefused",
            "testConcurrentPredictions", "testTrainer", "testTrainerListenerAndCancel",
            "testChannelRule"};
        for (String name : order) {
            long t0 = System.nanoTime();
            try {
                ApiTest.class.getDeclaredMethod(name).invoke(null);
                passed++;
                System.out.printf("PASS %s (%.2f s)%n", name, (System.nanoTime() - t0) / 1e9);
            } catch (java.lang.reflect.InvocationTargetException e) {
                failed.add(name);
                System.out.println("FAIL " + name + ": " + e.getCause());
                e.getCause().printStackTrace(System.out);
            }
        }
        System.out.println(passed + " passed, " + failed.size() + " failed");
        return failed.isEmpty() ? 0 : 1;
    }

    // ---- assertions and data -------------------------------------------------------------

    static void check(boolean ok, String message) {
        if (!ok)
            throw new AssertionError(message);
    }

    static <T extends Throwable> T expect(Class<T> type, Body body) throws Exception {
        try {
            body.run();
        } catch (Throwable t) {
            if (type.isInstance(t))
                return type.cast(t);
            throw new AssertionError("expected " + type.getSimpleName() + ", got " + t, t);
        }
        throw new AssertionError("expected " + type.getSimpleName() + ", nothing was thrown");
    }

    static ByteBuffer read(Path p) throws IOException {
        return ByteBuffer.wrap(Files.readAllBytes(p)).order(ByteOrder.LITTLE_ENDIAN);
    }

    static short[] shorts(Path p) throws IOException {
        ByteBuffer b = read(p);
        short[] v = new short[b.remaining() / 2];
        b.asShortBuffer().get(v);
        return v;
    }

    static float[] floats(Path p) throws IOException {
        ByteBuffer b = read(p);
        float[] v = new float[b.remaining() / 4];
        b.asFloatBuffer().get(v);
        return v;
    }

    static int[] ints(Path p) throws IOException {
        ByteBuffer b = read(p);
        int[] v = new int[b.remaining() / 4];
        b.asIntBuffer().get(v);
        return v;
    }

    static void removeTree(File f) {
        File[] children = f.listFiles();
        if (children != null)
            for (File c : children)
                removeTree(c);
        f.delete();
    }

    /** A larger sample image, for runs long enough to cancel. */
    static short[] bigImage(int size) {
        short[] big = new short[size * size];
        Unet.sampleNuclei(3, 16, size, size, big, null);
        return big;
    }

    // ---- tests ----------------------------------------------------------------------------

    static void testLoadsFromJarIntoPrivateCache() throws Exception {
        String ld = System.getenv("LD_LIBRARY_PATH");
        check(ld == null || ld.isEmpty(), "LD_LIBRARY_PATH must be empty, is " + ld);
        Path dir = Paths.get(Unet.libraryDirectory());
        Path root = cacheHome.resolve("libunet");
        check(dir.getParent().equals(root), "natives in " + dir + ", not under " + root);
        check(dir.getFileName().toString().matches("[0-9a-f]{32}"), "not content-addressed: " + dir);
        for (Path p : new Path[] {root, dir})
            check(PosixFilePermissions.toString(Files.getPosixFilePermissions(p)).equals("rwx------"),
                  p + " is " + PosixFilePermissions.toString(Files.getPosixFilePermissions(p)));
        // Both libraries are mapped from the cache, and nothing of libunet from the build tree.
        int found = 0;
        for (String line : Files.readAllLines(Paths.get("/proc/self/maps"))) {
            int slash = line.indexOf('/');
            if (slash < 0)
                continue;
            String path = line.substring(slash);
            if (path.endsWith("/libunet.so.1") || path.endsWith("/libunet_jni.so")
                    || path.contains("libunet.so")) {
                check(Paths.get(path).getParent().equals(dir), "mapped from elsewhere: " + path);
                found++;
            }
            check(!path.startsWith(buildDir.toString() + "/"), "a build-tree file is mapped: " + path);
        }
        check(found >= 2, "libunet.so.1 and libunet_jni.so are not both mapped");
    }

    static void testLibraryPathProperty() throws Exception {
        // A second JVM told -Dunet.library.path=<the extracted folder> loads from there and
        // extracts nothing into its (empty) cache.
        Path dir = Paths.get(Unet.libraryDirectory());
        Path emptyCache = Files.createTempDirectory(cacheHome, "child-");
        ProcessBuilder pb = new ProcessBuilder(
                Paths.get(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xcheck:jni", "-Dunet.library.path=" + dir,
                "-cp", System.getProperty("java.class.path"), "ApiTest", "--library-directory");
        pb.environment().put("XDG_CACHE_HOME", emptyCache.toString());
        pb.redirectErrorStream(true);
        Process p = pb.start();
        String out = new String(readAll(p.getInputStream()), "UTF-8").trim();
        check(p.waitFor() == 0, "child JVM failed: " + out);
        check(out.equals(dir.toString()), "child loaded from " + out);
        check(!Files.exists(emptyCache.resolve("libunet")), "the child extracted natives anyway");
        removeTree(emptyCache.toFile());
    }

    static byte[] readAll(java.io.InputStream in) throws IOException {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        byte[] b = new byte[8192];
        for (int n; (n = in.read(b)) > 0;)
            out.write(b, 0, n);
        return out.toByteArray();
    }

    static void testVersionAndBuiltins() {
        check(Unet.version().startsWith("1."), "version " + Unet.version());
        check(Arrays.asList(Unet.builtinNames()).contains("nuclei"),
              "built-in names " + Arrays.toString(Unet.builtinNames()));
        check(Unet.statusString(UnetException.CANCELLED).length() > 0, "status string");
    }

    static void testPredictEqualsC() {
        try (Model m = Model.builtin("nuclei"); PredictOptions o = new PredictOptions().threads(2)) {
            float[] p = m.predict(image, SHAPE, o);
            check(p.length == referencePrediction.length, "length " + p.length);
            for (int i = 0; i < p.length; i++)
                check(Float.floatToIntBits(p[i]) == Float.floatToIntBits(referencePrediction[i]),
                      "pixel " + i + ": " + p[i] + " from Java, " + referencePrediction[i] + " from C");
        }
    }

    static void testSegmentEqualsC() {
        try (Model m = Model.builtin("nuclei"); SegmentOptions o = new SegmentOptions().threads(2)) {
            Labels l = m.segment(image, SHAPE, o);
            int max = 0;
            for (int v : referenceLabels)
                max = Math.max(max, v);
            check(l.count() == max && max > 10, "objects: " + l.count() + " from Java, " + max + " from C");
            check(Arrays.equals(l.labels(), referenceLabels), "labels differ from C's");
        }
    }

    /** Colour through the library's channel rule: its values, and segment applying it too. */
    static void testChannelRule() throws Exception {
        int n = H * W;
        short[] rgb = new short[3 * n];
        for (int i = 0; i < n; i++) {
            int v = image[i] & 0xffff;
            rgb[i] = (short) v;
            rgb[n + i] = (short) (i < W ? v : v / 2); // the first row grey: R = G = B
            rgb[2 * n + i] = (short) (i < W ? v : v / 3);
        }
        long[] chw = {3, H, W};
        float[] lum = Unet.channelRule(1, Unet.CHANNEL_AUTO, rgb, DType.U16, chw);
        check(lum.length == n, "length " + lum.length);
        for (int i = 0; i < n; i++) {
            int r = rgb[i] & 0xffff, g = rgb[n + i] & 0xffff, b = rgb[2 * n + i] & 0xffff;
            float want = i < W ? r : (float) (0.299 * r + 0.587 * g + 0.114 * b);
            check(Float.floatToIntBits(lum[i]) == Float.floatToIntBits(want),
                  "pixel " + i + ": " + lum[i] + ", the rule says " + want);
        }
        float[] green = Unet.channelRule(1, 1, rgb, DType.U16, chw);
        check(green[W + 5] == (rgb[n + W + 5] & 0xffff), "channel 1");
        try (Model m = Model.builtin("nuclei"); SegmentOptions o = new SegmentOptions().threads(2)) {
            Labels fromColour = m.segment(rgb, DType.U16, chw, o);
            Labels fromRule = m.segment(lum, DType.F32, SHAPE, o);
            check(fromColour.count() == fromRule.count() && fromRule.count() > 10,
                  "objects: " + fromColour.count() + " from colour, " + fromRule.count());
            check(Arrays.equals(fromColour.labels(), fromRule.labels()), "labels differ");
        }
        UnetException e = expect(UnetException.class,
                () -> Unet.channelRule(1, Unet.CHANNEL_AUTO, new short[2 * n], DType.U16,
                                       new long[] {2, H, W}));
        check(e.code() == UnetException.SHAPE && e.getMessage().contains("channel"),
              "two channels: " + e.getMessage());
    }

    static void testClickMatchesSegment() {
        // A click inside an object gives that object of the segmentation: same pixels.
        try (Model m = Model.builtin("nuclei");
             ClickSession s = m.clickSession(image, SHAPE, null)) {
            int[] tried = {3, 8, 12};
            for (int label : tried) {
                // The object's area, bounding box, and its pixel nearest to its centroid.
                int area = 0, x0 = W, y0 = H, x1 = -1, y1 = -1;
                long sx = 0, sy = 0;
                for (int i = 0; i < referenceLabels.length; i++)
                    if (referenceLabels[i] == label) {
                        int x = i % W, y = i / W;
                        area++;
                        sx += x;
                        sy += y;
                        x0 = Math.min(x0, x);
                        y0 = Math.min(y0, y);
                        x1 = Math.max(x1, x);
                        y1 = Math.max(y1, y);
                    }
                check(area > 0, "label " + label + " is missing");
                double cx = (double) sx / area, cy = (double) sy / area;
                int first = -1;
                for (int i = 0; i < referenceLabels.length; i++)
                    if (referenceLabels[i] == label && (first < 0
                            || Math.hypot(i % W - cx, i / W - cy) < Math.hypot(first % W - cx, first / W - cy)))
                        first = i;
                ClickResult r = s.click(first % W, first / W, 0);
                check(r.area() == area, "label " + label + ": click area " + r.area() + ", segment " + area);
                check(r.x() == x0 && r.y() == y0 && r.width() == x1 - x0 + 1 && r.height() == y1 - y0 + 1,
                      "label " + label + ": bounding box differs");
                for (int y = 0; y < r.height(); y++)
                    for (int x = 0; x < r.width(); x++)
                        check((r.mask()[y * r.width() + x] != 0)
                              == (referenceLabels[(r.y() + y) * W + r.x() + x] == label),
                              "label " + label + ": mask differs at (" + x + ", " + y + ")");
                long shoelace = 0;
                for (int k = 0; k < r.ringCount(); k++) {
                    int[] v = r.ring(k);
                    for (int j = 0; j < v.length; j += 2) {
                        int n = (j + 2) % v.length;
                        shoelace += (long) v[j] * v[n + 1] - (long) v[n] * v[j + 1];
                    }
                }
                check(shoelace == 2 * area, "rings enclose " + shoelace / 2.0 + " px, not " + area);
            }
            check(s.click(0, 0, 0).isEmpty() || referenceLabels[0] != 0, "corner is background");
            long[] stats = s.stats();
            check(stats[0] > 0 && stats[2] > 0, "stats " + Arrays.toString(stats));
        }
    }

    static void testClickCancel() throws Exception {
        // cancel() stays until resetCancel(); from another thread it stops a first click (or
        // that finished first); after the reset the click is what an uncancelled session gives.
        try (Model m = Model.builtin("nuclei")) {
            long x = 0, y = 0;
            for (int i = 0; i < referenceLabels.length && x == 0; i++)
                if (referenceLabels[i] == 5) {
                    x = i % W + 2;
                    y = i / W + 2;
                }
            ClickResult want;
            try (ClickSession s = m.clickSession(image, SHAPE, null)) {
                want = s.click(x, y, 0);
            }
            check(want.area() > 0, "no object at " + x + ", " + y);
            int stopped = 0;
            for (int delay : new int[] {-1, 1, 5, 20}) {
                try (ClickSession s = m.clickSession(image, SHAPE, null)) {
                    Thread t = new Thread(() -> {
                        try {
                            Thread.sleep(Math.max(delay, 0));
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                        }
                        s.cancel();
                    });
                    if (delay < 0)
                        s.cancel(); // before the click
                    else
                        t.start();
                    final long cx = x, cy = y;
                    try {
                        s.click(cx, cy, 0);
                        check(delay >= 0, "a cancelled session clicked");
                    } catch (UnetException e) {
                        check(e.isCancelled(), "click cancel: " + e.getMessage());
                        stopped++;
                    }
                    if (delay >= 0)
                        t.join();
                    s.resetCancel();
                    ClickResult got = s.click(cx, cy, 0);
                    check(got.area() == want.area() && got.x() == want.x() && got.y() == want.y()
                          && Arrays.equals(got.mask(), want.mask()), "click after the reset differs");
                }
            }
            check(stopped > 0, "no click was cancelled");
        }
    }

    static void testErrorsBecomeUnetException() throws Exception {
        UnetException e = expect(UnetException.class, () -> Model.load("/nonexistent/model.unet"));
        check(e.code() == UnetException.IO && e.getMessage().contains("/nonexistent/model.unet"),
              "load: " + e.code() + " " + e.getMessage());
        e = expect(UnetException.class, () -> Model.builtin("no-such-model"));
        check(e.code() == UnetException.INVALID_ARG && e.getMessage().contains("nuclei"),
              "builtin: " + e.getMessage());
        try (PredictOptions o = new PredictOptions(); Model m = Model.builtin("nuclei")) {
            e = expect(UnetException.class, () -> o.set("threads", "5000"));
            check(e.code() == UnetException.INVALID_ARG && e.getMessage().contains("1024"),
                  "threads: " + e.getMessage());
            e = expect(UnetException.class, () -> o.set("no_such_key", "1"));
            check(e.code() == UnetException.INVALID_ARG && e.getMessage().contains("no_such_key"),
                  "key: " + e.getMessage());
            // The refused values left the options as they were.
            check(o.json().contains("\"threads\":0") || o.json().contains("\"threads\": 0"),
                  "options changed by a refused value: " + o.json());
            // A tile that is not a multiple of the model's block multiple fails at predict time.
            o.set("tile", "20");
            e = expect(UnetException.class, () -> m.predict(image, SHAPE, o));
            check(e.code() == UnetException.INVALID_ARG && e.getMessage().contains("20"),
                  "tile: " + e.getMessage());
            // The message survives the glue's own calls after the failure (progress reset).
            o.progress((f, stage) -> { });
            e = expect(UnetException.class, () -> m.predict(image, SHAPE, o));
            check(e.getMessage().contains("20"), "tile, with a listener: " + e.getMessage());
            o.progress(null);
            try (SegmentOptions so = new SegmentOptions()) {
                so.set("tile", "20").progress((f, stage) -> { });
                e = expect(UnetException.class, () -> m.segment(image, SHAPE, so));
                check(e.getMessage().contains("20"), "segment tile: " + e.getMessage());
            }
            // Two input channels for a one-channel model.
            short[] two = new short[2 * H * W];
            e = expect(UnetException.class, () -> m.predict(two, new long[] {2, H, W}, null));
            check(e.code() == UnetException.SHAPE || e.code() == UnetException.INVALID_ARG,
                  "channels: " + e.code() + " " + e.getMessage());
            // NaN in a click session's image.
            float[] nan = new float[64 * 64];
            nan[5] = Float.NaN;
            try (ClickSession s = new ClickSession(m, nan, DType.F32, new long[] {64, 64}, null)) {
                e = expect(UnetException.class, () -> s.click(10, 10, 0));
                check(e.code() == UnetException.INVALID_ARG, "NaN: " + e.getMessage());
            }
        }
        // Non-ASCII text survives both ways.
        e = expect(UnetException.class, () -> Model.load("/nonexistent/mod\u00e8le-\ud83d\udd2c.unet"));
        check(e.getMessage().contains("mod\u00e8le-\ud83d\udd2c.unet"), "UTF-8: " + e.getMessage());
    }

    static void testBadArrays() throws Exception {
        try (Model m = Model.builtin("nuclei")) {
            expect(IllegalArgumentException.class, () -> m.predict(new short[10], SHAPE, null));
            expect(IllegalArgumentException.class, () -> m.predict(new long[H * W], SHAPE, null));
            expect(IllegalArgumentException.class, () -> m.predict(image, new long[] {H, -W}, null));
            expect(IllegalArgumentException.class, () -> m.segment(image, DType.F32, SHAPE, null));
            expect(IllegalArgumentException.class, () -> m.predict(image, new long[] {1, 1, 1, 1, H * W}, null));
            // Element types other than the default for the array.
            byte[] u8 = new byte[H * W];
            for (int i = 0; i < u8.length; i++)
                u8[i] = (byte) ((image[i] & 0xffff) >> 8);
            check(m.segment(u8, SHAPE, null).count() > 0, "U8 image");
            check(m.predict(image, DType.I16, SHAPE, null).length == m.outChannels() * H * W, "I16 image");
        }
    }

    static void testOptionsJson() throws Exception {
        try (SegmentOptions o = new SegmentOptions()) {
            o.set("threshold", "0.25").set("min_size", 30L).set("split", false);
            String json = o.json();
            check(json.contains("0.25") && json.contains("30"), "json " + json);
            o.setJson("{\"threshold\": null, \"tile\": 64}");
            check(o.json().contains("64"), "set_json " + o.json());
            check(o.describe().contains("\"min_distance\""), "describe");
            try (PredictOptions p = new PredictOptions().threads(1).tile(128)) {
                o.predictOptions(p);
                check(o.json().contains("128"), "predict options copied: " + o.json());
            }
        }
        PredictOptions closed = new PredictOptions();
        closed.close();
        closed.close(); // twice is fine
        expect(IllegalStateException.class, () -> closed.set("tile", "64"));
        closed.cancel(); // cancel on closed options does nothing
    }

    static void testListenerExceptionRethrown() throws Exception {
        class Boom extends RuntimeException {
            private static final long serialVersionUID = 1L;
        }
        try (Model m = Model.builtin("nuclei"); PredictOptions o = new PredictOptions()) {
            int[] calls = {0};
            o.progress((f, stage) -> {
                calls[0]++;
                throw new Boom();
            });
            expect(Boom.class, () -> m.predict(image, SHAPE, o));
            check(calls[0] == 1, "the listener was called " + calls[0] + " times after throwing");
            // Nothing is left pending or cancelled: the next call works.
            o.progress(null);
            check(m.predict(image, SHAPE, o).length == m.outChannels() * H * W, "predict after a listener exception");
            try (SegmentOptions s = new SegmentOptions()) {
                s.progress((f, stage) -> {
                    throw new Boom();
                });
                expect(Boom.class, () -> m.segment(image, SHAPE, s));
            }
        }
    }

    /** Starts `call` and cancels it from another thread once progress has begun. */
    static void testCancelFromAnotherThread() throws Exception {
        int size = 1024;
        short[] big = bigImage(size);
        try (Model m = Model.builtin("nuclei"); PredictOptions o = new PredictOptions()) {
            o.tile(128).threads(1);
            CountDownLatch started = new CountDownLatch(1);
            double[] last = {0};
            o.progress((f, stage) -> {
                last[0] = f;
                started.countDown();
            });
            Thread canceller = new Thread(() -> {
                try {
                    if (started.await(60, TimeUnit.SECONDS))
                        o.cancel();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            canceller.start();
            long t0 = System.nanoTime();
            UnetException e = expect(UnetException.class, () -> m.predict(big, new long[] {size, size}, o));
            canceller.join();
            check(e.isCancelled(), "not a cancellation: " + e.getMessage());
            check(last[0] < 1.0, "progress reached 1.0 although cancelled");
            System.out.printf("  cancelled after %.2f s at %.0f%%%n", (System.nanoTime() - t0) / 1e9,
                              100 * last[0]);
            // The request stays until reset.
            o.progress(null);
            expect(UnetException.class, () -> m.predict(image, SHAPE, o));
            o.resetCancel();
            check(m.predict(image, SHAPE, o).length == m.outChannels() * H * W, "predict after resetCancel");
        }
    }

    static void testSegmentCancel() throws Exception {
        try (Model m = Model.builtin("nuclei"); SegmentOptions o = new SegmentOptions()) {
            o.progress((f, stage) -> o.cancel()); // Esc pressed at the first report
            UnetException e = expect(UnetException.class, () -> m.segment(image, SHAPE, o));
            check(e.isCancelled(), "segment: " + e.getMessage());
        }
    }

    static void testCloseWhileRunningRefused() throws Exception {
        Model m = Model.builtin("nuclei");
        AtomicReference<Throwable> fromOther = new AtomicReference<Throwable>();
        CountDownLatch running = new CountDownLatch(1), tried = new CountDownLatch(1);
        Thread closer = new Thread(() -> {
            try {
                running.await();
                m.close();
            } catch (Throwable t) {
                fromOther.set(t);
            } finally {
                tried.countDown();
            }
        });
        closer.start();
        try (PredictOptions o = new PredictOptions()) {
            o.progress((f, stage) -> {
                running.countDown();
                try {
                    tried.await(); // hold the call until the other thread has tried to close
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                // The options are in use too: changing or closing them is refused.
                expectUnchecked(IllegalStateException.class, () -> o.set("tile", "64"));
                expectUnchecked(IllegalStateException.class, o::close);
            });
            float[] p = m.predict(image, SHAPE, o);
            check(p.length == m.outChannels() * H * W, "the call finished");
        }
        closer.join();
        check(fromOther.get() instanceof IllegalStateException, "close while running: " + fromOther.get());
        check(!m.isClosed(), "the model was closed under a running call");
        m.close();
        check(m.isClosed(), "close after the call");
        expect(IllegalStateException.class, () -> m.predict(image, SHAPE, null));
    }

    static void expectUnchecked(Class<? extends Throwable> type, Body body) {
        try {
            expect(type, body);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Exception e) {
            throw new RuntimeException(e);
        }
    }

    static void testCloseWithSessionRefused() throws Exception {
        Model m = Model.builtin("nuclei");
        ClickSession s = m.clickSession(image, SHAPE, null);
        IllegalStateException e = expect(IllegalStateException.class, m::close);
        check(e.getMessage().contains("session"), "message: " + e.getMessage());
        s.click(W / 2, H / 2, 0);
        s.close();
        m.close();
        expect(IllegalStateException.class, () -> s.click(1, 1, 0));
        expect(IllegalStateException.class, () -> m.clickSession(image, SHAPE, null));
    }

    static void testConcurrentPredictions() throws Exception {
        try (Model m = Model.builtin("nuclei")) {
            float[][] out = new float[2][];
            Throwable[] errors = new Throwable[2];
            Thread[] threads = new Thread[2];
            for (int k = 0; k < 2; k++) {
                final int i = k;
                threads[k] = new Thread(() -> {
                    try (PredictOptions o = new PredictOptions().threads(2)) {
                        out[i] = m.predict(image, SHAPE, o);
                    } catch (Throwable t) {
                        errors[i] = t;
                    }
                });
                threads[k].start();
            }
            for (Thread t : threads)
                t.join();
            for (int k = 0; k < 2; k++) {
                check(errors[k] == null, "thread " + k + ": " + errors[k]);
                check(Arrays.equals(out[k], referencePrediction), "thread " + k + " differs from C");
            }
        }
    }

    static final String SMALL_CONFIG = "{\"depth\": 2, \"base_features\": 8, \"final_activation\": \"sigmoid\"}";

    static void testTrainer() throws Exception {
        try (Model m = Model.create(SMALL_CONFIG, 1);
             TrainOptions o = new TrainOptions()) {
            o.set("steps", 4).set("batch", 1).set("patch", 32).threads(2).set("seed", 5);
            List<Long> steps = new ArrayList<Long>();
            int[] labels = new int[H * W];
            for (int i = 0; i < labels.length; i++)
                labels[i] = referenceLabels[i];
            try (Trainer t = new Trainer(m, o, (step, total, loss, metric) -> {
                check(total == 4 && !Double.isNaN(loss), "step " + step + "/" + total + " loss " + loss);
                steps.add(step);
            })) {
                expect(IllegalStateException.class, m::close);
                t.addData(image, SHAPE, labels, SHAPE, Trainer.Split.AUTO);
                t.train();
                check(steps.equals(Arrays.asList(1L, 2L, 3L, 4L)), "steps reported " + steps);
                check(t.progress()[0] == 4, "progress " + Arrays.toString(t.progress()));
                check(t.metrics().startsWith("{"), "metrics " + t.metrics());
                // Between runs the model predicts; a saved model loads.
                check(m.predict(image, SHAPE, null).length == H * W, "predict between runs");
                Path saved = Files.createTempFile(cacheHome, "trained-", ".unet");
                t.save(saved.toString());
                try (Model back = Model.load(saved.toString())) {
                    check(back.outChannels() == 1, "saved model");
                }
                Files.delete(saved);
                // Labels of another size than the image: libunet refuses them.
                UnetException e = expect(UnetException.class, () -> t.addData(image, SHAPE,
                        new int[H * (W - 8)], new long[] {H, W - 8}, Trainer.Split.AUTO));
                check(e.code() == UnetException.SHAPE || e.code() == UnetException.INVALID_ARG,
                      "label shape: " + e.getMessage());
            }
        }
    }

    static void testTrainerListenerAndCancel() throws Exception {
        try (Model m = Model.create(SMALL_CONFIG, 2);
             TrainOptions o = new TrainOptions()) {
            o.set("steps", 100000).set("batch", 1).set("patch", 32).threads(1);
            class Stop extends RuntimeException {
                private static final long serialVersionUID = 1L;
            }
            // A listener's exception stops training after the current step and is rethrown.
            try (Trainer t = new Trainer(m, o, (step, total, loss, metric) -> {
                if (step == 2)
                    throw new Stop();
            })) {
                t.addData(image, SHAPE, referenceLabels, SHAPE, Trainer.Split.TRAIN);
                expect(Stop.class, t::train);
                check(t.progress()[0] == 2, "stopped at step " + t.progress()[0]);
            }
            // cancel() from another thread.
            CountDownLatch stepped = new CountDownLatch(1);
            try (Trainer t = new Trainer(m, o, (step, total, loss, metric) -> stepped.countDown())) {
                t.addData(image, SHAPE, referenceLabels, SHAPE, Trainer.Split.TRAIN);
                AtomicReference<Throwable> whileTraining = new AtomicReference<Throwable>();
                Thread canceller = new Thread(() -> {
                    try {
                        stepped.await();
                        // While training runs, the model serves nothing else and stays open.
                        expectUnchecked(IllegalStateException.class, m::close);
                        expectUnchecked(IllegalStateException.class, () -> m.predict(image, SHAPE, null));
                    } catch (Throwable e) {
                        whileTraining.set(e);
                    } finally {
                        t.cancel();
                    }
                });
                canceller.start();
                UnetException e = expect(UnetException.class, t::train);
                canceller.join();
                check(whileTraining.get() == null, "during training: " + whileTraining.get());
                check(e.isCancelled(), "trainer cancel: " + e.getMessage());
                long done = t.progress()[0];
                check(done >= 1 && done < 100000, "steps done " + done);
                // The request stays until resetCancel(); then training continues from there.
                check(expect(UnetException.class, () -> t.step(1)).isCancelled(),
                      "step after cancel");
                t.resetCancel();
                t.step(2);
                check(t.progress()[0] == done + 2, "steps after resetCancel " + t.progress()[0]);
            }
        }
    }
}
