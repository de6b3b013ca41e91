/*
 * Click-to-segment (DESIGN section 8): a session holds one image and a per-plane cache of
 * predicted probabilities in aligned cells; a click predicts only the missing cells of a window
 * around it, grows the window until the object under the click is complete, and post-processes
 * that object alone. The public calls live in api/click.c; they check the arguments and call
 * session.c.
 *
 * Exactness: cells are cores of the tiled predictor's geometry. A run predicts a rectangle of
 * cells by handing the engine a sub-region of the whole-image canvas (normalised with the whole
 * plane's statistics, border pixels made as the whole image makes them) that starts on a
 * multiple of 4 x the block multiple in canvas coordinates and reaches at least the halo
 * beyond the cells, so the engine computes the same numbers as a whole-image pass there.
 */
#ifndef UNET_CLICK_CLICK_H
#define UNET_CLICK_CLICK_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "predict/predict.h"
#include "segment/scale.h"
#include "segment/segment.h"
#include "unet.h"

/* One axis of the cell grid. Cell k covers image coordinates [grid0 + k T, grid0 + (k+1) T)
 * clipped to [0, size); for same padding the canvas the whole-image pass sees is [lo, hi). */
typedef struct unet__click_axis {
    int64_t size, grid0, cells, lo, hi;
} unet__click_axis;

typedef struct unet__click_plane {
    bool ready;             /* statistics computed, pixels checked */
    unet__affine *affine;   /* per input channel */
    float **cells;          /* cells_y * cells_x, NULL until predicted; (C_out, T, T) each */
} unet__click_plane;

/* Click options: a copy of the predict options, the instance options segment options have
 * too, and the session's search limits (table in click/opts.c). */
struct unet_click_opts {
    struct unet_predict_opts predict;
    unet__instance_opts inst;
    int64_t max_extent;   /* largest window side searched for one object */
    int64_t first_window; /* window side predicted around an uncached click */
    double scale;         /* 0: automatic (segment/scale.h) */
    double diameter;      /* objects' diameter in image pixels; 0: unknown */
    char *json, *describe; /* cached strings returned to the caller (not values) */
};
/* The click options' table (click/opts.c): the predict entries (section 0), the instance
 * entries and the click entries. */
extern const unet__opts_table unet__click_opts_table;


/* A session works on a grid: the caller's image resized by the session's scale, as
 * unet_segment resizes it (the image itself at scale 1). Clicks and results are on the
 * caller's image; scale.c maps them. */
struct unet_click_session {
    const unet_model_t *model;
    struct unet_click_opts opts;       /* the values in force (no cached strings) */
    struct unet_predict_opts run_opts; /* engine options for one window run */
    unet__norm norm;                   /* the whole image's normalisation */
    const void *image;                 /* the grid: src_image, or work at another scale */
    float *converted;                  /* the image by the channel rule, when it changes it */
    int dtype;
    int64_t planes, channels, height, width;
    const void *src_image;             /* the caller's image */
    int src_dtype;
    int64_t src_height, src_width;
    unet__scale_choice scale;          /* pending: measured at the next click */
    bool gridded;                      /* grid, geometry and cache made for grid_scale */
    double grid_scale;
    float *work;                       /* the resized image (planes, channels, height, width) */
    uint8_t *plane_state;              /* per plane: CLICK_CHECKED | CLICK_RESIZED */
    int in_channels, out_channels;
    bool same_padding;
    int border;                        /* resolved border mode of the reference */
    int64_t cell, context;             /* T and the context read around a run's cells */
    int64_t halo;                      /* the reference's halo */
    unet__click_axis ay, ax;
    unet__click_plane *plane;          /* planes entries */
    unet__seg_params post; /* how objects are cut out (threads, strip, overlap unused) */
    int64_t first_window;              /* window side predicted around an uncached click */
    int64_t max_extent;                /* largest window side searched for one object */
    int threads;
    int64_t runs, run_pixels, cached_pixels;
    /* Set from any thread (unet_click_session_cancel); mirrored into run_opts.cancel, which
     * the engine and the statistics pass check. */
    atomic_int cancel;
};

struct unet_click_result {
    int64_t x0, y0, width, height, area;
    int complete;
    uint8_t *mask;       /* height x width, 1 on the object */
    int64_t nrings;      /* ring 0 is the outline, the others holes */
    int64_t *ring_start; /* nrings + 1 offsets into xy, in vertices */
    int64_t *xy;         /* vertices (x, y) */
};

