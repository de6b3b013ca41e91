/*
 * Training pairs from two folders of TIFFs: every image file with a label file of the same
 * name, or of the same stem with another TIFF extension (.tif / .tiff, any case). Files are
 * taken in sorted order, so the split and the samples do not depend on the directory order.
 * Each page (plane) of a stack is its own pair.
 */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/alloc.h"
#include "core/status.h"
#include "io/tiff.h"
#include "train/trainer_internal.h"

static bool is_tiff(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot && (strcasecmp(dot, ".tif") == 0 || strcasecmp(dot, ".tiff") == 0);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted TIFF file names of a folder (NULL-terminated, caller frees). */
static int list_tiffs(const char *dir, char ***out, int *count)
{
    *out = NULL;
    *count = 0;
    DIR *d = opendir(dir);
    if (!d)
        return unet__fail(UNET_E_IO, "cannot open the folder '%.200s'", dir);
    char **names = NULL;
    int n = 0, cap = 0, rc = UNET_OK;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || !is_tiff(e->d_name))
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            char **p = realloc(names, (size_t)(cap + 1) * sizeof *p);
            if (!p) {
                rc = unet__fail(UNET_E_NOMEM, "out of memory listing '%.200s'", dir);
                break;
            }
            names = p;
        }
        if (!(names[n] = unet__strdup(e->d_name))) {
            rc = unet__fail(UNET_E_NOMEM, "out of memory listing '%.200s'", dir);
            break;
        }
        n++;
    }
    closedir(d);
    if (rc == UNET_OK && n > 0)
        qsort(names, (size_t)n, sizeof *names, cmp_str);
    if (rc != UNET_OK) {
        for (int i = 0; i < n; i++)
            free(names[i]);
        free(names);
        return rc;
    }
    *out = names;
    *count = n;
    return UNET_OK;
}

/* The label file for an image name: the same name, else the same stem with a TIFF suffix. */
static const char *match(char **labels, int n, const char *image)
{
    for (int i = 0; i < n; i++)
        if (strcmp(labels[i], image) == 0)
            return labels[i];
    size_t stem = (size_t)(strrchr(image, '.') - image);
    for (int i = 0; i < n; i++) {
        const char *dot = strrchr(labels[i], '.');
        if ((size_t)(dot - labels[i]) == stem && strncmp(labels[i], image, stem) == 0)
            return labels[i];
    }
    return NULL;
}

/* Read one page of a TIFF as float (C, H, W). */
static int read_page(unet__tiff_reader *r, int64_t page, float **out)
{
    const unet__tiff_info *in = unet__tiff_reader_info(r);
    const int64_t count = (int64_t)in->channels * in->height * in->width;
    void *raw = NULL;
    size_t raw_bytes = 0;
    float *f = unet__alloc_floats((size_t)count);
    int rc = UNET_OK;
    if (!f)
        rc = unet__fail(UNET_E_NOMEM, "out of memory reading a %lld x %lld TIFF page",
                        (long long)in->height, (long long)in->width);
    if (rc == UNET_OK)
        rc = unet__tiff_read_region_float(r, page, 0, 0, in->height, in->width, &raw,
                                          &raw_bytes, f);
    for (int64_t i = 0; rc == UNET_OK && i < count; i++)
        if (!isfinite(f[i]))
            rc = unet__fail(UNET_E_INVALID_ARG, "page %lld has a non-finite value",
                            (long long)page);
    unet__free_aligned(raw);
    if (rc != UNET_OK) {
        unet__free_aligned(f);
        return rc;
    }
    *out = f;
    return UNET_OK;
}

