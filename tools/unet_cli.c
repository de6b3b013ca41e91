/* unet — the libunet command-line program. Each command is one function below. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "unet.h"

static const char *const usage_main =
    "usage: unet <command> [options]\n"
    "\n"
    "commands:\n"
    "  info MODEL                          describe a .unet model file\n"
    "  create --config FILE -o MODEL [--seed N]\n"
    "                                      a new model from a JSON U-Net config\n"
    "  demo [--size N] [--threads N]       run an untrained default U-Net on a generated\n"
    "                                      nuclei image and report what it did\n"
    "  --version                           print the library version\n"
    "\n"
    "Run 'unet <command> --help' for the options of one command.\n";

static const char *const usage_info = "usage: unet info MODEL\n"
                                      "Prints the architecture, sizes and metadata of MODEL.\n";

static const char *const usage_create =
    "usage: unet create --config FILE -o MODEL [--seed N]\n"
    "Creates a U-Net from the JSON config in FILE (keys of DESIGN section 5; {} gives the\n"
    "defaults) with He-initialised weights drawn from seed N (default 0), and saves it.\n";

static const char *const usage_demo =
    "usage: unet demo [--size N] [--threads N]\n"
    "Creates the default U-Net (depth 4, 32 base features, random weights), generates an\n"
    "N x N synthetic fluorescence-nuclei image (default 256), predicts it whole and prints\n"
    "what it did. Until a trained default model ships, the output is not a segmentation.\n";

/* One-line error on stderr; returns the exit status for runtime failures. */
static int fail_lib(const char *what, int status)
{
    fprintf(stderr, "unet: %s: %s (%s)\n", what, unet_last_error(), unet_status_string(status));
    return 1;
}

static int fail_usage(const char *msg, const char *arg)
{
    fprintf(stderr, "unet: %s%s%s (see 'unet --help')\n", msg, arg ? ": " : "", arg ? arg : "");
    return 2;
}

static int is_help(const char *a)
{
    return strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0;
}

/* Parse a non-negative integer option value; -1 on error. */
static long long parse_count(const char *s, long long max)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < 0 || v > max)
        return -1;
    return v;
}

static char *read_text_file(const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return NULL;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    while (buf) {
        size_t got = fread(buf + len, 1, cap - len - 1, fp);
        len += got;
        if (got == 0)
            break;
        if (len + 1 == cap) {
            if (cap > (64u << 20)) { /* a config is small; refuse anything huge */
                free(buf);
                buf = NULL;
                break;
            }
            char *bigger = realloc(buf, cap *= 2);
            if (!bigger) {
                free(buf);
                buf = NULL;
            }
            buf = bigger;
        }
    }
    int failed = ferror(fp);
    fclose(fp);
    if (!buf || failed) {
        free(buf);
        return NULL;
    }
    buf[len] = '\0';
    return buf;
}

static void print_model(const unet_model_t *m)
{
    printf("architecture: %s\n", unet_model_architecture(m));
    printf("parameters:   %lld in %d tensors\n", (long long)unet_model_param_count(m),
           unet_model_tensor_count(m));
    printf("channels:     %d in, %d out\n", unet_model_in_channels(m),
           unet_model_out_channels(m));
    printf("padding:      %s\n", unet_model_is_same_padding(m) ? "same" : "valid");
    printf("halo:         %d px\n", unet_model_halo(m));
    printf("block:        %d px (input sizes and tile origins are multiples)\n",
           unet_model_block_multiple(m));
    int64_t in, out;
    if (unet_model_fit_size(m, 1, &in, &out) == UNET_OK)
        printf("smallest input: %lld px -> output %lld px\n", (long long)in, (long long)out);
    printf("metadata:     %s\n", unet_model_metadata(m));
}

