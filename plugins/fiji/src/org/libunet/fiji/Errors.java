package org.libunet.fiji;

import ij.IJ;
import ij.Macro;

import org.libunet.UnetException;

/** Turns what a command throws into ImageJ's error dialog (and stops a running macro). */
final class Errors {
    private Errors() {
    }

    /** A cancellation (Esc) only says so in the status bar; anything else is an error. */
    static void report(String command, Throwable t) {
        IJ.showProgress(1.0);
        if (t instanceof UnetException && ((UnetException) t).isCancelled()) {
            IJ.showStatus(command + ": cancelled");
            if (Macro.getOptions() != null)
                Macro.abort();
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
        IJ.log(command + ": " + message);
        IJ.error(command, message);
        if (Macro.getOptions() != null)
            Macro.abort();
    }
}
