import java.awt.Button;
import java.awt.EventQueue;
import java.awt.Rectangle;
import java.awt.Robot;
import java.awt.Window;
import java.awt.event.ActionEvent;
import java.awt.event.InputEvent;
import java.awt.event.KeyEvent;
import java.awt.event.MouseEvent;
import java.awt.image.BufferedImage;
import java.io.File;

import javax.imageio.ImageIO;

import ij.IJ;
import ij.ImageJ;
import ij.ImagePlus;
import ij.WindowManager;
import ij.gui.GenericDialog;
import ij.gui.ImageCanvas;
import ij.gui.Roi;
import ij.gui.Toolbar;
import ij.plugin.frame.Recorder;
import ij.plugin.frame.RoiManager;
import ij.process.ImageProcessor;

/**
 * Drives ImageJ's user interface under Xvfb, with the plugin jar in the plugins folder
 * (-Dplugins.dir) as a user installs it; test_imagej.py runs it and checks what it prints.
 * Selects the U-Net Click Tool from its menu command, presses the mouse on nuclei of an image
 * as a user would (events dispatched to the image canvas), prints each ROI the tool added and
 * the latency of each click (press to ROI in the manager: the tool works off the event
 * thread, which must be free meanwhile), saves a screenshot; runs "U-Net Segment..." from the menu with
 * the macro recorder open and prints what it recorded; then starts "U-Net Segment..." on a
 * large image, presses Esc, and prints whether a result appeared and what the status bar says.
 *
 * Arguments: IMAGE SCREENSHOT.png X,Y [X,Y ...]
 */
public class FijiGuiTest {
    public static void main(String[] args) throws Exception {
        new ImageJ();
        ImageJ ij = IJ.getInstance();
        EventQueue.invokeAndWait(() -> ij.setLocation(0, 0));
        ImagePlus imp = IJ.openImage(args[0]);
        imp.show();
        waitFor(() -> imp.getWindow() != null && imp.getWindow().isShowing());
        EventQueue.invokeAndWait(() -> imp.getWindow().setLocation(0, ij.getHeight() + 10));

        IJ.run("U-Net Click Tool"); // Plugins > U-Net > U-Net Click Tool: installs, selects it
        Thread.sleep(1000); // a user moves to a nucleus meanwhile; the tool loads its model
        System.out.println("tool " + (Toolbar.getPlugInTool() == null ? "none" : Toolbar.getPlugInTool().getToolName()));
        ImageCanvas canvas = imp.getCanvas();
        for (int i = 2; i < args.length; i++) {
            String[] xy = args[i].split(",");
            int x = Integer.parseInt(xy[0]), y = Integer.parseInt(xy[1]);
            int before = count();
            long t0 = System.nanoTime();
            press(canvas, canvas.screenX(x), canvas.screenY(y));
            // The tool segments off the event thread: the event thread is free again (it runs
            // this empty task) while the ROI is still on its way.
            EventQueue.invokeAndWait(() -> { });
            double eventMs = (System.nanoTime() - t0) / 1e6;
            boolean pending = count() == before;
            waitForRois(before + 1, 120);
            double ms = (System.nanoTime() - t0) / 1e6;
            System.out.printf("click %d %d latency_ms %.1f added %d event_ms %.1f pending %s%n", x,
                              y, ms, count() - before, eventMs, pending ? "yes" : "no");
        }
        RoiManager rm = RoiManager.getInstance();
        Roi[] rois = rm == null ? new Roi[0] : rm.getRoisAsArray();
        for (Roi r : rois) {
            Rectangle b = r.getBounds();
            System.out.printf("roi %d %d %d %d %d %s%n", b.x, b.y, b.width, b.height,
                              r.getContainedPoints().length, r.getName());
        }
        screenshot(imp, rm, new File(args[1]));
        String[] first = args[2].split(",");
        escapeClick(imp.getProcessor(), Integer.parseInt(first[0]), Integer.parseInt(first[1]));
        escapeClickCommand(imp.getProcessor(), Integer.parseInt(first[0]),
                           Integer.parseInt(first[1]));
        recorded(imp);
        escape(imp.getProcessor());
        escapeTraining(imp, new File(new File(args[1]).getAbsoluteFile().getParentFile(),
                                     "cancelled.unet"));
        System.exit(0);
    }

    static int count() {
        RoiManager rm = RoiManager.getInstance();
        return rm == null ? 0 : rm.getCount();
    }