static int cmd_info(int argc, char **argv)
{
    if (argc == 2 && is_help(argv[1])) {
        fputs(usage_info, stdout);
        return 0;
    }
    if (argc != 2)
        return fail_usage("info takes exactly one MODEL", NULL);
    unet_model_t *m;
    int rc = unet_model_load(argv[1], &m);
    if (rc != UNET_OK)
        return fail_lib("info", rc);
    printf("model:        %s\n", argv[1]);
    print_model(m);
    unet_model_free(m);
    return 0;
}

static int cmd_create(int argc, char **argv)
{
    const char *config = NULL, *output = NULL;
    long long seed = 0;
    for (int i = 1; i < argc; i++) {
        if (is_help(argv[i])) {
            fputs(usage_create, stdout);
            return 0;
        }
        if (i + 1 >= argc)
            return fail_usage("missing value for option", argv[i]);
        if (strcmp(argv[i], "--config") == 0)
            config = argv[++i];
        else if (strcmp(argv[i], "-o") == 0 || strcmp(argv[i], "--output") == 0)
            output = argv[++i];
        else if (strcmp(argv[i], "--seed") == 0) {
            if ((seed = parse_count(argv[++i], INT64_MAX)) < 0)
                return fail_usage("--seed must be a non-negative integer", argv[i]);
        } else
            return fail_usage("unknown option for create", argv[i]);
    }
    if (!config || !output)
        return fail_usage("create needs --config FILE and -o MODEL", NULL);
    char *text = read_text_file(config);
    if (!text) {
        fprintf(stderr, "unet: create: cannot read config '%s': %s\n", config, strerror(errno));
        return 1;
    }
    unet_model_t *m;
    int rc = unet_model_create(text, (uint64_t)seed, &m);
    free(text);
    if (rc != UNET_OK)
        return fail_lib("create", rc);
    rc = unet_model_save(m, output);
    if (rc == UNET_OK)
        printf("created %s: %lld parameters, halo %d px, block multiple %d\n", output,
               (long long)unet_model_param_count(m), unet_model_halo(m),
               unet_model_block_multiple(m));
    unet_model_free(m);
    return rc == UNET_OK ? 0 : fail_lib("create", rc);
}

/* A synthetic fluorescence image: bright elliptical nuclei with texture on an uneven
 * background, with Poisson-like and Gaussian noise, as uint16. */
