/* Packed SGEMM (see train_gemm.h). */
#include "kernels/train_gemm.h"

#include <omp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/status.h"

/* The AVX2 micro-kernel, unless the build asked for the portable kernels only. */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && \
    !defined(UNET_PORTABLE_KERNELS)
#include <immintrin.h>
#define HAVE_X86 1
#else
#define HAVE_X86 0
#endif

#define MR 6
#define NR 16
#define KC 256
#define MC 96  /* rows of C per task (a multiple of MR) */
#define NC 512 /* columns of C per task (a multiple of NR) */

static inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

/* Micro-kernels: c[0..MR)[0..NR) (=|+=) sum_k A(i, k) * bp[k][j], with A(i, k) at
 * ap[i * a_row + k * a_step]: a packed panel (a_row 1, a_step MR) or MR rows of A read in
 * place (a_row lda, a_step 1), which saves packing an operand that is only broadcast. */
typedef void (*kernel_fn)(int64_t kc, const float *ap, int64_t a_row, int64_t a_step,
                          const float *bp, float *c, int64_t ldc, int load);

static void kernel_c(int64_t kc, const float *ap, int64_t a_row, int64_t a_step,
                     const float *bp, float *c, int64_t ldc, int load)
{
    float acc[MR][NR];
    for (int i = 0; i < MR; i++)
        for (int j = 0; j < NR; j++)
            acc[i][j] = load ? c[i * ldc + j] : 0.0f;
    for (int64_t k = 0; k < kc; k++) {
        for (int i = 0; i < MR; i++) {
            const float a = ap[i * a_row + k * a_step];
            for (int j = 0; j < NR; j++)
                acc[i][j] += a * bp[k * NR + j];
        }
    }
    for (int i = 0; i < MR; i++)
        for (int j = 0; j < NR; j++)
            c[i * ldc + j] = acc[i][j];
}

#if HAVE_X86
__attribute__((target("avx2,fma"))) static void kernel_avx2(int64_t kc, const float *ap,
                                                            int64_t a_row, int64_t a_step,
                                                            const float *bp, float *c,
                                                            int64_t ldc, int load)
{
    const int64_t o1 = a_row, o2 = 2 * a_row, o3 = 3 * a_row, o4 = 4 * a_row, o5 = 5 * a_row;
    __m256 c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51;
    if (load) {
        c00 = _mm256_loadu_ps(c + 0 * ldc), c01 = _mm256_loadu_ps(c + 0 * ldc + 8);
        c10 = _mm256_loadu_ps(c + 1 * ldc), c11 = _mm256_loadu_ps(c + 1 * ldc + 8);
        c20 = _mm256_loadu_ps(c + 2 * ldc), c21 = _mm256_loadu_ps(c + 2 * ldc + 8);
        c30 = _mm256_loadu_ps(c + 3 * ldc), c31 = _mm256_loadu_ps(c + 3 * ldc + 8);
        c40 = _mm256_loadu_ps(c + 4 * ldc), c41 = _mm256_loadu_ps(c + 4 * ldc + 8);
        c50 = _mm256_loadu_ps(c + 5 * ldc), c51 = _mm256_loadu_ps(c + 5 * ldc + 8);
    } else {
        c00 = c01 = c10 = c11 = c20 = c21 = _mm256_setzero_ps();
        c30 = c31 = c40 = c41 = c50 = c51 = _mm256_setzero_ps();
    }
    for (int64_t k = 0; k < kc; k++) {
        const __m256 b0 = _mm256_loadu_ps(bp), b1 = _mm256_loadu_ps(bp + 8);
        __m256 a = _mm256_broadcast_ss(ap);
        c00 = _mm256_fmadd_ps(a, b0, c00), c01 = _mm256_fmadd_ps(a, b1, c01);
        a = _mm256_broadcast_ss(ap + o1);
        c10 = _mm256_fmadd_ps(a, b0, c10), c11 = _mm256_fmadd_ps(a, b1, c11);
        a = _mm256_broadcast_ss(ap + o2);
        c20 = _mm256_fmadd_ps(a, b0, c20), c21 = _mm256_fmadd_ps(a, b1, c21);
        a = _mm256_broadcast_ss(ap + o3);
        c30 = _mm256_fmadd_ps(a, b0, c30), c31 = _mm256_fmadd_ps(a, b1, c31);
        a = _mm256_broadcast_ss(ap + o4);
        c40 = _mm256_fmadd_ps(a, b0, c40), c41 = _mm256_fmadd_ps(a, b1, c41);
        a = _mm256_broadcast_ss(ap + o5);
        c50 = _mm256_fmadd_ps(a, b0, c50), c51 = _mm256_fmadd_ps(a, b1, c51);
        ap += a_step;
        bp += NR;
    }
    _mm256_storeu_ps(c + 0 * ldc, c00), _mm256_storeu_ps(c + 0 * ldc + 8, c01);
    _mm256_storeu_ps(c + 1 * ldc, c10), _mm256_storeu_ps(c + 1 * ldc + 8, c11);
    _mm256_storeu_ps(c + 2 * ldc, c20), _mm256_storeu_ps(c + 2 * ldc + 8, c21);
    _mm256_storeu_ps(c + 3 * ldc, c30), _mm256_storeu_ps(c + 3 * ldc + 8, c31);
    _mm256_storeu_ps(c + 4 * ldc, c40), _mm256_storeu_ps(c + 4 * ldc + 8, c41);
    _mm256_storeu_ps(c + 5 * ldc, c50), _mm256_storeu_ps(c + 5 * ldc + 8, c51);
}
#endif