/* ---- session.c ---- */
/* A new session on `image` (planes, channels, height, width of dtype; the caller's, not
 * copied unless the channel rule converts it) with options `opts` (the values, not NULL). */
int unet__click_session_new(const unet_model_t *m, const struct unet_click_opts *opts,
                            const void *image, unet_dtype_t dtype, int64_t planes,
                            int64_t channels, int64_t height, int64_t width,
                            struct unet_click_session **out);
void unet__click_session_free(struct unet_click_session *s); /* NULL-safe */
/* New options for a live session: the cache is kept when the probabilities stay the same and
 * the grid keeps its scale; on failure the session is unchanged. */
int unet__click_session_set_opts(struct unet_click_session *s,
                                 const struct unet_click_opts *opts);
/* The session's options with scale `scale` (0: automatic). */
int unet__click_session_set_scale(struct unet_click_session *s, double scale);
/* The object under the caller's pixel (x, y) of `plane` (in range), on the caller's image;
 * UNET_E_CANCELLED while the session is cancelled. */
int unet__click_at(struct unet_click_session *s, int64_t x, int64_t y, int64_t plane,
                   struct unet_click_result **out);

/* ---- cache.c ---- */
/* Geometry of the cell grid from the session's model, options and image size. */
int unet__click_geometry(struct unet_click_session *s);
/* Its axes alone, for a new image size (the border, halo and cell staying). */
void unet__click_axes(struct unet_click_session *s);
/* Statistics of plane p (once) and the check that its pixels are finite. */
int unet__click_prepare_plane(struct unet_click_session *s, int64_t p);
/* Predict every missing cell of cell rectangle [ky0, ky1) x [kx0, kx1) of plane p. */
int unet__click_ensure(struct unet_click_session *s, int64_t p, int64_t ky0, int64_t ky1,
                       int64_t kx0, int64_t kx1);
/* Copy cached probabilities of image rectangle [y0, y1) x [x0, x1) (all predicted) into dst
 * laid out (C_out, y1 - y0, x1 - x0). */
void unet__click_gather(const struct unet_click_session *s, int64_t p, int64_t y0, int64_t y1,
                        int64_t x0, int64_t x1, float *dst);
void unet__click_free_cache(struct unet_click_session *s);

/* ---- stats.c ---- */
/* The whole plane's normalisation (src reads the caller's image as float). */
int unet__click_plane_stats(struct unet_click_session *s, int64_t p, const unet__source *src,
                            unet__affine *affine);

/* ---- object.c ---- */
/* The object under image pixel (x, y) of plane p, into a new result (empty on background). */
int unet__click_object(struct unet_click_session *s, int64_t p, int64_t x, int64_t y,
                       struct unet_click_result **out);
void unet__click_result_free(struct unet_click_result *r); /* NULL-safe */

/* ---- scale.c ---- */
#define UNET__CLICK_CHECKED 1 /* the caller's plane is finite */
#define UNET__CLICK_RESIZED 2 /* the plane's pixels are in work */
/* Measure a pending automatic scale on plane p (no-op otherwise). */
int unet__click_measure(struct unet_click_session *s, int64_t p);
/* The grid for the session's scale (measured on plane p when pending): geometry and an empty
 * cache when the scale differs from the grid's; the cache is kept otherwise. */
int unet__click_settle(struct unet_click_session *s, int64_t p);
/* Plane p of the grid ready to read: the caller's pixels checked, resized into work. */
int unet__click_source_plane(struct unet_click_session *s, int64_t p);
/* Grid pixel of the caller's pixel (x, y). */
void unet__click_to_grid(const struct unet_click_session *s, int64_t x, int64_t y, int64_t *gx,
                         int64_t *gy);
/* A result on the grid made a result on the caller's image (nearest, as unet_segment maps
 * labels back), in place. */
int unet__click_map_back(const struct unet_click_session *s, struct unet_click_result *r);
/* UNET_E_CANCELLED when the session is cancelled (unet_click_session_cancel). */
int unet__click_check_cancel(const struct unet_click_session *s);
/* Drop the cache and the resized image (the grid is made again at the next click). */
void unet__click_drop_grid(struct unet_click_session *s);

/* ---- outline.c ---- */
/* Trace the boundary of mask (h x w, non-zero = object) along pixel edges into r's rings,
 * offset by (x0, y0). rank 1 keeps diagonal neighbours apart, otherwise they are joined. */
int unet__click_outline(const uint8_t *mask, int64_t h, int64_t w, int64_t x0, int64_t y0,
                        int rank, struct unet_click_result *r);

#endif
