package org.libunet;

/**
 * Options of a {@link Trainer}: steps, batch, patch, loss, optimizer, lr, augmentation, ...
 * (see {@link #describe()}); a trainer copies them when it is created.
 */
public final class TrainOptions extends Options<TrainOptions> {
    public TrainOptions() {
        super(TRAIN, "train options");
    }
}
