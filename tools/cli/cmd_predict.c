/* unet predict: a TIFF through a model into a TIFF, streaming, with a progress bar; Ctrl-C,
 * SIGTERM and SIGHUP cancel (signals.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "input.h"
#include "paths.h"
#include "progress.h"
#include "signals.h"

static const char *const usage_predict =
    "usage: unet predict --model M IN.tif|IN.png -o|--output OUT.tif [options]\n"
    "Predicts IN.tif (pages are planes, samples are channels) into OUT.tif, streaming: the\n"
    "image is read and written in strips, so its size is not limited by memory. A PNG\n"
    "(8/16-bit, grey or colour) is read whole.\n"
    "\n"
    "  --tile N          tile core in pixels, a multiple of the model's block size\n"
    "                    (default: chosen from the image)\n"
    "  --blend W         blend tile seams over W pixels (default 0: exact stitching)\n"
    "  --batch N         tiles per network run (default 1)\n"
    "  --threads N       threads (default: the CPUs this process may use)\n"
    "  --border MODE     network | reflect | zero (default: the model's)\n"
    "  --normalize MODE  none | zmuv | percentile:LOW,HIGH | fixed:MEAN,STD\n"
    "                    (default: the model's preprocessing)\n"
    "  --type TYPE       float32 | uint8 | uint16 (default float32; probabilities are\n"
    "                    scaled to the integer range)\n"
    "  --deflate         compress the output\n"
    "  --precise         direct convolutions only (no Winograd: slower; tiles then equal\n"
    "                    the whole image bit for bit)\n"
    "  --tta             test-time augmentation: every tile's output averaged over its four\n"
    "                    flips (4x the network time)\n"
    "  --channel N       the image channel (0-based) a one-channel model reads (default: the\n"
    "                    channel rule: colour gives its luminance 0.299 R + 0.587 G +\n"
    "                    0.114 B, or the channel itself when R, G and B are equal; alpha is\n"
    "                    ignored; other channel counts need --channel)\n"
    "  --axes AXES       a multi-page TIFF's axes: ZYX or TYX (default: pages are planes) or\n"
    "                    CYX (pages are channels); YX for a one-page image\n"
    "  --max-pixels N    refuse images of more than N pixels (planes x height x width;\n"
    "                    default: no limit, the image streams; a PNG is held whole:\n"
    "                    268435456 = 16384^2)\n"
    "  --quiet           no progress bar\n"
    "The output is checked before any work (its folder exists and is writable; it is not\n"
    "the input or the model), written to a temporary file beside it and renamed on\n"
    "success. Ctrl-C, SIGTERM or SIGHUP cancel: no output is left and an existing OUT.tif\n"
    "stays untouched; the exit status is 128 + the signal (130 for Ctrl-C, 143 for\n"
    "SIGTERM).\n"
    "OME-Zarr: unet predict IN.zarr -o OUT.zarr [--level N] runs `python3 -m unet predict`\n"
    "(the Python package with its dask extra); see its --help.\n";

static void cancel_predict(void *opts)
{
    unet_predict_opts_cancel(opts);
}

typedef struct bar {
    cli_progress p;
    double pixels;
} bar;

/* The progress bar with the rate in megapixels per second. */
static int draw_bar(void *user, double fraction, const char *stage)
{
    bar *b = user;
    const double elapsed = cli_now_seconds() - b->p.start;
    char label[32], rate[32];
    snprintf(label, sizeof label, "%-11s", stage);
    snprintf(rate, sizeof rate, "%6.2f Mpx/s  ",
             elapsed > 0 ? fraction * b->pixels / elapsed / 1e6 : 0);
    cli_progress_draw(&b->p, label, fraction, rate);
    return 0;
}

static int parse_normalize(const char *s, unet_predict_opts_t *o)
{
    double a = 0, b = 0;
    char tail;
    if (strcmp(s, "none") == 0)
        return unet_predict_opts_set_normalize(o, UNET_NORMALIZE_NONE, 0, 0);
    if (strcmp(s, "zmuv") == 0)
        return unet_predict_opts_set_normalize(o, UNET_NORMALIZE_ZMUV, 0, 0);
    if (strcmp(s, "percentile") == 0)
        return unet_predict_opts_set_normalize(o, UNET_NORMALIZE_PERCENTILE, 1, 99.8);
    if (sscanf(s, "percentile:%lf,%lf%c", &a, &b, &tail) == 2)
        return unet_predict_opts_set_normalize(o, UNET_NORMALIZE_PERCENTILE, a, b);
    if (sscanf(s, "fixed:%lf,%lf%c", &a, &b, &tail) == 2)
        return unet_predict_opts_set_normalize(o, UNET_NORMALIZE_FIXED, a, b);
    return -100;
}

