/* unet segment: images -> instance label TIFFs (uint16, or uint32 past 65535 objects), with
 * optional outlines (PNG) and measurements (CSV); a progress bar over the batch; Ctrl-C,
 * SIGTERM and SIGHUP cancel (signals.h). */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"
#include "input.h"
#include "paths.h"
#include "progress.h"
#include "segment_out.h"
#include "signals.h"

static const char *const usage_segment =
    "usage: unet segment IN.tif|IN.png [IN2 | DIR ...] -o LABELS.tif [options]\n"
    "Segments nuclei (or whatever the model was trained on) into instance labels: 0 is\n"
    "background, objects are 1..N (uint16, or uint32 past 65535 objects). With several\n"
    "inputs or a folder, -o (and --overlay, --measure) name output folders.\n"
    "\n"
    "  --model M         a .unet model (default: the built-in one, if this build has it)\n"
    "  --overlay OUT.png object outlines over the image\n"
    "  --measure OUT.csv label,area,centroid_y,centroid_x,bbox_y0,bbox_x0,bbox_y1,bbox_x1,\n"
    "                    mean_intensity per object (bbox end exclusive; outlines and\n"
    "                    intensities are of the image as the model reads it: colour as\n"
    "                    its luminance)\n"
    "  --scale S|auto    resize by S before predicting (0.5 when objects are twice the\n"
    "                    trained size); labels come back on the original grid. auto\n"
    "                    (default): the model's training diameter / the objects' diameter,\n"
    "                    measured on each image by a quick first pass (on the first plane of\n"
    "                    a stack; 1 for a model that records no training diameter)\n"
    "  --diameter PX     the objects' typical diameter in pixels, instead of measuring it\n"
    "  --threshold T     foreground probability threshold (default: the model's, or 0.5)\n"
    "  --min-size N      remove objects under N pixels (default: the model's, or 16)\n"
    "  --tta             test-time augmentation: the probabilities averaged over four flips\n"
    "                    of the image (none, left-right, up-down, both; 4x the network time)\n"
    "  --threads N       threads (default: the CPUs this process may use)\n"
    "  --channel N       the image channel (0-based) a one-channel model reads (default: the\n"
    "                    channel rule: colour gives its luminance 0.299 R + 0.587 G +\n"
    "                    0.114 B, or the channel itself when R, G and B are equal; alpha is\n"
    "                    ignored; other channel counts need --channel)\n"
    "  --axes AXES       a multi-page TIFF's axes: ZYX or TYX (default: pages are planes,\n"
    "                    segmented one by one into a label stack, ids 1..N in each plane) or\n"
    "                    CYX (pages are channels); YX for a one-page image\n"
    "  --max-pixels N    refuse images of more than N pixels (default: no limit for labels\n"
    "                    alone, which stream; 268435456 = 16384^2 with --overlay or\n"
    "                    --measure, and for PNGs, which hold the whole image)\n"
    "  --quiet           no progress bar\n"
    "Inputs are TIFF (8/16/32-bit, float, stacks, colour) or PNG (8/16-bit, grey or colour).\n"
    "The object count and the scale (with the objects' diameter when known) of every image\n"
    "are printed on stdout; the scale is stored in the label TIFF's ImageDescription.\n"
    "Every output is checked before\n"
    "any work: its folder must exist, no output may be an input or another output (two\n"
    "inputs of one name into one folder are refused). Files are written to a temporary\n"
    "file beside them and renamed on success. Ctrl-C, SIGTERM or SIGHUP cancel: the\n"
    "current image's outputs are not written, existing files stay untouched, and the exit\n"
    "status is 128 + the signal (130 for Ctrl-C, 143 for SIGTERM).\n"
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

/* A file, or every .tif/.tiff/.png of a folder (sorted). 1 when a folder was given. */
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
        if (!cli_is_image_name(e->d_name))
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
        fprintf(stderr, "unet: segment: the folder '%s' has no .tif, .tiff or .png files\n",
                arg);
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
    size_t stem = cli_image_stem(base);
    char *p = malloc(strlen(dir) + stem + strlen(ext) + 2);
    if (p)
        sprintf(p, "%s/%.*s%s", dir, (int)stem, base, ext);
    return p;
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

