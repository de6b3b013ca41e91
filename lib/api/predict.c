/*
 * Whole-image prediction: normalise with statistics of the whole image, build the canvas the
 * network needs (border mode), run the network, crop back to the image. This is the reference
 * that tiled prediction reproduces.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "api/model_internal.h"
#include "core/alloc.h"
#include "core/status.h"

struct unet_predict_opts {
    int threads;
    int border;
    int normalize;
    double norm_a, norm_b;
};

static const struct unet_predict_opts default_opts = {0, UNET_BORDER_DEFAULT,
                                                      UNET_NORMALIZE_MODEL, 0, 0};

UNET_API int unet_predict_opts_create(unet_predict_opts_t **out)
{
    unet__clear_error();
    if (!out)
        return unet__fail(UNET_E_INVALID_ARG, "unet_predict_opts_create: out is NULL");
    *out = malloc(sizeof **out);
    if (!*out)
        return unet__fail(UNET_E_NOMEM, "out of memory creating predict options");
    **out = default_opts;
    return UNET_OK;
}

UNET_API void unet_predict_opts_free(unet_predict_opts_t *opts)
{
    free(opts);
}

UNET_API int unet_predict_opts_set_threads(unet_predict_opts_t *o, int num_threads)
{
    unet__clear_error();
    if (!o)
        return unet__fail(UNET_E_INVALID_ARG, "predict options are NULL");
    if (num_threads < 0 || num_threads > 1024)
        return unet__fail(UNET_E_INVALID_ARG, "threads %d is out of range [0, 1024] (0: all)",
                          num_threads);
    o->threads = num_threads;
    return UNET_OK;
}

UNET_API int unet_predict_opts_set_border(unet_predict_opts_t *o, int border)
{
    unet__clear_error();
    if (!o)
        return unet__fail(UNET_E_INVALID_ARG, "predict options are NULL");
    if (border < UNET_BORDER_DEFAULT || border > UNET_BORDER_ZERO)
        return unet__fail(UNET_E_INVALID_ARG, "border mode %d is not one of 0 default, 1 "
                                              "network, 2 reflect, 3 zero", border);
    o->border = border;
    return UNET_OK;
}

UNET_API int unet_predict_opts_set_normalize(unet_predict_opts_t *o, int mode, double a,
                                             double b)
{
    unet__clear_error();
    if (!o)
        return unet__fail(UNET_E_INVALID_ARG, "predict options are NULL");
    switch (mode) {
    case UNET_NORMALIZE_MODEL:
    case UNET_NORMALIZE_NONE:
    case UNET_NORMALIZE_ZMUV:
        break;
    case UNET_NORMALIZE_PERCENTILE:
        if (!(a >= 0 && a < b && b <= 100))
            return unet__fail(UNET_E_INVALID_ARG, "percentiles low %g, high %g must satisfy 0 "
                                                  "<= low < high <= 100", a, b);
        break;
    case UNET_NORMALIZE_FIXED:
        if (!isfinite(a) || !(b > 0) || !isfinite(b))
            return unet__fail(UNET_E_INVALID_ARG, "fixed normalisation needs a finite mean "
                                                  "and a std > 0 (got %g, %g)", a, b);
        break;
    default:
        return unet__fail(UNET_E_INVALID_ARG, "normalisation mode %d is not one of 0..4", mode);
    }
    o->normalize = mode;
    o->norm_a = a;
    o->norm_b = b;
    return UNET_OK;
}

/* ---- normalisation ---- */

typedef struct norm {
    int mode;
    double a, b, eps;
} norm;

