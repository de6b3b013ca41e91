/* Weight packing for the fast kernels (see pack.h). */
#include "kernels/pack.h"

#include <string.h>

static int cdiv(int a, int b) { return (a + b - 1) / b; }

int unet__pack_nblk(int nseg, const int *segc, int lanes)
{
    int n = 0;
    for (int s = 0; s < nseg; s++)
        n += cdiv(segc[s], lanes);
    return n;
}

/* The real input channel of (block b, lane l), or -1 for a padding lane. */
static int channel_of(int nseg, const int *segc, int lanes, int b, int l)
{
    int coff = 0;
    for (int s = 0; s < nseg; s++) {
        int nb = cdiv(segc[s], lanes);
        if (b < nb) {
            int c = b * lanes + l;
            return c < segc[s] ? coff + c : -1;
        }
        b -= nb;
        coff += segc[s];
    }
    return -1;
}

/* Block (cob, b) of a packed weight: lanes x 16 floats at dst, lane l of input block b by
 * output channel cob * 16 + j, from w[co * co_stride + ci * ci_stride] (0 for padding lanes and
 * output channels past cout). Returns the end of the block. */
static float *pack_block(const float *w, size_t co_stride, size_t ci_stride, int cout, int nseg,
                         const int *segc, int lanes, int cob, int b, float *dst)
{
    for (int l = 0; l < lanes; l++) {
        const int ci = channel_of(nseg, segc, lanes, b, l);
        for (int j = 0; j < 16; j++) {
            const int co = cob * 16 + j;
            *dst++ = ci >= 0 && co < cout ? w[(size_t)co * co_stride + (size_t)ci * ci_stride]
                                          : 0.0f;
        }
    }
    return dst;
}

size_t unet__pack_conv_len(int cout, int nblk, int k, int lanes)
{
    return (size_t)cdiv(cout, 16) * (size_t)nblk * (size_t)(k * k) * (size_t)lanes * 16;
}

void unet__pack_conv(const float *w, int cout, int cin, int k, int nseg, const int *segc,
                     int lanes, float *dst)
{
    const int nblk = unet__pack_nblk(nseg, segc, lanes), ncob = cdiv(cout, 16);
    const size_t kk = (size_t)k * k;
    for (int cob = 0; cob < ncob; cob++)
        for (int b = 0; b < nblk; b++)
            for (size_t t = 0; t < kk; t++)
                dst = pack_block(w + t, (size_t)cin * kk, kk, cout, nseg, segc, lanes, cob, b,
                                 dst);
}

size_t unet__pack_convt_len(int cout, int nblk, int f)
{
    return (size_t)(f * f) * (size_t)cdiv(cout, 16) * (size_t)nblk * 256;
}

void unet__pack_convt(const float *w, int cout, int cin, int f, int nseg, const int *segc,
                      float *dst)
{
    const int nblk = unet__pack_nblk(nseg, segc, 16), ncob = cdiv(cout, 16);
    const size_t ff = (size_t)f * f;
    (void)cin; /* [cin][cout][f][f]: the input channel is the outer index */
    for (size_t t = 0; t < ff; t++)
        for (int cob = 0; cob < ncob; cob++)
            for (int b = 0; b < nblk; b++)
                dst = pack_block(w + t, ff, (size_t)cout * ff, cout, nseg, segc, 16, cob, b,
                                 dst);
}

size_t unet__pack_wino_len(int cout, int nblk)
{
    return 36 * (size_t)cdiv(cout, 16) * (size_t)nblk * 256;
}

/* Lavin & Gray's G for F(4x4, 3x3) (points 0, 1, -1, 2, -2, inf). */
static const double G[6][3] = {{1.0 / 4, 0, 0},
                               {-1.0 / 6, -1.0 / 6, -1.0 / 6},
                               {-1.0 / 6, 1.0 / 6, -1.0 / 6},
                               {1.0 / 24, 1.0 / 12, 1.0 / 6},
                               {1.0 / 24, -1.0 / 12, 1.0 / 6},
                               {0, 0, 1}};

void unet__wino_weight_grad_tf(const double *m, float *g)
{
    double t[3][6];
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 6; j++)
            t[i][j] = G[0][i] * m[j] + G[1][i] * m[6 + j] + G[2][i] * m[12 + j] +
                      G[3][i] * m[18 + j] + G[4][i] * m[24 + j] + G[5][i] * m[30 + j];
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            g[i * 3 + j] = (float)(t[i][0] * G[0][j] + t[i][1] * G[1][j] + t[i][2] * G[2][j] +
                                   t[i][3] * G[3][j] + t[i][4] * G[4][j] + t[i][5] * G[5][j]);
}

void unet__wino_weight_tf(const float *g, double *u)
{
    double t[6][3];
    for (int i = 0; i < 6; i++)
        for (int j = 0; j < 3; j++)
            t[i][j] = G[i][0] * g[0 * 3 + j] + G[i][1] * g[1 * 3 + j] + G[i][2] * g[2 * 3 + j];
    for (int i = 0; i < 6; i++)
        for (int j = 0; j < 6; j++)
            u[i * 6 + j] = t[i][0] * G[j][0] + t[i][1] * G[j][1] + t[i][2] * G[j][2];
}

void unet__pack_wino(const float *w, int cout, int cin, int nseg, const int *segc, float *dst)
{
    const int nblk = unet__pack_nblk(nseg, segc, 16), ncob = cdiv(cout, 16);
    const size_t per_xi = (size_t)ncob * nblk * 256;
    memset(dst, 0, 36 * per_xi * sizeof(float));
    for (int cob = 0; cob < ncob; cob++)
        for (int b = 0; b < nblk; b++)
            for (int l = 0; l < 16; l++) {
                const int ci = channel_of(nseg, segc, 16, b, l);
                for (int j = 0; j < 16; j++) {
                    const int co = cob * 16 + j;
                    if (ci < 0 || co >= cout)
                        continue;
                    double u[36];
                    unet__wino_weight_tf(w + ((size_t)co * cin + ci) * 9, u);
                    for (int xi = 0; xi < 36; xi++)
                        dst[xi * per_xi + (((size_t)cob * nblk + b) * 16 + l) * 16 + j] =
                            (float)u[xi];
                }
            }
}

void unet__pack_bias(const float *bias, int cout, float *dst)
{
    const int n = cdiv(cout, 16) * 16;
    for (int i = 0; i < n; i++)
        dst[i] = bias && i < cout ? bias[i] : 0.0f;
}
