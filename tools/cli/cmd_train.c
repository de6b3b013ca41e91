/* unet train: a model from folders of images and labels, with a live progress line, a CSV log,
 * best/last checkpoints, resume and Ctrl-C. */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"
#include "progress.h"

static const char *const usage_train =
    "usage: unet train --images DIR --labels DIR (--config CFG.json | --from MODEL) -o OUT.unet\n"
    "                  [options]\n"
    "Trains a U-Net on every TIFF of --images with the file of the same name in --labels\n"
    "(instance labels, binary masks or class maps; float images for restoration).\n"
    "\n"
    "  --config FILE     a new model from a JSON U-Net config (without final_activation: sigmoid\n"
    "                    for one output channel, softmax for several, none for restoration)\n"
    "  --from MODEL      fine-tune a .unet model\n"
    "  --freeze-encoder  with --from: train the decoder only\n"
    "  --precise         direct convolutions only (no Winograd; slower)\n"
    "  --val-fraction F  validation share: of the files, or of the width of a single image\n"
    "                    (default 0.1)\n"
    "  --steps N         optimizer steps (default 1000)\n"
    "  --epochs N        instead of --steps: passes over the training pixels\n"
    "  --batch N         patches per step (default 4)\n"
    "  --patch N         patch size in pixels (default 128)\n"
    "  --loss NAME       mse, l1, bce, ce, dice, bce+dice (default: bce+dice for one output\n"
    "                    channel, ce for several, mse for float targets)\n"
    "  --lr X            learning rate (default 0.001, Adam, cosine schedule)\n"
    "  --seed N          seed of weights, patches and augmentation (default 0)\n"
    "  --threads N       threads (default: all cores)\n"
    "  --set KEY=VALUE   any training option of unet_train_opts_set (repeatable), e.g.\n"
    "                    --set border_weights=true --set optimizer=sgd\n"
    "  --log FILE        CSV log of the curves (default: OUT.csv)\n"
    "  --checkpoints DIR best.unet, last.unet, last.state (default: OUT.ckpt)\n"
    "  --resume          continue from DIR/last.state\n"
    "  --quiet           no progress line\n"
    "Writes the best validated model (the last one without validation data) to OUT.unet.\n"
    "Ctrl-C stops after the current step and saves what was trained.\n";

static void cancel_training(void *trainer)
{
    unet_trainer_cancel(trainer);
}

typedef struct line {
    double start;
    int tty, drawn;
    int64_t last_validation_step;
    double last_metric;
} line;

static int draw(void *user, int64_t step, int64_t total, double loss, double metric)
{
    line *l = user;
    double elapsed = cli_now_seconds() - l->start;
    double rate = elapsed > 0 ? (double)step / elapsed : 0;
    char m[32] = "-", eta[32];
    cli_format_eta(rate > 0 ? (double)(total - step) / rate : 0, eta);
    if (!isnan(metric))
        snprintf(m, sizeof m, "%.4f", metric);
    if (l->tty) {
        fprintf(stderr, "\rstep %lld/%lld  loss %.4f  val %s  %.2f steps/s  ETA %s  ",
                (long long)step, (long long)total, loss, m, rate, eta);
        l->drawn = 1;
    } else if (!isnan(metric) && metric != l->last_metric) {
        fprintf(stderr, "step %lld/%lld  loss %.4f  val %s  %.2f steps/s\n", (long long)step,
                (long long)total, loss, m, rate);
    }
    l->last_metric = metric;
    return 0;
}

/* The file name of the first TIFF in a folder (for probing the label type), or NULL. */
static char *first_tiff(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return NULL;
    char *best = NULL;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        const char *dot = strrchr(e->d_name, '.');
        if (e->d_name[0] == '.' || !dot ||
            (strcasecmp(dot, ".tif") != 0 && strcasecmp(dot, ".tiff") != 0))
            continue;
        if (!best || strcmp(e->d_name, best) < 0) {
            free(best);
            best = malloc(strlen(dir) + strlen(e->d_name) + 2);
            if (best)
                sprintf(best, "%s/%s", dir, e->d_name);
        }
    }
    closedir(d);
    return best;
}

/* A config with "final_activation" added when it has none: sigmoid for one output channel,
 * softmax for several, none for float (restoration) labels. */
