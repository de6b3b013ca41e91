/*
 * The public training API end to end on tiny synthetic data (seconds): a network learns to
 * segment discs; runs are deterministic for a seed and thread count (and across thread
 * counts); a resumed run continues the same trajectory; progress callbacks cancel;
 * checkpoints carry provenance; TIFF folders are paired by name; the encoder can be frozen;
 * bad input is refused with messages. Run with CK_FORK=no.
 */
#include <check.h>
#include <dirent.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unet.h"
#include "api_calls.h"

#include "io/tiff.h"

#define H 48
#define W 96

static const char *const small_cfg =
    "{\"depth\":2,\"base_features\":8,\"final_activation\":\"sigmoid\"}";

/* Discs of radius 3..6 with noise; labels are instance ids. */
static void synth(uint64_t seed, uint16_t *img, uint16_t *lab, int n)
{
    uint64_t s = seed * 2654435761u + 1;
#define RND() ((s = s * 6364136223846793005ULL + 1442695040888963407ULL) >> 33)
    memset(lab, 0, H * W * sizeof *lab);
    for (int k = 0; k < n; k++) {
        int cy = 5 + (int)(RND() % (H - 10)), cx = 5 + (int)(RND() % (W - 10));
        int r = 3 + (int)(RND() % 4);
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++)
                if ((y - cy) * (y - cy) + (x - cx) * (x - cx) <= r * r)
                    lab[y * W + x] = (uint16_t)(k + 1);
    }
    for (int i = 0; i < H * W; i++)
        img[i] = (uint16_t)((lab[i] ? 400 : 100) + RND() % 120);
#undef RND
}

static unet_train_opts_t *opts(const char *json)
{
    unet_train_opts_t *o;
    ck_assert_int_eq(unet_train_opts_create(&o), UNET_OK);
    ck_assert_int_eq(unet_train_opts_set_json(o, "{\"patch\":32,\"batch\":4,\"threads\":1,"
                                                 "\"lr\":0.003,\"val_fraction\":0.25}"),
                     UNET_OK);
    if (json)
        ck_assert_msg(unet_train_opts_set_json(o, json) == UNET_OK, "%s", unet_last_error());
    return o;
}

static void add_synth(unet_trainer_t *t, uint64_t seed, int split)
{
    static uint16_t img[H * W], lab[H * W];
    synth(seed, img, lab, 18);
    const int64_t shape[2] = {H, W};
    ck_assert_msg(unet_trainer_add_data(t, img, UNET_U16, 2, shape, lab, UNET_U16, 2, shape,
                                        split) == UNET_OK,
                  "%s", unet_last_error());
}

static float *weights(unet_model_t *m, size_t *count)
{
    int64_t total = model_param_count(m);
    float *w = malloc((size_t)total * sizeof *w), *p = w;
    for (int i = 0; i < model_int(unet_model_tensor_count, m); i++) {
        const char *name;
        int ndim;
        int64_t shape[4], n = 1;
        unet_model_tensor_info(m, i, &name, &ndim, shape);
        for (int d = 0; d < ndim; d++)
            n *= shape[d];
        ck_assert_int_eq(unet_model_get_tensor(m, name, p, (size_t)n), UNET_OK);
        p += n;
    }
    *count = (size_t)total;
    return w;
}

/* Train `steps` from a fresh model; returns the weights. */
static float *run(const char *json, int64_t steps, size_t *count)
{
    unet_model_t *m;
    ck_assert_int_eq(unet_model_create(small_cfg, 7, &m), UNET_OK);
    unet_train_opts_t *o = opts(json);
    unet_trainer_t *t;
    ck_assert_int_eq(unet_trainer_create(m, o, &t), UNET_OK);
    add_synth(t, 1, UNET_SPLIT_AUTO);
    ck_assert_msg(unet_trainer_step(t, steps) == UNET_OK, "%s", unet_last_error());
    float *w = weights(m, count);
    unet_trainer_free(t);
    unet_train_opts_free(o);
    unet_model_free(m);
    return w;
}

