/* Renumbering labels 1..N in raster order, and removing objects by size. */
#include <stdlib.h>

#include "core/status.h"
#include "post/post.h"

int unet__relabel(uint32_t *labels, const unet__grid *g, uint32_t *count)
{
    *count = 0;
    unet__labelmap map;
    int rc = unet__labelmap_init(&map, 1024);
    if (rc != UNET_OK)
        return rc;
    /* In place: the scan reads each label before writing its id. */
    rc = unet__labelmap_scan(&map, labels, g->n, labels);
    if (rc == UNET_OK)
        *count = (uint32_t)map.len;
    else
        rc = unet__fail(rc, "out of memory renumbering labels");
    unet__labelmap_free(&map);
    return rc;
}

int unet__filter_sizes(uint32_t *labels, const unet__grid *g, int64_t min_size,
                       int64_t max_size, uint32_t *count)
{
    *count = 0;
    uint32_t n;
    int rc = unet__relabel(labels, g, &n);
    if (rc != UNET_OK)
        return rc;
    int64_t *area = calloc((size_t)n + 1, sizeof *area);
    uint32_t *keep = malloc(((size_t)n + 1) * sizeof *keep);
    if (!area || !keep) {
        free(area);
        free(keep);
        return unet__fail(UNET_E_NOMEM, "out of memory measuring %u objects", n);
    }
    for (int64_t i = 0; i < g->n; i++)
        area[labels[i]]++;
    /* Ids stay in raster order, so numbering the kept ones in order is a raster renumbering. */
    uint32_t next = 0;
    keep[0] = 0;
    for (uint32_t l = 1; l <= n; l++)
        keep[l] = area[l] >= min_size && (max_size <= 0 || area[l] <= max_size) ? ++next : 0;
    for (int64_t i = 0; i < g->n; i++)
        labels[i] = keep[labels[i]];
    *count = next;
    free(area);
    free(keep);
    return UNET_OK;
}
