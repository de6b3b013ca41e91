/* unet train: a model from folders of images and labels, with a live progress line, a CSV log,
 * best/last checkpoints, resume; Ctrl-C, SIGTERM and SIGHUP stop and save (signals.h). */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "common.h"
#include "paths.h"
#include "progress.h"
#include "signals.h"

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
    "  --steps N         total optimizer steps (default 1000); with --resume the run\n"
    "                    continues to step N (a state already at or past N: nothing to\n"
    "                    do, exit status 0, no file touched)\n"
    "  --epochs N        instead of --steps: passes over the training pixels\n"
    "  --batch N         patches per step (default 4)\n"
    "  --patch N         patch size in pixels (default 128)\n"
    "  --loss NAME       mse, l1, bce, ce, dice, bce+dice (default: bce+dice for one output\n"
    "                    channel, ce for several, mse for float targets)\n"
    "  --lr X            learning rate (default 0.001, Adam, cosine schedule)\n"
    "  --seed N          seed of weights, patches and augmentation (default 0)\n"
    "  --threads N       threads (default: the CPUs this process may use)\n"
    "  --set KEY=VALUE   any training option of unet_train_opts_set (repeatable), e.g.\n"
    "                    --set border_weights=true --set optimizer=sgd\n"
    "  --log FILE        CSV log of the curves (default: OUT.csv)\n"
    "  --checkpoints DIR best.unet, last.unet, last.state (default: OUT.ckpt)\n"
    "  --resume          continue from DIR/last.state to its planned total, or to step N\n"
    "                    with --steps N\n"
    "  --quiet           no progress line\n"
    "Writes the best validated model (the last one without validation data) to OUT.unet.\n"
    "Every output (OUT.unet, the log, the checkpoint files) is checked before any work.\n"
    "Ctrl-C, SIGTERM or SIGHUP stop after the current step and save what was trained\n"
    "(OUT.unet and DIR/last.state, for --resume); the exit status is then 128 + the signal\n"
    "(130 for Ctrl-C, 143 for SIGTERM).\n";

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

/* Every TIFF of a training folder, as an input of the run; 0, or -1 with a message. */
static int add_folder(cli_paths *p, const char *dir, const char *flag)
{
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "unet: train: cannot open the folder '%s' (%s): %s\n", dir, flag,
                strerror(errno));
        return -1;
    }
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        const char *dot = strrchr(e->d_name, '.');
        if (e->d_name[0] == '.' || !dot ||
            (strcasecmp(dot, ".tif") != 0 && strcasecmp(dot, ".tiff") != 0))
            continue;
        char *path = malloc(strlen(dir) + strlen(e->d_name) + 2);
        if (!path) {
            fprintf(stderr, "unet: train: out of memory\n");
            rc = -1;
            break;
        }
        sprintf(path, "%s/%s", dir, e->d_name);
        rc = cli_paths_input(p, path, strcmp(flag, "--images") == 0 ? "image" : "label image");
        free(path);
    }
    closedir(d);
    return rc;
}

/* The run's files, before any work: the inputs (config or model, the TIFFs of both folders)
 * can be opened, the outputs (OUT, the log, the checkpoint folder and its files) written, and
 * no output is an input or another output. 0, or -1 with one line on stderr. */
static int check_files(const char *images, const char *labels, const char *config,
                       const char *from, const char *out, const char *log, const char *ckpt,
                       int resume)
{
    static const char *const saved[] = {"best.unet", "last.unet", "last.state"};
    cli_paths p = {.command = "train"};
    int rc = (config && cli_paths_input(&p, config, "config")) ||
             (from && cli_paths_input(&p, from, "model")) ||
             add_folder(&p, images, "--images") || add_folder(&p, labels, "--labels") ||
             cli_paths_output(&p, out, "output", NULL, 0) ||
             cli_paths_output(&p, log, "log", NULL, 0) ||
             cli_check_output_folder("train", ckpt, "checkpoint");
    /* last.state is also read with --resume: the trainer's own file, replaced on purpose. */
    for (int k = 0; k < 3 && !rc; k++) {
        char *path = malloc(strlen(ckpt) + strlen(saved[k]) + 2);
        if (!path) {
            fprintf(stderr, "unet: train: out of memory\n");
            rc = 1;
            break;
        }
        sprintf(path, "%s/%s", ckpt, saved[k]);
        struct stat st;
        if (resume && k == 2 && stat(path, &st) != 0) {
            fprintf(stderr, "unet: train: --resume: cannot open the state '%s': %s\n", path,
                    strerror(errno));
            rc = 1;
        }
        if (!rc)
            rc = cli_paths_output(&p, path, "checkpoint", NULL, 1);
        free(path);
    }
    if (!rc)
        rc = cli_paths_check(&p);
    cli_paths_free(&p);
    return rc ? -1 : 0;
}

/* Whether validation has chosen a best model: the trainer's metrics give its value. */
static int has_best_model(const unet_trainer_t *t)
{
    const char *text = NULL;
    if (unet_trainer_metrics(t, &text) != UNET_OK || !text)
        return 0;
    json_t *v = json_loads(text, 0, NULL);
    int yes = json_is_number(json_object_get(v, "best_value"));
    json_decref(v);
    return yes;
}

