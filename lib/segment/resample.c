/* Resized reading and nearest back-mapping of labels (see resample.h). */
#include <math.h>
#include <stdlib.h>

#include "core/alloc.h"
#include "core/budget.h"
#include "core/pool.h"
#include "core/status.h"
#include "segment/resample.h"

int64_t unet__scaled_size(int64_t n, double scale)
{
    int64_t m = (int64_t)llround((double)n * scale);
    return m < 1 ? 1 : m;
}

int64_t unet__scaled_index(int64_t i, int64_t n, int64_t m)
{
    int64_t j = (int64_t)floor(((double)i + 0.5) * (double)m / (double)n);
    return j < 0 ? 0 : j >= m ? m - 1 : j;
}

/* Source coordinate of resized pixel j (half-pixel centres), clamped to the image. */
static double source_coord(int64_t j, int64_t n, int64_t m)
{
    double f = ((double)j + 0.5) * (double)n / (double)m - 0.5;
    return f < 0 ? 0 : f > (double)(n - 1) ? (double)(n - 1) : f;
}

/* Rows of a resized region from the source pixels in the reader's buffer. */
typedef struct resize_job {
    const unet__scaled_reader *r;
    int64_t y, y0, h, w, rh, rw;
    const int64_t *cols; /* left and right source column of each column, from the buffer's */
    const double *weight;
    float *dst;
} resize_job;

static void resize_rows(void *ctx, int64_t begin, int64_t end, int tid)
{
    (void)tid;
    const resize_job *j = ctx;
    const unet__scaled_reader *r = j->r;
    for (int64_t k = begin; k < end; k++) { /* row i of channel c */
        const int64_t c = k / j->h, i = k % j->h;
        const float *src = r->buf + c * j->rh * j->rw;
        double fy = source_coord(j->y + i, r->height, r->sheight);
        int64_t a = (int64_t)fy, b = a + 1 < r->height ? a + 1 : a;
        double ty = fy - (double)a;
        const float *ra = src + (a - j->y0) * j->rw, *rb = src + (b - j->y0) * j->rw;
        float *out = j->dst + (c * j->h + i) * j->w;
        for (int64_t x = 0; x < j->w; x++) {
            const int64_t left = j->cols[2 * x], right = j->cols[2 * x + 1];
            double tx = j->weight[x];
            double top = ra[left] + tx * (ra[right] - ra[left]);
            double bot = rb[left] + tx * (rb[right] - rb[left]);
            out[x] = (float)(top + ty * (bot - top));
        }
    }
}

int unet__scaled_read(void *user, int64_t plane, int64_t y, int64_t x, int64_t h, int64_t w,
                      float *dst)
{
    unet__scaled_reader *r = user;
    int64_t y0 = (int64_t)source_coord(y, r->height, r->sheight);
    int64_t y1 = (int64_t)source_coord(y + h - 1, r->height, r->sheight) + 1;
    int64_t x0 = (int64_t)source_coord(x, r->width, r->swidth);
    int64_t x1 = (int64_t)source_coord(x + w - 1, r->width, r->swidth) + 1;
    y1 = y1 < r->height ? y1 : r->height - 1;
    x1 = x1 < r->width ? x1 : r->width - 1;
    int64_t rh = y1 - y0 + 1, rw = x1 - x0 + 1, need = r->channels * rh * rw;
    if (need > r->buf_cap) {
        unet__free_aligned(r->buf);
        r->buf = unet__alloc_floats((size_t)need);
        r->buf_cap = r->buf ? need : 0;
        if (!r->buf)
            return unet__fail(UNET_E_NOMEM, "out of memory resizing a %lld x %lld region",
                              (long long)rh, (long long)rw);
    }
    int rc = r->read(r->user, plane, y0, x0, rh, rw, r->buf);
    if (rc != 0)
        return rc < 0 ? rc : unet__fail(UNET_E_IO, "reading region (%lld, %lld) %lld x %lld "
                                                   "failed (callback returned %d)",
                                        (long long)y0, (long long)x0, (long long)rh,
                                        (long long)rw, rc);
    /* Each column's source pixels and weight, worked out once for every row and channel (the
     * same arithmetic as per pixel, so the same values); rows interpolated on the reader's
     * threads. */
    int64_t *cols = malloc((size_t)w * 2 * sizeof *cols);
    double *weight = malloc((size_t)w * sizeof *weight);
    if (!cols || !weight) {
        free(cols);
        free(weight);
        return unet__fail(UNET_E_NOMEM, "out of memory resizing a %lld-column region",
                          (long long)w);
    }
    for (int64_t j = 0; j < w; j++) {
        double fx = source_coord(x + j, r->width, r->swidth);
        int64_t p = (int64_t)fx;
        cols[2 * j] = p - x0;
        cols[2 * j + 1] = (p + 1 < r->width ? p + 1 : p) - x0;
        weight[j] = fx - (double)p;
    }
    resize_job job = {r, y, y0, h, w, rh, rw, cols, weight, dst};
    int64_t rows = r->channels * h;
    int threads = r->threads > 1 ? r->threads : 1;
    unet__pool_for(threads, rows, unet__pool_chunk(rows, threads, 4, 16), resize_rows, &job);
    free(cols);
    free(weight);
    return 0;
}

