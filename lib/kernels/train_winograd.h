/*
 * 3x3 convolutions of the training path by Winograd F(4x4, 3x3), forward and backward, on
 * NCHW tensors (same contracts as the unet__tc_ convolutions of train_gemm.h).
 *
 * All three passes work in the transformed domain, with the same 6 x 6 tiles:
 *   forward       Y  = A^T [ U (.) V ] A                 U = G g G^T, V = B^T d B
 *   input grad    dd = B [ U (.) D ] B^T, summed over the overlapping tiles
 *   weight grad   dg = G^T [ sum over tiles of D (.) V ] G    D = A dY A^T
 * where (.) is the per-element product summed over channels: 36 matrix products per pass
 * (unet__sgemm_serial, one per element, shared among the threads), which is 4x fewer
 * multiplications than the direct convolution. The tile transforms are the fast engine's
 * (kernels/dispatch.h, on 16-channel blocks), so channel counts must be multiples of 16.
 *
 * Results do not depend on the thread count: every product runs on one thread in a fixed
 * order, the tiles are cut in fixed chunks and overlapping input-gradient tiles are added by
 * one thread per channel block in raster order.
 */
#ifndef UNET_KERNELS_TRAIN_WINOGRAD_H
#define UNET_KERNELS_TRAIN_WINOGRAD_H

#include <stdbool.h>
#include <stdint.h>

#include "kernels/train_gemm.h"

/* Whether a k x k convolution with `pad` zero padding of cin -> cout channels on h x w
 * images is done here. */
bool unet__tw_applies(int64_t cin, int64_t cout, int k, int pad, int64_t h, int64_t w);

/* out [n][cout][oh][ow] = conv(in [n][cin][h][w], weight [cout][cin][3][3]) + bias (NULL:
 * none), oh = h + 2 pad - 2. UNET_OK or UNET_E_NOMEM. */
int unet__tw_conv_fwd(const float *in, int64_t n, int64_t cin, int64_t h, int64_t w,
                      const float *weight, const float *bias, int64_t cout, int pad, float *out,
                      unet__scratch *s, int threads);

/* From dy [n][cout][oh][ow]: dx += the input gradient (dx NULL: not wanted) and dw = the
 * weight gradient [cout][cin][3][3] (dw NULL: not wanted) of the convolution of x. */
int unet__tw_conv_bwd(const float *x, const float *dy, int64_t n, int64_t cin, int64_t h,
                      int64_t w, const float *weight, int64_t cout, int pad, float *dx,
                      float *dw, unet__scratch *s, int threads);

#endif