START_TEST(learns_to_segment)
{
    unet_model_t *m;
    ck_assert_int_eq(unet_model_create(small_cfg, 1, &m), UNET_OK);
    unet_train_opts_t *o = opts("{\"steps\":80,\"val_every\":40}");
    unet_trainer_t *t;
    ck_assert_int_eq(unet_trainer_create(m, o, &t), UNET_OK);
    add_synth(t, 1, UNET_SPLIT_AUTO);
    double loss0, iou0, loss1, iou1;
    ck_assert_int_eq(unet_trainer_evaluate(t, &loss0, &iou0), UNET_OK);
    ck_assert_msg(unet_trainer_train(t) == UNET_OK, "%s", unet_last_error());
    ck_assert_int_eq(unet_trainer_evaluate(t, &loss1, &iou1), UNET_OK);
    int64_t step, total;
    unet_trainer_progress(t, &step, &total);
    ck_assert_int_eq(step, 80);
    ck_assert_int_eq(total, 80);
    ck_assert_msg(iou1 > 0.8 && loss1 < loss0, "IoU %g -> %g, loss %g -> %g", iou0, iou1, loss0,
                  loss1);
    const char *metrics = trainer_metrics(t);
    ck_assert_ptr_nonnull(strstr(metrics, "\"iou\""));
    ck_assert_ptr_nonnull(strstr(metrics, "\"f1\""));
    /* The trained model predicts with the preprocessing it was trained with. */
    char path[] = "/tmp/unet_train_api_XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    ck_assert_int_eq(unet_trainer_save(t, path), UNET_OK);
    unet_model_t *back;
    ck_assert_int_eq(unet_model_load(path, &back), UNET_OK);
    const char *meta = model_metadata(back);
    ck_assert_ptr_nonnull(strstr(meta, "\"normalize\":\"percentile\""));
    ck_assert_ptr_nonnull(strstr(meta, "\"loss\":\"bce+dice\""));
    ck_assert_ptr_nonnull(strstr(meta, "\"split\":\"region\""));
    static uint16_t img[H * W], lab[H * W];
    synth(1, img, lab, 18);
    static float prob[H * W];
    const int64_t shape[2] = {H, W};
    ck_assert_int_eq(unet_predict(back, NULL, img, UNET_U16, 2, shape, prob, H * W), UNET_OK);
    int agree = 0;
    for (int i = 0; i < H * W; i++)
        agree += (prob[i] > 0.5f) == (lab[i] > 0);
    ck_assert_msg(agree > 0.95 * H * W, "%d of %d pixels right", agree, H * W);
    remove(path);
    unet_model_free(back);
    unet_trainer_free(t);
    unet_train_opts_free(o);
    unet_model_free(m);
}
END_TEST

START_TEST(deterministic)
{
    size_t n1, n2, n3;
    const char *cfg = "{\"aug_elastic\":1,\"aug_gamma\":0.3,\"noise_gauss\":0.1,"
                      "\"noise_poisson\":30}";
    float *a = run(cfg, 6, &n1), *b = run(cfg, 6, &n2);
    ck_assert_int_eq(n1, n2);
    ck_assert_int_eq(memcmp(a, b, n1 * sizeof *a), 0);
    /* Two threads: the same numbers (every reduction has a fixed order). */
    float *c = run("{\"aug_elastic\":1,\"aug_gamma\":0.3,\"noise_gauss\":0.1,"
                   "\"noise_poisson\":30,\"threads\":2}",
                   6, &n3);
    ck_assert_int_eq(memcmp(a, c, n1 * sizeof *a), 0);
    /* Another seed, another run. */
    free(c);
    c = run("{\"seed\":5}", 6, &n3);
    ck_assert_int_ne(memcmp(a, c, n1 * sizeof *a), 0);
    free(a);
    free(b);
    free(c);
}
END_TEST

/* A run interrupted and resumed from its saved state ends where an uninterrupted one does,
 * bit for bit (plateau schedule and validations included). */
