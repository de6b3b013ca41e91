/* Label values -> compact ids: an open-addressing hash table (labels may be any uint32, so a
 * direct table indexed by value could need 16 GB). */
#include <stdlib.h>

#include "core/status.h"
#include "post/post.h"

static size_t slot(const unet__labelmap *m, uint32_t key)
{
    /* Fibonacci hashing spreads the consecutive labels that images mostly hold. */
    return (size_t)(((uint64_t)key * 0x9E3779B97F4A7C15ull) >> 32) & (m->cap - 1);
}

int unet__labelmap_init(unet__labelmap *m, size_t expected)
{
    size_t cap = 64;
    while (cap < expected * 2 && cap < ((size_t)1 << 40))
        cap *= 2;
    m->keys = calloc(cap, sizeof *m->keys);
    m->vals = malloc(cap * sizeof *m->vals);
    m->cap = cap;
    m->len = 0;
    if (!m->keys || !m->vals) {
        unet__labelmap_free(m);
        return unet__fail(UNET_E_NOMEM, "out of memory for a label table of %zu entries", cap);
    }
    return UNET_OK;
}

void unet__labelmap_free(unet__labelmap *m)
{
    free(m->keys);
    free(m->vals);
    m->keys = NULL;
    m->vals = NULL;
    m->cap = m->len = 0;
}

/* The slot holding key, or the empty slot where it would go. */
static size_t find(const unet__labelmap *m, uint32_t key)
{
    size_t i = slot(m, key);
    while (m->keys[i] != 0 && m->keys[i] != key)
        i = (i + 1) & (m->cap - 1);
    return i;
}

uint32_t unet__labelmap_get(const unet__labelmap *m, uint32_t key)
{
    const size_t i = find(m, key);
    return m->keys[i] ? m->vals[i] : 0;
}

static int grow(unet__labelmap *m)
{
    unet__labelmap bigger;
    if (unet__labelmap_init(&bigger, m->cap) != UNET_OK)
        return UNET_E_NOMEM;
    for (size_t i = 0; i < m->cap; i++)
        if (m->keys[i]) {
            const size_t j = find(&bigger, m->keys[i]);
            bigger.keys[j] = m->keys[i];
            bigger.vals[j] = m->vals[i];
        }
    bigger.len = m->len;
    unet__labelmap_free(m);
    *m = bigger;
    return UNET_OK;
}

int unet__labelmap_set(unet__labelmap *m, uint32_t key, uint32_t val)
{
    size_t i = find(m, key);
    if (m->keys[i] == 0) {
        if ((m->len + 1) * 2 > m->cap) { /* keep the load under 1/2 */
            if (grow(m) != UNET_OK)
                return UNET_E_NOMEM; /* message set by init */
            i = find(m, key);
        }
        m->keys[i] = key;
        m->len++;
    }
    m->vals[i] = val;
    return UNET_OK;
}

uint32_t unet__labelmap_put(unet__labelmap *m, uint32_t key)
{
    const size_t i = find(m, key);
    if (m->keys[i])
        return m->vals[i];
    const uint32_t id = (uint32_t)(m->len + 1);
    return unet__labelmap_set(m, key, id) == UNET_OK ? id : 0;
}

int unet__labelmap_scan(unet__labelmap *m, const uint32_t *labels, int64_t n, uint32_t *ids)
{
    uint32_t last = 0, last_id = 0;
    for (int64_t i = 0; i < n; i++) {
        uint32_t v = labels[i], id = 0;
        if (v == last) { /* objects are runs of one value: skip the hash most of the time */
            id = last_id;
        } else if (v != 0) {
            id = unet__labelmap_put(m, v);
            if (!id)
                return UNET_E_NOMEM; /* message set by init */
            last = v;
            last_id = id;
        }
        if (ids)
            ids[i] = id;
    }
    return UNET_OK;
}