    /** A left-button press and release at canvas coordinates, on the event thread. */
    static void press(ImageCanvas canvas, int sx, int sy) throws Exception {
        EventQueue.invokeAndWait(() -> {
            long when = System.currentTimeMillis();
            canvas.dispatchEvent(new MouseEvent(canvas, MouseEvent.MOUSE_PRESSED, when,
                    InputEvent.BUTTON1_DOWN_MASK, sx, sy, 1, false, MouseEvent.BUTTON1));
            canvas.dispatchEvent(new MouseEvent(canvas, MouseEvent.MOUSE_RELEASED, when, 0, sx, sy,
                    1, false, MouseEvent.BUTTON1));
        });
    }

    /** The ImageJ bar, the image with every ROI shown, and the ROI Manager, in one picture. */
    static void screenshot(ImagePlus imp, RoiManager rm, File out) throws Exception {
        if (rm != null) {
            EventQueue.invokeAndWait(() -> {
                rm.setLocation(imp.getWindow().getX() + imp.getWindow().getWidth() + 10,
                               imp.getWindow().getY());
                rm.runCommand(imp, "Show All without labels");
                rm.select(imp, rm.getCount() - 1);
            });
        }
        Thread.sleep(1500); // let the windows paint
        EventQueue.invokeAndWait(() -> { });
        Rectangle area = IJ.getInstance().getBounds().union(imp.getWindow().getBounds());
        if (rm != null)
            area = area.union(rm.getBounds());
        BufferedImage shot = new Robot().createScreenCapture(area);
        ImageIO.write(shot, "png", out);
        System.out.println("screenshot " + out + " " + shot.getWidth() + "x" + shot.getHeight());
    }

    /**
     * With the macro recorder open, "U-Net Segment..." run as from the menu, its dialog shown
     * and OK pressed: prints the recorded line.
     */
    static void recorded(ImagePlus imp) throws Exception {
        Recorder recorder = new Recorder(); // Plugins > Macros > Record...
        WindowManager.setCurrentWindow(imp.getWindow());
        IJ.doCommand("U-Net Segment..."); // in its own thread, as a menu click
        GenericDialog[] dialog = new GenericDialog[1];
        waitFor(() -> {
            for (Window w : Window.getWindows())
                if (w instanceof GenericDialog && w.isShowing()
                        && ((GenericDialog) w).getTitle().equals("U-Net Segment"))
                    dialog[0] = (GenericDialog) w;
            return dialog[0] != null;
        });
        EventQueue.invokeAndWait(() -> {
            for (Button b : dialog[0].getButtons())
                if (b != null && b.getLabel().trim().equals("OK"))
                    dialog[0].actionPerformed(new ActionEvent(b, ActionEvent.ACTION_PERFORMED, "OK"));
        });
        waitFor(() -> WindowManager.getImage(imp.getShortTitle() + "-labels") != null);
        // The recorder writes the line once the command has returned.
        waitFor(() -> recorder.getText().contains("U-Net Segment"));
        for (String line : recorder.getText().split("\n"))
            if (line.contains("U-Net"))
                System.out.println("recorded " + line);
        EventQueue.invokeAndWait(recorder::close);
    }

    /** A shown 2048 x 2048 image made of copies of `tile`. */
    static ImagePlus big(ImageProcessor tile, String title) throws Exception {
        int w = tile.getWidth(), h = tile.getHeight(), n = 4;
        ImageProcessor big = tile.createProcessor(w * n, h * n);
        for (int y = 0; y < n; y++)
            for (int x = 0; x < n; x++)
                big.insert(tile, x * w, y * h);
        ImagePlus imp = new ImagePlus(title, big);
        imp.show();
        waitFor(() -> imp.getWindow() != null && imp.getWindow().isShowing());
        return imp;
    }

    /**
     * The Click Tool's first click on a 2048 x 2048 image (scale, statistics, network), with
     * Esc pressed 100 ms after it: prints whether a ROI was added and the status; then the
     * same click again, which must work.
     */
    static void escapeClick(ImageProcessor tile, int x, int y) throws Exception {
        ImagePlus imp = big(tile, "big-click");
        ImageCanvas canvas = imp.getCanvas();
        int before = count();
        long t0 = System.nanoTime();
        press(canvas, canvas.screenX(x), canvas.screenY(y));
        Thread.sleep(100);
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (!ImageJ.getStatusBarText().contains("cancelled") && count() == before
               && System.nanoTime() < deadline) {
            IJ.setKeyDown(KeyEvent.VK_ESCAPE);
            Thread.sleep(10);
        }
        IJ.setKeyUp(KeyEvent.VK_ESCAPE);
        System.out.printf("click_escape seconds %.2f added %d%n", (System.nanoTime() - t0) / 1e9,
                          count() - before);
        System.out.println("click_status " + ImageJ.getStatusBarText());
        press(canvas, canvas.screenX(x), canvas.screenY(y));
        waitForRois(before + 1, 120);
        System.out.printf("click_after_escape added %d%n", count() - before);
        imp.changes = false;
        imp.close();
    }