static int add_pair_files(struct unet_trainer *t, const char *ipath, const char *lpath,
                          const char *name)
{
    unet__tiff_reader *ri = NULL, *rl = NULL;
    int rc = unet__tiff_open(ipath, &ri);
    if (rc == UNET_OK)
        rc = unet__tiff_open(lpath, &rl);
    if (rc != UNET_OK) {
        unet__tiff_close(ri);
        return rc;
    }
    const unet__tiff_info *ii = unet__tiff_reader_info(ri), *li = unet__tiff_reader_info(rl);
    if (ii->width != li->width || ii->height != li->height || ii->pages != li->pages)
        rc = unet__fail(UNET_E_SHAPE, "%s: the image is %lld x %lld x %lld pages, its labels "
                                      "%lld x %lld x %lld", name, (long long)ii->height,
                        (long long)ii->width, (long long)ii->pages, (long long)li->height,
                        (long long)li->width, (long long)li->pages);
    const bool float_labels = li->dtype == UNET_F32 || li->dtype == UNET_F64;
    bool restoration = strcmp(t->o.target, "image") == 0 ||
                       (float_labels && strcmp(t->o.target, "auto") == 0);
    if (t->resolved)
        restoration = t->data.restoration;
    const int64_t hw = ii->height * ii->width;
    for (int64_t page = 0; page < ii->pages && rc == UNET_OK; page++) {
        float *img = NULL, *lab = NULL;
        char pname[300];
        if (ii->pages > 1)
            snprintf(pname, sizeof pname, "%.250s[%lld]", name, (long long)page);
        else
            snprintf(pname, sizeof pname, "%.250s", name);
        rc = read_page(ri, page, &img);
        if (rc == UNET_OK)
            rc = read_page(rl, page, &lab);
        if (rc == UNET_OK && restoration) {
            rc = unet__trainer_add_pair(t, pname, img, ii->channels, ii->height, ii->width,
                                        NULL, lab, li->channels, UNET_SPLIT_AUTO);
        } else if (rc == UNET_OK) {
            int32_t *l = malloc((size_t)hw * sizeof *l);
            if (!l)
                rc = unet__fail(UNET_E_NOMEM, "out of memory for labels");
            if (rc == UNET_OK && li->channels != 1)
                rc = unet__fail(UNET_E_SHAPE, "%s: label images have one channel (it has %d)",
                                pname, li->channels);
            for (int64_t i = 0; rc == UNET_OK && i < hw; i++) {
                const double v = lab[i];
                const bool ignore = t->o.ignore_label >= 0 && v == (double)t->o.ignore_label;
                if (!ignore && !(v >= 0 && v <= 2147483647.0 && v == floor(v)))
                    rc = unet__fail(UNET_E_INVALID_ARG, "%s: label %g at (%lld, %lld) is not a "
                                                        "non-negative integer",
                                    pname, v, (long long)(i / ii->width),
                                    (long long)(i % ii->width));
                l[i] = (int32_t)v;
            }
            if (rc == UNET_OK)
                rc = unet__trainer_add_pair(t, pname, img, ii->channels, ii->height, ii->width,
                                            l, NULL, 1, UNET_SPLIT_AUTO);
            free(l);
        }
        unet__free_aligned(img);
        unet__free_aligned(lab);
    }
    unet__tiff_close(ri);
    unet__tiff_close(rl);
    return rc;
}

int unet__trainer_add_folders(struct unet_trainer *t, const char *images, const char *labels)
{
    char **in = NULL, **ln = NULL;
    int ni = 0, nl = 0;
    int rc = list_tiffs(images, &in, &ni);
    if (rc == UNET_OK)
        rc = list_tiffs(labels, &ln, &nl);
    int pairs = 0;
    for (int i = 0; i < ni && rc == UNET_OK; i++) {
        const char *l = match(ln, nl, in[i]);
        if (!l)
            continue;
        size_t a = strlen(images) + strlen(in[i]) + 2, b = strlen(labels) + strlen(l) + 2;
        char *ip = malloc(a), *lp = malloc(b);
        if (!ip || !lp) {
            rc = unet__fail(UNET_E_NOMEM, "out of memory");
        } else {
            snprintf(ip, a, "%s/%s", images, in[i]);
            snprintf(lp, b, "%s/%s", labels, l);
            rc = add_pair_files(t, ip, lp, in[i]);
            pairs++;
        }
        free(ip);
        free(lp);
    }
    if (rc == UNET_OK && pairs == 0)
        rc = unet__fail(UNET_E_IO, "no image in '%.200s' has a label file of the same name in "
                                   "'%.200s' (%d images, %d label files)",
                        images, labels, ni, nl);
    for (int i = 0; i < ni; i++)
        free(in[i]);
    for (int i = 0; i < nl; i++)
        free(ln[i]);
    free(in);
    free(ln);
    return rc;
}
