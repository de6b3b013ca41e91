/*
 * Channel-blocked activations and the portable kernels that work on them.
 *
 * Layout: an image of C channels is stored as ceil(C/16) blocks, each block a plane of
 * (H + 2P) x (W + 2P) pixels of 16 floats (channel c at block c/16, lane c%16), 64-byte
 * aligned, with a zero border of P pixels around the interior and zero padding lanes past C.
 * So "same" convolutions read the border instead of testing bounds, and a concatenation is
 * just two lists of blocks. The network input may also be "planar" (lanes = 1: one channel per
 * block, pixel stride 1), which the first convolution reads without a 16x waste.
 *
 * A unet__btensor is a view: data points at interior pixel (0, 0) of block 0 of image 0, and
 * strides give everything else, so a centre crop is a view with an offset pointer.
 *
 * The functions below are "task" functions: each does a range [t0, t1) of independent tasks
 * (rows or planes) and contains no OpenMP, so the executor distributes tasks over its threads.
 * They never fail. Padding lanes (channels past C) stay zero on output.
 */
#ifndef UNET_KERNELS_BLOCKED_H
#define UNET_KERNELS_BLOCKED_H

#include <stdint.h>

#include "kernels/ref_ops.h"

#define UNET__BLK 16

typedef struct unet__btensor {
    float *data;     /* interior pixel (0, 0) of block 0 of image 0 */
    int64_t nstride; /* floats between images of the batch */
    int64_t bstride; /* floats between channel blocks */
    int64_t rstride; /* floats between rows */
    int64_t h, w;    /* interior size */
    int c;           /* real channels */
    int nblk;        /* blocks: ceil(c / lanes) */
    int lanes;       /* 16 (blocked) or 1 (planar) */
    int border;      /* zero pixels around the interior that may be read (0 for views) */
} unet__btensor;

/* Pointer to pixel (y, x) (may be in the border) of block b of image n. */
static inline float *unet__bt_at(const unet__btensor *t, int64_t n, int64_t b, int64_t y,
                                 int64_t x)
{
    return t->data + n * t->nstride + b * t->bstride + y * t->rstride + x * t->lanes;
}

/* Zero the border ring (t->border pixels wide) of planes [p0, p1), plane = n * nblk + b. */
void unet__blk_zero_border(const unet__btensor *t, int64_t p0, int64_t p1);

/* NCHW float32 input (c = t->c channels, t->h x t->w) into t, rows [r0, r1) with
 * row = (n * nblk + b) * h + y; writes padding lanes as zero. */
void unet__blk_pack(const float *src, const unet__btensor *t, int64_t r0, int64_t r1);
/* t into NCHW float32 dst with `dst_c` channels starting at channel dst_c0, rows as above. */
void unet__blk_unpack(const unet__btensor *t, float *dst, int64_t dst_c, int64_t dst_c0,
                      int64_t r0, int64_t r1);
/* The same for columns [x0, x1) of those rows only. */
void unet__blk_unpack_cols(const unet__btensor *t, float *dst, int64_t dst_c, int64_t dst_c0,
                           int64_t r0, int64_t r1, int64_t x0, int64_t x1);
/* Copy src into dst (same c, h, w, lanes 16), rows as above (of dst). */
void unet__blk_copy(const unet__btensor *src, const unet__btensor *dst, int64_t r0, int64_t r1);

/* Pooling f x f, stride f (floor mode), output rows [r0, r1) of out (row = (n*nblk+b)*oh+y). */
void unet__blk_maxpool(const unet__btensor *in, const unet__btensor *out, int f, int64_t r0,
                       int64_t r1);
void unet__blk_avgpool(const unet__btensor *in, const unet__btensor *out, int f, int64_t r0,
                       int64_t r1);
/* Upsampling by f, output rows [r0, r1) (nearest; bilinear with half-pixel centres). */
void unet__blk_up_nearest(const unet__btensor *in, const unet__btensor *out, int f, int64_t r0,
                          int64_t r1);
void unet__blk_up_bilinear(const unet__btensor *in, const unet__btensor *out, int f,
                           int64_t r0, int64_t r1);

/* out = act(in * scale[c] + shift[c]) on rows [r0, r1) (row = (n*nblk+b)*h+y); scale NULL
 * means 1 and shift NULL means 0. scale/shift may depend on the image: stride `ss` floats per
 * image (0 when shared). in and out may be the same tensor. */
void unet__blk_affine_act(const unet__btensor *in, const unet__btensor *out, const float *scale,
                          const float *shift, int64_t ss, unet__act act, int64_t r0,
                          int64_t r1);

/* Group-norm statistics for tasks [t0, t1), task = n * groups + g: mean and 1/sqrt(var + eps)
 * into stats[2 * task], stats[2 * task + 1] (double accumulation, two passes). */
void unet__blk_group_stats(const unet__btensor *in, int groups, double eps, double *stats,
                           int64_t t0, int64_t t1);
/* Per-image scale/shift [n][nblk * 16] from group stats and the affine parameters (weight,
 * bias may be NULL); padding lanes get 0. */
void unet__blk_group_coeffs(const unet__btensor *in, int groups, const double *stats,
                            const float *weight, const float *bias, float *scale, float *shift,
                            int64_t n);

/* Softmax over channels in place, rows [r0, r1) with row = n * h + y. */
void unet__blk_softmax(const unet__btensor *t, int64_t r0, int64_t r1);

#endif
