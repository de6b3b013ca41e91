/* The sample options object behind unet_sample_opts_t (table in sample/opts.c). */
#ifndef UNET_SAMPLE_OPTS_H
#define UNET_SAMPLE_OPTS_H

#include <stdint.h>

#include "core/opts_table.h"
#include "sample/wide.h"

enum { UNET__SCENE_AUTO, UNET__SCENE_CLASSIC, UNET__SCENE_WIDE };

struct unet_sample_opts {
    int64_t seed;
    int bits;
    int scene;      /* UNET__SCENE_* */
    int nuclei;     /* -1: auto */
    double min_diameter, max_diameter; /* NAN: auto */
    int clusters;   /* -1: auto */
    int background; /* UNET__BG_* (the table's choices are in that order) */
    char *json, *describe; /* cached strings returned to the caller */
};

extern const unet__opts_table unet__sample_opts_table;

/* The wide scene's options with auto resolved: 1 for the wide scene, 0 for the classic one,
 * or a status (message set) when the keys contradict each other. */
int unet__sample_scene(const struct unet_sample_opts *o, unet__sample_wide_opts *wide);
/* unet_sample_nuclei after its argument checks (sample.c): the options' scene of height x
 * width (16 to UNET__SAMPLE_MAX_SIZE) into image and labels (optional); *num_objects: the
 * nuclei. */
int unet__sample_image(const struct unet_sample_opts *opts, int64_t height, int64_t width,
                       uint16_t *image, uint32_t *labels, uint32_t *num_objects);

#endif
