/*
 * The object under a click: grow a window of cached cells until the foreground component
 * holding the click lies inside it (so it is the whole-image component), then cut the object
 * out of that component alone — a watershed or a flood from cores (3-class, distance) of one
 * component gives the same pixels as on the whole image, because both work component by
 * component.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "click/click.h"
#include "core/status.h"
#include "post/post.h"


typedef struct region {
    int64_t y0, y1, x0, x1, h, w; /* image rectangle */
    float *prob;                  /* (C_out, h, w) */
    uint8_t *comp;                /* 1 on the click's component */
    int64_t *stack;
    int64_t by0, by1, bx0, bx1;   /* the component's bounding box, region coordinates */
} region;

/* Foreground as post-processing defines it (3-class: the argmax is not background, with
 * unet_labels_from_3class's tie rule; distance: its foreground channel). */
static bool foreground(const unet__seg_params *pp, const float *prob, int64_t n, int64_t i)
{
    if (pp->kind == UNET__SEG_3CLASS) {
        float bg = prob[i], in = prob[n + i], bd = prob[2 * n + i];
        return (in > bg && in >= bd) || (bd > bg && bd > in);
    }
    return unet__seg_prob(pp->logits, prob[i]) > pp->threshold; /* as unet_segment reads it */
}

/* Gather the window's probabilities and flood the click's component into r->comp. */
static int flood_component(const struct unet_click_session *s, int64_t p, region *r,
                           int64_t cy, int64_t cx, bool *hit)
{
    const unet__seg_params *pp = &s->post;
    int64_t n = r->h * r->w, C = s->out_channels;
    free(r->prob);
    free(r->comp);
    free(r->stack);
    r->prob = malloc((size_t)(C * n) * sizeof *r->prob);
    r->comp = calloc((size_t)n, 1);
    r->stack = malloc((size_t)n * sizeof *r->stack);
    if (!r->prob || !r->comp || !r->stack)
        return unet__fail(UNET_E_NOMEM, "out of memory for a %lld x %lld click window",
                          (long long)r->h, (long long)r->w);
    unet__click_gather(s, p, r->y0, r->y1, r->x0, r->x1, r->prob);
    for (int64_t i = 0; i < C * n; i++)
        if (isnan(r->prob[i]))
            return unet__fail(UNET_E_INVALID_ARG, "the model's output at (plane %lld, y %lld, "
                                                  "x %lld) is NaN",
                              (long long)p, (long long)(r->y0 + i % n / r->w),
                              (long long)(r->x0 + i % r->w));
    int64_t start = (cy - r->y0) * r->w + (cx - r->x0);
    *hit = foreground(pp, r->prob, n, start);
    if (!*hit)
        return UNET_OK;
    int64_t top = 0;
    r->stack[top++] = start;
    r->comp[start] = 1;
    r->by0 = r->by1 = start / r->w;
    r->bx0 = r->bx1 = start % r->w;
    bool diag = pp->rank > 1;
    while (top > 0) {
        int64_t i = r->stack[--top], y = i / r->w, x = i % r->w;
        r->by0 = y < r->by0 ? y : r->by0;
        r->by1 = y > r->by1 ? y : r->by1;
        r->bx0 = x < r->bx0 ? x : r->bx0;
        r->bx1 = x > r->bx1 ? x : r->bx1;
        for (int dy = -1; dy <= 1; dy++)
            for (int dx = -1; dx <= 1; dx++) {
                if ((dy == 0 && dx == 0) || (!diag && dy != 0 && dx != 0))
                    continue;
                int64_t yy = y + dy, xx = x + dx, j = yy * r->w + xx;
                if (yy < 0 || yy >= r->h || xx < 0 || xx >= r->w || r->comp[j] ||
                    !foreground(pp, r->prob, n, j))
                    continue;
                r->comp[j] = 1;
                r->stack[top++] = j;
            }
    }
    r->by1++;
    r->bx1++;
    return UNET_OK;
}

/* Labels of the component's neighbourhood (its box widened by one pixel inside the window):
 * the watershed of the component, or the 3-class or distance instances with every other
 * pixel made background. Returns the label at the click in *label, the crop in labels/box. */
