/* Training options: the key table, defaults, and class weights. */
#include "train/train_opts.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>

#include "core/status.h"

typedef struct unet_train_opts T;

/* The key table (defaults, bounds, choices); documented in unet.h at unet_train_opts_set. */
static const unet__opt entries[] = {
    {UNET__OPT_AT(T, steps), .type = UNET__OPT_I64, .def = 1000, .min = 0, .max = 1e9,
     .help = "total optimizer steps (0 with epochs set: from epochs)"},
    {UNET__OPT_AT(T, epochs), .type = UNET__OPT_DOUBLE, .def = 0, .min = 0, .max = 1e6,
     .help = "passes over the training pixels (0: unused)"},
    {UNET__OPT_AT(T, batch), .type = UNET__OPT_INT, .def = 4, .min = 1, .max = 1024,
     .help = "patches per step"},
    {UNET__OPT_AT(T, patch), .type = UNET__OPT_INT, .def = 128, .min = 8, .max = 4096,
     .help = "input patch size in pixels, rounded up to a size the network accepts"},
    {UNET__OPT_AT(T, threads), .type = UNET__OPT_INT, .def = 0, .min = 0, .max = 1024,
     .help = "threads (0: all the CPUs the process may use)"},
    {UNET__OPT_AT(T, seed), .type = UNET__OPT_I64, .def = 0, .min = 0, .max = 9007199254740992.0,
     .help = "random seed (the same seed gives the same run)"},
    {UNET__OPT_AT(T, loss), .type = UNET__OPT_NAME, .def_text = "auto",
     .choices = "auto mse l1 bce ce dice bce+dice",
     .help = "auto: bce+dice for one channel and labels, ce for several, mse for float targets"},
    {UNET__OPT_AT(T, target), .type = UNET__OPT_NAME, .def_text = "auto",
     .choices = "auto foreground 3class classes image distance",
     .help = "auto: foreground for one channel, 3class for three, distance for a model trained"
              " for it, classes otherwise, image for float targets; distance: foreground and"
              " normalised distance to the edge"},
    {UNET__OPT_AT(T, pos_weight), .type = UNET__OPT_DOUBLE, .def = 1, .min = 1e-6, .max = 1e6,
     .help = "weight of foreground pixels in bce"},
    {UNET__OPT_AT(T, class_weights), .type = UNET__OPT_TEXT, .def_text = "",
     .help = "comma-separated weights per class (empty: none)"},
    {UNET__OPT_AT(T, ignore_label), .type = UNET__OPT_I64, .def = -1,
     .min = -1, .max = 4294967295.0,
     .help = "label value of unannotated pixels (-1: none)"},
    {UNET__OPT_AT(T, border_weights), .type = UNET__OPT_BOOL, .def = 0,
     .help = "the U-Net paper's weight map between touching objects"},
    {UNET__OPT_AT(T, w0), .type = UNET__OPT_DOUBLE, .def = 10, .min = 0, .max = 1e6,
     .help = "border weight map: w0"},
    {UNET__OPT_AT(T, sigma), .type = UNET__OPT_DOUBLE, .def = 5, .min = 0.1, .max = 1e4,
     .help = "border weight map: sigma in pixels"},
    {UNET__OPT_AT(T, optimizer), .type = UNET__OPT_NAME, .def_text = "adam",
     .choices = "sgd adam adamw",
     .help = "optimizer"},
    {UNET__OPT_AT(T, lr), .type = UNET__OPT_DOUBLE, .def = 1e-3, .min = 0, .max = 10,
     .help = "learning rate"},
    {UNET__OPT_AT(T, momentum), .type = UNET__OPT_DOUBLE, .def = 0.9, .min = 0, .max = 0.9999,
     .help = "SGD momentum"},
    {UNET__OPT_AT(T, nesterov), .type = UNET__OPT_BOOL, .def = 0,
     .help = "SGD with Nesterov momentum"},
    {UNET__OPT_AT(T, beta1), .type = UNET__OPT_DOUBLE, .def = 0.9, .min = 0, .max = 0.9999999,
     .help = "Adam beta1"},
    {UNET__OPT_AT(T, beta2), .type = UNET__OPT_DOUBLE, .def = 0.999, .min = 0, .max = 0.9999999,
     .help = "Adam beta2"},
    {UNET__OPT_AT(T, eps), .type = UNET__OPT_DOUBLE, .def = 1e-8, .min = 1e-30, .max = 1,
     .help = "Adam epsilon"},
    {UNET__OPT_AT(T, weight_decay), .type = UNET__OPT_DOUBLE, .def = 0, .min = 0, .max = 1,
     .help = "weight decay (AdamW: decoupled)"},
    {UNET__OPT_AT(T, clip_norm), .type = UNET__OPT_DOUBLE, .def = 0, .min = 0, .max = 1e9,
     .help = "clip the global L2 norm of the gradients (0: none)"},
    {UNET__OPT_AT(T, schedule), .type = UNET__OPT_NAME, .def_text = "cosine",
     .choices = "constant cosine plateau",
     .help = "learning-rate schedule"},
    {UNET__OPT_AT(T, warmup), .type = UNET__OPT_I64, .def = 0, .min = 0, .max = 1e9,
     .help = "steps of linear warm-up"},
    {UNET__OPT_AT(T, min_lr), .type = UNET__OPT_DOUBLE, .def = 0, .min = 0, .max = 10,
     .help = "the cosine schedule's last learning rate"},
    {UNET__OPT_AT(T, plateau_factor), .type = UNET__OPT_DOUBLE, .def = 0.5,
     .min = 1e-6, .max = 0.999999,
     .help = "plateau schedule: factor applied to the learning rate"},
    {UNET__OPT_AT(T, plateau_patience), .type = UNET__OPT_INT, .def = 5, .min = 0, .max = 1000000,
     .help = "plateau schedule: validations without improvement before reducing"},
    {UNET__OPT_AT(T, plateau_threshold), .type = UNET__OPT_DOUBLE, .def = 1e-4, .min = 0, .max = 1,
     .help = "plateau schedule: relative improvement that counts"},
    {UNET__OPT_AT(T, plateau_cooldown), .type = UNET__OPT_INT, .def = 0, .min = 0, .max = 1000000,
     .help = "plateau schedule: validations to wait after a reduction"},
    {UNET__OPT_AT(T, val_fraction), .type = UNET__OPT_DOUBLE, .def = 0.1, .min = 0, .max = 0.9,
     .help = "share of the files (or of a single image's width) kept for validation"},
    {UNET__OPT_AT(T, normalize), .type = UNET__OPT_NAME, .def_text = "percentile",
     .choices = "percentile zmuv none",
     .help = "input normalisation (stored in the model's preprocessing metadata)"},
    {UNET__OPT_AT(T, norm_low), .type = UNET__OPT_DOUBLE, .def = 1, .min = 0, .max = 100,
     .help = "low percentile (normalize percentile)"},
    {UNET__OPT_AT(T, norm_high), .type = UNET__OPT_DOUBLE, .def = 99.8, .min = 0, .max = 100,
     .help = "high percentile (normalize percentile)"},
    {UNET__OPT_AT(T, fg_bias), .type = UNET__OPT_DOUBLE, .def = 0.5, .min = 0, .max = 1,
     .help = "probability that a patch is centred on a foreground pixel"},
    {UNET__OPT_AT(T, aug_flip), .type = UNET__OPT_BOOL, .def = 1,
     .help = "random flips"},
    {UNET__OPT_AT(T, aug_rot90), .type = UNET__OPT_BOOL, .def = 1,
     .help = "random 90-degree rotations"},
    {UNET__OPT_AT(T, aug_elastic), .type = UNET__OPT_DOUBLE, .def = 0.5, .min = 0, .max = 1,
     .help = "probability of an elastic deformation"},
    {UNET__OPT_AT(T, elastic_sigma), .type = UNET__OPT_DOUBLE, .def = 10, .min = 0, .max = 1000,
     .help = "elastic deformation: displacement sd in pixels"},
    {UNET__OPT_AT(T, elastic_grid), .type = UNET__OPT_INT, .def = 3, .min = 2, .max = 32,
     .help = "elastic deformation: control grid size"},
    {UNET__OPT_AT(T, aug_scale), .type = UNET__OPT_DOUBLE, .def = 0.1, .min = 0, .max = 0.99,
     .help = "intensity factor drawn in [1 - s, 1 + s]"},
    {UNET__OPT_AT(T, aug_shift), .type = UNET__OPT_DOUBLE, .def = 0.1, .min = 0, .max = 100,
     .help = "intensity shift drawn in [-s, s]"},
    {UNET__OPT_AT(T, aug_gamma), .type = UNET__OPT_DOUBLE, .def = 0, .min = 0, .max = 10,
     .help = "gamma drawn in [1/(1+g), 1+g] (0: off)"},
    {UNET__OPT_AT(T, noise_gauss), .type = UNET__OPT_DOUBLE, .def = 0, .min = 0, .max = 100,
     .help = "largest Gaussian noise sd, normalised units (0: off)"},
    {UNET__OPT_AT(T, noise_poisson), .type = UNET__OPT_DOUBLE, .def = 0, .min = 0, .max = 1e9,
     .help = "photon count of a patch's brightest pixel for Poisson noise (0: off)"},
    {UNET__OPT_AT(T, val_every), .type = UNET__OPT_I64, .def = 0, .min = 0, .max = 1e9,
     .help = "steps between validations (0: ten per run)"},
    {UNET__OPT_AT(T, metric), .type = UNET__OPT_NAME, .def_text = "auto",
     .choices = "auto iou dice f1 psnr ssim loss",
     .help = "validation metric (auto: iou for segmentation, psnr for restoration)"},
    {UNET__OPT_AT(T, threshold), .type = UNET__OPT_DOUBLE, .def = 0.5, .min = 0, .max = 1,
     .help = "foreground probability threshold of the metrics"},
    {UNET__OPT_AT(T, freeze_encoder), .type = UNET__OPT_BOOL, .def = 0,
     .help = "train the decoder only (fine-tuning)"},
    {UNET__OPT_AT(T, precise), .type = UNET__OPT_BOOL, .def = 0,
     .help = "direct convolutions everywhere (no Winograd; slower)"},
    {UNET__OPT_AT(T, checkpoint_dir), .type = UNET__OPT_TEXT, .def_text = "",
     .help = "folder for best.unet, last.unet and last.state (empty: none)"},
    {UNET__OPT_AT(T, log), .type = UNET__OPT_TEXT, .def_text = "",
     .help = "CSV file of the training curves (empty: none)"},
};
static const unet__opts_section sections[] = {UNET__OPTS_OWN(entries)};
const unet__opts_table unet__train_opts_table = {
    .what = "training", .api = "unet_train_opts", .sections = sections,
    .nsections = 1, UNET__OPTS_OBJECT(T),
};

void unet__train_opts_defaults(struct unet_train_opts *o)
{
    unet__opts_init(&unet__train_opts_table, o);
}

json_t *unet__train_opts_to_json(const struct unet_train_opts *o)
{
    return unet__opts_to_json(&unet__train_opts_table, o);
}

int unet__train_opts_class_weights(const struct unet_train_opts *o, double *w, int n)
{
    const char *s = o->class_weights;
    int count = 0;
    while (*s) {
        char *end;
        double v = strtod(s, &end);
        if (end == s || !isfinite(v) || v < 0)
            return unet__fail(UNET_E_INVALID_ARG, "class_weights \"%.60s\": expected "
                                                  "non-negative numbers separated by commas",
                              o->class_weights);
        if (count == n)
            return unet__fail(UNET_E_INVALID_ARG, "class_weights: more than %d values", n);
        w[count++] = v;
        s = end;
        while (*s == ' ')
            s++;
        if (*s == ',')
            s++;
        else if (*s)
            return unet__fail(UNET_E_INVALID_ARG, "class_weights \"%.60s\": expected a comma "
                                                  "after %g", o->class_weights, v);
    }
    return count;
}