/* Chosen once; the CPU does not change under a running process. */
static kernel_fn pick_kernel(void)
{
#if HAVE_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return kernel_avx2;
#endif
    return kernel_c;
}

/* Pack rows [i0, i0+mc) x depth [k0, k0+kc) of A as [mc/MR][kc][MR], zero-padded. */
static void pack_a(int trans, const float *a, int64_t lda, int64_t i0, int64_t mc, int64_t k0,
                   int64_t kc, float *dst)
{
    for (int64_t ir = 0; ir < mc; ir += MR) {
        const int64_t rows = min64(MR, mc - ir);
        float *d = dst + (ir / MR) * kc * MR;
        if (rows < MR)
            memset(d, 0, (size_t)(kc * MR) * sizeof(float));
        if (trans) { /* the MR values of one depth are adjacent */
            const float *src = a + k0 * lda + i0 + ir;
            for (int64_t k = 0; k < kc; k++)
                for (int64_t i = 0; i < rows; i++)
                    d[k * MR + i] = src[k * lda + i];
        } else if (rows == MR) { /* MR rows read side by side */
            const float *r0 = a + (i0 + ir) * lda + k0;
            for (int64_t k = 0; k < kc; k++)
                for (int64_t i = 0; i < MR; i++)
                    d[k * MR + i] = r0[i * lda + k];
        } else {
            for (int64_t i = 0; i < rows; i++) {
                const float *r = a + (i0 + ir + i) * lda + k0;
                for (int64_t k = 0; k < kc; k++)
                    d[k * MR + i] = r[k];
            }
        }
    }
}

/* Pack depth [k0, k0+kc) x columns [j0, j0+nc) of B as [nc/NR][kc][NR], zero-padded. Rows
 * of an untransposed B are read whole (sequential reads; the panels are written as streams). */
static void pack_b(int trans, const float *b, int64_t ldb, int64_t k0, int64_t kc, int64_t j0,
                   int64_t nc, float *dst)
{
    if (!trans) {
        for (int64_t k = 0; k < kc; k++) {
            const float *src = b + (k0 + k) * ldb + j0;
            for (int64_t jr = 0; jr < nc; jr += NR) {
                float *dk = dst + (jr / NR) * kc * NR + k * NR;
                const int64_t cols = min64(NR, nc - jr);
                if (cols == NR) {
                    memcpy(dk, src + jr, NR * sizeof(float)); /* constant size: inlined */
                } else {
                    for (int64_t j = 0; j < NR; j++)
                        dk[j] = j < cols ? src[jr + j] : 0.0f;
                }
            }
        }
        return;
    }
    /* Transposed: column j of the panel is row j of the stored matrix, read sequentially. */
    for (int64_t jr = 0; jr < nc; jr += NR) {
        const int64_t cols = min64(NR, nc - jr);
        float *d = dst + (jr / NR) * kc * NR;
        for (int64_t j = 0; j < NR; j++) {
            if (j >= cols) {
                for (int64_t k = 0; k < kc; k++)
                    d[k * NR + j] = 0.0f;
                continue;
            }
            const float *src = b + (j0 + jr + j) * ldb + k0;
            for (int64_t k = 0; k < kc; k++)
                d[k * NR + j] = src[k];
        }
    }
}

