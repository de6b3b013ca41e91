/*
 * Direct convolution row kernel for AVX2 + FMA: register tiles of 6 pixels x 16 output
 * channels (12 ymm accumulators), see conv_tile.h. Compiled with -mavx2 -mfma only.
 */
#include <immintrin.h>

typedef __m256 vf;
#define VW 8
#define VLOAD(p) _mm256_loadu_ps(p)
#define VSTORE(p, v) _mm256_storeu_ps((p), (v))
#define VBCAST(p) _mm256_broadcast_ss(p)
#define VFMA(a, b, c) _mm256_fmadd_ps((a), (b), (c))
#define VZERO() _mm256_setzero_ps()
#define VSET1(x) _mm256_set1_ps(x)
#define VMAX(a, b) _mm256_max_ps((a), (b))
#define VMUL(a, b) _mm256_mul_ps((a), (b))
#define TILE_PIX 6
#define TILE_COB 1
#define ROWCONV_NAME unet__rowconv_avx2

#include "kernels/conv_tile.h"