START_TEST(resume_continues_trajectory)
{
    const char *cfg = "{\"steps\":12,\"val_every\":3,\"schedule\":\"plateau\","
                      "\"plateau_patience\":0,\"optimizer\":\"adamw\",\"weight_decay\":0.01}";
    unet_model_t *m;
    unet_trainer_t *t;
    unet_train_opts_t *o = opts(cfg);
    ck_assert_int_eq(unet_model_create(small_cfg, 7, &m), UNET_OK);
    ck_assert_int_eq(unet_trainer_create(m, o, &t), UNET_OK);
    add_synth(t, 1, UNET_SPLIT_AUTO);
    ck_assert_int_eq(unet_trainer_train(t), UNET_OK);
    size_t n;
    float *straight = weights(m, &n);
    unet_trainer_free(t);
    unet_model_free(m);

    char state[] = "/tmp/unet_train_state_XXXXXX";
    int fd = mkstemp(state);
    close(fd);
    ck_assert_int_eq(unet_model_create(small_cfg, 7, &m), UNET_OK);
    ck_assert_int_eq(unet_trainer_create(m, o, &t), UNET_OK);
    add_synth(t, 1, UNET_SPLIT_AUTO);
    ck_assert_int_eq(unet_trainer_step(t, 7), UNET_OK);
    ck_assert_int_eq(unet_trainer_save_state(t, state), UNET_OK);
    unet_trainer_free(t);
    unet_model_free(m);
    /* A new process would start here: a fresh model (other weights) and trainer. */
    ck_assert_int_eq(unet_model_create(small_cfg, 99, &m), UNET_OK);
    ck_assert_int_eq(unet_trainer_create(m, o, &t), UNET_OK);
    add_synth(t, 1, UNET_SPLIT_AUTO);
    ck_assert_msg(unet_trainer_load_state(t, state) == UNET_OK, "%s", unet_last_error());
    int64_t step;
    unet_trainer_progress(t, &step, NULL);
    ck_assert_int_eq(step, 7);
    ck_assert_int_eq(unet_trainer_train(t), UNET_OK);
    float *resumed = weights(m, &n);
    ck_assert_int_eq(memcmp(straight, resumed, n * sizeof *straight), 0);
    /* A state of another architecture is refused. */
    unet_model_t *other;
    unet_trainer_t *t2;
    ck_assert_int_eq(unet_model_create("{\"depth\":2,\"base_features\":4}", 1, &other),
                     UNET_OK);
    ck_assert_int_eq(unet_trainer_create(other, o, &t2), UNET_OK);
    ck_assert_int_eq(unet_trainer_load_state(t2, state), UNET_E_INVALID_ARG);
    ck_assert_int_eq(unet_trainer_load_state(t2, "/nonexistent/x.state"), UNET_E_IO);
    unet_trainer_free(t2);
    unet_model_free(other);
    remove(state);
    free(straight);
    free(resumed);
    unet_trainer_free(t);
    unet_train_opts_free(o);
    unet_model_free(m);
}
END_TEST

/* unet_trainer_set_total_steps: a run planned to 6 steps, saved, resumed and re-planned to
 * 12 follows the trajectory of a run planned to 12 from the start (a constant schedule, so
 * the plan changes nothing else); a total below the steps taken trains nothing. */
START_TEST(resume_to_a_new_total)
{
    const char *cfg = "{\"val_every\":3,\"schedule\":\"constant\"}";
    unet_train_opts_t *o12 = opts(cfg), *o6 = opts(cfg);
    ck_assert_int_eq(unet_train_opts_set(o12, "steps", "12"), UNET_OK);
    ck_assert_int_eq(unet_train_opts_set(o6, "steps", "6"), UNET_OK);
    unet_model_t *m;
    unet_trainer_t *t;
    ck_assert_int_eq(unet_model_create(small_cfg, 7, &m), UNET_OK);
    ck_assert_int_eq(unet_trainer_create(m, o12, &t), UNET_OK);
    add_synth(t, 1, UNET_SPLIT_AUTO);
    ck_assert_int_eq(unet_trainer_train(t), UNET_OK);
    size_t n;
    float *straight = weights(m, &n);
    unet_trainer_free(t);
    unet_model_free(m);

    char state[] = "/tmp/unet_train_total_XXXXXX";
    close(mkstemp(state));
    ck_assert_int_eq(unet_model_create(small_cfg, 7, &m), UNET_OK);
    ck_assert_int_eq(unet_trainer_create(m, o6, &t), UNET_OK);
    add_synth(t, 1, UNET_SPLIT_AUTO);
    ck_assert_int_eq(unet_trainer_train(t), UNET_OK);
    ck_assert_int_eq(unet_trainer_save_state(t, state), UNET_OK);
    unet_trainer_free(t);
    unet_model_free(m);

    ck_assert_int_eq(unet_model_create(small_cfg, 99, &m), UNET_OK);
    ck_assert_int_eq(unet_trainer_create(m, o6, &t), UNET_OK);
    add_synth(t, 1, UNET_SPLIT_AUTO);
    ck_assert_int_eq(unet_trainer_load_state(t, state), UNET_OK);
    int64_t step, total;
    unet_trainer_progress(t, &step, &total);
    ck_assert_int_eq(step, 6);
    ck_assert_int_eq(total, 6); /* the saved plan */
    ck_assert_int_eq(unet_trainer_set_total_steps(t, 0), UNET_E_INVALID_ARG);
    ck_assert_int_eq(unet_trainer_set_total_steps(NULL, 12), UNET_E_INVALID_ARG);
    ck_assert_int_eq(unet_trainer_set_total_steps(t, 1000000001), UNET_E_INVALID_ARG);
    ck_assert_int_eq(unet_trainer_set_total_steps(t, 12), UNET_OK);
    unet_trainer_progress(t, &step, &total);
    ck_assert_int_eq(total, 12);
    ck_assert_int_eq(unet_trainer_train(t), UNET_OK);
    unet_trainer_progress(t, &step, &total);
    ck_assert_int_eq(step, 12);
    float *resumed = weights(m, &n);
    ck_assert_int_eq(memcmp(straight, resumed, n * sizeof *straight), 0);
    /* Re-planned below the steps taken: nothing to do. */
    ck_assert_int_eq(unet_trainer_set_total_steps(t, 5), UNET_OK);
    ck_assert_int_eq(unet_trainer_train(t), UNET_OK);
    unet_trainer_progress(t, &step, NULL);
    ck_assert_int_eq(step, 12);
    remove(state);
    free(straight);
    free(resumed);
    unet_trainer_free(t);
    unet_model_free(m);
    unet_train_opts_free(o6);
    unet_train_opts_free(o12);
}
END_TEST