/* Options scale and diameter as text ("auto" for 0). */
static int set_scale(unet_segment_opts_t *so, double scale, double diameter)
{
    char v[64];
    snprintf(v, sizeof v, "%.17g", scale);
    int rc = unet_segment_opts_set(so, "scale", scale > 0 ? v : "auto");
    snprintf(v, sizeof v, "%.17g", diameter);
    return rc == UNET_OK ? unet_segment_opts_set(so, "diameter", diameter > 0 ? v : "auto") : rc;
}

/* The scale of this image, measured once (see unet_segment_scale) and then given to the
 * segmentation as options scale and diameter; *scale and *diameter receive it. */
static int fix_scale(const unet_model_t *m, unet_segment_opts_t *so, const char *path,
                     const cli_image *image, double *scale, double *diameter)
{
    int rc = image ? unet_segment_scale(m, so, image->data, image->dtype, 3, image->shape,
                                        scale, diameter)
                   : unet_segment_scale_tiff(m, so, path, scale, diameter);
    return rc == UNET_OK ? set_scale(so, *scale, *diameter) : rc;
}

/* How images are read: --channel and --axes (the options object has them too). */
typedef struct input_opts {
    long long channel; /* -1: the channel rule */
    int axes_given, paged; /* --axes, and whether it names a page axis */
    int pages_are_channels;
} input_opts;

/* The image as the model reads it (the library's channel rule), for outlines and
 * measurements: channel 0 of (model channels, H, W) float32; NULL with a message. */
static float *model_view(const unet_model_t *m, const input_opts *io, const cli_image *img,
                         const char *in)
{
    int channels = 1;
    unet_model_in_channels(m, &channels);
    size_t n = (size_t)(channels * img->shape[1] * img->shape[2]);
    float *view = malloc(n * sizeof *view);
    int rc = view ? unet_channel_rule(channels, io->channel, img->data, img->dtype, 3,
                                      img->shape, view, n)
                  : UNET_E_NOMEM;
    if (rc != UNET_OK) {
        fprintf(stderr, "unet: segment: %s: %s\n", in, cli_lib_message(rc));
        free(view);
        return NULL;
    }
    return view;
}

/* One image: 0, 1 on failure (message printed, naming the file that failed), 130 when
 * cancelled (by a stop signal: signals.h). user: the command line's scale and diameter (0:
 * auto), restored in `so` before returning. max_pixels: the limit of whole-image reads (0:
 * the library's default). */
static int segment_one(const unet_model_t *m, unet_segment_opts_t *so, const double user[2],
                       const input_opts *io, const char *in, const char *out,
                       const char *overlay, const char *measure, int64_t max_pixels)
{
    int64_t pages = 1;
    cli_image img = {0};
    float *view = NULL;
    uint32_t *labels = NULL, count = 0;
    double scale = 0, diameter = 0;
    int rc = UNET_OK, status = 0, png = cli_is_png(in);
    if (png && io->paged) {
        fprintf(stderr, "unet: segment: '%s' is a PNG: it has no pages for --axes\n", in);
        return 1;
    }
    if (!png && (rc = unet_tiff_info(in, &pages, NULL, NULL, NULL, NULL)) != UNET_OK) {
        fprintf(stderr, "unet: segment: %s: %s\n", in, cli_lib_message(rc));
        return 1;
    }
    if (pages > 1 && io->axes_given && !io->paged) {
        fprintf(stderr, "unet: segment: '%s' has %lld pages; --axes names no page axis (ZYX or "
                        "TYX: planes, CYX: channels)\n", in, (long long)pages);
        return 1;
    }
    if (!png && !overlay && !measure) { /* only labels: streamed, any size in bounded memory */
        rc = fix_scale(m, so, in, NULL, &scale, &diameter);
        if (rc == UNET_OK)
            rc = unet_segment_tiff(m, so, in, out, UNET_TIFF_DEFLATE, &count);
        if (rc != UNET_OK && rc != UNET_E_CANCELLED) {
            fprintf(stderr, "unet: segment: '%s' -> '%s': %s\n", in, out,
                    cli_lib_message(rc));
            status = 1;
        }
        goto report;
    }
    if (pages > 1) {
        fprintf(stderr, "unet: segment: '%s' has %lld pages; --overlay and --measure take a "
                        "one-page image\n", in, (long long)pages);
        return 1;
    }
    if (cli_read_image("segment", in, max_pixels, &img) != 0)
        return 1;
    rc = fix_scale(m, so, in, &img, &scale, &diameter);
    if (rc == UNET_OK) {
        labels = malloc((size_t)(img.shape[1] * img.shape[2]) * sizeof *labels);
        rc = labels ? unet_segment(m, so, img.data, img.dtype, 3, img.shape, labels,
                                   (size_t)(img.shape[1] * img.shape[2]), &count)
                    : UNET_E_NOMEM;
    }
    if (rc != UNET_OK && rc != UNET_E_CANCELLED) {
        fprintf(stderr, "unet: segment: %s: %s\n", in, cli_lib_message(rc));
        status = 1;
    } else if (rc == UNET_OK) {
        char description[128];
        describe_scale(description, sizeof description, scale, diameter);
        rc = write_labels(out, labels, count, img.shape[1], img.shape[2], description);
    }
    if (rc != UNET_OK && status == 0) {
        if (rc != UNET_E_CANCELLED)
            fprintf(stderr, "unet: segment: cannot write the labels '%s': %s\n", out,
                    cli_lib_message(rc));
        status = 1;
    }
    /* Outlines and measurements only beside labels that were written, of the image as the
     * model reads it. */
    if (rc == UNET_OK && (overlay || measure) && !(view = model_view(m, io, &img, in)))
        status = 1;
    if (view && overlay &&
        write_overlay_png(overlay, view, labels, img.shape[1], img.shape[2]) != 0)
        status = 1;
    if (view && measure &&
        write_measure_csv(measure, view, labels, count, img.shape[1], img.shape[2]) != 0)
        status = 1;
    cli_image_free(&img);
    free(view);
    free(labels);
report:
    /* The next image is measured again (values the command line checked: cannot fail). */
    (void)set_scale(so, user[0], user[1]);
    if (rc == UNET_E_CANCELLED || cli_signal_caught())
        return 130;
    if (status == 0) {
        /* The count, and the scale the objects were found at. */
        printf("%s: %u objects", in, count);
        if (pages > 1 && !io->pages_are_channels)
            printf(" in %lld planes", (long long)pages);
        printf(" (scale %.3g", scale);
        if (diameter > 0)
            printf(", diameter %.3g px", diameter);
        printf(")\n");
        fflush(stdout);
    }
    return status;
}

