/*
 * The flooding loop of flood.c, instantiated once per index type: FLOOD_IDX (uint32_t for
 * images under 2^32 pixels, so a queue item is 12 bytes instead of 24 and twice as many stay
 * in cache; uint64_t otherwise) and FLOOD_NAME(x), the suffixing macro. Not a public header.
 */
typedef struct FLOOD_NAME(item) {
    float value;
    FLOOD_IDX age;   /* arrival order: ties in value go first come, first served */
    FLOOD_IDX index;
} FLOOD_NAME(item);

typedef struct FLOOD_NAME(heap) {
    FLOOD_NAME(item) *a;
    size_t len, cap;
} FLOOD_NAME(heap);

static inline bool FLOOD_NAME(smaller)(const FLOOD_NAME(item) *x, const FLOOD_NAME(item) *y)
{
    return x->value < y->value || (x->value == y->value && x->age < y->age);
}

static int FLOOD_NAME(push)(FLOOD_NAME(heap) *h, FLOOD_NAME(item) it)
{
    if (h->len == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 1024;
        FLOOD_NAME(item) *a = realloc(h->a, cap * sizeof *a);
        if (!a)
            return UNET_E_NOMEM;
        h->a = a;
        h->cap = cap;
    }
    /* Sift up by moving parents into the hole (the same moves as swapping, half the
     * writes). */
    size_t c = h->len++;
    while (c > 0) {
        size_t p = (c - 1) / 2;
        if (!FLOOD_NAME(smaller)(&it, &h->a[p]))
            break;
        h->a[c] = h->a[p];
        c = p;
    }
    h->a[c] = it;
    return UNET_OK;
}

static FLOOD_NAME(item) FLOOD_NAME(pop)(FLOOD_NAME(heap) *h)
{
    FLOOD_NAME(item) top = h->a[0];
    FLOOD_NAME(item) last = h->a[--h->len];
    size_t i = 0, n = h->len;
    if (n == 0)
        return top;
    /* Sift the last item down from the root through a hole; the child taken at each level is
     * the one a swapping heap takes (the left unless the right is strictly smaller). */
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, s = l;
        if (l >= n)
            break;
        if (r < n && FLOOD_NAME(smaller)(&h->a[r], &h->a[l]))
            s = r;
        if (!FLOOD_NAME(smaller)(&h->a[s], &last))
            break;
        h->a[i] = h->a[s];
        i = s;
    }
    h->a[i] = last;
    return top;
}

/* Flood from the seeds (flat indices in raster order; labels already hold their labels and 0
 * elsewhere). Seeds take ages 0..k-1, so equal seed values start in raster order; later pushes
 * continue the count. The heap is the caller's, reused across calls. */
static int FLOOD_NAME(run)(const float *landscape, float sign, const uint8_t *mask,
                           const unet__grid *g, const unet__nbhd *nb, const int64_t *off,
                           const int64_t *seeds, size_t nseeds, FLOOD_NAME(heap) *h,
                           uint32_t *labels)
{
    h->len = 0;
    FLOOD_IDX age = 0;
    for (size_t k = 0; k < nseeds; k++) {
        int64_t i = seeds[k];
        if (FLOOD_NAME(push)(h, (FLOOD_NAME(item)){sign * landscape[i], age++,
                                                     (FLOOD_IDX)i}) != UNET_OK)
            return UNET_E_NOMEM;
    }
    while (h->len) {
        FLOOD_NAME(item) it = FLOOD_NAME(pop)(h);
        int64_t p = (int64_t)it.index;
        int64_t x = p % g->w, y = p / g->w % g->h, z = p / (g->w * g->h);
        for (int k = 0; k < nb->count; k++) {
            int64_t xx = x + nb->dx[k], yy = y + nb->dy[k], zz = z + nb->dz[k];
            if (xx < 0 || yy < 0 || zz < 0 || xx >= g->w || yy >= g->h || zz >= g->d)
                continue;
            int64_t q = p + off[k];
            if ((mask && !mask[q]) || labels[q])
                continue;
            labels[q] = labels[p];
            if (FLOOD_NAME(push)(h, (FLOOD_NAME(item)){sign * landscape[q], age++,
                                                        (FLOOD_IDX)q}) != UNET_OK)
                return UNET_E_NOMEM;
        }
    }
    return UNET_OK;
}

/* Every region in parallel (regions never meet: the mask separates them), or the whole image
 * as one region when there is no mask; each participant reuses its own heap. */
typedef struct FLOOD_NAME(job) {
    const float *landscape;
    float sign;
    const uint8_t *mask;
    const unet__grid *g;
    const unet__nbhd *nb;
    const int64_t *off, *seeds;
    const size_t *start;
    uint32_t *labels;
    FLOOD_NAME(heap) *heaps;
    atomic_int failed;
} FLOOD_NAME(job);

static void FLOOD_NAME(chunk)(void *ctx, int64_t b, int64_t e, int tid)
{
    FLOOD_NAME(job) *j = ctx;
    const size_t *start = j->start;
    for (int64_t r = b; r < e; r++)
        if (!atomic_load_explicit(&j->failed, memory_order_relaxed) && start[r + 1] > start[r] &&
            FLOOD_NAME(run)(j->landscape, j->sign, j->mask, j->g, j->nb, j->off,
                            j->seeds + start[r], start[r + 1] - start[r], &j->heaps[tid],
                            j->labels) != UNET_OK)
            atomic_store(&j->failed, 1);
}

static int FLOOD_NAME(all)(const float *landscape, float sign, const uint8_t *mask,
                           const unet__grid *g, const unet__nbhd *nb, const int64_t *off,
                           const int64_t *seeds, const size_t *start, size_t nregions,
                           uint32_t *labels, int threads)
{
    if (threads < 1)
        threads = 1;
    FLOOD_NAME(job) j = {.landscape = landscape, .sign = sign, .mask = mask, .g = g, .nb = nb,
                         .off = off, .seeds = seeds, .start = start, .labels = labels};
    atomic_init(&j.failed, 0);
    j.heaps = calloc((size_t)threads, sizeof *j.heaps);
    if (!j.heaps)
        return UNET_E_NOMEM;
    unet__pool_for(threads, (int64_t)nregions, 16, FLOOD_NAME(chunk), &j);
    for (int t = 0; t < threads; t++)
        free(j.heaps[t].a);
    free(j.heaps);
    return atomic_load(&j.failed) ? UNET_E_NOMEM : UNET_OK;
}