typedef struct seen {
    int64_t last_step, total;
    int calls, stop_at;
    double last_loss;
} seen;

static int on_progress(void *user, int64_t step, int64_t total, double loss, double metric)
{
    seen *s = user;
    (void)metric;
    s->last_step = step;
    s->total = total;
    s->last_loss = loss;
    s->calls++;
    return step >= s->stop_at;
}

START_TEST(progress_cancels)
{
    unet_model_t *m;
    unet_trainer_t *t;
    unet_train_opts_t *o = opts("{\"steps\":50}");
    seen s = {0, 0, 0, 3, 0};
    ck_assert_int_eq(unet_train_opts_set_progress(o, on_progress, &s), UNET_OK);
    ck_assert_int_eq(unet_model_create(small_cfg, 7, &m), UNET_OK);
    ck_assert_int_eq(unet_trainer_create(m, o, &t), UNET_OK);
    add_synth(t, 1, UNET_SPLIT_AUTO);
    ck_assert_int_eq(unet_trainer_train(t), UNET_E_CANCELLED);
    ck_assert_ptr_nonnull(strstr(unet_last_error(), "cancelled"));
    ck_assert_int_eq(s.calls, 3);
    ck_assert_int_eq(s.total, 50);
    ck_assert(s.last_loss > 0);
    int64_t step;
    unet_trainer_progress(t, &step, NULL);
    ck_assert_int_eq(step, 3);
    /* The model stays usable; a later call continues. */
    s.stop_at = 1000;
    ck_assert_int_eq(unet_trainer_step(t, 2), UNET_OK);
    unet_trainer_progress(t, &step, NULL);
    ck_assert_int_eq(step, 5);
    /* cancel from "another thread": the next call stops before its first step */
    ck_assert_int_eq(unet_trainer_cancel(t), UNET_OK);
    ck_assert_int_eq(unet_trainer_step(t, 2), UNET_E_CANCELLED);
    ck_assert_int_eq(unet_trainer_step(t, 2), UNET_E_CANCELLED); /* the request stays ... */
    unet_trainer_progress(t, &step, NULL);
    ck_assert_int_eq(step, 5);
    ck_assert_int_eq(unet_trainer_reset_cancel(t), UNET_OK); /* ... until reset */
    ck_assert_int_eq(unet_trainer_step(t, 2), UNET_OK);
    unet_trainer_progress(t, &step, NULL);
    ck_assert_int_eq(step, 7);
    ck_assert_int_eq(unet_trainer_reset_cancel(NULL), UNET_E_INVALID_ARG);
    unet_trainer_free(t);
    unet_train_opts_free(o);
    unet_model_free(m);
}
END_TEST

static bool exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* The first line of a file (empty when it cannot be read). */
static void first_line(const char *path, char *line, int size)
{
    line[0] = '\0';
    FILE *fp = fopen(path, "r");
    if (fp) {
        if (!fgets(line, size, fp))
            line[0] = '\0';
        fclose(fp);
    }
}

/* An existing log is replaced only by a completed run: a cancelled one leaves it as it was
 * (and no temporary file beside it); a log that did not exist is written as training goes. */
