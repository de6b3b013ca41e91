/* A small uint32 -> uint32 hash map: provisional object ids to final ids, pruned per strip so
 * it holds only objects still being written. */
#include <stdlib.h>

#include "core/status.h"
#include "segment/segment.h"

static size_t slot_of(uint32_t key, size_t cap)
{
    return (size_t)((key * 2654435761u) & (uint32_t)(cap - 1)) & (cap - 1);
}

int unet__idmap_init(unet__idmap *m, size_t expected)
{
    size_t cap = 64;
    while (cap < 2 * expected)
        cap *= 2;
    m->keys = calloc(cap, sizeof *m->keys);
    m->vals = malloc(cap * sizeof *m->vals);
    m->cap = cap;
    m->len = 0;
    if (!m->keys || !m->vals) {
        unet__idmap_free(m);
        return unet__fail(UNET_E_NOMEM, "out of memory for an id map of %zu entries", cap);
    }
    return UNET_OK;
}

void unet__idmap_free(unet__idmap *m)
{
    free(m->keys);
    free(m->vals);
    m->keys = m->vals = NULL;
    m->cap = m->len = 0;
}

uint32_t unet__idmap_get(const unet__idmap *m, uint32_t key)
{
    for (size_t i = slot_of(key, m->cap);; i = (i + 1) & (m->cap - 1)) {
        if (m->keys[i] == key)
            return m->vals[i];
        if (m->keys[i] == 0)
            return 0;
    }
}

int unet__idmap_put(unet__idmap *m, uint32_t key, uint32_t val)
{
    if (2 * (m->len + 1) > m->cap) { /* keep the load under one half */
        unet__idmap bigger;
        int rc = unet__idmap_init(&bigger, m->cap);
        if (rc != UNET_OK)
            return rc;
        for (size_t i = 0; i < m->cap; i++)
            if (m->keys[i])
                unet__idmap_put(&bigger, m->keys[i], m->vals[i]);
        unet__idmap_free(m);
        *m = bigger;
    }
    size_t i = slot_of(key, m->cap);
    while (m->keys[i] != 0 && m->keys[i] != key)
        i = (i + 1) & (m->cap - 1);
    if (m->keys[i] == 0)
        m->len++;
    m->keys[i] = key;
    m->vals[i] = val;
    return UNET_OK;
}
