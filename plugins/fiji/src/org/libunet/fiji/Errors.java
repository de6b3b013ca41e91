package org.libunet.fiji;

import java.awt.GraphicsEnvironment;

import ij.IJ;
import ij.Macro;
import ij.macro.Interpreter;

import org.libunet.UnetException;

/** Turns what a command throws into ImageJ's error dialog (and stops a running macro). */
final class Errors {
    private Errors() {
    }

    /** A cancellation (Esc) only says so in the status bar; anything else is an error. */
    static void report(String command, Throwable t) {
        IJ.showProgress(1.0);
        if (t instanceof UnetException && ((UnetException) t).isCancelled()) {
            IJ.showStatus(command + ": cancelled"); // Esc also stops a running macro (ImageJ does)
            return;
        }
        String message;
        if (t instanceof UnetException)
            message = t.getMessage();
        else if (t instanceof IllegalArgumentException || t instanceof IllegalStateException)
            message = t.getMessage();
        else if (t instanceof LinkageError)
            message = "libunet's native library could not be loaded: " + t
                    + (t.getCause() != null ? " (" + t.getCause() + ")" : "");
        else
            message = t.toString();
        fail(command, message);
    }

    /** An error message for the user, as a dialog, or in the log when there is no window. */
    static void fail(String command, String message) {
        IJ.showProgress(1.0);
        // Without ImageJ's window (-batch, headless) nobody could close a dialog: the log
        // (printed on stdout there) says it, and the macro stops.
        if (IJ.getInstance() != null && !GraphicsEnvironment.isHeadless())
            IJ.error(command, message);
        else
            IJ.log(command + ": " + message);
        if (Macro.getOptions() != null) {
            Interpreter.abort(); // the macro that ran the command stops (in -batch mode too)
            Macro.abort();
        }
    }
}