START_TEST(log_replaced_only_when_complete)
{
    char dir[] = "/tmp/unet_log_XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char json[512], path[64], line[512];
    snprintf(path, sizeof path, "%s/log.csv", dir);
    FILE *fp = fopen(path, "w");
    ck_assert_ptr_nonnull(fp);
    fputs("the user's own notes\n", fp);
    fclose(fp);
    snprintf(json, sizeof json, "{\"steps\":4,\"val_every\":2,\"log\":\"%s\"}", path);
    unet_model_t *m;
    unet_trainer_t *t;
    unet_train_opts_t *o = opts(json);
    ck_assert_int_eq(unet_model_create(small_cfg, 7, &m), UNET_OK);
    /* Two of four steps, then freed: not complete. */
    ck_assert_int_eq(unet_trainer_create(m, o, &t), UNET_OK);
    add_synth(t, 1, UNET_SPLIT_AUTO);
    ck_assert_int_eq(unet_trainer_step(t, 2), UNET_OK);
    first_line(path, line, sizeof line);
    ck_assert_str_eq(line, "the user's own notes\n");
    unet_trainer_free(t);
    first_line(path, line, sizeof line);
    ck_assert_str_eq(line, "the user's own notes\n");
    DIR *d = opendir(dir);
    int entries = 0;
    for (struct dirent *e; (e = readdir(d));)
        entries += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    ck_assert_int_eq(entries, 1); /* no temporary file left */
    /* A completed run replaces it. */
    ck_assert_int_eq(unet_trainer_create(m, o, &t), UNET_OK);
    add_synth(t, 1, UNET_SPLIT_AUTO);
    ck_assert_int_eq(unet_trainer_train(t), UNET_OK);
    unet_trainer_free(t);
    first_line(path, line, sizeof line);
    ck_assert_ptr_nonnull(strstr(line, "step,epoch,lr"));
    /* A new log exists from the first step on. */
    remove(path);
    ck_assert_int_eq(unet_trainer_create(m, o, &t), UNET_OK);
    add_synth(t, 1, UNET_SPLIT_AUTO);
    ck_assert_int_eq(unet_trainer_step(t, 1), UNET_OK);
    first_line(path, line, sizeof line);
    ck_assert_ptr_nonnull(strstr(line, "step,epoch,lr"));
    unet_trainer_free(t);
    ck_assert(exists(path)); /* written as training went: kept when not complete */
    remove(path);
    rmdir(dir);
    unet_train_opts_free(o);
    unet_model_free(m);
}
END_TEST

START_TEST(checkpoints_and_log)
{
    char dir[] = "/tmp/unet_ckpt_XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char json[512], path[600];
    snprintf(json, sizeof json, "{\"steps\":6,\"val_every\":3,\"checkpoint_dir\":\"%s\","
                                "\"log\":\"%s/log.csv\"}", dir, dir);
    unet_model_t *m;
    unet_trainer_t *t;
    unet_train_opts_t *o = opts(json);
    ck_assert_int_eq(unet_model_create(small_cfg, 7, &m), UNET_OK);
    ck_assert_int_eq(unet_trainer_create(m, o, &t), UNET_OK);
    add_synth(t, 1, UNET_SPLIT_AUTO);
    ck_assert_int_eq(unet_trainer_train(t), UNET_OK);
    const char *files[] = {"best.unet", "last.unet", "last.state", "log.csv"};
    for (int i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        ck_assert_msg(exists(path), "%s missing", path);
    }
    snprintf(path, sizeof path, "%s/best.unet", dir);
    unet_model_t *best;
    ck_assert_int_eq(unet_model_load(path, &best), UNET_OK);
    ck_assert_ptr_nonnull(strstr(model_metadata(best), "\"best_step\""));
    unet_model_free(best);
    snprintf(path, sizeof path, "%s/log.csv", dir);
    FILE *fp = fopen(path, "r");
    char line[512];
    ck_assert_ptr_nonnull(fgets(line, sizeof line, fp));
    ck_assert_ptr_nonnull(strstr(line, "step,epoch,lr,train_loss,val_loss,metric,iou"));
    int rows = 0, with_val = 0;
    while (fgets(line, sizeof line, fp)) {
        rows++;
        with_val += strstr(line, ",,,,,,") == NULL;
    }
    fclose(fp);
    ck_assert_int_eq(with_val, 2);
    ck_assert_int_ge(rows, 2);
    for (int i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        remove(path);
    }
    rmdir(dir);
    unet_trainer_free(t);
    unet_train_opts_free(o);
    unet_model_free(m);
}
END_TEST

static void write_tiff(const char *path, const uint16_t *data)
{
    unet__tiff_writer *w;
    ck_assert_int_eq(unet__tiff_writer_open(path, W, H, 1, 1, UNET_U16, NULL, &w), UNET_OK);
    ck_assert_int_eq(unet__tiff_write_rows(w, 0, 0, H, data), UNET_OK);
    ck_assert_int_eq(unet__tiff_writer_close(w), UNET_OK);
}

