/* A small deterministic random generator (xoshiro256**, seeded with splitmix64). */
#ifndef UNET_CORE_RNG_H
#define UNET_CORE_RNG_H

#include <stdint.h>

typedef struct unet__rng {
    uint64_t s[4];
} unet__rng;

void unet__rng_seed(unet__rng *rng, uint64_t seed);
uint64_t unet__rng_next(unet__rng *rng);
/* Uniform in [0, 1). */
double unet__rng_uniform(unet__rng *rng);
/* Standard normal (Box-Muller). */
double unet__rng_normal(unet__rng *rng);

#endif
