/* unet segment: images -> instance label TIFFs (uint16, or uint32 past 65535 objects), with
 * optional outlines (PNG) and measurements (CSV); a progress bar over the batch and Ctrl-C. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"
#include "progress.h"
#include "segment_out.h"

static const char *const usage_segment =
    "usage: unet segment IN.tif [IN2.tif | DIR ...] -o LABELS.tif [options]\n"
    "Segments nuclei (or whatever the model was trained on) into instance labels: 0 is\n"
    "background, objects are 1..N (uint16, or uint32 past 65535 objects). With several\n"
    "inputs or a folder, -o (and --overlay, --measure) name output folders.\n"
    "\n"
    "  --model M         a .unet model (default: the built-in one, if this build has it)\n"
    "  --overlay OUT.png object outlines over the image\n"
    "  --measure OUT.csv label,area,centroid_y,centroid_x,bbox_y0,bbox_x0,bbox_y1,bbox_x1,\n"
    "                    mean_intensity per object (bbox end exclusive)\n"
    "  --scale S|auto    resize by S before predicting (0.5 when objects are twice the\n"
    "                    trained size); labels come back on the original grid. auto\n"
    "                    (default): the model's training diameter / the objects' diameter,\n"
    "                    measured on each image by a quick first pass (1 for a model that\n"
    "                    records no training diameter)\n"
    "  --diameter PX     the objects' typical diameter in pixels, instead of measuring it\n"
    "  --threshold T     foreground probability threshold (default: the model's, or 0.5)\n"
    "  --min-size N      remove objects under N pixels (default: the model's, or 16)\n"
    "  --threads N       threads (default: all cores)\n"
    "  --quiet           no progress bar\n"
    "The object count and the scale (with the objects' diameter when known) of every image\n"
    "are printed on stdout and the scale is stored in the label TIFF's ImageDescription.\n"
    "Ctrl-C cancels.\n"
    "OME-Zarr: unet segment IN.zarr -o OUT.zarr [--level N] runs `python3 -m unet segment`\n"
    "(labels as OUT.zarr/labels/NAME; the Python package with its dask extra); see its --help.\n";

static void cancel_segment(void *opts)
{
    unet_segment_opts_cancel(opts);
}

typedef struct batch_bar {
    cli_progress p;
    int index, total;
} batch_bar;

/* One line over the whole batch: images done plus the current image's fraction. */
static int draw_bar(void *user, double fraction, const char *stage)
{
    batch_bar *b = user;
    (void)stage;
    char label[48];
    snprintf(label, sizeof label, "segment %d/%d", b->index + 1, b->total);
    cli_progress_draw(&b->p, label, (b->index + fraction) / b->total, "");
    return 0;
}

typedef struct list {
    char **items;
    size_t n, cap;
} list;

static int push(list *l, const char *s)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 16;
        char **p = realloc(l->items, cap * sizeof *p);
        if (!p)
            return -1;
        l->items = p;
        l->cap = cap;
    }
    if (!(l->items[l->n] = strdup(s)))
        return -1;
    l->n++;
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int is_tiff_name(const char *name)
{
    size_t n = strlen(name);
    return name[0] != '.' && ((n > 4 && strcasecmp(name + n - 4, ".tif") == 0) ||
                              (n > 5 && strcasecmp(name + n - 5, ".tiff") == 0));
}

/* A file, or every .tif/.tiff of a folder (sorted). 1 when a folder was given. */
static int add_input(list *l, const char *arg, int *error)
{
    struct stat st;
    if (stat(arg, &st) != 0 || !S_ISDIR(st.st_mode)) {
        *error |= push(l, arg) != 0;
        return 0;
    }
    DIR *d = opendir(arg);
    if (!d) {
        fprintf(stderr, "unet: segment: cannot read the folder '%s': %s\n", arg,
                strerror(errno));
        *error = 1;
        return 1;
    }
    size_t first = l->n;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!is_tiff_name(e->d_name))
            continue;
        char *path = malloc(strlen(arg) + strlen(e->d_name) + 2);
        if (!path) {
            *error = 1;
            break;
        }
        sprintf(path, "%s/%s", arg, e->d_name);
        *error |= push(l, path) != 0;
        free(path);
    }
    closedir(d);
    if (l->n == first) {
        fprintf(stderr, "unet: segment: the folder '%s' has no .tif or .tiff files\n", arg);
        *error = 1;
    }
    if (l->n - first > 1) /* qsort on an empty list may get a NULL base: undefined */
        qsort(l->items + first, l->n - first, sizeof *l->items, cmp_str);
    return 1;
}

