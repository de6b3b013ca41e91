#include "core/f16.h"

#include <string.h>

/* Bit-level conversions: exact, independent of the FPU rounding mode and of FTZ/DAZ (which
 * worker threads may set), so the results are the same everywhere. */

static float bits_to_f32(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static uint32_t f32_to_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

float unet__f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t mant = h & 0x3ffu;

    if (exp == 0x1f) /* inf, or NaN keeping its payload (and so its quiet bit) */
        return bits_to_f32(sign | 0x7f800000u | (mant << 13));
    if (exp == 0) {
        if (mant == 0)
            return bits_to_f32(sign);
        /* Subnormal half: every one is a normal float. Shift the leading 1 into the implicit
         * position, lowering the exponent once per shift. */
        uint32_t e = 113; /* float biased exponent of 2^-14 */
        while (!(mant & 0x400u)) {
            mant <<= 1;
            e--;
        }
        mant &= 0x3ffu;
        return bits_to_f32(sign | (e << 23) | (mant << 13));
    }
    return bits_to_f32(sign | ((exp + 112u) << 23) | (mant << 13));
}

float unet__bf16_to_f32(uint16_t b)
{
    return bits_to_f32((uint32_t)b << 16);
}

uint16_t unet__f32_to_f16(float f)
{
    uint32_t x = f32_to_bits(f);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
    uint32_t a = x & 0x7fffffffu;

    if (a > 0x7f800000u) /* NaN: keep the top payload bits, force quiet so it stays a NaN */
        return (uint16_t)(sign | 0x7e00u | ((a >> 13) & 0x3ffu));
    if (a >= 0x477ff000u) /* >= 65520 (halfway to 65536; ties go to the even 65536): inf */
        return (uint16_t)(sign | 0x7c00u);
    if (a >= 0x38800000u) { /* normal half range, >= 2^-14 */
        uint32_t h = (((a >> 23) - 112u) << 10) | ((a >> 13) & 0x3ffu);
        uint32_t rem = a & 0x1fffu;
        /* A carry out of the mantissa correctly bumps the exponent. */
        if (rem > 0x1000u || (rem == 0x1000u && (h & 1u)))
            h++;
        return (uint16_t)(sign | h);
    }
    if (a <= 0x33000000u) /* <= 2^-25: half of the smallest subnormal, ties to even 0 */
        return sign;
    /* Subnormal half: h = round(value * 2^24) = round(m * 2^(e - 126)). */
    uint32_t e = a >> 23;
    uint32_t m = (a & 0x7fffffu) | 0x800000u;
    uint32_t shift = 126u - e; /* 14..24 here */
    uint32_t h = m >> shift;
    uint32_t rem = m & ((1u << shift) - 1u);
    uint32_t half = 1u << (shift - 1u);
    if (rem > half || (rem == half && (h & 1u)))
        h++; /* may reach 0x400, the smallest normal: still the right encoding */
    return (uint16_t)(sign | h);
}

uint16_t unet__f32_to_bf16(float f)
{
    uint32_t x = f32_to_bits(f);
    if ((x & 0x7fffffffu) > 0x7f800000u) /* NaN: truncation could give inf, so force quiet */
        return (uint16_t)((x >> 16) | 0x0040u);
    /* Round to nearest even; overflow past the largest finite carries into inf as it must. */
    x += 0x7fffu + ((x >> 16) & 1u);
    return (uint16_t)(x >> 16);
}
