/*
 * Winograd F(4x4, 3x3) tile transforms on one 16-channel block (see dispatch.h), written once
 * with GCC/Clang vector extensions and included by each ISA's file (winograd_scalar.c,
 * winograd_avx2.c, winograd_avx512.c), which defines WINO_IN_NAME, WINO_OUT_NAME and WVW, the
 * native vector width in floats (4 SSE, 8 AVX2, 16 AVX-512; wider vector types than the ISA
 * has compile very badly); a 16-channel block is done in 16 / WVW passes.
 *
 * Lavin & Gray's matrices for the points 0, 1, -1, 2, -2, inf:
 *   B^T = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0; 0 -2 -1 2 1 0; 0 2 -1 -2 1 0;
 *          0 4 0 -5 0 1]
 *   A^T = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1]
 * (G for the weights is in pack.c.)
 */
#include "kernels/dispatch.h"
#include "kernels/ref_ops.h"

typedef float v16 __attribute__((vector_size(WVW * 4), aligned(4), may_alias));
typedef int v16i __attribute__((vector_size(WVW * 4), aligned(4), may_alias));

#define LD(p) (*(const v16 *)(p))
#define ST(p, v) (*(v16 *)(p) = (v))
/* Six vectors to d, d + s, ..., d + 5 s. */
#define ST6(d, s, u0, u1, u2, u3, u4, u5)                                                      \
    do {                                                                                       \
        float *d_ = (d);                                                                       \
        ST(d_, u0);                                                                            \
        ST(d_ + (s), u1);                                                                      \
        ST(d_ + 2 * (s), u2);                                                                  \
        ST(d_ + 3 * (s), u3);                                                                  \
        ST(d_ + 4 * (s), u4);                                                                  \
        ST(d_ + 5 * (s), u5);                                                                  \
    } while (0)

/* B^T applied to six vectors (a column or a row of the patch). */
#define BT6(d0, d1, d2, d3, d4, d5, t0, t1, t2, t3, t4, t5)                                     \
    do {                                                                                       \
        const v16 p_ = (d4) - 4.0f * (d2), q_ = (d3) - 4.0f * (d1);                            \
        const v16 r_ = (d4) - (d2), s_ = 2.0f * ((d3) - (d1));                                 \
        t0 = 4.0f * (d0) - 5.0f * (d2) + (d4);                                                 \
        t1 = p_ + q_;                                                                          \
        t2 = p_ - q_;                                                                          \
        t3 = r_ + s_;                                                                          \
        t4 = r_ - s_;                                                                          \
        t5 = 4.0f * (d1) - 5.0f * (d3) + (d5);                                                 \
    } while (0)

/* A^T applied to six vectors. */
#define AT6(m0, m1, m2, m3, m4, m5, o0, o1, o2, o3)                                            \
    do {                                                                                       \
        const v16 a_ = (m1) + (m2), b_ = (m1) - (m2), c_ = (m3) + (m4), d_ = (m3) - (m4);      \
        o0 = (m0) + a_ + c_;                                                                   \
        o1 = b_ + 2.0f * d_;                                                                   \
        o2 = a_ + 4.0f * c_;                                                                   \
        o3 = b_ + 8.0f * d_ + (m5);                                                            \
    } while (0)

void WINO_IN_NAME(const float *src, int64_t rs, float *dst, int64_t ds)
{
    for (int pass = 0; pass < 16 / WVW; pass++, src += WVW, dst += WVW) {
        v16 t[6][6]; /* t[i][col] = (B^T d)[i][col] */
#pragma GCC unroll 6
        for (int c = 0; c < 6; c++) {
            const float *p = src + c * 16;
            BT6(LD(p), LD(p + rs), LD(p + 2 * rs), LD(p + 3 * rs), LD(p + 4 * rs),
                LD(p + 5 * rs), t[0][c], t[1][c], t[2][c], t[3][c], t[4][c], t[5][c]);
        }
#pragma GCC unroll 6
        for (int i = 0; i < 6; i++) {
            v16 u0, u1, u2, u3, u4, u5;
            BT6(t[i][0], t[i][1], t[i][2], t[i][3], t[i][4], t[i][5], u0, u1, u2, u3, u4, u5);
            ST6(dst + 6 * i * ds, ds, u0, u1, u2, u3, u4, u5);
        }
    }
}

static inline v16 act_vec(v16 v, int act)
{
    if (act == UNET__ACT_RELU) {
        const v16i keep = v > 0.0f;
        v = (v16)((v16i)v & keep);
    } else if (act == UNET__ACT_LEAKY_RELU) {
        const v16i neg = v < 0.0f;
        v = (v16)(((v16i)(v * 0.01f) & neg) | ((v16i)v & ~neg));
    }
    return v;
}