/* Every output of the run, checked before any work: writable folders, files where files are
 * expected, no output an input (or the model) or another output, two inputs of one name
 * refused when they would write one file. 0, or -1 with one line on stderr. */
static int check_outputs(const list *inputs, const char *model_path, int folder,
                         const char *out, const char *overlay, const char *measure)
{
    static const char *const roles[3] = {"labels", "overlay", "measurements"};
    static const char *const exts[3] = {".tif", ".png", ".csv"};
    const char *const dirs[3] = {out, overlay, measure};
    cli_paths p = {.command = "segment"};
    int rc = 0;
    for (int r = 0; r < 3 && folder && rc == 0; r++)
        if (dirs[r])
            rc = cli_check_output_folder("segment", dirs[r], roles[r]);
    if (rc == 0 && model_path)
        rc = cli_paths_input(&p, model_path, "model");
    for (size_t k = 0; k < inputs->n && rc == 0; k++)
        rc = cli_paths_input(&p, inputs->items[k], "input");
    for (size_t k = 0; k < (folder ? inputs->n : 1) && rc == 0; k++)
        for (int r = 0; r < 3 && rc == 0; r++) {
            if (!dirs[r])
                continue;
            const char *in = inputs->items[k];
            char *path = folder ? output_name(dirs[r], in, exts[r]) : strdup(dirs[r]);
            rc = path ? cli_paths_output(&p, path, roles[r], in, folder) : -1;
            if (!path)
                fprintf(stderr, "unet: segment: out of memory\n");
            free(path);
        }
    if (rc == 0)
        rc = cli_paths_check(&p);
    cli_paths_free(&p);
    return rc;
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
    int64_t max_pixels = 0; /* the whole-image read's limit: 0 is the library's default */
    double user[2] = {0, 0}; /* --scale, --diameter (0: auto) */
    list inputs = {0};
    input_opts io = {-1, 0, 0, 0};
    unet_segment_opts_t *so = NULL;
    cli_signals_install();
    if (unet_segment_opts_create(&so) != UNET_OK)
        return cli_fail_lib("segment", UNET_E_NOMEM);
    for (int i = 1; i < argc && !usage && !error; i++) {
        const char *a = argv[i];
        if (cli_is_help(a)) {
            fputs(usage_segment, stdout);
            goto done;
        }
        if (cli_is_quiet(a)) {
            quiet = 1;
            continue;
        }
        if (a[0] != '-' || strcmp(a, "-") == 0) {
            folder |= add_input(&inputs, a, &error);
            continue;
        }
        if (strcmp(a, "--tta") == 0) {
            unet_segment_opts_set(so, "tta", "true");
            continue;
        }
        static const char *const with_value[] = {"--model", "-m", "-o", "--overlay",
                                                 "--measure", "--scale", "--diameter",
                                                 "--threads", "--threshold", "--min-size",
                                                 "--max-pixels", "--channel", "--axes", NULL};
        const char *v;
        if ((usage = cli_known_value(argc, argv, &i, with_value, "segment", &v)) != 0)
            break;
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
                usage = cli_fail_usage("--min-size must be an integer from 0 to 2147483648", v);
            else
                unet_segment_opts_set_min_size(so, n);
        } else if (strcmp(a, "--threads") == 0) {
            if ((n = cli_parse_count(v, 1024)) < 0)
                usage = cli_fail_usage("--threads must be 0 to 1024", v);
            else
                unet_segment_opts_set_threads(so, (int)n);
        } else if (strcmp(a, "--max-pixels") == 0) {
            max_pixels = strcmp(v, "auto") == 0 ? 0 : cli_parse_count(v, INT64_MAX);
            if (max_pixels < 0 || unet_segment_opts_set(so, "max_pixels", v) != UNET_OK)
                usage = cli_fail_usage("--max-pixels must be auto or 1 to 2^62", v);
        } else if (strcmp(a, "--channel") == 0) {
            if ((n = cli_parse_count(v, 65535)) < 0)
                usage = cli_fail_usage("--channel must be a channel index from 0 to 65535", v);
            else
                unet_segment_opts_set(so, "channel", v);
            io.channel = n;
        } else if (strcmp(a, "--axes") == 0) {
            const char *pages = "planes";
            if (cli_parse_axes(v, &pages, &io.paged) != 0)
                usage = cli_fail_usage("--axes must be YX, ZYX, TYX or CYX (or YXC, ZYXC, TYXC "
                                       "for colour samples)", v);
            else
                unet_segment_opts_set(so, "pages", pages);
            io.axes_given = 1;
            io.pages_are_channels = strcmp(pages, "channels") == 0;
        }
    }
    status = usage ? usage : error ? 1 : 0;
    if (!status && set_scale(so, user[0], user[1]) != UNET_OK)
        status = cli_fail_lib("segment", UNET_E_INTERNAL);
    if (!status && (inputs.n == 0 || !out))
        status = cli_fail_usage("segment needs input images and -o OUTPUT", NULL);
    folder |= inputs.n > 1;
    if (!status && check_outputs(&inputs, model_path, folder, out, overlay, measure) != 0)
        status = 1;
    unet_model_t *m = NULL;
    if (!status && cli_signal_caught())
        status = cli_signal_status();
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
        (cli_make_output_folder("segment", out, "labels") ||
         (overlay && cli_make_output_folder("segment", overlay, "overlay")) ||
         (measure && cli_make_output_folder("segment", measure, "measurements"))))
        status = 1;
    batch_bar bar = {{0, 0}, 0, (int)inputs.n};
    cli_progress_start(&bar.p);
    if (!status && !quiet && isatty(STDERR_FILENO))
        unet_segment_opts_set_progress(so, draw_bar, &bar);
    cli_signals_cancel_with(cancel_segment, so);
    int failures = 0;
    for (size_t k = 0; k < inputs.n && !status; k++) {
        bar.index = (int)k;
        const char *in = inputs.items[k];
        char *o = folder ? output_name(out, in, ".tif") : strdup(out);
        char *ov = overlay ? (folder ? output_name(overlay, in, ".png") : strdup(overlay)) : NULL;
        char *me = measure ? (folder ? output_name(measure, in, ".csv") : strdup(measure)) : NULL;
        int s = 1;
        if (!o || (overlay && !ov) || (measure && !me))
            fprintf(stderr, "unet: segment: out of memory\n");
        else
            s = segment_one(m, so, user, &io, in, o, ov, me, max_pixels);
        free(o);
        free(ov);
        free(me);
        if (s == 130) {
            cli_progress_end(&bar.p);
            fprintf(stderr, "unet: segment: cancelled (%s) at image %zu of %zu; its partial "
                            "outputs removed\n", cli_signal_name(), k + 1, inputs.n);
            status = cli_signal_status();
        }
        failures += s == 1;
    }
    cli_signals_cancel_with(NULL, NULL);
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