/* The normalisation in force: the options' override, else the model's metadata. */
static norm resolve_norm(const unet_model_t *m, const struct unet_predict_opts *o)
{
    norm n = {o->normalize, o->norm_a, o->norm_b, 1e-6};
    if (n.mode != UNET_NORMALIZE_MODEL)
        return n;
    n.mode = UNET_NORMALIZE_NONE;
    const char *mode = m->preprocessing
                           ? json_string_value(json_object_get(m->preprocessing, "normalize"))
                           : NULL;
    if (!mode)
        return n;
    json_t *pp = m->preprocessing;
    if (strcmp(mode, "zmuv") == 0) {
        n.mode = UNET_NORMALIZE_ZMUV;
        if (json_object_get(pp, "eps"))
            n.eps = json_number_value(json_object_get(pp, "eps"));
    } else if (strcmp(mode, "percentile") == 0) {
        n.mode = UNET_NORMALIZE_PERCENTILE;
        n.a = json_object_get(pp, "low") ? json_number_value(json_object_get(pp, "low")) : 1.0;
        n.b = json_object_get(pp, "high") ? json_number_value(json_object_get(pp, "high")) : 99.8;
    } else if (strcmp(mode, "fixed") == 0) {
        n.mode = UNET_NORMALIZE_FIXED;
        n.a = json_number_value(json_object_get(pp, "mean"));
        n.b = json_number_value(json_object_get(pp, "std"));
    }
    return n;
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* Percentile with linear interpolation between order statistics (NumPy's default). */
static double percentile_sorted(const float *v, int64_t n, double q)
{
    double pos = q / 100.0 * (double)(n - 1);
    int64_t i = (int64_t)floor(pos);
    if (i >= n - 1)
        return v[n - 1];
    double t = pos - (double)i;
    return v[i] + t * ((double)v[i + 1] - v[i]);
}

/* Normalise one plane in place: x -> (x - shift) * scale. */
static int normalise_plane(float *x, int64_t count, const norm *n)
{
    double shift = 0, scale = 1;
    if (n->mode == UNET_NORMALIZE_ZMUV) {
        double sum = 0, sq = 0;
        for (int64_t i = 0; i < count; i++)
            sum += x[i];
        double mean = sum / (double)count;
        for (int64_t i = 0; i < count; i++)
            sq += (x[i] - mean) * (x[i] - mean);
        shift = mean;
        scale = 1.0 / (sqrt(sq / (double)count) + n->eps);
    } else if (n->mode == UNET_NORMALIZE_PERCENTILE) {
        float *sorted = unet__alloc_floats((size_t)count);
        if (!sorted)
            return unet__fail(UNET_E_NOMEM, "out of memory computing percentiles");
        memcpy(sorted, x, (size_t)count * sizeof *sorted);
        qsort(sorted, (size_t)count, sizeof *sorted, cmp_float);
        double lo = percentile_sorted(sorted, count, n->a);
        double hi = percentile_sorted(sorted, count, n->b);
        unet__free_aligned(sorted);
        shift = lo;
        scale = 1.0 / (hi - lo + 1e-20);
    } else if (n->mode == UNET_NORMALIZE_FIXED) {
        shift = n->a;
        scale = 1.0 / n->b;
    } else {
        return UNET_OK;
    }
    for (int64_t i = 0; i < count; i++)
        x[i] = (float)((x[i] - shift) * scale);
    return UNET_OK;
}

/* ---- canvas ---- */

/* Mirror an index into [0, n) without repeating the edge (NumPy's "reflect"), for any
 * distance outside. */
static int64_t reflect_index(int64_t i, int64_t n)
{
    if (n == 1)
        return 0;
    int64_t period = 2 * (n - 1);
    i %= period;
    if (i < 0)
        i += period;
    return i < n ? i : period - i;
}

typedef struct axis_plan {
    int64_t size;   /* image size */
    int64_t canvas; /* network input size */
    int64_t before; /* canvas offset of the image */
    int64_t crop;   /* offset of the image in the network output */
} axis_plan;

static int plan_axis(const unet_model_t *m, int border, int64_t size, axis_plan *ap)
{
    int64_t halo = unet_model_halo(m), b = m->block_multiple, in, out;
    ap->size = size;
    if (border == UNET_BORDER_NETWORK) {
        ap->before = 0;
        if (unet_model_fit_size(m, size, &in, &out) != UNET_OK)
            return UNET_E_SHAPE;
        ap->canvas = in;
        ap->crop = 0;
        return UNET_OK;
    }
    if (m->cfg.same_padding) {
        /* Context of at least the halo on each side, keeping the image on the block grid. */
        ap->before = (halo + b - 1) / b * b;
        if (unet_model_fit_size(m, ap->before + size + halo, &in, &out) != UNET_OK)
            return UNET_E_SHAPE;
        ap->canvas = in;
        ap->crop = ap->before;
        return UNET_OK;
    }
    /* Valid padding: the output is the canvas minus `halo` on each side. */
    ap->before = halo;
    if (unet_model_fit_size(m, size + 2 * halo, &in, &out) != UNET_OK)
        return UNET_E_SHAPE;
    ap->canvas = in;
    ap->crop = 0;
    return UNET_OK;
}

/* Convert element i of a typed buffer to float. */
static float load_element(const void *p, int dtype, int64_t i)
{
    switch (dtype) {
    case UNET_U8: return ((const uint8_t *)p)[i];
    case UNET_U16: return ((const uint16_t *)p)[i];
    case UNET_I16: return ((const int16_t *)p)[i];
    case UNET_U32: return (float)((const uint32_t *)p)[i];
    case UNET_F32: return ((const float *)p)[i];
    default: return (float)((const double *)p)[i];
    }
}

/* Fill one canvas plane from one image plane: normalised pixels, padded per the border mode. */
static void fill_canvas(float *canvas, const float *plane, const axis_plan *ay,
                        const axis_plan *ax, int border)
{
    for (int64_t y = 0; y < ay->canvas; y++) {
        int64_t sy = y - ay->before;
        bool outside_y = sy < 0 || sy >= ay->size;
        if (border == UNET_BORDER_ZERO && outside_y) {
            memset(canvas + y * ax->canvas, 0, (size_t)ax->canvas * sizeof(float));
            continue;
        }
        const float *row = plane + reflect_index(sy, ay->size) * ax->size;
        float *dst = canvas + y * ax->canvas;
        for (int64_t x = 0; x < ax->canvas; x++) {
            int64_t sx = x - ax->before;
            if (sx >= 0 && sx < ax->size)
                dst[x] = row[sx];
            else
                dst[x] = border == UNET_BORDER_ZERO ? 0.0f : row[reflect_index(sx, ax->size)];
        }
    }
}

static int check_input(const unet_model_t *m, const void *input, int dtype, int ndim,
                       const int64_t *shape, float *output, size_t output_count, int64_t *nchw)
{
    if (!m || !input || !shape || !output)
        return unet__fail(UNET_E_INVALID_ARG, "unet_predict: model, input, shape or output is "
                                              "NULL");
    if (dtype < UNET_U8 || dtype > UNET_F64)
        return unet__fail(UNET_E_INVALID_ARG, "element type %d is not one of UNET_U8..UNET_F64",
                          dtype);
    if (ndim < 2 || ndim > 4)
        return unet__fail(UNET_E_SHAPE, "input has %d dimensions; expected (H,W), (C,H,W) or "
                                        "(N,C,H,W)", ndim);
    nchw[0] = ndim == 4 ? shape[0] : 1;
    nchw[1] = ndim >= 3 ? shape[ndim - 3] : 1;
    nchw[2] = shape[ndim - 2];
    nchw[3] = shape[ndim - 1];
    for (int i = 0; i < ndim; i++)
        if (shape[i] < 1 || shape[i] > ((int64_t)1 << 31))
            return unet__fail(UNET_E_SHAPE, "input dimension %d has size %lld (must be 1 to "
                                            "2^31)", i, (long long)shape[i]);
    if (nchw[1] != m->cfg.in_channels)
        return unet__fail(UNET_E_SHAPE, "input has %lld channel%s; the model takes %d",
                          (long long)nchw[1], nchw[1] == 1 ? "" : "s", m->cfg.in_channels);
    int64_t out_dims[4] = {nchw[0], m->cfg.out_channels, nchw[2], nchw[3]}, count;
    if (!unet__product(out_dims, 4, INT64_MAX / 64, &count) ||
        !unet__product(nchw, 4, INT64_MAX / 64, &count))
        return unet__fail(UNET_E_NOMEM, "image too large");
    unet__product(out_dims, 4, INT64_MAX, &count);
    if ((int64_t)output_count != count)
        return unet__fail(UNET_E_SHAPE, "output buffer has %zu elements; %lld x %d x %lld x "
                                        "%lld needs %lld",
                          output_count, (long long)nchw[0], m->cfg.out_channels,
                          (long long)nchw[2], (long long)nchw[3], (long long)count);
    return UNET_OK;
}

UNET_API int unet_predict(const unet_model_t *m, const unet_predict_opts_t *opts,
                          const void *input, int dtype, int ndim, const int64_t *shape,
                          float *output, size_t output_count)
{
    unet__clear_error();
    int64_t nchw[4];
    int rc = check_input(m, input, dtype, ndim, shape, output, output_count, nchw);
    if (rc != UNET_OK)
        return rc;
    const struct unet_predict_opts *o = opts ? opts : &default_opts;
    int border = o->border;
    if (border == UNET_BORDER_DEFAULT)
        border = m->cfg.same_padding ? UNET_BORDER_NETWORK : UNET_BORDER_REFLECT;
    if (border == UNET_BORDER_NETWORK && !m->cfg.same_padding)
        return unet__fail(UNET_E_INVALID_ARG, "border mode 'network' needs a same-padding "
                                              "model; use 'reflect' or 'zero'");
    axis_plan ay, ax;
    if (plan_axis(m, border, nchw[2], &ay) != UNET_OK ||
        plan_axis(m, border, nchw[3], &ax) != UNET_OK)
        return unet__fail(UNET_E_SHAPE, "image %lld x %lld is too large for the network",
                          (long long)nchw[2], (long long)nchw[3]);
    norm nm = resolve_norm(m, o);

    int64_t n = nchw[0], c = nchw[1], hw = nchw[2] * nchw[3];
    int64_t plane_c = ay.canvas * ax.canvas, cout = m->cfg.out_channels;
    int64_t net_out[4], net_in[4] = {1, c, ay.canvas, ax.canvas};
    if ((rc = unet_model_output_shape(m, 4, net_in, net_out)) != UNET_OK)
        return rc;
    float *plane = unet__alloc_floats((size_t)hw);
    float *canvas = unet__alloc_floats((size_t)(c * plane_c));
    float *result = unet__alloc_floats((size_t)(cout * net_out[2] * net_out[3]));
    if (!plane || !canvas || !result) {
        rc = unet__fail(UNET_E_NOMEM, "out of memory for a %lld x %lld canvas",
                        (long long)ay.canvas, (long long)ax.canvas);
        goto done;
    }
    /* One image of the batch at a time bounds memory by one canvas. */
    for (int64_t s = 0; s < n && rc == UNET_OK; s++) {
        for (int64_t ch = 0; ch < c && rc == UNET_OK; ch++) {
            int64_t base = (s * c + ch) * hw;
            for (int64_t i = 0; i < hw; i++) {
                plane[i] = load_element(input, dtype, base + i);
                if (!isfinite(plane[i])) {
                    rc = unet__fail(UNET_E_INVALID_ARG, "input pixel (n %lld, c %lld, y %lld, "
                                                        "x %lld) is not finite",
                                    (long long)s, (long long)ch, (long long)(i / nchw[3]),
                                    (long long)(i % nchw[3]));
                    break;
                }
            }
            if (rc == UNET_OK)
                rc = normalise_plane(plane, hw, &nm);
            if (rc == UNET_OK)
                fill_canvas(canvas + ch * plane_c, plane, &ay, &ax, border);
        }
        if (rc == UNET_OK)
            rc = unet__exec_ref(&m->plan, canvas, 1, ay.canvas, ax.canvas, result,
                                unet__resolve_threads(o->threads));
        for (int64_t co = 0; co < cout && rc == UNET_OK; co++)
            for (int64_t y = 0; y < nchw[2]; y++)
                memcpy(output + ((s * cout + co) * nchw[2] + y) * nchw[3],
                       result + (co * net_out[2] + y + ay.crop) * net_out[3] + ax.crop,
                       (size_t)nchw[3] * sizeof(float));
    }
done:
    unet__free_aligned(plane);
    unet__free_aligned(canvas);
    unet__free_aligned(result);
    return rc;
}