START_TEST(folders)
{
    char dir[] = "/tmp/unet_folders_XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char imgs[600], labs[600], path[700];
    snprintf(imgs, sizeof imgs, "%s/images", dir);
    snprintf(labs, sizeof labs, "%s/labels", dir);
    mkdir(imgs, 0700);
    mkdir(labs, 0700);
    static uint16_t img[H * W], lab[H * W];
    /* a.tif <-> a.tif, b.tiff <-> b.tif (same stem), c.tif has no labels */
    const char *in_names[] = {"a.tif", "b.tiff", "c.tif"}, *lab_names[] = {"a.tif", "b.tif"};
    for (int i = 0; i < 3; i++) {
        synth((uint64_t)i + 10, img, lab, 15);
        snprintf(path, sizeof path, "%s/%s", imgs, in_names[i]);
        write_tiff(path, img);
        if (i < 2) {
            snprintf(path, sizeof path, "%s/%s", labs, lab_names[i]);
            write_tiff(path, lab);
        }
    }
    unet_model_t *m;
    unet_trainer_t *t;
    unet_train_opts_t *o = opts("{\"val_fraction\":0.5,\"steps\":2,\"val_every\":2}");
    ck_assert_int_eq(unet_model_create(small_cfg, 7, &m), UNET_OK);
    ck_assert_int_eq(unet_trainer_create(m, o, &t), UNET_OK);
    ck_assert_msg(unet_trainer_add_folders(t, imgs, labs) == UNET_OK, "%s", unet_last_error());
    ck_assert_int_eq(unet_trainer_train(t), UNET_OK);
    /* two pairs, split by file: one validates */
    ck_assert_ptr_nonnull(strstr(trainer_metrics(t), "\"images\":1"));
    snprintf(path, sizeof path, "%s/m.unet", dir);
    ck_assert_int_eq(unet_trainer_save(t, path), UNET_OK);
    unet_model_t *back;
    ck_assert_int_eq(unet_model_load(path, &back), UNET_OK);
    ck_assert_ptr_nonnull(strstr(model_metadata(back), "\"split\":\"file\""));
    unet_model_free(back);
    remove(path);
    /* a folder without pairs */
    ck_assert_int_eq(unet_trainer_add_folders(t, imgs, dir), UNET_E_IO);
    ck_assert_int_eq(unet_trainer_add_folders(t, "/nonexistent", labs), UNET_E_IO);
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", imgs, in_names[i]);
        remove(path);
        if (i < 2) {
            snprintf(path, sizeof path, "%s/%s", labs, lab_names[i]);
            remove(path);
        }
    }
    rmdir(imgs);
    rmdir(labs);
    rmdir(dir);
    unet_trainer_free(t);
    unet_train_opts_free(o);
    unet_model_free(m);
}
END_TEST

START_TEST(frozen_encoder)
{
    unet_model_t *m;
    unet_trainer_t *t;
    unet_train_opts_t *o = opts("{\"freeze_encoder\":true}");
    ck_assert_int_eq(unet_model_create("{\"depth\":2,\"base_features\":8,\"block\":\"cbrcbr\","
                                       "\"final_activation\":\"sigmoid\"}",
                                       3, &m),
                     UNET_OK);
    float before[8 * 8 * 9], after[8 * 8 * 9], up_before[8], up_after[8], rv0[8], rv1[8];
    unet_model_get_tensor(m, "down0.conv1.weight", before, 576);
    unet_model_get_tensor(m, "up0.conv1.bias", up_before, 8);
    unet_model_get_tensor(m, "down0.bn0.running_var", rv0, 8);
    ck_assert_int_eq(unet_trainer_create(m, o, &t), UNET_OK);
    add_synth(t, 1, UNET_SPLIT_AUTO);
    ck_assert_int_eq(unet_trainer_step(t, 3), UNET_OK);
    unet_model_get_tensor(m, "down0.conv1.weight", after, 576);
    unet_model_get_tensor(m, "up0.conv1.bias", up_after, 8);
    unet_model_get_tensor(m, "down0.bn0.running_var", rv1, 8);
    ck_assert_int_eq(memcmp(before, after, sizeof before), 0);
    ck_assert_int_eq(memcmp(rv0, rv1, sizeof rv0), 0); /* frozen batchnorm: evaluation mode */
    ck_assert_int_ne(memcmp(up_before, up_after, sizeof up_before), 0);
    float g[8];
    ck_assert_int_eq(unet_trainer_get_gradient(t, "down0.bn0.weight", g, 8), UNET_E_INVALID_ARG);
    ck_assert_int_eq(unet_trainer_get_gradient(t, "up0.conv1.bias", g, 8), UNET_OK);
    unet_trainer_free(t);
    unet_train_opts_free(o);
    unet_model_free(m);
}
END_TEST

