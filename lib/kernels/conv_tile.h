/*
 * The register-tiled row convolution (unet__rowconv, see dispatch.h), written once over a
 * small vector vocabulary and included by each ISA's file (conv_avx2.c, conv_avx512.c), which
 * defines before including:
 *   vf                      the vector type, VW floats wide (8 or 16)
 *   VLOAD(p) VSTORE(p, v)   unaligned load / store
 *   VBCAST(p)               broadcast the float at p
 *   VFMA(a, b, c)           a * b + c (fused)
 *   VZERO() VSET1(x) VMAX(a, b) VMUL(a, b)
 *   TILE_PIX                output pixels per register tile
 *   TILE_COB                output blocks (of 16 channels) per register tile (1 or 2)
 *   ROWCONV_NAME            the exported function's name
 * A register tile holds TILE_PIX x TILE_COB x 16 accumulators and sums over every input
 * block, tap and lane before it stores once, with bias and activation fused.
 */
#include "kernels/dispatch.h"
#include "kernels/ref_ops.h"

#define NV (16 / VW) /* vectors per 16-channel block */

#define INLINE static inline __attribute__((always_inline))

/* N pixels x NC output blocks, input lanes LN (16 blocked, 1 planar), K1 (1x1 kernel): all
 * compile-time. */
INLINE void tile(const unet__rowconv *a, int64_t x, int cob, const int N, const int NC,
                 const int LN, const int K1)
{
    vf acc[TILE_PIX][TILE_COB * NV];
#pragma GCC unroll 32
    for (int c = 0; c < NC * NV; c++) {
        const vf b = a->bias ? VLOAD(a->bias + cob * 16 + c * VW) : VZERO();
#pragma GCC unroll 32
        for (int j = 0; j < N; j++)
            acc[j][c] = b;
    }
    const float *wp = a->w + cob * a->w_cob;
    const int64_t w_next = a->w_cob;
    const int nblk = a->nblk, kh = K1 ? 1 : a->kh, kw = K1 ? 1 : a->kw;
    for (int b = 0; b < nblk; b++) {
        const float *ib = a->in[b] + x * LN;
        const int64_t rs = a->rs[b];
        for (int ky = 0; ky < kh; ky++) {
            const float *ir = ib + ky * rs;
            for (int kx = 0; kx < kw; kx++) {
                const float *ip = ir + kx * LN;
                /* One base register for the broadcasts: without this barrier GCC keeps a
                 * strength-reduced pointer per (pixel, lane), spilling them and an
                 * accumulator to the stack. */
                __asm__("" : "+r"(ip));
#pragma GCC unroll 16
                for (int l = 0; l < LN; l++) {
                    vf wv[TILE_COB * NV];
#pragma GCC unroll 8
                    for (int c = 0; c < NC; c++)
#pragma GCC unroll 8
                        for (int v = 0; v < NV; v++)
                            wv[c * NV + v] = VLOAD(wp + c * w_next + v * VW);
                    wp += 16;
#pragma GCC unroll 32
                    for (int j = 0; j < N; j++) {
                        const vf s = VBCAST(ip + j * LN + l);
#pragma GCC unroll 8
                        for (int c = 0; c < NC * NV; c++)
                            acc[j][c] = VFMA(s, wv[c], acc[j][c]);
                    }
                }
            }
        }
    }
    const int act = a->act;
    const vf zero = VZERO(), slope = VSET1(0.01f);
#pragma GCC unroll 32
    for (int j = 0; j < N; j++) {
        float *o = a->out + cob * a->out_cob + (x + j) * a->out_ps;
#pragma GCC unroll 8
        for (int c = 0; c < NC; c++)
#pragma GCC unroll 8
            for (int v = 0; v < NV; v++) {
                vf r = acc[j][c * NV + v];
                if (act == UNET__ACT_RELU)
                    r = VMAX(r, zero);
                else if (act == UNET__ACT_LEAKY_RELU)
                    r = VMAX(r, VMUL(r, slope));
                VSTORE(o + c * a->out_cob + v * VW, r);
            }
    }
}

typedef void (*tile_fn)(const unet__rowconv *a, int64_t x, int cob);