static void make_nuclei_image(uint16_t *img, int n, unsigned seed, int *count)
{
    srand(seed);
    double *acc = calloc((size_t)n * n, sizeof *acc);
    if (!acc)
        return;
    int nuclei = n * n / 1600 + 1;
    for (int k = 0; k < nuclei; k++) {
        double cy = rand() % n, cx = rand() % n;
        double ry = 6 + rand() % 12, rx = 6 + rand() % 12, bright = 600 + rand() % 1400;
        for (int y = (int)(cy - ry - 2); y <= cy + ry + 2; y++)
            for (int x = (int)(cx - rx - 2); x <= cx + rx + 2; x++) {
                if (y < 0 || x < 0 || y >= n || x >= n)
                    continue;
                double d = (y - cy) * (y - cy) / (ry * ry) + (x - cx) * (x - cx) / (rx * rx);
                if (d < 1.0)
                    acc[(size_t)y * n + x] += bright * (1.0 - 0.3 * d) *
                                              (0.85 + 0.3 * (rand() / (double)RAND_MAX));
            }
    }
    for (int y = 0; y < n; y++)
        for (int x = 0; x < n; x++) {
            double bg = 100 + 60 * sin(y * 3.0 / n) * cos(x * 2.0 / n);
            double v = acc[(size_t)y * n + x] + bg;
            double noise = sqrt(v) * ((rand() / (double)RAND_MAX) - 0.5) * 3.46; /* ~Poisson */
            v += noise + 10 * ((rand() / (double)RAND_MAX) - 0.5);
            img[(size_t)y * n + x] = (uint16_t)(v < 0 ? 0 : v > 65535 ? 65535 : v);
        }
    free(acc);
    *count = nuclei;
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmd_demo(int argc, char **argv)
{
    long long size = 256, threads = 0;
    for (int i = 1; i < argc; i++) {
        if (is_help(argv[i])) {
            fputs(usage_demo, stdout);
            return 0;
        }
        if (i + 1 >= argc)
            return fail_usage("missing value for option", argv[i]);
        if (strcmp(argv[i], "--size") == 0) {
            if ((size = parse_count(argv[++i], 8192)) < 1)
                return fail_usage("--size must be 1 to 8192", argv[i]);
        } else if (strcmp(argv[i], "--threads") == 0) {
            if ((threads = parse_count(argv[++i], 1024)) < 0)
                return fail_usage("--threads must be 0 to 1024", argv[i]);
        } else
            return fail_usage("unknown option for demo", argv[i]);
    }
    unet_model_t *m;
    int rc = unet_model_create("{\"final_activation\": \"sigmoid\"}", 1, &m);
    if (rc != UNET_OK)
        return fail_lib("demo", rc);
    rc = unet_model_set_metadata(m, "preprocessing",
                                 "{\"normalize\": \"percentile\", \"low\": 1, \"high\": 99.8}");
    size_t n = (size_t)size;
    uint16_t *img = malloc(n * n * sizeof *img);
    float *out = malloc(n * n * sizeof *out);
    unet_predict_opts_t *opts = NULL;
    if (rc == UNET_OK)
        rc = unet_predict_opts_create(&opts);
    if (rc == UNET_OK)
        rc = unet_predict_opts_set_threads(opts, (int)threads);
    if (rc != UNET_OK || !img || !out) {
        free(img);
        free(out);
        unet_predict_opts_free(opts);
        unet_model_free(m);
        return rc != UNET_OK ? fail_lib("demo", rc) : fail_usage("out of memory", NULL);
    }
    int nuclei = 0;
    make_nuclei_image(img, (int)n, 7, &nuclei);
    printf("libunet %s demo\n", unet_version_string());
    printf("model: default U-Net, untrained (random He weights, seed 1)\n");
    print_model(m);
    printf("image: %zu x %zu uint16, %d synthetic nuclei with noise\n", n, n, nuclei);
    int64_t shape[2] = {(int64_t)n, (int64_t)n};
    double t0 = now_seconds();
    rc = unet_predict(m, opts, img, UNET_U16, 2, shape, out, n * n);
    double dt = now_seconds() - t0;
    if (rc == UNET_OK) {
        double lo = INFINITY, hi = -INFINITY, sum = 0;
        for (size_t i = 0; i < n * n; i++) {
            lo = out[i] < lo ? out[i] : lo;
            hi = out[i] > hi ? out[i] : hi;
            sum += out[i];
        }
        printf("predicted whole image (percentile normalisation 1-99.8, border 'network', "
               "reference engine) in %.3f s\n", dt);
        printf("output: %zu x %zu float32 probabilities, min %.4f, mean %.4f, max %.4f\n", n, n,
               lo, sum / (double)(n * n), hi);
    }
    free(img);
    free(out);
    unet_predict_opts_free(opts);
    unet_model_free(m);
    return rc == UNET_OK ? 0 : fail_lib("demo", rc);
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return fail_usage("no command given", NULL);
    const char *cmd = argv[1];
    if (is_help(cmd)) {
        fputs(usage_main, stdout);
        return 0;
    }
    if (strcmp(cmd, "--version") == 0) {
        printf("unet %s\n", unet_version_string());
        return 0;
    }
    if (strcmp(cmd, "info") == 0)
        return cmd_info(argc - 1, argv + 1);
    if (strcmp(cmd, "create") == 0)
        return cmd_create(argc - 1, argv + 1);
    if (strcmp(cmd, "demo") == 0)
        return cmd_demo(argc - 1, argv + 1);
    return fail_usage("unknown command", cmd);
}
