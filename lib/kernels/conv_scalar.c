/*
 * Portable C row convolution (see dispatch.h): tiles of 4 pixels x 16 output channels held
 * in local arrays, inner loops over the 16 lanes written for auto-vectorisation. The fallback
 * for CPUs without AVX2, and a second opinion in tests.
 */
#include "kernels/dispatch.h"
#include "kernels/ref_ops.h"

#define TP 4

static void tile(const unet__rowconv *a, int64_t x, int cob, int n)
{
    float acc[TP][16];
    for (int j = 0; j < n; j++)
        for (int c = 0; c < 16; c++)
            acc[j][c] = a->bias ? a->bias[cob * 16 + c] : 0.0f;
    const float *wp = a->w + cob * a->w_cob;
    const int lanes = a->lanes;
    for (int b = 0; b < a->nblk; b++) {
        const float *ib = a->in[b] + x * lanes;
        for (int ky = 0; ky < a->kh; ky++) {
            const float *ir = ib + ky * a->rs[b];
            for (int kx = 0; kx < a->kw; kx++) {
                const float *ip = ir + kx * lanes;
                for (int l = 0; l < lanes; l++, wp += 16)
                    for (int j = 0; j < n; j++) {
                        const float s = ip[j * lanes + l];
                        for (int c = 0; c < 16; c++)
                            acc[j][c] += s * wp[c];
                    }
            }
        }
    }
    for (int j = 0; j < n; j++) {
        float *o = a->out + cob * a->out_cob + (x + j) * a->out_ps;
        for (int c = 0; c < 16; c++) {
            float r = acc[j][c];
            if (a->act == UNET__ACT_RELU)
                r = r < 0.0f ? 0.0f : r;
            else if (a->act == UNET__ACT_LEAKY_RELU)
                r = r < 0.0f ? r * 0.01f : r;
            o[c] = r;
        }
    }
}

void unet__rowconv_scalar(const unet__rowconv *a)
{
    for (int cob = 0; cob < a->ncob; cob++)
        for (int64_t x = 0; x < a->npix; x += TP)
            tile(a, x, cob, a->npix - x < TP ? (int)(a->npix - x) : TP);
}
