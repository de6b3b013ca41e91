package org.libunet;

/**
 * Called on the training thread after every step: steps so far, planned total, the step's
 * training loss and the latest validation metric (NaN before the first validation). An
 * exception thrown here stops training after the current step (the model stays consistent)
 * and the call rethrows it.
 */
public interface TrainListener {
    void step(long step, long totalSteps, double loss, double metric);
}