int cmd_train(int argc, char **argv)
{
    const char *images = NULL, *labels = NULL, *config = NULL, *from = NULL, *out = NULL;
    const char *log_path = NULL, *ckpt = NULL;
    int quiet = 0, resume = 0, usage = 0, epochs = 0, rc = UNET_OK;
    long long seed = 0, steps = -1; /* -1: --steps not given */
    unet_train_opts_t *o;
    cli_signals_install();
    if (unet_train_opts_create(&o) != UNET_OK)
        return cli_fail_lib("train", UNET_E_NOMEM);
    for (int i = 1; i < argc && !usage && rc == UNET_OK; i++) {
        const char *a = argv[i];
        if (cli_is_help(a)) {
            fputs(usage_train, stdout);
            unet_train_opts_free(o);
            return 0;
        }
        if (cli_is_quiet(a)) {
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
                if (strcmp(a, "--epochs") == 0 && rc == UNET_OK) {
                    rc = unet_train_opts_set(o, "steps", "0");
                    epochs = 1;
                    steps = -1;
                }
                if (strcmp(a, "--steps") == 0 && rc == UNET_OK)
                    steps = strtoll(v, NULL, 10); /* the library checked the value */
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
    if (!usage && rc == UNET_OK && resume && epochs)
        usage = cli_fail_usage("--resume continues to the saved total or to --steps N; it "
                               "does not take --epochs", NULL);
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
    if (check_files(images, labels, config, from, out, log_path ? log_path : log_default, ckpt,
                    resume) != 0) {
        status = 1;
        goto done;
    }
    if (cli_make_output_folder("train", ckpt, "checkpoint") != 0) {
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
            fprintf(stderr, "unet: train: cannot read the config '%s': %s\n", config,
                    strerror(errno));
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
    int64_t first_step = 0, total = 0;
    if (rc == UNET_OK && resume) { /* before the data: a finished run need not load it */
        step_name = state;
        rc = unet_trainer_load_state(t, state);
        if (rc == UNET_OK)
            rc = unet_trainer_progress(t, &first_step, &total);
        if (rc == UNET_OK && first_step >= (steps >= 0 ? steps : total)) {
            fprintf(stderr, "nothing to train: '%s' is at step %lld, at or past %s %lld; no "
                            "file written\n", state, (long long)first_step,
                    steps >= 0 ? "--steps" : "its planned total",
                    steps >= 0 ? steps : (long long)total);
            goto done;
        }
        if (rc == UNET_OK && steps >= 0 && steps != total) {
            rc = unet_trainer_set_total_steps(t, steps);
            total = steps;
        }
        if (rc == UNET_OK && !quiet)
            fprintf(stderr, "resuming from %s at step %lld of %lld\n", state,
                    (long long)first_step, (long long)total);
        step_name = "train";
    }
    if (rc == UNET_OK) {
        step_name = images;
        rc = unet_trainer_add_folders(t, images, labels);
        step_name = "train";
    }
    if (rc == UNET_OK) {
        cli_signals_cancel_with(cancel_training, t);
        rc = unet_trainer_train(t);
        cli_signals_cancel_with(NULL, NULL);
        if (l.drawn)
            fputc('\n', stderr);
    }
    int64_t s = 0;
    if (rc == UNET_OK || rc == UNET_E_CANCELLED)
        unet_trainer_progress(t, &s, &total);
    if (rc == UNET_E_CANCELLED && s == first_step) { /* stopped before its first step */
        fprintf(stderr, "unet: train: cancelled (%s) before the first step; no file written\n",
                cli_signal_name());
        rc = UNET_OK;
        status = cli_signal_status();
    } else if (rc == UNET_OK || rc == UNET_E_CANCELLED) {
        int cancelled = rc == UNET_E_CANCELLED;
        /* The best validated model when there is one, else the current one. */
        char *best = malloc(strlen(ckpt) + 16);
        unet_model_t *bm = NULL;
        if (best)
            sprintf(best, "%s/best.unet", ckpt);
        if (!cancelled && has_best_model(t) && best && unet_model_load(best, &bm) == UNET_OK) {
            rc = unet_model_save(bm, out);
            unet_model_free(bm);
        } else {
            rc = unet_trainer_save(t, out);
            if (rc == UNET_OK && cancelled)
                rc = unet_trainer_save_state(t, state);
        }
        free(best);
        const char *metrics = NULL;
        unet_trainer_metrics(t, &metrics);
        if (rc == UNET_OK && !quiet)
            fprintf(stderr, "%s at step %lld of %lld in %.1f s; wrote %s\nvalidation: %s\n",
                    cancelled ? "cancelled" : "trained", (long long)s, (long long)total,
                    cli_now_seconds() - l.start, out, metrics ? metrics : "{}");
        if (rc == UNET_OK && cancelled)
            status = cli_signal_status();
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
