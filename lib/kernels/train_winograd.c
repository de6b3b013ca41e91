/* Winograd F(4x4, 3x3) convolutions of the training path (see train_winograd.h). */
#include "kernels/train_winograd.h"

#include <omp.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "core/status.h"
#include "kernels/dispatch.h"
#include "kernels/pack.h"
#include "kernels/ref_ops.h"

/* Transformed tiles per chunk: about 8 MB per transformed tensor (36 x tiles x channels), so a
 * chunk's products work from the cache. Depends on the shape only (results must not depend
 * on the thread count). */
#define CHUNK_FLOATS ((int64_t)1 << 21)

static inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
static inline int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

bool unet__tw_applies(int64_t cin, int64_t cout, int k, int pad, int64_t h, int64_t w)
{
    return k == 3 && pad >= 0 && pad <= 2 && cin > 0 && cout > 0 && cin % 16 == 0 &&
           cout % 16 == 0 && h + 2 * pad >= 3 && w + 2 * pad >= 3;
}

/* The tiling of one convolution. */
typedef struct geom {
    int64_t n, cin, cout, h, w, oh, ow;
    int pad;
    int64_t nty, ntx, tpi, tiles; /* tile rows, columns, tiles per image, in all */
    int64_t hp, wp;               /* padded input: every tile's 6 x 6 patch inside */
    int64_t chunk;                /* tiles per chunk */
    const unet__kernels *k;
} geom;

static geom make_geom(int64_t n, int64_t cin, int64_t cout, int64_t h, int64_t w, int pad)
{
    geom g = {.n = n, .cin = cin, .cout = cout, .h = h, .w = w, .pad = pad};
    g.oh = h + 2 * pad - 2;
    g.ow = w + 2 * pad - 2;
    g.nty = (g.oh + 3) / 4;
    g.ntx = (g.ow + 3) / 4;
    g.tpi = g.nty * g.ntx;
    g.tiles = n * g.tpi;
    g.hp = 4 * g.nty + 2;
    g.wp = 4 * g.ntx + 2;
    g.chunk = min64(g.tiles, max64(16, CHUNK_FLOATS / (36 * max64(cin, cout))));
    g.k = unet__kernels_get(unet__isa_default());
    if (!g.k) /* UNET_ISA=reference concerns inference; training keeps its fast path */
        g.k = unet__kernels_get(UNET__ISA_SCALAR);
    return g;
}

/* d[x * 16 + l] = s[l * stride + x] for 16 rows of w floats (4 x 4 transposes where SSE2 is,
 * the x86-64 baseline). */
static void interleave16(const float *s, int64_t stride, int64_t w, float *d)
{
    int64_t x = 0;
#if defined(__SSE2__)
    for (; x + 4 <= w; x += 4)
        for (int l = 0; l < 16; l += 4) {
            const float *p = s + l * stride + x;
            __m128 r0 = _mm_loadu_ps(p), r1 = _mm_loadu_ps(p + stride);
            __m128 r2 = _mm_loadu_ps(p + 2 * stride), r3 = _mm_loadu_ps(p + 3 * stride);
            _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
            _mm_storeu_ps(d + x * 16 + l, r0);
            _mm_storeu_ps(d + (x + 1) * 16 + l, r1);
            _mm_storeu_ps(d + (x + 2) * 16 + l, r2);
            _mm_storeu_ps(d + (x + 3) * 16 + l, r3);
        }
#endif
    for (; x < w; x++)
        for (int l = 0; l < 16; l++)
            d[x * 16 + l] = s[l * stride + x];
}

/* d[l * stride + x] += s[x * 16 + l]: the inverse of interleave16, added. */
static void deinterleave16_add(const float *s, int64_t w, float *d, int64_t stride)
{
    int64_t x = 0;
#if defined(__SSE2__)
    for (; x + 4 <= w; x += 4)
        for (int l = 0; l < 16; l += 4) {
            const float *p = s + x * 16 + l;
            __m128 r0 = _mm_loadu_ps(p), r1 = _mm_loadu_ps(p + 16);
            __m128 r2 = _mm_loadu_ps(p + 32), r3 = _mm_loadu_ps(p + 48);
            _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
            float *o = d + l * stride + x;
            _mm_storeu_ps(o, _mm_add_ps(_mm_loadu_ps(o), r0));
            _mm_storeu_ps(o + stride, _mm_add_ps(_mm_loadu_ps(o + stride), r1));
            _mm_storeu_ps(o + 2 * stride, _mm_add_ps(_mm_loadu_ps(o + 2 * stride), r2));
            _mm_storeu_ps(o + 3 * stride, _mm_add_ps(_mm_loadu_ps(o + 3 * stride), r3));
        }
#endif
    for (; x < w; x++)
        for (int l = 0; l < 16; l++)
            d[l * stride + x] += s[x * 16 + l];
}