static char *complete_config(const char *text, const char *labels_dir, uint64_t seed)
{
    size_t n = strlen(text);
    char *out = malloc(n + 64);
    if (!out)
        return NULL;
    strcpy(out, text);
    if (strstr(text, "\"final_activation\""))
        return out;
    unet_model_t *m;
    if (unet_model_create(text, seed, &m) != UNET_OK)
        return out; /* the real creation reports the error */
    int channels = 1;
    unet_model_out_channels(m, &channels);
    unet_model_free(m);
    const char *act = channels > 1 ? "softmax" : "sigmoid";
    char *probe = first_tiff(labels_dir);
    int64_t p, c, h, w;
    unet_dtype_t dtype;
    if (probe && unet_tiff_info(probe, &p, &c, &h, &w, &dtype) == UNET_OK &&
        (dtype == UNET_F32 || dtype == UNET_F64))
        act = "none";
    free(probe);
    char *end = strrchr(out, '}');
    if (!end)
        return out;
    const char *open = strchr(out, '{');
    int empty = 1;
    for (const char *q = open ? open + 1 : end; q < end; q++)
        empty &= *q == ' ' || *q == '\n' || *q == '\t' || *q == '\r';
    sprintf(end, "%s\"final_activation\": \"%s\"}", empty ? "" : ", ", act);
    return out;
}

/* OUT.unet -> OUT + suffix (the .unet extension replaced). */
static char *derived(const char *out, const char *suffix)
{
    size_t n = strlen(out);
    if (n > 5 && strcmp(out + n - 5, ".unet") == 0)
        n -= 5;
    char *p = malloc(n + strlen(suffix) + 1);
    if (p) {
        memcpy(p, out, n);
        strcpy(p + n, suffix);
    }
    return p;
}