/* Tails: fewer than TILE_PIX pixels, one call per tile. */
#define TILE_FNS(N)                                                                            \
    static void t16_##N(const unet__rowconv *a, int64_t x, int cob)                            \
    {                                                                                          \
        tile(a, x, cob, N, 1, 16, 0);                                                          \
    }                                                                                          \
    static void t1_##N(const unet__rowconv *a, int64_t x, int cob)                             \
    {                                                                                          \
        tile(a, x, cob, N, 1, 1, 0);                                                           \
    }                                                                                          \
    TILE_FNS_WIDE(N)

#if TILE_COB > 1
#define TILE_FNS_WIDE(N)                                                                       \
    static void t16w_##N(const unet__rowconv *a, int64_t x, int cob)                           \
    {                                                                                          \
        tile(a, x, cob, N, TILE_COB, 16, 0);                                                   \
    }                                                                                          \
    static void t1w_##N(const unet__rowconv *a, int64_t x, int cob)                            \
    {                                                                                          \
        tile(a, x, cob, N, TILE_COB, 1, 0);                                                    \
    }
#else
#define TILE_FNS_WIDE(N)
#endif

/* Tails are split into powers of two (each pixel's sums do not depend on the split), which
 * keeps the number of unrolled variants, and the compile time, small. */
TILE_FNS(1)
TILE_FNS(2)
TILE_FNS(4)
#if TILE_PIX > 8
TILE_FNS(8)
#define FN_LIST(p) {p##1, p##2, p##4, p##8}
#else
#define FN_LIST(p) {p##1, p##2, p##4, NULL} /* tails < 6: never 8 */
#endif

/* The tail of `n` < TILE_PIX pixels from x, as tiles of 8, 4, 2, 1 pixels. */
static void tail_tiles(const tile_fn *fns, const unet__rowconv *a, int64_t x, int64_t n,
                       int cob)
{
    for (int k = 3; k >= 0; k--) /* n < TILE_PIX <= 12 */
        if (n >> k & 1) {
            fns[k](a, x, cob);
            x += (int64_t)1 << k;
        }
}

/* Full tiles along [0, nfull * TILE_PIX) for output block (pair) cob: one call per row, the
 * x loop inside, so the kernel's setup is paid once. */
#define ROW_FN(name, NC, LN, K1)                                                               \
    static void name(const unet__rowconv *a, int64_t nfull, int cob)                          \
    {                                                                                          \
        for (int64_t i = 0; i < nfull; i++)                                                    \
            tile(a, i * TILE_PIX, cob, TILE_PIX, NC, LN, K1);                                  \
    }
ROW_FN(row16, 1, 16, 0)
ROW_FN(row1, 1, 1, 0)
ROW_FN(row16_k1, 1, 16, 1)
#if TILE_COB > 1
ROW_FN(row16w, TILE_COB, 16, 0)
ROW_FN(row1w, TILE_COB, 1, 0)
ROW_FN(row16w_k1, TILE_COB, 16, 1)
#endif

typedef void (*row_fn)(const unet__rowconv *a, int64_t nfull, int cob);

void ROWCONV_NAME(const unet__rowconv *a)
{
    static const tile_fn narrow16[] = FN_LIST(t16_), narrow1[] = FN_LIST(t1_);
    const int k1 = a->kh == 1 && a->kw == 1 && a->lanes == 16;
    const tile_fn *narrow = a->lanes == 1 ? narrow1 : narrow16;
    const row_fn row = a->lanes == 1 ? row1 : k1 ? row16_k1 : row16;
    const int64_t nfull = a->npix / TILE_PIX, tail = a->npix % TILE_PIX;
    int cob = 0;
    /* Whole-row sweeps per output block (pair): its weights stay in cache across the row. */
#if TILE_COB > 1
    static const tile_fn wide16[] = FN_LIST(t16w_), wide1[] = FN_LIST(t1w_);
    const tile_fn *wide = a->lanes == 1 ? wide1 : wide16;
    const row_fn roww = a->lanes == 1 ? row1w : k1 ? row16w_k1 : row16w;
    for (; cob + TILE_COB <= a->ncob; cob += TILE_COB) {
        roww(a, nfull, cob);
        tail_tiles(wide, a, nfull * TILE_PIX, tail, cob);
    }
#endif
    for (; cob < a->ncob; cob++) {
        row(a, nfull, cob);
        tail_tiles(narrow, a, nfull * TILE_PIX, tail, cob);
    }
}