/* dst [n][c/16][dh][dw][16] = src [n][c][sh][sw] placed at (off, off), zero elsewhere. One
 * destination row per iteration (it stays in the first-level cache while 16 source rows are
 * read through). */
static void to_blocked(const float *src, int64_t n, int64_t c, int64_t sh, int64_t sw,
                       int64_t off, int64_t dh, int64_t dw, float *dst)
{
    const int64_t rows = n * (c / 16) * dh;
#pragma omp for schedule(static)
    for (int64_t r = 0; r < rows; r++) {
        const int64_t yy = r % dh, bc = r / dh; /* bc = b * (c / 16) + cb */
        float *d = dst + r * dw * 16;
        const int64_t y = yy - off;
        if (y < 0 || y >= sh) {
            memset(d, 0, (size_t)(dw * 16) * sizeof(float));
            continue;
        }
        const int64_t x0 = off, x1 = off + sw; /* [x0, x1): data */
        memset(d, 0, (size_t)(x0 * 16) * sizeof(float));
        memset(d + x1 * 16, 0, (size_t)((dw - x1) * 16) * sizeof(float));
        const float *s = src + (bc * 16 * sh + y) * sw; /* channel l's row at s + l sh sw */
        interleave16(s, sh * sw, sw, d + x0 * 16);
    }
}

/* U [36][cin][cout] = G g G^T of every kernel. */
static void weight_transform(const geom *g, const float *weight, float *u)
{
#pragma omp for schedule(static)
    for (int64_t co = 0; co < g->cout; co++)
        for (int64_t ci = 0; ci < g->cin; ci++) {
            double t[36];
            unet__wino_weight_tf(weight + (co * g->cin + ci) * 9, t);
            for (int e = 0; e < 36; e++)
                u[(e * g->cin + ci) * g->cout + co] = (float)t[e];
        }
}

/* Tile t's image, row and column. */
static void tile_pos(const geom *g, int64_t t, int64_t *b, int64_t *ty, int64_t *tx)
{
    *b = t / g->tpi;
    *ty = (t % g->tpi) / g->ntx;
    *tx = t % g->ntx;
}

/* V [36][tc][cin] = B^T d B of the chunk's input patches (xb blocked and padded). */
static void input_transform(const geom *g, const float *xb, int64_t t0, int64_t tc, float *v)
{
    const int64_t cib = g->cin / 16, rs = g->wp * 16;
#pragma omp for schedule(static)
    for (int64_t t = t0; t < t0 + tc; t++) {
        int64_t b, ty, tx;
        tile_pos(g, t, &b, &ty, &tx);
        for (int64_t cb = 0; cb < cib; cb++)
            g->k->wino_in(xb + ((b * cib + cb) * g->hp + 4 * ty) * rs + 4 * tx * 16, rs,
                          v + (t - t0) * g->cin + cb * 16, tc * g->cin);
    }
}

/* D [36][tc][cout] = A dY A^T of the chunk's output-gradient patches (dyb blocked, zero past
 * the output). */
static void grad_transform(const geom *g, const float *dyb, int64_t t0, int64_t tc, float *d)
{
    const int64_t cob = g->cout / 16, rs = 4 * g->ntx * 16;
#pragma omp for schedule(static)
    for (int64_t t = t0; t < t0 + tc; t++) {
        int64_t b, ty, tx;
        tile_pos(g, t, &b, &ty, &tx);
        for (int64_t cb = 0; cb < cob; cb++)
            g->k->wino_dy(dyb + ((b * cob + cb) * 4 * g->nty + 4 * ty) * rs + 4 * tx * 16, rs,
                          d + (t - t0) * g->cout + cb * 16, tc * g->cout);
    }
}

