/* IEEE half and bfloat16 to float32 conversion (file formats store them little-endian). */
#ifndef UNET_CORE_F16_H
#define UNET_CORE_F16_H

#include <stdint.h>

float unet__f16_to_f32(uint16_t h);
float unet__bf16_to_f32(uint16_t b);
uint16_t unet__f32_to_f16(float f);   /* round to nearest even; for tests and writers */
uint16_t unet__f32_to_bf16(float f);  /* round to nearest even */

#endif
