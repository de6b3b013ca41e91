/*
 * Weight packing for the fast kernels, done once when a plan is built. A convolution's input
 * may be a list of segments (a zero-copy concatenation): segment s has segc[s] channels in
 * ceil(segc[s] / lanes) blocks, the blocks of all segments numbered in order; weights of
 * padding lanes and padding output channels are zero.
 */
#ifndef UNET_KERNELS_PACK_H
#define UNET_KERNELS_PACK_H

#include <stddef.h>

/* Total input blocks of the segments. */
int unet__pack_nblk(int nseg, const int *segc, int lanes);

/* Direct convolution: w [cout][cin][k][k] into [ceil(cout/16)][nblk][k][k][lanes][16]
 * (unet__pack_conv_len floats). */
size_t unet__pack_conv_len(int cout, int nblk, int k, int lanes);
void unet__pack_conv(const float *w, int cout, int cin, int k, int nseg, const int *segc,
                     int lanes, float *dst);

/* Transposed convolution f x f stride f: w [cin][cout][f][f] into
 * [f][f][ceil(cout/16)][nblk][16][16] (unet__pack_convt_len floats), input lanes 16. */
size_t unet__pack_convt_len(int cout, int nblk, int f);
void unet__pack_convt(const float *w, int cout, int cin, int f, int nseg, const int *segc,
                      float *dst);

/* Winograd F(4x4, 3x3): w [cout][cin][3][3] into U = G g G^T as
 * [36][ceil(cout/16)][nblk][16][16] (unet__pack_wino_len floats), input lanes 16; the 36
 * positions are numbered 6 * row + column. Computed in double. */
size_t unet__pack_wino_len(int cout, int nblk);
/* u = G g G^T for one 3x3 kernel g (row-major): the 6 x 6 result, row-major. */
void unet__wino_weight_tf(const float *g, double *u);
/* Its adjoint: g = G^T m G for a 6 x 6 m (row-major), the 3 x 3 result row-major (a weight
 * gradient from the transformed domain). */
void unet__wino_weight_grad_tf(const double *m, float *g);
void unet__pack_wino(const float *w, int cout, int cin, int nseg, const int *segc, float *dst);

/* Bias padded to ceil(cout/16) * 16 (bias NULL: zeros). */
void unet__pack_bias(const float *bias, int cout, float *dst);

#endif