START_TEST(restoration)
{
    /* Denoising: clean image as input and target, Gaussian noise on the input only. */
    unet_model_t *m;
    unet_trainer_t *t;
    unet_train_opts_t *o = opts("{\"noise_gauss\":0.3,\"steps\":40,\"val_every\":40,"
                                "\"aug_elastic\":0}");
    ck_assert_int_eq(unet_model_create("{\"depth\":2,\"base_features\":8}", 3, &m), UNET_OK);
    ck_assert_int_eq(unet_trainer_create(m, o, &t), UNET_OK);
    static float img[H * W];
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            img[y * W + x] = (float)(100 + 50 * sin(0.2 * x) * cos(0.15 * y));
    const int64_t shape[2] = {H, W};
    ck_assert_int_eq(unet_trainer_add_data(t, img, UNET_F32, 2, shape, img, UNET_F32, 2, shape,
                                           UNET_SPLIT_AUTO),
                     UNET_OK);
    double loss, psnr0, psnr1;
    ck_assert_int_eq(unet_trainer_evaluate(t, &loss, &psnr0), UNET_OK);
    ck_assert_int_eq(unet_trainer_train(t), UNET_OK);
    ck_assert_int_eq(unet_trainer_evaluate(t, &loss, &psnr1), UNET_OK);
    ck_assert_msg(psnr1 > psnr0 + 5, "PSNR %g -> %g", psnr0, psnr1);
    ck_assert_ptr_nonnull(strstr(trainer_metrics(t), "\"ssim\""));
    /* Once the task is restoration, integer targets are images too (uint16 clean images). */
    static uint16_t clean[H * W];
    for (int i = 0; i < H * W; i++)
        clean[i] = (uint16_t)img[i];
    ck_assert_int_eq(unet_trainer_add_data(t, img, UNET_F32, 2, shape, clean, UNET_U16, 2, shape,
                                           UNET_SPLIT_TRAIN),
                     UNET_OK);
    unet_trainer_free(t);
    unet_train_opts_free(o);
    unet_model_free(m);
}
END_TEST

/* A step changes the weights without rebuilding the inference plan at once; the model's next
 * prediction must still use the new weights, as a copy saved and loaded again does. */
START_TEST(prediction_after_step_uses_new_weights)
{
    unet_model_t *m, *copy;
    unet_trainer_t *t;
    ck_assert_int_eq(unet_model_create(small_cfg, 3, &m), UNET_OK);
    ck_assert_int_eq(unet_trainer_create(m, NULL, &t), UNET_OK);
    enum { S = 32 };
    static float x[2 * S * S], target[2 * S * S], before[2 * S * S], after[2 * S * S],
        loaded[2 * S * S];
    for (int i = 0; i < 2 * S * S; i++) {
        x[i] = (float)((i * 37 % 101) - 50) / 25.0f;
        target[i] = (float)(x[i] > 0.3f);
    }
    const int64_t shape[4] = {2, 1, S, S};
    ck_assert_int_eq(forward_threads(m, x, 4, shape, before, 2 * S * S, 1), UNET_OK);
    double loss;
    ck_assert_int_eq(unet_trainer_step_batch(t, x, 4, shape, target, 2 * S * S, NULL, &loss),
                     UNET_OK);
    ck_assert_int_eq(forward_threads(m, x, 4, shape, after, 2 * S * S, 1), UNET_OK);
    ck_assert(memcmp(before, after, sizeof before) != 0);
    void *buf;
    size_t size;
    ck_assert_int_eq(unet_model_save_memory(m, &buf, &size), UNET_OK);
    ck_assert_int_eq(unet_model_load_memory(buf, size, NULL, &copy), UNET_OK);
    unet_buffer_free(buf);
    ck_assert_int_eq(forward_threads(copy, x, 4, shape, loaded, 2 * S * S, 1), UNET_OK);
    ck_assert(memcmp(after, loaded, sizeof after) == 0);
    unet_model_free(copy);
    unet_trainer_free(t);
    unet_model_free(m);
}
END_TEST

