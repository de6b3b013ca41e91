/*
 * CPU detection and the choice of kernel set, done once per process (pthread_once), plus the
 * per-thread floating-point environment (flush-to-zero / denormals-are-zero).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/dispatch.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define UNET__X86 1
#endif

/* The ISA files are built as separate static libraries (their own compiler flags). Weak
 * references let a build that compiles only the portable sources (for example the fuzz
 * targets) still link: a missing kernel set then counts as unsupported. */
#if defined(__GNUC__) && defined(__ELF__)
#pragma weak unet__rowconv_avx2
#pragma weak unet__wino_in_avx2
#pragma weak unet__wino_out_avx2
#pragma weak unet__wino_dy_avx2
#pragma weak unet__wino_dx_avx2
#pragma weak unet__rowconv_avx512
#pragma weak unet__wino_in_avx512
#pragma weak unet__wino_out_avx512
#pragma weak unet__wino_dy_avx512
#pragma weak unet__wino_dx_avx512
#endif

static int detected_best = UNET__ISA_SCALAR;
static int chosen = UNET__ISA_SCALAR;
static int supported[UNET__ISA_COUNT];
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void detect(void)
{
    supported[UNET__ISA_REFERENCE] = supported[UNET__ISA_SCALAR] = 1;
#ifdef UNET__X86
    __builtin_cpu_init();
    supported[UNET__ISA_AVX2] = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
                                unet__rowconv_avx2 && unet__wino_in_avx2 && unet__wino_out_avx2 &&
        unet__wino_dy_avx2 && unet__wino_dx_avx2;
    supported[UNET__ISA_AVX512] = supported[UNET__ISA_AVX2] &&
                                  __builtin_cpu_supports("avx512f") && unet__rowconv_avx512 &&
                                  unet__wino_in_avx512 && unet__wino_out_avx512 &&
        unet__wino_dy_avx512 && unet__wino_dx_avx512;
#endif
    detected_best = supported[UNET__ISA_AVX512] ? UNET__ISA_AVX512
                    : supported[UNET__ISA_AVX2] ? UNET__ISA_AVX2
                                                : UNET__ISA_SCALAR;
    chosen = detected_best;
    const char *env = getenv("UNET_ISA");
    if (env)
        for (int isa = 0; isa < UNET__ISA_COUNT; isa++)
            if (strcmp(env, unet__isa_name(isa)) == 0 && supported[isa])
                chosen = isa;
}

int unet__isa_supported(int isa)
{
    pthread_once(&once, detect);
    return isa >= 0 && isa < UNET__ISA_COUNT && supported[isa];
}

int unet__isa_default(void)
{
    pthread_once(&once, detect);
    return chosen;
}

const char *unet__isa_name(int isa)
{
    static const char *const names[UNET__ISA_COUNT] = {"reference", "scalar", "avx2",
                                                       "avx512"};
    return isa >= 0 && isa < UNET__ISA_COUNT ? names[isa] : "unknown";
}

static const unet__kernels table[UNET__ISA_COUNT] = {
    {"reference", NULL, NULL, NULL, NULL, NULL, 0},
    {"scalar", unet__rowconv_scalar, unet__wino_in_scalar, unet__wino_out_scalar, unet__wino_dy_scalar,
     unet__wino_dx_scalar, 4},
    {"avx2", unet__rowconv_avx2, unet__wino_in_avx2, unet__wino_out_avx2, unet__wino_dy_avx2,
     unet__wino_dx_avx2, 6},
    {"avx512", unet__rowconv_avx512, unet__wino_in_avx512, unet__wino_out_avx512, unet__wino_dy_avx512,
     unet__wino_dx_avx512, 12},
};

const unet__kernels *unet__kernels_get(int isa)
{
    if (isa <= UNET__ISA_REFERENCE || !unet__isa_supported(isa))
        return NULL;
    return &table[isa];
}

unsigned unet__fpenv_enter(void)
{
#ifdef UNET__X86
    unsigned saved = _mm_getcsr();
    _mm_setcsr(saved | 0x8040u); /* FTZ (bit 15) | DAZ (bit 6) */
    return saved;
#else
    return 0;
#endif
}

void unet__fpenv_leave(unsigned saved)
{
#ifdef UNET__X86
    _mm_setcsr(saved);
#else
    (void)saved;
#endif
}