/* out (NCHW) = A^T m A + bias for the chunk's tiles, m [36][tc][cout]. */
static void output_transform(const geom *g, const float *m, const float *bias, int64_t t0,
                             int64_t tc, float *out)
{
    const int64_t cob = g->cout / 16, plane = g->oh * g->ow;
#pragma omp for schedule(static)
    for (int64_t t = t0; t < t0 + tc; t++) {
        int64_t b, ty, tx;
        tile_pos(g, t, &b, &ty, &tx);
        const int r1 = (int)min64(4, g->oh - 4 * ty), c1 = (int)min64(4, g->ow - 4 * tx);
        for (int64_t cb = 0; cb < cob; cb++) {
            float tile[4 * 4 * 16]; /* [row][column][channel] */
            g->k->wino_out(m + (t - t0) * g->cout + cb * 16, tc * g->cout,
                           bias ? bias + cb * 16 : NULL, UNET__ACT_NONE, tile, 64, 0, r1, 0,
                           c1);
            float *o = out + (b * g->cout + cb * 16) * plane + 4 * ty * g->ow + 4 * tx;
            for (int l = 0; l < 16; l++)
                for (int r = 0; r < r1; r++)
                    for (int c = 0; c < c1; c++)
                        o[l * plane + r * g->ow + c] = tile[(r * 4 + c) * 16 + l];
        }
    }
}

/* The scratch of one call, carved from one block. */
typedef struct area {
    float *p;
    size_t used;
} area;

static float *take(area *a, size_t floats)
{
    float *r = a->p ? a->p + a->used : NULL;
    a->used += (floats + 15) / 16 * 16; /* keep every part 64-byte aligned */
    return r;
}

int unet__tw_conv_fwd(const float *in, int64_t n, int64_t cin, int64_t h, int64_t w,
                      const float *weight, const float *bias, int64_t cout, int pad, float *out,
                      unet__scratch *s, int threads)
{
    const geom g = make_geom(n, cin, cout, h, w, pad);
    const int nthr = threads < 1 ? 1 : threads;
    const size_t packs = unet__sgemm_pack_floats(1);
    float *xb, *u, *v, *m, *pk;
    for (int pass = 0; pass < 2; pass++) { /* pass 0 sizes, pass 1 carves */
        area a = {pass ? unet__scratch_get(s, 0) : NULL, 0};
        xb = take(&a, (size_t)(n * cin * g.hp * g.wp));
        u = take(&a, (size_t)(36 * cin * cout));
        v = take(&a, (size_t)(36 * g.chunk * cin));
        m = take(&a, (size_t)(36 * g.chunk * cout));
        pk = take(&a, packs * (size_t)nthr);
        if (!pass && !unet__scratch_get(s, a.used))
            return unet__fail(UNET_E_NOMEM, "out of memory for convolution scratch");
    }
#pragma omp parallel num_threads(nthr)
    {
        float *mine = pk + packs * (size_t)omp_get_thread_num();
        to_blocked(in, n, cin, h, w, pad, g.hp, g.wp, xb);
        weight_transform(&g, weight, u);
        for (int64_t t0 = 0; t0 < g.tiles; t0 += g.chunk) {
            const int64_t tc = min64(g.chunk, g.tiles - t0);
            input_transform(&g, xb, t0, tc, v);
#pragma omp for schedule(static)
            for (int e = 0; e < 36; e++)
                unet__sgemm_serial(0, 0, tc, cout, cin, v + e * tc * cin, cin,
                                   u + e * cin * cout, cout, 0, m + e * tc * cout, cout, mine);
            output_transform(&g, m, bias, t0, tc, out);
        }
    }
    return UNET_OK;
}

/* dx (NCHW) += the interior of dxb (blocked, padded). */
static void add_from_blocked(const geom *g, const float *dxb, float *dx)
{
    const int64_t rows = g->n * (g->cin / 16) * g->h;
#pragma omp for schedule(static)
    for (int64_t r = 0; r < rows; r++) {
        const int64_t y = r % g->h, bc = r / g->h;
        const float *s = dxb + ((bc * g->hp + y + g->pad) * g->wp + g->pad) * 16;
        deinterleave16_add(s, g->w, dx + (bc * 16 * g->h + y) * g->w, g->h * g->w);
    }
}

/* dxb += B m B^T of the chunk's tiles, m [36][tc][cin]: one thread per image and channel
 * block, its tiles in raster order (neighbouring patches overlap). */
static void input_grad_transform(const geom *g, const float *m, int64_t t0, int64_t tc,
                                 float *dxb)
{
    const int64_t cib = g->cin / 16, rs = g->wp * 16;
    const int64_t b0 = t0 / g->tpi, b1 = (t0 + tc - 1) / g->tpi;
#pragma omp for schedule(static)
    for (int64_t q = 0; q < (b1 - b0 + 1) * cib; q++) {
        const int64_t b = b0 + q / cib, cb = q % cib;
        const int64_t lo = max64(t0, b * g->tpi), hi = min64(t0 + tc, (b + 1) * g->tpi);
        float *base = dxb + (b * cib + cb) * g->hp * rs;
        for (int64_t t = lo; t < hi; t++) {
            const int64_t ty = (t % g->tpi) / g->ntx, tx = t % g->ntx;
            g->k->wino_dx(m + (t - t0) * g->cin + cb * 16, tc * g->cin,
                          base + 4 * ty * rs + 4 * tx * 16, rs);
        }
    }
}

