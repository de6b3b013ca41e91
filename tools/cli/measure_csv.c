/* Per-object measurements of a label image, one CSV row per label 1..count. */
#include <stdio.h>
#include <stdlib.h>

#include "outfile.h"
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
    cli_outfile f;
    if (cli_outfile_open(&f, "segment", "measurements", path) != 0) {
        free(s);
        return -1;
    }
    FILE *fp = f.fp;
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
    free(s);
    return cli_outfile_commit(&f, "segment", "measurements"); /* aborts after a stop signal */
}