void unet__scaled_reader_free(unet__scaled_reader *r)
{
    unet__free_aligned(r->buf);
    r->buf = NULL;
    r->buf_cap = 0;
}

int unet__label_mapper_init(unet__label_mapper *m)
{
    m->next_y = 0;
    m->col = NULL;
    m->row = NULL;
    if (m->sheight == m->height && m->swidth == m->width)
        return UNET_OK; /* not resized: rows pass through */
    uint64_t bytes = unet__sat_mul((uint64_t)m->width, sizeof *m->col + sizeof *m->row);
    int rc = unet__check_budget(bytes, "mapping labels back to the image's grid", "");
    if (rc != UNET_OK)
        return rc;
    m->col = malloc((size_t)m->width * sizeof *m->col);
    m->row = malloc((size_t)m->width * sizeof *m->row);
    if (!m->col || !m->row) {
        unet__label_mapper_free(m);
        return unet__fail(UNET_E_NOMEM, "out of memory for a label row of %lld pixels",
                          (long long)m->width);
    }
    for (int64_t x = 0; x < m->width; x++)
        m->col[x] = unet__scaled_index(x, m->width, m->swidth);
    return UNET_OK;
}

void unet__label_mapper_free(unet__label_mapper *m)
{
    free(m->col);
    free(m->row);
    m->col = NULL;
    m->row = NULL;
}

int unet__label_mapper_emit(void *user, int64_t y, int64_t h, const uint32_t *labels)
{
    unet__label_mapper *m = user;
    if (m->sheight == m->height && m->swidth == m->width) { /* not resized: pass through */
        int rc = m->write(m->user, y, h, m->width, labels);
        m->next_y = y + h;
        return rc == 0 ? UNET_OK
                       : rc < 0 ? rc
                                : unet__fail(UNET_E_IO, "writing label rows %lld..%lld failed "
                                                        "(callback returned %d)",
                                             (long long)y, (long long)(y + h), rc);
    }
    while (m->next_y < m->height) {
        int64_t sy = unet__scaled_index(m->next_y, m->height, m->sheight);
        if (sy >= y + h)
            break;
        const uint32_t *src = labels + (sy - y) * m->swidth;
        for (int64_t x = 0; x < m->width; x++)
            m->row[x] = src[m->col[x]];
        int rc = m->write(m->user, m->next_y, 1, m->width, m->row);
        if (rc != 0)
            return rc < 0 ? rc : unet__fail(UNET_E_IO, "writing label row %lld failed "
                                                       "(callback returned %d)",
                                            (long long)m->next_y, rc);
        m->next_y++;
    }
    return UNET_OK;
}