static int split_component(const struct unet_click_session *s, const region *r, int64_t cy,
                           int64_t cx, uint32_t **labels, int64_t box[4], uint32_t *label)
{
    const unet__seg_params *pp = &s->post;
    int64_t y0 = r->by0 > 0 ? r->by0 - 1 : 0, y1 = r->by1 < r->h ? r->by1 + 1 : r->h;
    int64_t x0 = r->bx0 > 0 ? r->bx0 - 1 : 0, x1 = r->bx1 < r->w ? r->bx1 + 1 : r->w;
    int64_t h = y1 - y0, w = x1 - x0, n = h * w, rn = r->h * r->w;
    box[0] = y0, box[1] = y1, box[2] = x0, box[3] = x1;
    unet__grid g = {1, h, w, n};
    *labels = malloc((size_t)n * sizeof **labels);
    bool three = pp->kind == UNET__SEG_3CLASS, dist = pp->kind == UNET__SEG_DISTANCE;
    void *work = malloc((size_t)n * (three ? 3 * sizeof(float) : dist ? 1 + sizeof(float) : 1));
    uint32_t count;
    int rc = UNET_OK;
    if (!*labels || !work) {
        rc = unet__fail(UNET_E_NOMEM, "out of memory splitting a %lld x %lld object",
                        (long long)h, (long long)w);
        goto done;
    }
    for (int64_t y = 0; y < h; y++)
        for (int64_t x = 0; x < w; x++) {
            int64_t i = y * w + x, j = (y + y0) * r->w + x + x0;
            if (dist) { /* the distance landscape, then classes as unet__seg_class */
                const float d = r->prob[rn + j];
                ((float *)work)[i] = d;
                ((uint8_t *)work)[n * sizeof(float) + i] =
                    !r->comp[j] ? 0 : unet__seg_prob(pp->logits, d) > pp->seed_level ? 1 : 2;
                continue;
            }
            if (!three) {
                ((uint8_t *)work)[i] = r->comp[j];
                continue;
            }
            float *pr = work;
            for (int c = 0; c < 3; c++)
                pr[c * n + i] = r->comp[j] ? r->prob[c * rn + j] : c == 0 ? 1.0f : 0.0f;
        }
    /* One object's crop is small: a parallel region would cost more than it saves (and on a
     * busy machine waits for a second core each time). */
    int threads = n < ((int64_t)1 << 20) ? 1 : s->threads;
    if (three) {
        rc = unet__labels_from_3class(work, &g, 2, pp->rank, *labels, &count, threads);
    } else if (dist) {
        rc = unet__labels_from_cores((uint8_t *)work + n * sizeof(float), work, &g, pp->rank,
                                     *labels, &count, threads);
    } else {
        const double spacing[3] = {1.0, 1.0, 1.0};
        rc = unet__watershed_mask(work, &g, spacing, pp->min_distance, pp->rank, *labels,
                                  &count, threads);
    }
    if (rc == UNET_OK)
        *label = (*labels)[(cy - r->y0 - y0) * w + (cx - r->x0 - x0)];
done:
    free(work);
    return rc;
}

/* The result for the object: pixels of `mark` (stride w, region-relative box) equal to id. */
static int make_result(const struct unet_click_session *s, const uint32_t *lab,
                       const uint8_t *comp, int64_t w, int64_t oy, int64_t ox,
                       const int64_t box[4], uint32_t id, bool complete,
                       struct unet_click_result *res)
{
    int64_t y0 = box[1], y1 = box[0], x0 = box[3], x1 = box[2], area = 0;
    for (int64_t y = box[0]; y < box[1]; y++)
        for (int64_t x = box[2]; x < box[3]; x++) {
            int64_t i = y * w + x;
            if (lab ? lab[i] != id : !comp[i])
                continue;
            area++;
            y0 = y < y0 ? y : y0;
            y1 = y + 1 > y1 ? y + 1 : y1;
            x0 = x < x0 ? x : x0;
            x1 = x + 1 > x1 ? x + 1 : x1;
        }
    res->complete = complete;
    if (area == 0 || area < s->post.min_size)
        return UNET_OK;
    int64_t h = y1 - y0, bw = x1 - x0;
    res->mask = malloc((size_t)(h * bw));
    if (!res->mask)
        return unet__fail(UNET_E_NOMEM, "out of memory for a %lld x %lld object mask",
                          (long long)h, (long long)bw);
    for (int64_t y = 0; y < h; y++)
        for (int64_t x = 0; x < bw; x++) {
            int64_t i = (y + y0) * w + x + x0;
            res->mask[y * bw + x] = lab ? lab[i] == id : comp[i] != 0;
        }
    res->x0 = x0 + ox;
    res->y0 = y0 + oy;
    res->width = bw;
    res->height = h;
    res->area = area;
    return unet__click_outline(res->mask, h, bw, res->x0, res->y0, s->post.rank, res);
}

/* Widen the window by one cell on every side its component touches (not at the image edge)
 * while it stays within max_extent. Returns whether it grew; *capped when a side could not. */
