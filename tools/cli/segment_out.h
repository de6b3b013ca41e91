/* What `unet segment` writes besides the label image: an outline overlay (PNG) and a table of
 * per-object measurements (CSV). image: (C, H, W) float32, channel 0 is used. */
#ifndef UNET_CLI_SEGMENT_OUT_H
#define UNET_CLI_SEGMENT_OUT_H

#include <stdint.h>

/* Object outlines over the image normalised to its 1st..99.8th percentile; 0 or -1 with a
 * message on stderr. */
int write_overlay_png(const char *path, const float *image, const uint32_t *labels, int64_t h,
                      int64_t w);
/* label,area,centroid_y,centroid_x,bbox_y0,bbox_x0,bbox_y1,bbox_x1,mean_intensity; bbox_*1
 * exclusive (as skimage's regionprops). 0 or -1 with a message on stderr. */
int write_measure_csv(const char *path, const float *image, const uint32_t *labels,
                      uint32_t count, int64_t h, int64_t w);

#endif
