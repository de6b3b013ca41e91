/*
 * unet-bench-click: click-to-segment latency on a synthetic 2048 x 2048 nuclei image (not a
 * test; medians over repeated runs, the machine may be shared).
 *
 *   unet-bench-click [--model M] [--threads 2] [--size 2048] [--runs 7] [--nearby 5]
 *                    [--window 192] [--radius 80] [--verbose]
 *
 * Model: M, else models/nuclei.unet when it exists, else a depth-4, base-16 U-Net whose
 * weights make it a plain intensity detector (same cost as the trained model, objects are the
 * image's nuclei). Every run opens a new session (cold cache, statistics not yet computed),
 * clicks the centre of a random nucleus ("first click": whole-plane normalisation statistics
 * + the network on the first window, grown until the nucleus is complete), then clicks
 * nucleus centres nearby (within --radius px: "later clicks"). --window sets the session's
 * first window. Prints per-phase medians and a RESULT line.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "unet.h"
#include "bench_time.h"

static int die(const char *what)
{
    fprintf(stderr, "unet-bench-click: %s: %s\n", what, unet_last_error());
    return 1;
}

/* Set output channel 0 of a conv to pass input channel `in` through its centre tap. */
static int pass_through(unet_model_t *m, const char *layer, int in, float scale, float bias)
{
    char name[64];
    int n = 0;
    unet_model_tensor_count(m, &n);
    for (int i = 0; i < n; i++) {
        const char *tn;
        int nd;
        int64_t sh[4];
        unet_model_tensor_info(m, i, &tn, &nd, sh);
        snprintf(name, sizeof name, "%s.weight", layer);
        if (strcmp(tn, name) != 0)
            continue;
        size_t count = (size_t)(sh[0] * sh[1] * sh[2] * sh[3]), per = count / (size_t)sh[0];
        float *w = malloc(count * sizeof *w), *b = malloc((size_t)sh[0] * sizeof *b);
        unet_model_get_tensor(m, name, w, count);
        for (size_t j = 0; j < per; j++)
            w[j] *= scale;
        w[(size_t)in * (size_t)(sh[2] * sh[3]) + (size_t)(sh[2] * sh[3]) / 2] = 1.0f;
        int rc = unet_model_set_tensor(m, name, w, count);
        snprintf(name, sizeof name, "%s.bias", layer);
        unet_model_get_tensor(m, name, b, (size_t)sh[0]);
        b[0] = bias;
        if (rc == UNET_OK)
            rc = unet_model_set_tensor(m, name, b, (size_t)sh[0]);
        free(w);
        free(b);
        return rc;
    }
    return UNET_E_INVALID_ARG;
}

static int detector_model(unet_model_t **out)
{
    unet_model_t *m;
    int rc = unet_model_create("{\"depth\": 4, \"base_features\": 16, \"final_activation\": "
                               "\"sigmoid\"}", 1, &m);
    if (rc != UNET_OK)
        return rc;
    rc = pass_through(m, "down0.conv0", 0, 0.0f, 0.0f);
    if (rc == UNET_OK)
        rc = pass_through(m, "down0.conv1", 0, 0.0f, 0.0f);
    if (rc == UNET_OK)
        rc = pass_through(m, "up0.conv0", 0, 0.01f, 0.0f);
    if (rc == UNET_OK)
        rc = pass_through(m, "up0.conv1", 0, 0.0f, 0.0f);
    float w[16] = {12.0f}, b = -1.8f; /* foreground above 15 % of the normalised range */
    if (rc == UNET_OK)
        rc = unet_model_set_tensor(m, "out.weight", w, 16);
    if (rc == UNET_OK)
        rc = unet_model_set_tensor(m, "out.bias", &b, 1);
    if (rc == UNET_OK)
        rc = unet_model_set_metadata(m, "preprocessing", "{\"normalize\": \"percentile\", "
                                                         "\"low\": 1, \"high\": 99.8}");
    if (rc != UNET_OK) {
        unet_model_free(m);
        return rc;
    }
    *out = m;
    return UNET_OK;
}

static int64_t area_of(const unet_click_result_t *res)
{
    int64_t area = 0;
    unet_click_result_area(res, &area);
    return area;
}

typedef struct nucleus {
    int64_t x, y;
} nucleus;

