/*
 * Direct convolution row kernel for AVX-512F: register tiles of 12 pixels x 32 output
 * channels (24 zmm accumulators), see conv_tile.h. Compiled with -mavx512f only.
 *
 * With UNET__AVX512_EMULATE defined (test builds only) the same source is compiled for AVX2
 * with each 512-bit vector emulated by two 256-bit halves, so that the tiling logic of this
 * path is tested on machines without AVX-512.
 */
#include <immintrin.h>

#ifndef UNET__AVX512_EMULATE
typedef __m512 vf;
#define VLOAD(p) _mm512_loadu_ps(p)
#define VSTORE(p, v) _mm512_storeu_ps((p), (v))
#define VBCAST(p) _mm512_set1_ps(*(p))
#define VFMA(a, b, c) _mm512_fmadd_ps((a), (b), (c))
#define VZERO() _mm512_setzero_ps()
#define VSET1(x) _mm512_set1_ps(x)
#define VMAX(a, b) _mm512_max_ps((a), (b))
#define VMUL(a, b) _mm512_mul_ps((a), (b))
#define ROWCONV_NAME unet__rowconv_avx512
#else
typedef struct {
    __m256 lo, hi;
} vf;
static inline vf vf_make(__m256 lo, __m256 hi)
{
    vf r = {lo, hi};
    return r;
}
#define VLOAD(p) vf_make(_mm256_loadu_ps(p), _mm256_loadu_ps((p) + 8))
#define VSTORE(p, v) (_mm256_storeu_ps((p), (v).lo), _mm256_storeu_ps((p) + 8, (v).hi))
#define VBCAST(p) vf_make(_mm256_broadcast_ss(p), _mm256_broadcast_ss(p))
#define VFMA(a, b, c)                                                                          \
    vf_make(_mm256_fmadd_ps((a).lo, (b).lo, (c).lo), _mm256_fmadd_ps((a).hi, (b).hi, (c).hi))
#define VZERO() vf_make(_mm256_setzero_ps(), _mm256_setzero_ps())
#define VSET1(x) vf_make(_mm256_set1_ps(x), _mm256_set1_ps(x))
#define VMAX(a, b) vf_make(_mm256_max_ps((a).lo, (b).lo), _mm256_max_ps((a).hi, (b).hi))
#define VMUL(a, b) vf_make(_mm256_mul_ps((a).lo, (b).lo), _mm256_mul_ps((a).hi, (b).hi))
#define ROWCONV_NAME unet__rowconv_avx512emu
#endif
#define VW 16
#define TILE_PIX 12
#define TILE_COB 2

#include "kernels/conv_tile.h"