int cmd_train(int argc, char **argv)
{
    const char *images = NULL, *labels = NULL, *config = NULL, *from = NULL, *out = NULL;
    const char *log_path = NULL, *ckpt = NULL;
    int quiet = 0, resume = 0, usage = 0, rc = UNET_OK;
    long long seed = 0;
    unet_train_opts_t *o;
    if (unet_train_opts_create(&o) != UNET_OK)
        return cli_fail_lib("train", UNET_E_NOMEM);
    for (int i = 1; i < argc && !usage && rc == UNET_OK; i++) {
        const char *a = argv[i];
        if (cli_is_help(a)) {
            fputs(usage_train, stdout);
            unet_train_opts_free(o);
            return 0;
        }
        if (strcmp(a, "--quiet") == 0 || strcmp(a, "-q") == 0) {
            quiet = 1;
            continue;
        }
        if (strcmp(a, "--resume") == 0) {
            resume = 1;
            continue;
        }
        if (strcmp(a, "--freeze-encoder") == 0) {
            rc = unet_train_opts_set(o, "freeze_encoder", "true");
            continue;
        }
        if (strcmp(a, "--precise") == 0) {
            rc = unet_train_opts_set(o, "precise", "true");
            continue;
        }
        if (i + 1 >= argc) {
            usage = cli_fail_usage("missing value for option (or unknown option)", a);
            break;
        }
        const char *v = argv[++i];
        /* options that map one to one onto training options */
        static const char *const direct[][2] = {
            {"--val-fraction", "val_fraction"}, {"--steps", "steps"}, {"--epochs", "epochs"},
            {"--batch", "batch"}, {"--patch", "patch"}, {"--loss", "loss"}, {"--lr", "lr"},
            {"--threads", "threads"}, {NULL, NULL}};
        int mapped = 0;
        for (int k = 0; direct[k][0]; k++)
            if (strcmp(a, direct[k][0]) == 0) {
                rc = unet_train_opts_set(o, direct[k][1], v);
                if (strcmp(a, "--epochs") == 0 && rc == UNET_OK)
                    rc = unet_train_opts_set(o, "steps", "0");
                mapped = 1;
            }
        if (mapped)
            continue;
        if (strcmp(a, "--images") == 0)
            images = v;
        else if (strcmp(a, "--labels") == 0)
            labels = v;
        else if (strcmp(a, "--config") == 0)
            config = v;
        else if (strcmp(a, "--from") == 0)
            from = v;
        else if (strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0)
            out = v;
        else if (strcmp(a, "--log") == 0)
            log_path = v;
        else if (strcmp(a, "--checkpoints") == 0)
            ckpt = v;
        else if (strcmp(a, "--seed") == 0) {
            if ((seed = cli_parse_count(v, (1LL << 53))) < 0)
                usage = cli_fail_usage("--seed must be a non-negative integer", v);
            else
                rc = unet_train_opts_set(o, "seed", v);
        } else if (strcmp(a, "--set") == 0) {
            const char *eq = strchr(v, '=');
            if (!eq || eq == v) {
                usage = cli_fail_usage("--set takes KEY=VALUE", v);
            } else {
                char key[64];
                snprintf(key, sizeof key, "%.*s", (int)(eq - v), v);
                rc = unet_train_opts_set(o, key, eq + 1);
            }
        } else {
            usage = cli_fail_usage("unknown option for train", a);
        }
    }
    if (!usage && rc == UNET_OK && (!images || !labels || !out))
        usage = cli_fail_usage("train needs --images DIR, --labels DIR and -o OUT.unet", NULL);
    if (!usage && rc == UNET_OK && !config == !from)
        usage = cli_fail_usage("train needs exactly one of --config CFG.json and --from MODEL",
                               NULL);
    if (usage || rc != UNET_OK) {
        unet_train_opts_free(o);
        return usage ? usage : cli_fail_lib("train", rc);
    }

    char *log_default = derived(out, ".csv"), *ckpt_default = derived(out, ".ckpt");
    char *cfg_text = NULL, *state = NULL;
    unet_model_t *m = NULL;
    unet_trainer_t *t = NULL;
    int status = 0;
    const char *step_name = "train";
    if (!log_default || !ckpt_default) {
        rc = UNET_E_NOMEM;
        goto done;
    }
    if (!ckpt)
        ckpt = ckpt_default;
    if (mkdir(ckpt, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "unet: train: cannot create the checkpoint folder '%s': %s\n", ckpt,
                strerror(errno));
        status = 1;
        goto done;
    }
    state = malloc(strlen(ckpt) + 16);
    if (!state) {
        rc = UNET_E_NOMEM;
        goto done;
    }
    sprintf(state, "%s/last.state", ckpt);
    rc = unet_train_opts_set(o, "checkpoint_dir", ckpt);
    if (rc == UNET_OK)
        rc = unet_train_opts_set(o, "log", log_path ? log_path : log_default);
    if (rc != UNET_OK)
        goto done;
    if (config) {
        step_name = config;
        char *text = cli_read_text_file(config);
        if (!text) {
            fprintf(stderr, "unet: train: cannot read '%s': %s\n", config, strerror(errno));
            status = 1;
            goto done;
        }
        cfg_text = complete_config(text, labels, (uint64_t)seed);
        free(text);
        rc = cfg_text ? unet_model_create(cfg_text, (uint64_t)seed, &m) : UNET_E_NOMEM;
    } else {
        step_name = from;
        rc = unet_model_load(from, &m);
    }
    if (rc != UNET_OK)
        goto done;
    line l = {cli_now_seconds(), !quiet && isatty(STDERR_FILENO), 0, -1, NAN};
    if (!quiet)
        rc = unet_train_opts_set_progress(o, draw, &l);
    step_name = "train";
    if (rc == UNET_OK)
        rc = unet_trainer_create(m, o, &t);
    if (rc == UNET_OK) {
        step_name = images;
        rc = unet_trainer_add_folders(t, images, labels);
        step_name = "train";
    }
    if (rc == UNET_OK && resume) {
        rc = unet_trainer_load_state(t, state);
        if (rc == UNET_OK && !quiet) {
            int64_t s, total;
            unet_trainer_progress(t, &s, &total);
            fprintf(stderr, "resuming from %s at step %lld\n", state, (long long)s);
        }
    }
    if (rc == UNET_OK) {
        cli_sigint_begin(cancel_training, t);
        rc = unet_trainer_train(t);
        cli_sigint_end();
        if (l.drawn)
            fputc('\n', stderr);
    }
    if (rc == UNET_OK || rc == UNET_E_CANCELLED) {
        int cancelled = rc == UNET_E_CANCELLED;
        /* The best validated model when there is one, else the current one. */
        char *best = malloc(strlen(ckpt) + 16);
        unet_model_t *bm = NULL;
        int64_t s, total;
        unet_trainer_progress(t, &s, &total);
        if (best)
            sprintf(best, "%s/best.unet", ckpt);
        const char *metrics = NULL;
        unet_trainer_metrics(t, &metrics);
        int has_val = metrics && !strstr(metrics, "\"best_value\":null");
        if (!cancelled && has_val && best && unet_model_load(best, &bm) == UNET_OK) {
            rc = unet_model_save(bm, out);
            unet_model_free(bm);
        } else {
            rc = unet_trainer_save(t, out);
            if (rc == UNET_OK && cancelled)
                rc = unet_trainer_save_state(t, state);
        }
        free(best);
        if (rc == UNET_OK && !quiet)
            fprintf(stderr, "%s at step %lld of %lld in %.1f s; wrote %s\nvalidation: %s\n",
                    cancelled ? "cancelled" : "trained", (long long)s, (long long)total,
                    cli_now_seconds() - l.start, out, metrics ? metrics : "{}");
        if (rc == UNET_OK && cancelled)
            status = 130;
    }
done:
    if (rc != UNET_OK && status == 0)
        status = cli_fail_lib(step_name, rc);
    unet_trainer_free(t);
    unet_model_free(m);
    unet_train_opts_free(o);
    free(cfg_text);
    free(state);
    free(log_default);
    free(ckpt_default);
    return status;
}