static bool grow(const struct unet_click_session *s, const region *r, int64_t k[4],
                 bool *capped)
{
    bool grew = false;
    int64_t T = s->cell, max_cells = s->max_extent / T;
    bool touch[4] = {r->by0 == 0 && r->y0 > 0, r->by1 == r->h && r->y1 < s->height,
                     r->bx0 == 0 && r->x0 > 0, r->bx1 == r->w && r->x1 < s->width};
    for (int side = 0; side < 4; side++) {
        if (!touch[side])
            continue;
        int64_t *lo = &k[side < 2 ? 0 : 2], *hi = &k[side < 2 ? 1 : 3];
        if (*hi - *lo + 1 > max_cells) {
            *capped = true;
            continue;
        }
        if (side % 2 == 0)
            (*lo)--;
        else
            (*hi)++;
        grew = true;
    }
    return grew;
}

static int64_t cell_of(const unet__click_axis *ax, int64_t T, int64_t v)
{
    return (v - ax->grid0) / T; /* v >= 0 > grid0 - 1 */
}

int unet__click_object(struct unet_click_session *s, int64_t p, int64_t x, int64_t y,
                       struct unet_click_result **out)
{
    struct unet_click_result *res = calloc(1, sizeof *res);
    if (!res)
        return unet__fail(UNET_E_NOMEM, "out of memory for a click result");
    int64_t T = s->cell;
    int rc = unet__click_prepare_plane(s, p);
    if (rc != UNET_OK) {
        free(res);
        return rc;
    }
    /* The first window: around a click on uncached cells, wide enough for most nuclei in one
     * network run; on a cached cell just that cell, grown only where the object leads. */
    int64_t R = s->plane[p].cells[cell_of(&s->ay, T, y) * s->ax.cells + cell_of(&s->ax, T, x)]
                    ? 0
                    : s->first_window / 2;
    int64_t k[4] = {cell_of(&s->ay, T, y - R > 0 ? y - R : 0),
                    cell_of(&s->ay, T, y + R < s->height ? y + R : s->height - 1) + 1,
                    cell_of(&s->ax, T, x - R > 0 ? x - R : 0),
                    cell_of(&s->ax, T, x + R < s->width ? x + R : s->width - 1) + 1};
    /* Never start wider than max_extent: drop cells on the side farther from the click. */
    for (int axis = 0; axis < 2; axis++) {
        int64_t *lo = &k[2 * axis], *hi = &k[2 * axis + 1];
        int64_t c = cell_of(axis ? &s->ax : &s->ay, T, axis ? x : y);
        while ((*hi - *lo) * T > s->max_extent && *hi - *lo > 1) {
            if (c - *lo > *hi - 1 - c)
                (*lo)++;
            else
                (*hi)--;
        }
    }
    region r;
    memset(&r, 0, sizeof r);
    uint32_t *labels = NULL;
    bool hit = false, capped = false;
    while (rc == UNET_OK) {
        if ((rc = unet__click_ensure(s, p, k[0], k[1], k[2], k[3])) != UNET_OK)
            break;
        int64_t y0 = s->ay.grid0 + k[0] * T, y1 = s->ay.grid0 + k[1] * T;
        int64_t x0 = s->ax.grid0 + k[2] * T, x1 = s->ax.grid0 + k[3] * T;
        r.y0 = y0 > 0 ? y0 : 0;
        r.y1 = y1 < s->height ? y1 : s->height;
        r.x0 = x0 > 0 ? x0 : 0;
        r.x1 = x1 < s->width ? x1 : s->width;
        r.h = r.y1 - r.y0;
        r.w = r.x1 - r.x0;
        if ((rc = flood_component(s, p, &r, y, x, &hit)) != UNET_OK || !hit)
            break;
        if (!grow(s, &r, k, &capped))
            break;
    }
    if (rc == UNET_OK && hit) {
        int64_t box[4] = {r.by0, r.by1, r.bx0, r.bx1};
        uint32_t id = 0;
        bool split = s->post.kind == UNET__SEG_3CLASS || s->post.split;
        if (split)
            rc = split_component(s, &r, y, x, &labels, box, &id);
        if (rc == UNET_OK && (!split || id != 0)) {
            int64_t w = split ? box[3] - box[2] : r.w;
            int64_t oy = r.y0 + (split ? box[0] : 0), ox = r.x0 + (split ? box[2] : 0);
            int64_t lbox[4] = {0, box[1] - box[0], 0, box[3] - box[2]};
            rc = make_result(s, labels, r.comp, w, oy, ox, split ? lbox : box, id, !capped,
                             res);
        }
    }
    res->complete = !capped;
    free(labels);
    free(r.prob);
    free(r.comp);
    free(r.stack);
    if (rc != UNET_OK) {
        unet__click_result_free(res);
        return rc;
    }
    *out = res;
    return UNET_OK;
}

void unet__click_result_free(struct unet_click_result *r)
{
    if (!r)
        return;
    free(r->mask);
    free(r->ring_start);
    free(r->xy);
    free(r);
}