/* C block (ldc) of mc x nc (=|+=) the product of A and the packed B panel over depth kc.
 * A is the packed panel ap, or with `in_place` rows of A at a (row stride lda; ap then holds
 * only a partial last row group, packed). */
static void macro_kernel(kernel_fn kern, const float *ap, bool in_place, const float *a,
                         int64_t lda, const float *bp, int64_t mc, int64_t nc, int64_t kc,
                         int load, float *c, int64_t ldc)
{
    float edge[MR * NR];
    for (int64_t jr = 0; jr < nc; jr += NR) {
        const int64_t cols = min64(NR, nc - jr);
        for (int64_t ir = 0; ir < mc; ir += MR) {
            const int64_t rows = min64(MR, mc - ir);
            float *ct = c + ir * ldc + jr;
            const float *pb = bp + (jr / NR) * kc * NR;
            const bool rows_in_place = in_place && rows == MR;
            const float *pa = rows_in_place ? a + ir * lda
                              : in_place    ? ap
                                            : ap + (ir / MR) * kc * MR;
            const int64_t a_row = rows_in_place ? lda : 1, a_step = rows_in_place ? 1 : MR;
            if (rows == MR && cols == NR) {
                kern(kc, pa, a_row, a_step, pb, ct, ldc, load);
                continue;
            }
            for (int64_t i = 0; i < MR; i++)
                for (int64_t j = 0; j < NR; j++)
                    edge[i * NR + j] = load && i < rows && j < cols ? ct[i * ldc + j] : 0.0f;
            kern(kc, pa, a_row, a_step, pb, edge, NR, 1);
            for (int64_t i = 0; i < rows; i++)
                for (int64_t j = 0; j < cols; j++)
                    ct[i * ldc + j] = edge[i * NR + j];
        }
    }
}

/* C block [i0, i0+mc) x [j0, j0+nc) (ldc) = (load ? C : 0) + A B over depth [k0, k1). */
static void block(kernel_fn kern, int trans_a, int trans_b, const float *a, int64_t lda,
                  const float *b, int64_t ldb, int64_t i0, int64_t mc, int64_t j0, int64_t nc,
                  int64_t k0, int64_t k1, int beta, float *c, int64_t ldc, float *ap, float *bp)
{
    for (int64_t kb = k0; kb < k1; kb += KC) {
        const int64_t kc = min64(KC, k1 - kb);
        pack_a(trans_a, a, lda, i0, mc, kb, kc, ap);
        pack_b(trans_b, b, ldb, kb, kc, j0, nc, bp);
        macro_kernel(kern, ap, false, NULL, 0, bp, mc, nc, kc, beta || kb > k0, c, ldc);
    }
}

void unet__sgemm_serial(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
                        const float *a, int64_t lda, const float *b, int64_t ldb, int beta,
                        float *c, int64_t ldc, float *packs)
{
    if (m <= 0 || n <= 0)
        return;
    if (k <= 0) {
        if (!beta)
            for (int64_t i = 0; i < m; i++)
                memset(c + i * ldc, 0, (size_t)n * sizeof(float));
        return;
    }
    const kernel_fn kern = pick_kernel();
    float *ap = packs, *bp = packs + (size_t)MC * KC;
    /* Each B panel is packed once and used by every row block (B is the large operand). */
    for (int64_t j0 = 0; j0 < n; j0 += NC) {
        const int64_t nc = min64(NC, n - j0);
        for (int64_t k0 = 0; k0 < k; k0 += KC) {
            const int64_t kc = min64(KC, k - k0);
            pack_b(trans_b, b, ldb, k0, kc, j0, nc, bp);
            for (int64_t i0 = 0; i0 < m; i0 += MC) {
                const int64_t mc = min64(MC, m - i0);
                /* An untransposed A is read in place, but for a partial last row group */
                if (trans_a)
                    pack_a(trans_a, a, lda, i0, mc, k0, kc, ap);
                else if (mc % MR)
                    pack_a(0, a, lda, i0 + mc / MR * MR, mc % MR, k0, kc, ap);
                macro_kernel(kern, ap, !trans_a, a + i0 * lda + k0, lda, bp, mc, nc, kc,
                             beta || k0 > 0, c + i0 * ldc + j0, ldc);
            }
        }
    }
}