int cmd_predict(int argc, char **argv)
{
    const char *model_path = NULL, *in = NULL, *out = NULL;
    int quiet = 0, output = UNET_F32, axes_given = 0, paged = 0;
    int64_t max_pixels = 0; /* a PNG's whole-image read: 0 is the library's default limit */
    unsigned flags = 0;
    unet_predict_opts_t *o;
    cli_signals_install();
    if (unet_predict_opts_create(&o) != UNET_OK)
        return cli_fail_lib("predict", UNET_E_NOMEM);
    int rc = UNET_OK, usage = 0;
    for (int i = 1; i < argc && !usage && rc == UNET_OK; i++) {
        const char *a = argv[i];
        if (cli_is_help(a)) {
            fputs(usage_predict, stdout);
            unet_predict_opts_free(o);
            return 0;
        }
        if (cli_is_quiet(a)) {
            quiet = 1;
            continue;
        }
        if (strcmp(a, "--deflate") == 0) {
            flags |= UNET_TIFF_DEFLATE;
            continue;
        }
        if (strcmp(a, "--precise") == 0 || strcmp(a, "--tta") == 0) {
            rc = unet_predict_opts_set(o, a + 2, "true");
            if (rc != UNET_OK)
                break;
            continue;
        }
        if (a[0] != '-') {
            if (in) {
                usage = cli_fail_usage("predict takes one input image; extra argument", a);
                break;
            }
            in = a;
            continue;
        }
        static const char *const with_value[] = {"--model", "-m", "-o", "--output",
                                                 "--output-file", "--tile", "--blend",
                                                 "--batch", "--threads", "--border",
                                                 "--normalize", "--type", "--max-pixels",
                                                 "--channel", "--axes", NULL};
        const char *v;
        if ((usage = cli_known_value(argc, argv, &i, with_value, "predict", &v)) != 0)
            break;
        long long n;
        if (strcmp(a, "--model") == 0 || strcmp(a, "-m") == 0)
            model_path = v;
        else if (strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0 ||
                 strcmp(a, "--output-file") == 0) {
            if (out)
                usage = cli_fail_usage("the output file is given twice (the output type is "
                                       "--type)", v);
            out = v;
        }
        else if (strcmp(a, "--tile") == 0) {
            if ((n = cli_parse_count(v, 1 << 20)) < 1)
                usage = cli_fail_usage("--tile must be an integer from 1 to 1048576", v);
            else
                rc = unet_predict_opts_set_tile(o, n);
        } else if (strcmp(a, "--blend") == 0) {
            if ((n = cli_parse_count(v, 1 << 20)) < 0)
                usage = cli_fail_usage("--blend must be an integer from 0 to 1048576", v);
            else
                rc = unet_predict_opts_set_blend(o, n);
        } else if (strcmp(a, "--batch") == 0) {
            if ((n = cli_parse_count(v, 1000)) < 1)
                usage = cli_fail_usage("--batch must be an integer from 1 to 1000", v);
            else
                rc = unet_predict_opts_set_batch(o, (int)n);
        } else if (strcmp(a, "--threads") == 0) {
            if ((n = cli_parse_count(v, 1024)) < 0)
                usage = cli_fail_usage("--threads must be 0 to 1024", v);
            else
                rc = unet_predict_opts_set_threads(o, (int)n);
        } else if (strcmp(a, "--border") == 0) {
            int mode = strcmp(v, "network") == 0   ? UNET_BORDER_NETWORK
                       : strcmp(v, "reflect") == 0 ? UNET_BORDER_REFLECT
                       : strcmp(v, "zero") == 0    ? UNET_BORDER_ZERO
                                                   : -1;
            if (mode < 0)
                usage = cli_fail_usage("--border must be network, reflect or zero", v);
            else
                rc = unet_predict_opts_set_border(o, mode);
        } else if (strcmp(a, "--normalize") == 0) {
            rc = parse_normalize(v, o);
            if (rc == -100) {
                rc = UNET_OK;
                usage = cli_fail_usage("--normalize must be none, zmuv, percentile:LOW,HIGH or "
                                       "fixed:MEAN,STD", v);
            }
        } else if (strcmp(a, "--max-pixels") == 0) {
            max_pixels = strcmp(v, "auto") == 0 ? 0 : cli_parse_count(v, INT64_MAX);
            if (max_pixels < 0 || unet_predict_opts_set(o, "max_pixels", v) != UNET_OK)
                usage = cli_fail_usage("--max-pixels must be auto or 1 to 2^62", v);
        } else if (strcmp(a, "--channel") == 0) {
            if (cli_parse_count(v, 65535) < 0)
                usage = cli_fail_usage("--channel must be a channel index from 0 to 65535", v);
            else
                rc = unet_predict_opts_set(o, "channel", v);
        } else if (strcmp(a, "--axes") == 0) {
            const char *pages = "planes";
            axes_given = 1;
            if (cli_parse_axes(v, &pages, &paged) != 0)
                usage = cli_fail_usage("--axes must be YX, ZYX, TYX or CYX (or YXC, ZYXC, TYXC "
                                       "for colour samples)", v);
            else
                rc = unet_predict_opts_set(o, "pages", pages);
        } else if (strcmp(a, "--type") == 0) {
            output = strcmp(v, "float32") == 0  ? UNET_F32
                     : strcmp(v, "uint8") == 0  ? UNET_U8
                     : strcmp(v, "uint16") == 0 ? UNET_U16
                                                : -1;
            if (output < 0)
                usage = cli_fail_usage("--type must be float32, uint8 or uint16", v);
        }
    }
    if (!usage && rc == UNET_OK && (!model_path || !in || !out))
        usage = cli_fail_usage("predict needs --model M, an input image and -o OUT.tif", NULL);
    if (usage || rc != UNET_OK) {
        unet_predict_opts_free(o);
        return usage ? usage : cli_fail_lib("predict", rc);
    }

    /* Before any work: the output can be written and is neither the input nor the model. */
    cli_paths paths = {.command = "predict"};
    int bad_paths = cli_paths_input(&paths, model_path, "model") ||
                    cli_paths_input(&paths, in, "input") ||
                    cli_paths_output(&paths, out, "output", in, 0) || cli_paths_check(&paths);
    cli_paths_free(&paths);
    if (bad_paths) {
        unet_predict_opts_free(o);
        return 1;
    }

    unet_model_t *m = NULL;
    int64_t planes = 0, channels = 0, h = 0, w = 0;
    unet_dtype_t dtype;
    cli_image png = {0}; /* a PNG is read whole; a TIFF is streamed */
    const int is_png = cli_is_png(in);
    rc = unet_model_load(model_path, &m);
    if (rc == UNET_OK && is_png) {
        if (paged)
            fprintf(stderr, "unet: predict: '%s' is a PNG: it has no pages for --axes\n", in);
        if (paged || cli_read_png("predict", in, max_pixels, &png) != 0) {
            unet_model_free(m);
            unet_predict_opts_free(o);
            return 1;
        }
        planes = 1;
        h = png.shape[1];
        w = png.shape[2];
    } else if (rc == UNET_OK) {
        rc = unet_tiff_info(in, &planes, &channels, &h, &w, &dtype);
        if (rc == UNET_OK && planes > 1 && axes_given && !paged) {
            fprintf(stderr, "unet: predict: '%s' has %lld pages; --axes names no page axis "
                            "(ZYX or TYX: planes, CYX: channels)\n", in, (long long)planes);
            unet_model_free(m);
            unet_predict_opts_free(o);
            return 1;
        }
    }
    bar b = {{0, 0}, (double)planes * (double)h * (double)w};
    cli_progress_start(&b.p);
    if (rc == UNET_OK && !quiet && isatty(STDERR_FILENO))
        rc = unet_predict_opts_set_progress(o, draw_bar, &b);
    if (rc == UNET_OK) {
        cli_signals_cancel_with(cancel_predict, o);
        rc = is_png ? unet_predict_to_tiff(m, o, png.data, png.dtype, 3, png.shape, out, output,
                                           flags)
                    : unet_predict_tiff(m, o, in, out, output, flags);
        cli_signals_cancel_with(NULL, NULL);
        cli_progress_end(&b.p);
    }
    cli_image_free(&png);
    int status = 0;
    if (rc == UNET_E_CANCELLED) {
        fprintf(stderr, "unet: predict: cancelled (%s); '%s' was not written\n",
                cli_signal_name(), out);
        status = cli_signal_status();
    } else if (rc != UNET_OK) {
        status = cli_fail_lib("predict", rc);
    } else if (!quiet) {
        fprintf(stderr, "predicted %s (%lld plane%s, %lld x %lld) -> %s in %.2f s\n", in,
                (long long)planes, planes == 1 ? "" : "s", (long long)h, (long long)w, out,
                cli_now_seconds() - b.p.start);
    }
    unet_model_free(m);
    unet_predict_opts_free(o);
    return status;
}