void WINO_OUT_NAME(const float *src, int64_t ss, const float *bias, int act, float *dst,
                   int64_t rs, int r0, int r1, int c0, int c1)
{
    const int full = r0 == 0 && r1 == 4 && c0 == 0 && c1 == 4;
    for (int pass = 0; pass < 16 / WVW; pass++, src += WVW, dst += WVW) {
        v16 t[4][6]; /* t[r][col] = (A^T m)[r][col] */
        const int64_t s6 = 6 * ss;
#pragma GCC unroll 6
        for (int c = 0; c < 6; c++) {
            const float *p = src + c * ss;
            AT6(LD(p), LD(p + s6), LD(p + 2 * s6), LD(p + 3 * s6), LD(p + 4 * s6),
                LD(p + 5 * s6), t[0][c], t[1][c], t[2][c], t[3][c]);
        }
        const v16 b = bias ? LD(bias + pass * WVW) : (v16){0};
        if (full) {
#pragma GCC unroll 4
            for (int r = 0; r < 4; r++) {
                v16 o0, o1, o2, o3;
                AT6(t[r][0], t[r][1], t[r][2], t[r][3], t[r][4], t[r][5], o0, o1, o2, o3);
                float *d = dst + r * rs;
                ST(d, act_vec(o0 + b, act));
                ST(d + 16, act_vec(o1 + b, act));
                ST(d + 32, act_vec(o2 + b, act));
                ST(d + 48, act_vec(o3 + b, act));
            }
        } else {
            for (int r = r0; r < r1; r++) {
                v16 o[4];
                AT6(t[r][0], t[r][1], t[r][2], t[r][3], t[r][4], t[r][5], o[0], o[1], o[2], o[3]);
                for (int k = c0; k < c1; k++)
                    ST(dst + (r - r0) * rs + (k - c0) * 16, act_vec(o[k] + b, act));
            }
        }
    }
}

/* The training pass's transposed transforms (the adjoints of the two above; see
 * kernels/train_winograd.c). A applied to four vectors: u = A g for a column or row g of an
 * output-gradient patch, A = (A^T)^T. */
#define A4(g0, g1, g2, g3, u0, u1, u2, u3, u4, u5)                                             \
    do {                                                                                       \
        const v16 e_ = (g0) + (g2), o_ = (g1) + (g3);                                          \
        const v16 e2_ = (g0) + 4.0f * (g2), o2_ = 2.0f * (g1) + 8.0f * (g3);                   \
        u0 = (g0);                                                                             \
        u1 = e_ + o_;                                                                          \
        u2 = e_ - o_;                                                                          \
        u3 = e2_ + o2_;                                                                        \
        u4 = e2_ - o2_;                                                                        \
        u5 = (g3);                                                                             \
    } while (0)

/* B applied to six vectors, B = (B^T)^T. */
#define B6(v0, v1, v2, v3, v4, v5, o0, o1, o2, o3, o4, o5)                                     \
    do {                                                                                       \
        const v16 s12_ = (v1) + (v2), d12_ = (v1) - (v2);                                      \
        const v16 s34_ = (v3) + (v4), d34_ = (v3) - (v4);                                      \
        o0 = 4.0f * (v0);                                                                      \
        o1 = -4.0f * d12_ - 2.0f * d34_ + 4.0f * (v5);                                         \
        o2 = -5.0f * (v0) - 4.0f * s12_ - s34_;                                                \
        o3 = d12_ + 2.0f * d34_ - 5.0f * (v5);                                                 \
        o4 = (v0) + s12_ + s34_;                                                               \
        o5 = (v5);                                                                             \
    } while (0)

void WINO_DY_NAME(const float *src, int64_t rs, float *dst, int64_t ds)
{
    for (int pass = 0; pass < 16 / WVW; pass++, src += WVW, dst += WVW) {
        v16 t[6][4]; /* t[i][col] = (A g)[i][col] */
#pragma GCC unroll 4
        for (int c = 0; c < 4; c++) {
            const float *p = src + c * 16;
            A4(LD(p), LD(p + rs), LD(p + 2 * rs), LD(p + 3 * rs), t[0][c], t[1][c], t[2][c],
               t[3][c], t[4][c], t[5][c]);
        }
#pragma GCC unroll 6
        for (int i = 0; i < 6; i++) {
            v16 u0, u1, u2, u3, u4, u5;
            A4(t[i][0], t[i][1], t[i][2], t[i][3], u0, u1, u2, u3, u4, u5);
            ST6(dst + 6 * i * ds, ds, u0, u1, u2, u3, u4, u5);
        }
    }
}

void WINO_DX_NAME(const float *src, int64_t ss, float *dst, int64_t rs)
{
    for (int pass = 0; pass < 16 / WVW; pass++, src += WVW, dst += WVW) {
        v16 t[6][6]; /* t[k][col] = (B m)[k][col] */
        const int64_t s6 = 6 * ss;
#pragma GCC unroll 6
        for (int c = 0; c < 6; c++) {
            const float *p = src + c * ss;
            B6(LD(p), LD(p + s6), LD(p + 2 * s6), LD(p + 3 * s6), LD(p + 4 * s6),
               LD(p + 5 * s6), t[0][c], t[1][c], t[2][c], t[3][c], t[4][c], t[5][c]);
        }
#pragma GCC unroll 6
        for (int k = 0; k < 6; k++) {
            v16 o0, o1, o2, o3, o4, o5;
            B6(t[k][0], t[k][1], t[k][2], t[k][3], t[k][4], t[k][5], o0, o1, o2, o3, o4, o5);
            float *d = dst + k * rs;
            ST(d, LD(d) + o0);
            ST(d + 16, LD(d + 16) + o1);
            ST(d + 32, LD(d + 32) + o2);
            ST(d + 48, LD(d + 48) + o3);
            ST(d + 64, LD(d + 64) + o4);
            ST(d + 80, LD(d + 80) + o5);
        }
    }
}