/* dir/stem(input)ext, or `single` when not in folder mode. */
static char *output_name(const char *dir, const char *input, const char *ext)
{
    const char *base = strrchr(input, '/');
    base = base ? base + 1 : input;
    size_t stem = strlen(base);
    if (stem > 4 && strcasecmp(base + stem - 4, ".tif") == 0)
        stem -= 4;
    else if (stem > 5 && strcasecmp(base + stem - 5, ".tiff") == 0)
        stem -= 5;
    char *p = malloc(strlen(dir) + stem + strlen(ext) + 2);
    if (p)
        sprintf(p, "%s/%.*s%s", dir, (int)stem, base, ext);
    return p;
}

static int make_dir(const char *dir)
{
    if (mkdir(dir, 0777) == 0 || errno == EEXIST)
        return 0;
    fprintf(stderr, "unet: segment: cannot create the folder '%s': %s\n", dir, strerror(errno));
    return -1;
}

/* The scale record unet_segment_tiff writes in its ImageDescription (see unet.h). */
static void describe_scale(char *buf, size_t size, double scale, double diameter)
{
    if (diameter > 0)
        snprintf(buf, size, "{\"libunet\":{\"scale\":%.6g,\"diameter\":%.6g}}", scale,
                 diameter);
    else
        snprintf(buf, size, "{\"libunet\":{\"scale\":%.6g}}", scale);
}

static int write_labels(const char *path, const uint32_t *labels, uint32_t count, int64_t h,
                        int64_t w, const char *description)
{
    const int64_t shape[2] = {h, w};
    if (count > 65535)
        return unet_tiff_write_described(path, labels, UNET_U32, 2, shape, UNET_TIFF_DEFLATE,
                                         description);
    uint16_t *small = malloc((size_t)(h * w) * sizeof *small);
    if (!small)
        return UNET_E_NOMEM;
    for (int64_t i = 0; i < h * w; i++)
        small[i] = (uint16_t)labels[i];
    int rc = unet_tiff_write_described(path, small, UNET_U16, 2, shape, UNET_TIFF_DEFLATE,
                                       description);
    free(small);
    return rc;
}

/* The scale for this image, measured once (see unet_segment_scale) and then given to the
 * segmentation as options scale and diameter (restored to `user` afterwards). */
static int fix_scale(unet_segment_opts_t *so, double scale, double diameter)
{
    char v[64];
    snprintf(v, sizeof v, "%.17g", scale);
    int rc = unet_segment_opts_set(so, "scale", v);
    snprintf(v, sizeof v, "%.17g", diameter);
    return rc == UNET_OK ? unet_segment_opts_set(so, "diameter", diameter > 0 ? v : "auto") : rc;
}

/* One image: 0, 1 on failure (message printed), 130 when cancelled. user: the command line's
 * scale and diameter (0: auto). */