/* Centroids of the labelled nuclei whose centroid pixel is inside its own nucleus. */
static nucleus *centres(const uint32_t *labels, int64_t size, int count, int *n)
{
    double *acc = calloc((size_t)count + 1, 3 * sizeof *acc);
    nucleus *c = malloc(((size_t)count + 1) * sizeof *c);
    for (int64_t i = 0; i < size * size; i++)
        if (labels[i]) {
            acc[3 * labels[i]] += 1;
            acc[3 * labels[i] + 1] += (double)(i % size);
            acc[3 * labels[i] + 2] += (double)(i / size);
        }
    *n = 0;
    for (int l = 1; l <= count; l++) {
        if (acc[3 * l] < 50)
            continue;
        int64_t x = (int64_t)(acc[3 * l + 1] / acc[3 * l]);
        int64_t y = (int64_t)(acc[3 * l + 2] / acc[3 * l]);
        if (labels[y * size + x] == (uint32_t)l)
            c[(*n)++] = (nucleus){x, y};
    }
    free(acc);
    return c;
}

int main(int argc, char **argv)
{
    const char *model_path = NULL;
    int threads = 2, runs = 7, nearby = 5, verbose = 0;
    int64_t size = 2048, window = 192, radius = 80;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--model") && i + 1 < argc)
            model_path = argv[++i];
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--size") && i + 1 < argc)
            size = atoll(argv[++i]);
        else if (!strcmp(argv[i], "--runs") && i + 1 < argc)
            runs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--nearby") && i + 1 < argc)
            nearby = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--verbose"))
            verbose = 1;
        else if (!strcmp(argv[i], "--window") && i + 1 < argc)
            window = atoll(argv[++i]);
        else if (!strcmp(argv[i], "--radius") && i + 1 < argc)
            radius = atoll(argv[++i]);
        else {
            fprintf(stderr, "usage: unet-bench-click [--model M] [--threads 2] [--size 2048] "
                            "[--runs 7] [--nearby 5] [--window 192] [--radius 80] [--verbose]\n");
            return 2;
        }
    }
    if (size < 256 || size > 8192 || runs < 1 || nearby < 0) {
        fprintf(stderr, "unet-bench-click: size 256..%d, runs >= 1, nearby >= 0\n",
                8192);
        return 2;
    }
    unet_model_t *m = NULL;
    const char *which = model_path;
    if (!model_path) {
        FILE *f = fopen("models/nuclei.unet", "rb");
        if (f) {
            fclose(f);
            model_path = which = "models/nuclei.unet";
        }
    }
    if (model_path ? unet_model_load(model_path, &m) != UNET_OK : detector_model(&m) != UNET_OK)
        return die("model");
    if (!which)
        which = "built-in detector (depth 4, base 16)";

    uint16_t *img = malloc((size_t)(size * size) * sizeof *img);
    uint32_t *labels = malloc((size_t)(size * size) * sizeof *labels), nuclei = 0;
    unet_sample_opts_t *so;
    if (!img || !labels || unet_sample_opts_create(&so) != UNET_OK ||
        unet_sample_opts_set_seed(so, 42) != UNET_OK ||
        unet_sample_nuclei(so, size, size, img, labels, &nuclei) != UNET_OK)
        return die("the synthetic image");
    unet_sample_opts_free(so);
    int count = (int)nuclei, n;
    nucleus *nc = centres(labels, size, count, &n);
    printf("model: %s; image %lld x %lld uint16, %d nuclei; threads %d; %d runs\n", which,
           (long long)size, (long long)size, count, threads, runs);

    unet_click_opts_t *o;
    if (unet_click_opts_create(&o) != UNET_OK || unet_click_opts_set_threads(o, threads) ||
        unet_click_opts_set_first_window(o, window))
        return die("options");
    int64_t shape[2] = {size, size};
    double *first = malloc((size_t)runs * sizeof *first), *create = malloc((size_t)runs * 8);
    double *later = malloc((size_t)(runs * (nearby + 1)) * sizeof *later);
    int64_t *first_px = malloc((size_t)runs * sizeof *first_px);
    double *first_cpu = malloc((size_t)runs * sizeof *first_cpu);
    double *far = malloc((size_t)runs * sizeof *far), *far_cpu = malloc((size_t)runs * 8);
    double *cached = malloc((size_t)(runs * (nearby + 1)) * sizeof *cached);
    int nlater = 0, ncached = 0, found = 0, clicks = 0, missed_later = 0;
    uint64_t state = 7;
    for (int r = 0; r < runs; r++) {
        state = state * 6364136223846793005ull + 1442695040888963407ull;
        nucleus c = nc[(state >> 33) % (uint64_t)n];
        unet_click_session_t *s;
        double t0 = bench_now();
        if (unet_click_session_create(m, o, img, UNET_U16, 2, shape, &s) != UNET_OK)
            return die("session");
        double t1 = bench_now(), c1 = bench_cpu_now();
        unet_click_result_t *res;
        if (unet_click(s, c.x, c.y, 0, &res) != UNET_OK)
            return die("click");
        double t2 = bench_now();
        first_cpu[r] = 1e3 * (bench_cpu_now() - c1);
        found += area_of(res) > 0;
        clicks++;
        if (verbose) {
            int64_t bb[4], nr, np;
            unet_click_result_bbox(res, bb);
            unet_click_session_stats(s, &nr, &np, NULL);
            printf("first (%lld, %lld): %.2f ms, area %lld, box %lld x %lld, %lld runs, %lld "
                   "input px\n", (long long)c.x, (long long)c.y, 1e3 * (t2 - t1),
                   (long long)area_of(res), (long long)bb[2], (long long)bb[3],
                   (long long)nr, (long long)np);
        }
        unet_click_result_free(res);
        create[r] = 1e3 * (t1 - t0);
        first[r] = 1e3 * (t2 - t1);
        unet_click_session_stats(s, NULL, &first_px[r], NULL);
        int64_t runs_before;
        unet_click_session_stats(s, &runs_before, NULL, NULL);
        /* Later clicks: nuclei whose centre is within `radius` px of the first. */
        int done = 0;
        for (int k = 0; k < n && done < nearby; k++) {
            if (llabs(nc[k].x - c.x) > radius || llabs(nc[k].y - c.y) > radius ||
                (nc[k].x == c.x && nc[k].y == c.y))
                continue;
            int64_t r0, r1;
            unet_click_session_stats(s, &r0, NULL, NULL);
            double a = bench_now();
            if (unet_click(s, nc[k].x, nc[k].y, 0, &res) != UNET_OK)
                return die("click");
            double ms = 1e3 * (bench_now() - a);
            later[nlater++] = ms;
            unet_click_session_stats(s, &r1, NULL, NULL);
            if (verbose) {
                int64_t bb[4];
                unet_click_result_bbox(res, bb);
                printf("  later (%lld, %lld): %.2f ms, area %lld, box %lld x %lld, %lld runs\n",
                       (long long)nc[k].x, (long long)nc[k].y, ms,
                       (long long)area_of(res), (long long)bb[2],
                       (long long)bb[3], (long long)(r1 - r0));
            }
            if (r1 == r0)
                cached[ncached++] = ms;
            found += area_of(res) > 0;
            clicks++;
            unet_click_result_free(res);
            done++;
        }
        int64_t runs_after;
        unet_click_session_stats(s, &runs_after, NULL, NULL);
        missed_later += (int)(runs_after - runs_before);
        /* A far click: cold cells, the plane's statistics already known. */
        nucleus f = c;
        for (int k = 0; k < n; k++)
            if (llabs(nc[k].x - c.x) > 600 || llabs(nc[k].y - c.y) > 600) {
                f = nc[k];
                break;
            }
        double a = bench_now(), ac = bench_cpu_now();
        if (unet_click(s, f.x, f.y, 0, &res) != UNET_OK)
            return die("click");
        far[r] = 1e3 * (bench_now() - a);
        far_cpu[r] = 1e3 * (bench_cpu_now() - ac);
        unet_click_result_free(res);
        unet_click_session_free(s);
    }
    double px = 0;
    for (int r = 0; r < runs; r++)
        px += (double)first_px[r] / runs;
    double mc = bench_median(create, runs), mf = bench_median(first, runs), ml = bench_median(later, nlater);
    double mcached = bench_median(cached, ncached), mfar = bench_median(far, runs);
    double mfc = bench_median(first_cpu, runs), mfarc = bench_median(far_cpu, runs);
    printf("session create: median %.2f ms\n", mc);
    printf("first click:    median %.1f ms (min %.1f, max %.1f; whole-plane statistics "
           "included; mean %.0f network input pixels)\n", mf, first[0], first[runs - 1], px);
    printf("                (CPU time %.1f ms over all threads)\n", mfc);
    printf("far click:      median %.1f ms (a new area, statistics known; CPU time %.1f ms)\n",
           mfar, mfarc);
    printf("later clicks:   median %.2f ms over %d clicks within %lld px (max %.2f; %d network "
           "runs for them)\n", ml, nlater, (long long)radius, nlater ? later[nlater - 1] : NAN,
           missed_later);
    printf("  from cache:   median %.2f ms over the %d clicks that ran no network (max %.2f)\n",
           mcached, ncached, ncached ? cached[ncached - 1] : NAN);
    printf("objects found: %d of %d clicks\n", found, clicks);
    printf("RESULT first_ms=%.2f far_ms=%.2f later_ms=%.3f cached_ms=%.3f create_ms=%.3f "
           "threads=%d size=%lld window=%lld\n", mf, mfar, ml, mcached, mc, threads,
           (long long)size, (long long)window);
    free(first);
    free(create);
    free(later);
    free(cached);
    free(first_px);
    free(first_cpu);
    free(far);
    free(far_cpu);
    free(nc);
    free(img);
    free(labels);
    unet_click_opts_free(o);
    unet_model_free(m);
    return 0;
}