int unet__sgemm(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, const float *a,
                int64_t lda, const float *b, int64_t ldb, int beta, float *c, int64_t ldc,
                float *packs, int threads)
{
    if (m <= 0 || n <= 0)
        return UNET_OK;
    if (k <= 0) {
        if (!beta)
            for (int64_t i = 0; i < m; i++)
                memset(c + i * ldc, 0, (size_t)n * sizeof(float));
        return UNET_OK;
    }
    const kernel_fn kern = pick_kernel();
    const int64_t mt = (m + MC - 1) / MC, nt = (n + NC - 1) / NC;
    /* A small C with a long depth (weight gradients: depth = pixels) is also split over the
     * depth into partial products summed in a fixed order; the split depends on the shape
     * only, never on the thread count, so results do not either. */
    int64_t chunks = 1, span = k;
    if (mt * nt < 8 && k >= 4 * KC) {
        chunks = 8 / (mt * nt);
        span = ((k + chunks - 1) / chunks + KC - 1) / KC * KC;
        chunks = (k + span - 1) / span;
    }
    const int64_t tasks = mt * nt * chunks;
    const int nthr = threads < 1 ? 1 : (int64_t)threads > tasks ? (int)tasks : threads;
    const size_t per_thread = (size_t)MC * KC + (size_t)NC * KC;
    const bool own = packs == NULL;
    if (own)
        packs = unet__alloc_floats(per_thread * (size_t)nthr);
    float *partial = chunks > 1 ? unet__alloc_floats((size_t)(chunks * m * n)) : NULL;
    if (!packs || (chunks > 1 && !partial)) {
        if (own)
            unet__free_aligned(packs);
        unet__free_aligned(partial);
        return unet__fail(UNET_E_NOMEM, "out of memory for matrix-product buffers");
    }
#pragma omp parallel num_threads(nthr)
    {
        float *ap = packs + per_thread * (size_t)omp_get_thread_num();
        float *bp = ap + (size_t)MC * KC;
#pragma omp for schedule(static)
        for (int64_t t = 0; t < tasks; t++) {
            const int64_t ch = t / (mt * nt), blk = t % (mt * nt);
            const int64_t i0 = (blk / nt) * MC, j0 = (blk % nt) * NC;
            const int64_t mc = min64(MC, m - i0), nc = min64(NC, n - j0);
            const int64_t k0 = ch * span, k1 = min64(k, k0 + span);
            if (chunks == 1)
                block(kern, trans_a, trans_b, a, lda, b, ldb, i0, mc, j0, nc, 0, k, beta,
                      c + i0 * ldc + j0, ldc, ap, bp);
            else
                block(kern, trans_a, trans_b, a, lda, b, ldb, i0, mc, j0, nc, k0, k1, 0,
                      partial + ch * m * n + i0 * n + j0, n, ap, bp);
        }
        if (chunks > 1) {
#pragma omp for schedule(static)
            for (int64_t i = 0; i < m; i++)
                for (int64_t j = 0; j < n; j++) {
                    float v = beta ? c[i * ldc + j] : 0.0f;
                    for (int64_t q = 0; q < chunks; q++)
                        v += partial[(q * m + i) * n + j];
                    c[i * ldc + j] = v;
                }
        }
    }
    if (own)
        unet__free_aligned(packs);
    unet__free_aligned(partial);
    return UNET_OK;
}

size_t unet__sgemm_pack_floats(int threads)
{
    return ((size_t)MC * KC + (size_t)NC * KC) * (size_t)(threads < 1 ? 1 : threads);
}

float *unet__scratch_get(unet__scratch *s, size_t floats)
{
    if (floats <= s->cap)
        return s->p;
    unet__free_aligned(s->p);
    s->p = unet__alloc_floats(floats);
    s->cap = s->p ? floats : 0;
    return s->p;
}

void unet__scratch_free(unet__scratch *s)
{
    unet__free_aligned(s->p);
    s->p = NULL;
    s->cap = 0;
}