static int segment_one(const unet_model_t *m, unet_segment_opts_t *so, const double user[2],
                       const char *in, const char *out, const char *overlay,
                       const char *measure)
{
    int64_t planes, shape[3];
    float *im = NULL;
    uint32_t *labels = NULL, count = 0;
    double scale = 0, diameter = 0;
    int rc;
    if (!overlay && !measure) { /* only labels: streamed, any size in bounded memory */
        rc = unet_segment_scale_tiff(m, so, in, &scale, &diameter);
        if (rc == UNET_OK)
            rc = fix_scale(so, scale, diameter);
        if (rc == UNET_OK)
            rc = unet_segment_tiff(m, so, in, out, UNET_TIFF_DEFLATE, &count);
        goto report;
    }
    rc = unet_tiff_info(in, &planes, NULL, NULL, NULL, NULL);
    if (rc == UNET_OK && planes > 1) {
        fprintf(stderr, "unet: segment: '%s' has %lld pages; segment takes one 2-D image per "
                        "file\n", in, (long long)planes);
        return 1;
    }
    if (rc == UNET_OK)
        rc = unet_tiff_read(in, &im, shape);
    if (rc == UNET_OK)
        rc = unet_segment_scale(m, so, im, UNET_F32, 3, shape, &scale, &diameter);
    if (rc == UNET_OK)
        rc = fix_scale(so, scale, diameter);
    if (rc == UNET_OK) {
        labels = malloc((size_t)(shape[1] * shape[2]) * sizeof *labels);
        rc = labels ? unet_segment(m, so, im, UNET_F32, 3, shape, labels,
                                   (size_t)(shape[1] * shape[2]), &count)
                    : UNET_E_NOMEM;
    }
    if (rc == UNET_OK) {
        char description[128];
        describe_scale(description, sizeof description, scale, diameter);
        rc = write_labels(out, labels, count, shape[1], shape[2], description);
    }
report:;
    int status = 0;
    if (rc == UNET_E_CANCELLED) {
        status = 130;
    } else if (rc != UNET_OK) {
        fprintf(stderr, "unet: segment: %s: %s (%s)\n", in, unet_last_error(),
                unet_status_string(rc));
        status = 1;
    } else {
        if (overlay && write_overlay_png(overlay, im, labels, shape[1], shape[2]) != 0)
            status = 1;
        if (measure && write_measure_csv(measure, im, labels, count, shape[1], shape[2]) != 0)
            status = 1;
        printf("%s: %u objects (scale %.3g", in, count, scale);
        if (diameter > 0)
            printf(", diameter %.3g px", diameter);
        printf(")\n");
        fflush(stdout);
    }
    unet_buffer_free(im);
    free(labels);
    /* The next image is measured again (values the command line checked: cannot fail). */
    (void)fix_scale(so, user[0], user[1]);
    return status;
}

static int load_model(const char *path, unet_model_t **m)
{
    return path ? unet_model_load(path, m) : unet_model_load_builtin("nuclei", m);
}

static int parse_double(const char *s, double lo, double hi, double *v)
{
    char *end;
    errno = 0;
    *v = strtod(s, &end);
    return !errno && end != s && !*end && *v >= lo && *v <= hi;
}