    /**
     * "U-Net Click..." with three points on a 2048 x 2048 image (the first click measures the
     * scale and runs the network), Esc pressed until the command returns: no ROI may be added.
     */
    static void escapeClickCommand(ImageProcessor tile, int x, int y) throws Exception {
        ImagePlus imp = big(tile, "big-click-command");
        int w = tile.getWidth();
        imp.setRoi(new ij.gui.PointRoi(new int[] {x, x + w, x + 2 * w}, new int[] {y, y, y}, 3));
        int before = count();
        IJ.resetEscape();
        Thread run = new Thread(() -> IJ.run(imp, "U-Net Click...", "model=nuclei threads=1"));
        long t0 = System.nanoTime();
        run.start();
        Thread.sleep(100);
        pressEscapeUntilDone(run);
        System.out.printf("click_command_escape seconds %.2f added %d%n",
                          (System.nanoTime() - t0) / 1e9, count() - before);
        System.out.println("click_command_status " + ImageJ.getStatusBarText());
        imp.changes = false;
        imp.close();
    }

    /** "U-Net Segment..." on a 2048 x 2048 image made of copies of `tile`, stopped by Esc. */
    static void escape(ImageProcessor tile) throws Exception {
        ImagePlus imp = big(tile, "big");
        IJ.resetEscape();
        Thread run = new Thread(() -> IJ.run(imp, "U-Net Segment...",
                "model=nuclei tile=256 threads=1 threshold=auto min_size=auto min_distance=auto"));
        long t0 = System.nanoTime();
        run.start();
        Thread.sleep(700);
        pressEscapeUntilDone(run);
        double seconds = (System.nanoTime() - t0) / 1e9;
        boolean result = WindowManager.getImage("big-labels") != null;
        System.out.printf("escape seconds %.2f result %s%n", seconds, result ? "yes" : "no");
        System.out.println("status " + ImageJ.getStatusBarText());
    }

    /** "U-Net Fine-tune..." for many steps, stopped by Esc: nothing may be saved. */
    static void escapeTraining(ImagePlus imp, File save) throws Exception {
        save.delete();
        ImageProcessor ip = imp.getProcessor();
        ij.process.ShortProcessor painted = new ij.process.ShortProcessor(ip.getWidth(), ip.getHeight());
        double mean = ip.getStatistics().mean;
        for (int i = 0; i < ip.getPixelCount(); i++)
            painted.set(i, ip.get(i) > mean ? 2 : 1); // bright: one object; the rest background
        ImagePlus labels = new ImagePlus("painted", painted);
        labels.show();
        waitFor(() -> labels.getWindow() != null && labels.getWindow().isShowing());
        IJ.resetEscape();
        Thread run = new Thread(() -> IJ.run(imp, "U-Net Fine-tune...",
                "model=nuclei tile=64 threads=1 labels=painted steps=100000 save=[" + save + "]"));
        long t0 = System.nanoTime();
        run.start();
        Thread.sleep(2000);
        pressEscapeUntilDone(run);
        System.out.printf("training_escape seconds %.2f saved %s%n", (System.nanoTime() - t0) / 1e9,
                          save.exists() ? "yes" : "no");
        System.out.println("training_status " + ImageJ.getStatusBarText());
    }

    /**
     * Presses Esc (what ImageJ's key handler does) every 100 ms until the command's thread
     * ends: a command resets the flag when it starts, so one early press could be lost.
     */
    static void pressEscapeUntilDone(Thread run) throws InterruptedException {
        long deadline = System.nanoTime() + 600_000_000_000L;
        while (run.isAlive() && System.nanoTime() < deadline) {
            IJ.setKeyDown(KeyEvent.VK_ESCAPE);
            run.join(100);
        }
        IJ.setKeyUp(KeyEvent.VK_ESCAPE);
    }

    interface Condition {
        boolean holds();
    }

    /** Until the ROI Manager holds n ROIs (polled every millisecond) or the time is up. */
    static void waitForRois(int n, int seconds) throws InterruptedException {
        long deadline = System.nanoTime() + seconds * 1_000_000_000L;
        while (count() < n && System.nanoTime() < deadline)
            Thread.sleep(1);
    }

    static void waitFor(Condition c) throws InterruptedException {
        for (int i = 0; i < 200 && !c.holds(); i++)
            Thread.sleep(50);
        if (!c.holds())
            throw new IllegalStateException("timed out waiting for a window");
    }
}