/* dw [cout][cin][3][3] = G^T M G, M [36][cin][cout]. */
static void weight_grad_transform(const geom *g, const float *mw, float *dw)
{
#pragma omp for schedule(static)
    for (int64_t co = 0; co < g->cout; co++)
        for (int64_t ci = 0; ci < g->cin; ci++) {
            double m[36];
            for (int e = 0; e < 36; e++)
                m[e] = mw[(e * g->cin + ci) * g->cout + co];
            unet__wino_weight_grad_tf(m, dw + (co * g->cin + ci) * 9);
        }
}

int unet__tw_conv_bwd(const float *x, const float *dy, int64_t n, int64_t cin, int64_t h,
                      int64_t w, const float *weight, int64_t cout, int pad, float *dx,
                      float *dw, unet__scratch *s, int threads)
{
    if (!dx && !dw)
        return UNET_OK;
    const geom g = make_geom(n, cin, cout, h, w, pad);
    const int nthr = threads < 1 ? 1 : threads;
    const size_t packs = unet__sgemm_pack_floats(1);
    const int64_t dyh = 4 * g.nty, dyw = 4 * g.ntx;
    float *xb = NULL, *dyb, *dxb = NULL, *u = NULL, *mw = NULL, *v = NULL, *d, *dv = NULL, *pk;
    for (int pass = 0; pass < 2; pass++) {
        area a = {pass ? unet__scratch_get(s, 0) : NULL, 0};
        dyb = take(&a, (size_t)(n * cout * dyh * dyw));
        d = take(&a, (size_t)(36 * g.chunk * cout));
        if (dw) {
            xb = take(&a, (size_t)(n * cin * g.hp * g.wp));
            mw = take(&a, (size_t)(36 * cin * cout));
            v = take(&a, (size_t)(36 * g.chunk * cin));
        }
        if (dx) {
            dxb = take(&a, (size_t)(n * cin * g.hp * g.wp));
            u = take(&a, (size_t)(36 * cin * cout));
            dv = take(&a, (size_t)(36 * g.chunk * cin));
        }
        pk = take(&a, packs * (size_t)nthr);
        if (!pass && !unet__scratch_get(s, a.used))
            return unet__fail(UNET_E_NOMEM, "out of memory for convolution scratch");
    }
#pragma omp parallel num_threads(nthr)
    {
        float *mine = pk + packs * (size_t)omp_get_thread_num();
        to_blocked(dy, n, cout, g.oh, g.ow, 0, dyh, dyw, dyb);
        if (dw) {
            to_blocked(x, n, cin, h, w, pad, g.hp, g.wp, xb);
#pragma omp for schedule(static)
            for (int64_t i = 0; i < 36 * cin * cout; i++)
                mw[i] = 0.0f;
        }
        if (dx) {
            weight_transform(&g, weight, u);
#pragma omp for schedule(static)
            for (int64_t i = 0; i < n * cin * g.hp * g.wp; i++)
                dxb[i] = 0.0f;
        }
        for (int64_t t0 = 0; t0 < g.tiles; t0 += g.chunk) {
            const int64_t tc = min64(g.chunk, g.tiles - t0);
            grad_transform(&g, dyb, t0, tc, d);
            if (dw)
                input_transform(&g, xb, t0, tc, v);
#pragma omp for schedule(static)
            for (int e = 0; e < 36; e++) {
                const float *de = d + e * tc * cout;
                if (dx) /* dV = D U^T: U [cin][cout] read transposed */
                    unet__sgemm_serial(0, 1, tc, cin, cout, de, cout, u + e * cin * cout, cout,
                                       0, dv + e * tc * cin, cin, mine);
                if (dw) /* M += V^T D, in chunk order */
                    unet__sgemm_serial(1, 0, cin, cout, tc, v + e * tc * cin, cin, de, cout, 1,
                                       mw + e * cin * cout, cout, mine);
            }
            if (dx)
                input_grad_transform(&g, dv, t0, tc, dxb);
        }
        if (dx)
            add_from_blocked(&g, dxb, dx);
        if (dw)
            weight_grad_transform(&g, mw, dw);
    }
    return UNET_OK;
}