int cmd_segment(int argc, char **argv)
{
    const char *model_path = NULL, *out = NULL, *overlay = NULL, *measure = NULL;
    int quiet = 0, usage = 0, folder = 0, error = 0, status = 0;
    double user[2] = {0, 0}; /* --scale, --diameter (0: auto) */
    list inputs = {0};
    unet_segment_opts_t *so = NULL;
    if (unet_segment_opts_create(&so) != UNET_OK)
        return cli_fail_lib("segment", UNET_E_NOMEM);
    for (int i = 1; i < argc && !usage && !error; i++) {
        const char *a = argv[i];
        if (cli_is_help(a)) {
            fputs(usage_segment, stdout);
            goto done;
        }
        if (strcmp(a, "--quiet") == 0 || strcmp(a, "-q") == 0) {
            quiet = 1;
            continue;
        }
        if (a[0] != '-' || strcmp(a, "-") == 0) {
            folder |= add_input(&inputs, a, &error);
            continue;
        }
        static const char *const with_value[] = {"--model", "-m", "-o", "--overlay",
                                                 "--measure", "--scale", "--diameter",
                                                 "--threads", "--threshold", "--min-size",
                                                 NULL};
        int known = 0;
        for (int k = 0; with_value[k]; k++)
            known |= strcmp(a, with_value[k]) == 0;
        if (!known) {
            usage = cli_fail_usage("unknown option for segment", a);
            break;
        }
        if (i + 1 >= argc) {
            usage = cli_fail_usage("missing value for option", a);
            break;
        }
        const char *v = argv[++i];
        double d;
        long long n;
        if (strcmp(a, "--model") == 0 || strcmp(a, "-m") == 0)
            model_path = v;
        else if (strcmp(a, "-o") == 0)
            out = v;
        else if (strcmp(a, "--overlay") == 0)
            overlay = v;
        else if (strcmp(a, "--measure") == 0)
            measure = v;
        else if (strcmp(a, "--scale") == 0) {
            if (strcmp(v, "auto") == 0)
                user[0] = 0;
            else if (!parse_double(v, 0.05, 20, &d))
                usage = cli_fail_usage("--scale must be auto or a number from 0.05 to 20", v);
            else
                user[0] = d;
        } else if (strcmp(a, "--diameter") == 0) {
            if (!parse_double(v, 1, 1e5, &d))
                usage = cli_fail_usage("--diameter must be a number of pixels from 1 to "
                                       "100000", v);
            else
                user[1] = d;
        } else if (strcmp(a, "--threshold") == 0) {
            if (!parse_double(v, 0, 1, &d))
                usage = cli_fail_usage("--threshold must be a number from 0 to 1", v);
            else
                unet_segment_opts_set_threshold(so, d);
        } else if (strcmp(a, "--min-size") == 0) {
            if ((n = cli_parse_count(v, 1LL << 31)) < 0)
                usage = cli_fail_usage("--min-size must be a non-negative integer", v);
            else
                unet_segment_opts_set_min_size(so, n);
        } else if (strcmp(a, "--threads") == 0) {
            if ((n = cli_parse_count(v, 1024)) < 0)
                usage = cli_fail_usage("--threads must be 0 to 1024", v);
            else
                unet_segment_opts_set_threads(so, (int)n);
        }
    }
    status = usage ? usage : error ? 1 : 0;
    if (!status && fix_scale(so, user[0], user[1]) != UNET_OK)
        status = cli_fail_lib("segment", UNET_E_INTERNAL);
    if (!status && (inputs.n == 0 || !out))
        status = cli_fail_usage("segment needs input images and -o OUTPUT", NULL);
    folder |= inputs.n > 1;
    unet_model_t *m = NULL;
    if (!status) {
        int rc = load_model(model_path, &m);
        if (rc == UNET_E_UNSUPPORTED && !model_path) {
            fprintf(stderr, "unet: segment: this build has no built-in model; a model is "
                            "needed: pass --model M.unet\n");
            status = 1;
        } else if (rc != UNET_OK) {
            status = cli_fail_lib(model_path ? model_path : "built-in model", rc);
        }
    }
    if (!status && folder &&
        (make_dir(out) || (overlay && make_dir(overlay)) || (measure && make_dir(measure))))
        status = 1;
    batch_bar bar = {{0, 0}, 0, (int)inputs.n};
    cli_progress_start(&bar.p);
    if (!status && !quiet && isatty(STDERR_FILENO))
        unet_segment_opts_set_progress(so, draw_bar, &bar);
    cli_sigint_begin(cancel_segment, so);
    int failures = 0;
    for (size_t k = 0; k < inputs.n && !status; k++) {
        bar.index = (int)k;
        const char *in = inputs.items[k];
        char *o = folder ? output_name(out, in, ".tif") : strdup(out);
        char *ov = overlay ? (folder ? output_name(overlay, in, ".png") : strdup(overlay)) : NULL;
        char *me = measure ? (folder ? output_name(measure, in, ".csv") : strdup(measure)) : NULL;
        int s;
        if (!o || (overlay && !ov) || (measure && !me)) {
            fprintf(stderr, "unet: segment: out of memory\n");
            s = 1;
        } else if (strcmp(o, in) == 0) {
            fprintf(stderr, "unet: segment: the output '%s' would overwrite the input\n", o);
            s = 1;
        } else {
            s = segment_one(m, so, user, in, o, ov, me);
        }
        free(o);
        free(ov);
        free(me);
        if (s == 130) {
            cli_progress_end(&bar.p);
            fprintf(stderr, "unet: segment: cancelled\n");
            status = 130;
        }
        failures += s == 1;
    }
    cli_sigint_end();
    cli_progress_end(&bar.p);
    if (!status && failures)
        status = 1;
    unet_model_free(m);
done:
    for (size_t k = 0; k < inputs.n; k++)
        free(inputs.items[k]);
    free(inputs.items);
    unet_segment_opts_free(so);
    return status;
}
