/* The U-Net config of DESIGN section 5: parsing with validation, defaults, and JSON output. */
#ifndef UNET_GRAPH_CONFIG_H
#define UNET_GRAPH_CONFIG_H

#include <jansson.h>
#include <stdbool.h>

#define UNET__MAX_BLOCK 32
#define UNET__MAX_DEPTH 8

typedef enum { UNET__DOWN_MAXPOOL, UNET__DOWN_AVGPOOL } unet__downsample;
typedef enum { UNET__UP_TRANSPOSED, UNET__UP_NEAREST, UNET__UP_BILINEAR } unet__upsample;
typedef enum { UNET__FINAL_NONE, UNET__FINAL_SIGMOID, UNET__FINAL_SOFTMAX } unet__final;

typedef struct unet__config {
    int ndim;
    int in_channels, out_channels;
    int depth;
    int base_features;
    double growth;
    int kernel_size;
    bool same_padding;
    char block[UNET__MAX_BLOCK + 1];
    unet__downsample downsample;
    int factor;
    unet__upsample upsample;
    bool upsample_conv;
    unet__final final_activation;
} unet__config;

void unet__config_defaults(unet__config *cfg);
/* Parse a JSON object; every key optional. Unknown keys/values -> UNET_E_INVALID_ARG naming
 * them; ndim 3 -> UNET_E_UNSUPPORTED. `what` prefixes messages ("config"). */
int unet__config_from_json(const json_t *obj, unet__config *cfg);
int unet__config_parse(const char *text, unet__config *cfg);
/* A new JSON object with every key (caller owns the reference). */
json_t *unet__config_to_json(const unet__config *cfg);
bool unet__config_equal(const unet__config *a, const unet__config *b);
/* The config name of a final activation ("none", "sigmoid", "softmax"). */
const char *unet__final_name(unet__final f);
/* Features at level l: floor(base * growth^l + 0.5). */
int unet__config_features(const unet__config *cfg, int level);

#endif