START_TEST(bad_input)
{
    unet_model_t *m;
    unet_trainer_t *t;
    ck_assert_int_eq(unet_model_create(small_cfg, 7, &m), UNET_OK);
    ck_assert_int_eq(unet_trainer_create(NULL, NULL, &t), UNET_E_INVALID_ARG);
    ck_assert_int_eq(unet_trainer_create(m, NULL, NULL), UNET_E_INVALID_ARG);
    unet_train_opts_t *o = opts("{\"loss\":\"ce\"}");
    ck_assert_int_eq(unet_trainer_create(m, o, &t), UNET_E_INVALID_ARG); /* sigmoid output */
    ck_assert_ptr_nonnull(strstr(unet_last_error(), "softmax or none"));
    unet_model_t *plain;
    ck_assert_int_eq(unet_model_create("{\"depth\":2,\"base_features\":4}", 1, &plain),
                     UNET_OK);
    ck_assert_int_eq(unet_trainer_create(plain, o, &t), UNET_E_INVALID_ARG); /* one channel */
    ck_assert_ptr_nonnull(strstr(unet_last_error(), "output channels"));
    unet_model_free(plain);
    unet_train_opts_free(o);
    ck_assert_int_eq(unet_trainer_create(m, NULL, &t), UNET_OK);
    /* no data yet */
    ck_assert_int_eq(unet_trainer_train(t), UNET_E_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(unet_last_error(), "no data"));
    static uint16_t img[H * W], lab[H * W];
    int64_t shape[2] = {H, W}, other[2] = {H, W - 1}, three[3] = {2, H, W};
    ck_assert_int_eq(unet_trainer_add_data(t, img, UNET_U16, 2, shape, lab, UNET_U16, 2, other,
                                           0),
                     UNET_E_SHAPE);
    ck_assert_int_eq(unet_trainer_add_data(t, img, UNET_U16, 3, three, lab, UNET_U16, 2, shape,
                                           0),
                     UNET_E_SHAPE); /* two channels, the model takes one */
    ck_assert_int_eq(unet_trainer_add_data(t, img, 99, 2, shape, lab, UNET_U16, 2, shape, 0),
                     UNET_E_INVALID_ARG);
    ck_assert_int_eq(unet_trainer_add_data(t, img, UNET_U16, 2, shape, lab, UNET_U16, 2, shape,
                                           7),
                     UNET_E_INVALID_ARG);
    int16_t neg[H * W] = {0};
    neg[5] = -3;
    ck_assert_int_eq(unet_trainer_add_data(t, img, UNET_U16, 2, shape, neg, UNET_I16, 2, shape,
                                           0),
                     UNET_E_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(unet_last_error(), "label -3"));
    float half[H * W] = {0};
    half[7] = 0.5f; /* a segmentation trainer takes integral labels only */
    synth(1, img, lab, 10);
    ck_assert_int_eq(unet_trainer_add_data(t, img, UNET_U16, 2, shape, lab, UNET_U16, 2, shape,
                                           UNET_SPLIT_TRAIN),
                     UNET_OK);
    ck_assert_int_eq(unet_trainer_add_data(t, img, UNET_U16, 2, shape, half, UNET_F32, 2, shape,
                                           0),
                     UNET_E_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(unet_last_error(), "label 0.5"));
    float nanimg[H * W] = {0};
    nanimg[3] = NAN;
    ck_assert_int_eq(unet_trainer_add_data(t, nanimg, UNET_F32, 2, shape, lab, UNET_U16, 2,
                                           shape, 0),
                     UNET_E_INVALID_ARG);
    ck_assert_int_eq(unet_trainer_step(t, -1), UNET_E_INVALID_ARG);
    /* low level: shapes */
    float x[1 * 1 * 32 * 32] = {0}, y[32 * 32] = {0};
    int64_t bs[4] = {1, 1, 32, 32}, bad[4] = {1, 1, 31, 32};
    double loss;
    ck_assert_int_eq(unet_trainer_compute_gradients(t, x, 4, bs, y, 10, NULL, &loss),
                     UNET_E_SHAPE);
    ck_assert_int_eq(unet_trainer_compute_gradients(t, x, 4, bad, y, 32 * 31, NULL, &loss),
                     UNET_E_SHAPE);
    float g[8];
    ck_assert_int_eq(unet_trainer_get_gradient(t, "down0.conv0.bias", g, 8), UNET_E_INVALID_ARG);
    ck_assert_int_eq(unet_trainer_compute_gradients(t, x, 4, bs, y, 32 * 32, NULL, &loss),
                     UNET_OK);
    ck_assert_int_eq(unet_trainer_get_gradient(t, "down0.conv0.bias", g, 8), UNET_OK);
    ck_assert_int_eq(unet_trainer_get_gradient(t, "down0.conv0.bias", g, 7), UNET_E_SHAPE);
    ck_assert_int_eq(unet_trainer_get_gradient(t, "nope", g, 8), UNET_E_INVALID_ARG);
    ck_assert_int_eq(unet_trainer_save(t, "/nonexistent/dir/m.unet"), UNET_E_IO);
    unet_trainer_free(t);
    unet_trainer_free(NULL);
    unet_model_free(m);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("train_api");
    TCase *tc = tcase_create("api");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, learns_to_segment);
    tcase_add_test(tc, prediction_after_step_uses_new_weights);
    tcase_add_test(tc, deterministic);
    tcase_add_test(tc, resume_continues_trajectory);
    tcase_add_test(tc, resume_to_a_new_total);
    tcase_add_test(tc, progress_cancels);
    tcase_add_test(tc, checkpoints_and_log);
    tcase_add_test(tc, log_replaced_only_when_complete);
    tcase_add_test(tc, folders);
    tcase_add_test(tc, frozen_encoder);
    tcase_add_test(tc, restoration);
    tcase_add_test(tc, bad_input);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_VERBOSE);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
