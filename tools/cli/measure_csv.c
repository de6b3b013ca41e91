/* Per-object measurements of a label image, one CSV row per label 1..count. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "segment_out.h"

typedef struct stats {
    int64_t area, y0, x0, y1, x1;
    double sy, sx, si;
} stats;

int write_measure_csv(const char *path, const float *image, const uint32_t *labels,
                      uint32_t count, int64_t h, int64_t w)
{
    stats *s = calloc((size_t)count + 1, sizeof *s);
    if (!s) {
        fprintf(stderr, "unet: segment: out of memory measuring %u objects\n", count);
        return -1;
    }
    for (uint32_t l = 1; l <= count; l++) {
        s[l].y0 = h;
        s[l].x0 = w;
    }
    for (int64_t y = 0; y < h; y++)
        for (int64_t x = 0; x < w; x++) {
            uint32_t l = labels[y * w + x];
            if (!l || l > count)
                continue;
            stats *o = &s[l];
            o->area++;
            o->sy += (double)y;
            o->sx += (double)x;
            o->si += image[y * w + x];
            o->y0 = y < o->y0 ? y : o->y0;
            o->x0 = x < o->x0 ? x : o->x0;
            o->y1 = y + 1 > o->y1 ? y + 1 : o->y1;
            o->x1 = x + 1 > o->x1 ? x + 1 : o->x1;
        }
    FILE *fp = fopen(path, "w");
    if (!fp) {
        fprintf(stderr, "unet: segment: cannot write '%s': %s\n", path, strerror(errno));
        free(s);
        return -1;
    }
    fprintf(fp, "label,area,centroid_y,centroid_x,bbox_y0,bbox_x0,bbox_y1,bbox_x1,"
                "mean_intensity\n");
    for (uint32_t l = 1; l <= count; l++) {
        const stats *o = &s[l];
        if (!o->area)
            continue;
        double a = (double)o->area;
        fprintf(fp, "%u,%lld,%.6f,%.6f,%lld,%lld,%lld,%lld,%.9g\n", l, (long long)o->area,
                o->sy / a, o->sx / a, (long long)o->y0, (long long)o->x0, (long long)o->y1,
                (long long)o->x1, o->si / a);
    }
    int bad = ferror(fp);
    bad |= fclose(fp) != 0;
    free(s);
    if (bad) {
        fprintf(stderr, "unet: segment: error writing '%s'\n", path);
        return -1;
    }
    return 0;
}
