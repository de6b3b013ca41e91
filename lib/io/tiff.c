/* TIFF reading by region and streaming writing through libtiff 4.5 (see tiff.h). */
#include "io/tiff.h"
#include "io/chunk_cache.h"
#include "io/deflate_batch.h"

#include "core/alloc.h"
#include "core/budget.h"
#include "core/files.h"
#include "core/dtype.h"
#include "core/pool.h"
#include "core/status.h"
#include "core/threads.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <tiffio.h>
#include <unistd.h>
#ifdef UNET_HAVE_LIBDEFLATE
#include <libdeflate.h>
#endif

#define TIFF_MSG_LEN 256
/* More images (IFDs) than this is taken for a corrupt IFD chain (and bounds the page table). */
#define MAX_PAGES ((int64_t)1 << 20)
/* The largest decoded strip or tile we allocate. */
#define MAX_CHUNK_BYTES ((uint64_t)1 << 30)
/* Chunks above this size must be plausible given their stored byte count, so that a tiny
 * corrupt file cannot make us allocate a gigabyte. */
#define UNCHECKED_CHUNK_BYTES ((uint64_t)16 << 20)
#define DEFAULT_CACHE_BYTES ((size_t)64 << 20)
/* The cache always keeps one row of chunks, up to this many bytes. */
#define CACHE_ROW_BYTES ((size_t)1 << 30)
/* Lookups are linear scans; more entries than this would cost more than they save. */
#define MAX_CACHE_ENTRIES 4096
#define WRITER_STRIP_ROWS 64
#define WRITER_STRIP_BYTES ((size_t)16 << 20)
/* Strips compressed together hold up to this many bytes (at most 4 per thread). */
#define WRITER_BATCH_BYTES ((size_t)8 << 20)
/* Room kept below 4 GiB for tags and IFDs when choosing classic TIFF. */
#define BIGTIFF_MARGIN ((uint64_t)64 << 20)

/* ---- libtiff messages, captured per handle ------------------------------------------------ */

typedef struct tiff_log {
    bool failed;
    bool guessed_counts; /* libtiff replaced missing or zero byte counts by estimates */
    char error[TIFF_MSG_LEN]; /* the first error since log_reset: usually the root cause */
} tiff_log;

static int capture_error(TIFF *tif, void *user, const char *module, const char *fmt, va_list ap)
{
    (void)tif;
    tiff_log *log = user;
    if (!log->failed) {
        int n = module ? snprintf(log->error, sizeof log->error, "%.64s: ", module) : 0;
        n = n > 0 ? n : 0;
        vsnprintf(log->error + n, sizeof log->error - (size_t)n, fmt, ap);
        log->failed = true;
    }
    return 1; /* handled: libtiff must not fall through to its global (printing) handlers */
}

/* Warnings are dropped, except the one saying libtiff estimates a page's byte counts (zero or
 * missing StripByteCounts): it would then decode whatever bytes it guessed, so read_page
 * refuses such a page. */
static int note_warning(TIFF *tif, void *user, const char *module, const char *fmt, va_list ap)
{
    (void)tif, (void)module, (void)ap;
    tiff_log *log = user;
    if (fmt && strstr(fmt, "ByteCounts") && strstr(fmt, "calculating"))
        log->guessed_counts = true;
    return 1;
}

static void log_reset(tiff_log *log)
{
    log->failed = false;
    log->error[0] = '\0';
}

static const char *log_text(const tiff_log *log)
{
    return log->failed ? log->error : "no detail from libtiff";
}

static TIFFOpenOptions *make_options(tiff_log *log)
{
    TIFFOpenOptions *o = TIFFOpenOptionsAlloc();
    if (!o)
        return NULL;
    TIFFOpenOptionsSetErrorHandlerExtR(o, capture_error, log);
    TIFFOpenOptionsSetWarningHandlerExtR(o, note_warning, log);
    TIFFOpenOptionsSetMaxSingleMemAlloc(o, (tmsize_t)MAX_CHUNK_BYTES);
    return o;
}

/* ---- element types ------------------------------------------------------------------------ */

static const char *sample_format_name(int fmt)
{
    switch (fmt) {
    case SAMPLEFORMAT_UINT: return "unsigned";
    case SAMPLEFORMAT_INT: return "signed";
    case SAMPLEFORMAT_IEEEFP: return "float";
    case SAMPLEFORMAT_VOID: return "untyped";
    case SAMPLEFORMAT_COMPLEXINT: return "complex int";
    case SAMPLEFORMAT_COMPLEXIEEEFP: return "complex float";
    default: return "unknown-format";
    }
}

/* The element type read_region delivers for a file's samples; false if unsupported. int32 has
 * no unet_dtype_t, so it is widened to float64, which holds every int32 exactly. */
static bool map_dtype(int bits, int fmt, unet_dtype_t *out)
{
    if (fmt == SAMPLEFORMAT_VOID) /* "undefined": the TIFF spec says treat as unsigned */
        fmt = SAMPLEFORMAT_UINT;
    if (fmt == SAMPLEFORMAT_UINT && bits == 8) *out = UNET_U8;
    else if (fmt == SAMPLEFORMAT_UINT && bits == 16) *out = UNET_U16;
    else if (fmt == SAMPLEFORMAT_UINT && bits == 32) *out = UNET_U32;
    else if (fmt == SAMPLEFORMAT_INT && bits == 16) *out = UNET_I16;
    else if (fmt == SAMPLEFORMAT_INT && bits == 32) *out = UNET_F64;
    else if (fmt == SAMPLEFORMAT_IEEEFP && bits == 32) *out = UNET_F32;
    else if (fmt == SAMPLEFORMAT_IEEEFP && bits == 64) *out = UNET_F64;
    else return false;
    return true;
}

static const char *photometric_name(int p)
{
    switch (p) {
    case PHOTOMETRIC_PALETTE: return "palette";
    case PHOTOMETRIC_YCBCR: return "YCbCr";
    case PHOTOMETRIC_MASK: return "transparency mask";
    case PHOTOMETRIC_CIELAB: case PHOTOMETRIC_ICCLAB: case PHOTOMETRIC_ITULAB: return "Lab";
    case PHOTOMETRIC_CFA: return "colour filter array";
    case PHOTOMETRIC_LOGL: case PHOTOMETRIC_LOGLUV: return "LogL/LogLuv";
    default: return "unknown";
    }
}

/* How many decoded bytes one stored byte can give at most, per codec. Codecs without a small
 * bound (zstd, LZMA, JPEG, ...) get 65536, above what zstd reaches on constant data (~32768). */
static uint64_t max_expansion(int compression)
{
    switch (compression) {
    case COMPRESSION_NONE: return 1;
    case COMPRESSION_PACKBITS: return 64;    /* 2 bytes give at most 128 */
    case COMPRESSION_LZW: return 4096;       /* a >= 9-bit code gives at most 4096 bytes */
    case COMPRESSION_ADOBE_DEFLATE:
    case COMPRESSION_DEFLATE: return 1100;   /* deflate's limit is 1032:1 */
    default: return 65536;
    }
}

/* ---- reader ------------------------------------------------------------------------------- */

typedef struct page_layout {
    uint64_t dir_offset;      /* file offset of the page's IFD: seeking by offset is O(1),
                                 by directory number libtiff 4.5 walks the chain */
    bool tiled, separate;
    int compression;
    uint32_t chunk_w, chunk_h; /* tile size, or image width x rows per strip */
    uint32_t across, down;    /* chunks per row and per column of one plane */
    uint32_t per_plane;       /* across * down */
    int samples_per_chunk;    /* channels when chunky, 1 when separate */
    uint64_t chunk_bytes;     /* a whole decoded chunk (strips at the bottom are shorter) */
    bool plain_deflate;       /* deflate, no predictor, native byte order: decodable in parallel */
} page_layout;

typedef struct mem_source {
    const uint8_t *data;
    uint64_t size, pos;
} mem_source;

struct unet__tiff_reader {
    TIFF *tif;
    char *name;
    tiff_log log;
    mem_source mem;           /* for unet__tiff_open_memory */
    uint64_t file_size;
    unet__tiff_info info;
    page_layout *pages;
    int64_t current_page;     /* the page libtiff's current directory holds; -1 unknown */
    size_t file_sample_bytes; /* element size in the file (4 for int32 read as float64) */
    bool int32_to_f64;
    unet__chunk_cache cache;
    size_t cache_budget;
    uint64_t decoded;
    int threads;              /* that decode chunks (plain deflate with libdeflate) */
};

static tmsize_t mem_read(thandle_t h, void *buf, tmsize_t n)
{
    mem_source *m = h;
    if (n <= 0 || m->pos >= m->size)
        return 0;
    uint64_t avail = m->size - m->pos;
    uint64_t take = (uint64_t)n < avail ? (uint64_t)n : avail;
    memcpy(buf, m->data + m->pos, (size_t)take);
    m->pos += take;
    return (tmsize_t)take;
}

static tmsize_t mem_write(thandle_t h, void *buf, tmsize_t n)
{
    (void)h, (void)buf, (void)n;
    return 0; /* read-only */
}

static toff_t mem_seek(thandle_t h, toff_t off, int whence)
{
    mem_source *m = h;
    uint64_t base;
    switch (whence) {
    case SEEK_SET: base = 0; break;
    case SEEK_CUR: base = m->pos; break;
    case SEEK_END: base = m->size; break;
    default: return (toff_t)-1;
    }
    /* Like a file, a position may lie past the end (reads there return 0 bytes); offsets wrap
     * in uint64 as libtiff expects for relative moves. */
    m->pos = base + off;
    return m->pos;
}

static int mem_close(thandle_t h)
{
    (void)h;
    return 0;
}

static toff_t mem_size(thandle_t h)
{
    return ((mem_source *)h)->size;
}

static int mem_map(thandle_t h, void **base, toff_t *size)
{
    mem_source *m = h;
    *base = (void *)(uintptr_t)m->data; /* libtiff only reads a mapping opened "r" */
    *size = m->size;
    return 1;
}

static void mem_unmap(thandle_t h, void *base, toff_t size)
{
    (void)h, (void)base, (void)size;
}

void unet__tiff_close(unet__tiff_reader *r)
{
    if (!r)
        return;
    if (r->tif)
        TIFFClose(r->tif);
    unet__chunk_cache_clear(&r->cache);
    free(r->pages);
    free(r->name);
    free(r);
}

const unet__tiff_info *unet__tiff_reader_info(const unet__tiff_reader *r)
{
    return r ? &r->info : NULL;
}

uint64_t unet__tiff_decoded_chunks(const unet__tiff_reader *r)
{
    return r ? r->decoded : 0;
}

void unet__tiff_set_threads(unet__tiff_reader *r, int threads)
{
    if (r)
        r->threads = threads < 1 ? 1 : threads;
}

void unet__tiff_set_cache_bytes(unet__tiff_reader *r, size_t bytes)
{
    if (!r)
        return;
    r->cache_budget = bytes;
    unet__chunk_cache_clear(&r->cache); /* simplest correct shrink; refills on demand */
}

static int norm_format(int fmt)
{
    return fmt == SAMPLEFORMAT_VOID ? SAMPLEFORMAT_UINT : fmt;
}

/* Read and check the current directory as page `page`. With `first` it sets r->info;
 * otherwise the page must match r->info in size, channels and element type. */
static int read_page(unet__tiff_reader *r, int64_t page, bool first, page_layout *L)
{
    TIFF *tif = r->tif;
    const char *name = r->name;
    uint32_t width = 0, height = 0;
    if (r->log.guessed_counts) { /* set while libtiff read this directory */
        r->log.guessed_counts = false;
        return unet__fail(UNET_E_FORMAT,
                          "tiff '%s': page %lld has a strip byte count that is 0, missing "
                          "or past the end of the file; its data cannot be located safely",
                          name, (long long)page);
    }
    uint16_t spp = 1, bits = 1, fmt = SAMPLEFORMAT_UINT, planar = PLANARCONFIG_CONTIG;
    uint16_t compression = COMPRESSION_NONE, photometric = PHOTOMETRIC_MINISBLACK;

    if (!TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &width) ||
        !TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &height))
        return unet__fail(UNET_E_FORMAT, "tiff '%s': page %lld has no ImageWidth/ImageLength",
                          name, (long long)page);
    TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLESPERPIXEL, &spp);
    TIFFGetFieldDefaulted(tif, TIFFTAG_BITSPERSAMPLE, &bits);
    TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLEFORMAT, &fmt);
    TIFFGetFieldDefaulted(tif, TIFFTAG_PLANARCONFIG, &planar);
    TIFFGetFieldDefaulted(tif, TIFFTAG_COMPRESSION, &compression);
    TIFFGetField(tif, TIFFTAG_PHOTOMETRIC, &photometric); /* absent: grey (libtiff guesses) */

    if (width == 0 || height == 0)
        return unet__fail(UNET_E_FORMAT, "tiff '%s': page %lld is %ux%u pixels", name,
                          (long long)page, width, height);
    if (width > INT32_MAX || height > INT32_MAX)
        return unet__fail(UNET_E_UNSUPPORTED,
                          "tiff '%s': page %lld is %ux%u pixels; at most %d per side", name,
                          (long long)page, width, height, INT32_MAX);
    if (spp == 0)
        return unet__fail(UNET_E_FORMAT, "tiff '%s': page %lld has 0 samples per pixel", name,
                          (long long)page);
    if (photometric != PHOTOMETRIC_MINISBLACK && photometric != PHOTOMETRIC_MINISWHITE &&
        photometric != PHOTOMETRIC_RGB && photometric != PHOTOMETRIC_SEPARATED)
        return unet__fail(UNET_E_UNSUPPORTED,
                          "tiff '%s': page %lld has photometric interpretation %u (%s); only "
                          "grey, RGB and separated channels are supported",
                          name, (long long)page, photometric, photometric_name(photometric));
    unet_dtype_t dtype;
    if (!map_dtype(bits, fmt, &dtype))
        return unet__fail(UNET_E_UNSUPPORTED,
                          "tiff '%s': page %lld has %u-bit %s samples; supported are 8/16/32-bit "
                          "unsigned, 16/32-bit signed and 32/64-bit float",
                          name, (long long)page, bits, sample_format_name(fmt));
    if (planar != PLANARCONFIG_CONTIG && planar != PLANARCONFIG_SEPARATE)
        return unet__fail(UNET_E_FORMAT, "tiff '%s': page %lld has PlanarConfiguration %u",
                          name, (long long)page, planar);
    if (!TIFFIsCODECConfigured(compression)) {
        const TIFFCodec *codec = TIFFFindCODEC(compression);
        return unet__fail(UNET_E_UNSUPPORTED,
                          "tiff '%s': page %lld uses compression %u (%s), which this libtiff "
                          "cannot decode",
                          name, (long long)page, compression, codec ? codec->name : "unknown");
    }

    if (first) {
        unet__tiff_info *in = &r->info;
        in->width = width;
        in->height = height;
        in->channels = spp;
        in->dtype = dtype;
        in->file_bits = bits;
        in->file_sample_format = fmt;
        in->bigtiff = TIFFIsBigTIFF(tif) != 0;
        float xr = 0, yr = 0;
        uint16_t unit = RESUNIT_INCH;
        if (TIFFGetField(tif, TIFFTAG_XRESOLUTION, &xr) &&
            TIFFGetField(tif, TIFFTAG_YRESOLUTION, &yr)) {
            TIFFGetFieldDefaulted(tif, TIFFTAG_RESOLUTIONUNIT, &unit);
            in->has_resolution = true;
            in->x_resolution = xr;
            in->y_resolution = yr;
            in->resolution_unit = unit;
        }
        r->file_sample_bytes = bits / 8;
        r->int32_to_f64 = fmt == SAMPLEFORMAT_INT && bits == 32;
    } else if (width != r->info.width || height != r->info.height) {
        return unet__fail(UNET_E_UNSUPPORTED,
                          "tiff '%s': page %lld is %ux%u but page 0 is %lldx%lld; pages of "
                          "different sizes are not supported",
                          name, (long long)page, width, height, (long long)r->info.width,
                          (long long)r->info.height);
    } else if (spp != r->info.channels || bits != r->info.file_bits ||
               norm_format(fmt) != norm_format(r->info.file_sample_format)) {
        return unet__fail(UNET_E_UNSUPPORTED,
                          "tiff '%s': page %lld has %u channel%s of %u-bit %s samples but page 0 "
                          "has %d of %d-bit %s; pages of different types are not supported",
                          name, (long long)page, spp, UNET__PLURAL(spp), bits,
                          sample_format_name(fmt),
                          r->info.channels, r->info.file_bits,
                          sample_format_name(r->info.file_sample_format));
    }

    memset(L, 0, sizeof *L);
    L->dir_offset = TIFFCurrentDirOffset(tif);
    L->compression = compression;
    uint16_t predictor = PREDICTOR_NONE, fill = FILLORDER_MSB2LSB;
    TIFFGetFieldDefaulted(tif, TIFFTAG_PREDICTOR, &predictor);
    TIFFGetFieldDefaulted(tif, TIFFTAG_FILLORDER, &fill);
    L->plain_deflate = (compression == COMPRESSION_ADOBE_DEFLATE ||
                        compression == COMPRESSION_DEFLATE) &&
                       predictor == PREDICTOR_NONE && fill == FILLORDER_MSB2LSB &&
                       (bits == 8 || !TIFFIsByteSwapped(tif));
    L->separate = planar == PLANARCONFIG_SEPARATE && spp > 1;
    L->samples_per_chunk = L->separate ? 1 : spp;
    L->tiled = TIFFIsTiled(tif) != 0;
    if (L->tiled) {
        uint32_t tw = 0, th = 0;
        TIFFGetField(tif, TIFFTAG_TILEWIDTH, &tw);
        TIFFGetField(tif, TIFFTAG_TILELENGTH, &th);
        if (tw == 0 || th == 0)
            return unet__fail(UNET_E_FORMAT, "tiff '%s': page %lld has tiles of %ux%u", name,
                              (long long)page, tw, th);
        L->chunk_w = tw;
        L->chunk_h = th;
    } else {
        uint32_t rps = 0;
        TIFFGetFieldDefaulted(tif, TIFFTAG_ROWSPERSTRIP, &rps);
        if (rps == 0)
            return unet__fail(UNET_E_FORMAT, "tiff '%s': page %lld has RowsPerStrip 0", name,
                              (long long)page);
        L->chunk_w = width;
        L->chunk_h = rps < height ? rps : height;
    }
    L->across = (uint32_t)(((uint64_t)width + L->chunk_w - 1) / L->chunk_w);
    L->down = (uint32_t)(((uint64_t)height + L->chunk_h - 1) / L->chunk_h);
    const char *kind = L->tiled ? "tile" : "strip";

    /* libtiff's own count must agree, and the file must hold an offset for the last chunk. */
    uint64_t per_plane = (uint64_t)L->across * L->down;
    uint64_t chunks = per_plane * (L->separate ? spp : 1);
    uint32_t libtiff_chunks = L->tiled ? TIFFNumberOfTiles(tif) : TIFFNumberOfStrips(tif);
    int missing = 0;
    if (chunks == libtiff_chunks && chunks <= UINT32_MAX)
        TIFFGetStrileByteCountWithErr(tif, (uint32_t)(chunks - 1), &missing);
    if (chunks != libtiff_chunks || chunks > UINT32_MAX || missing)
        return unet__fail(UNET_E_FORMAT,
                          "tiff '%s': page %lld lacks offsets for its %llu %ss of %ux%u", name,
                          (long long)page, (unsigned long long)chunks, kind, L->chunk_w,
                          L->chunk_h);
    L->per_plane = (uint32_t)per_plane;
    /* Checked against MAX_CHUNK_BYTES in scan_pages, after the plausibility check. */
    L->chunk_bytes = unet__sat_mul(unet__sat_mul((uint64_t)L->chunk_w * L->chunk_h,
                                                 (uint64_t)L->samples_per_chunk),
                                   r->file_sample_bytes);
    return UNET_OK;
}

static int scan_pages(unet__tiff_reader *r)
{
    size_t alloc = 0;
    int64_t count = 0;
    /* Stored bytes the pixels need at least, at each codec's best ratio: a header claiming
     * 2^31 x 2^31 pixels fails here, before anything is allocated for it. */
    uint64_t least_stored = 0;
    for (tdir_t dir = 0;; dir++) {
        uint32_t subfile = 0;
        bool thumbnail = TIFFGetField(r->tif, TIFFTAG_SUBFILETYPE, &subfile) &&
                         (subfile & FILETYPE_REDUCEDIMAGE);
        if (!(thumbnail && count > 0)) {
            if ((size_t)count == alloc) {
                alloc = alloc ? 2 * alloc : 8;
                page_layout *p = realloc(r->pages, alloc * sizeof *p);
                if (!p)
                    return unet__fail(UNET_E_NOMEM, "tiff '%s': no memory for %zu pages",
                                      r->name, alloc);
                r->pages = p;
            }
            page_layout *L = &r->pages[count];
            int rc = read_page(r, count, count == 0, L);
            if (rc != UNET_OK)
                return rc;
            uint64_t bytes = unet__sat_mul3(r->info.width, r->info.height, r->info.channels);
            bytes = unet__sat_mul(bytes, r->file_sample_bytes);
            least_stored = unet__sat_add(least_stored, bytes / max_expansion(L->compression));
            if (least_stored > r->file_size)
                return unet__fail(UNET_E_FORMAT,
                                  "tiff '%s': page %lld claims %lldx%lld pixels of %d channel%s, "
                                  "more than its %llu-byte file can hold",
                                  r->name, (long long)count, (long long)r->info.width,
                                  (long long)r->info.height, r->info.channels,
                                  UNET__PLURAL(r->info.channels),
                                  (unsigned long long)r->file_size);
            if (L->chunk_bytes > MAX_CHUNK_BYTES)
                return unet__fail(UNET_E_UNSUPPORTED,
                                  "tiff '%s': page %lld has %ux%u %ss of %d samples of %zu "
                                  "bytes, over the %llu-byte limit for one decoded chunk",
                                  r->name, (long long)count, L->chunk_w, L->chunk_h,
                                  L->tiled ? "tile" : "strip", L->samples_per_chunk,
                                  r->file_sample_bytes, (unsigned long long)MAX_CHUNK_BYTES);
            count++;
        }
        if (TIFFLastDirectory(r->tif))
            break;
        if (dir + 1 >= MAX_PAGES)
            return unet__fail(UNET_E_UNSUPPORTED, "tiff '%s': more than %lld images",
                              r->name, (long long)MAX_PAGES);
        log_reset(&r->log);
        if (!TIFFReadDirectory(r->tif))
            return unet__fail(UNET_E_FORMAT, "tiff '%s': cannot read directory %u: %s",
                              r->name, (unsigned)dir + 1, log_text(&r->log));
    }
    r->info.pages = count;
    r->current_page = -1;
    const page_layout *L = &r->pages[0];
    r->info.planar_separate = L->separate;
    r->info.tiled = L->tiled;
    r->info.chunk_width = L->chunk_w;
    r->info.chunk_height = L->chunk_h;
    r->info.compression = L->compression;
    return UNET_OK;
}

static unet__tiff_reader *new_reader(const char *name)
{
    unet__tiff_reader *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->name = unet__strdup(name);
    if (!r->name) {
        free(r);
        return NULL;
    }
    r->cache_budget = DEFAULT_CACHE_BYTES;
    r->threads = 1;
    unet__chunk_cache_clear(&r->cache); /* an empty cache with empty list ends */
    r->current_page = -1;
    return r;
}

/* After TIFF*OpenExt: scan the pages, or fail and free everything. */
static int finish_open(unet__tiff_reader *r, TIFFOpenOptions *opts, unet__tiff_reader **out)
{
    TIFFOpenOptionsFree(opts);
    if (!r->tif) {
        int rc = unet__fail(UNET_E_FORMAT, "tiff '%s': not a readable TIFF: %s", r->name,
                            log_text(&r->log));
        unet__tiff_close(r);
        return rc;
    }
    int rc = scan_pages(r);
    if (rc != UNET_OK) {
        unet__tiff_close(r);
        return rc;
    }
    *out = r;
    return UNET_OK;
}

int unet__tiff_open(const char *path, unet__tiff_reader **out)
{
    if (out)
        *out = NULL;
    if (!path || !out)
        return unet__fail(UNET_E_INVALID_ARG, "tiff open: %s is NULL", path ? "out" : "path");
    int fd;
    uint64_t file_size;
    int rc = unet__open_regular(path, "tiff", &fd, &file_size);
    if (rc != UNET_OK)
        return rc;
    if (file_size == 0) {
        close(fd);
        return unet__fail(UNET_E_FORMAT, "tiff '%s': empty file (0 bytes)", path);
    }
    unet__tiff_reader *r = new_reader(path);
    TIFFOpenOptions *opts = r ? make_options(&r->log) : NULL;
    if (!opts) {
        close(fd);
        unet__tiff_close(r);
        return unet__fail(UNET_E_NOMEM, "tiff '%s': no memory for a reader", path);
    }
    r->file_size = file_size;
    /* "m": no memory mapping. A mapped file's pages count in the resident size as they are
     * read, so streaming a 340 MB TIFF would look like 260 MB more peak RSS. */
    r->tif = TIFFFdOpenExt(fd, path, "rm", opts); /* on success libtiff owns (closes) fd */
    if (!r->tif)
        close(fd);
    return finish_open(r, opts, out);
}

int unet__tiff_open_memory(const void *data, size_t size, const char *name,
                           unet__tiff_reader **out)
{
    if (out)
        *out = NULL;
    if (!name)
        name = "memory";
    if (!out || (!data && size))
        return unet__fail(UNET_E_INVALID_ARG, "tiff open: %s is NULL", out ? "data" : "out");
    if (size == 0)
        return unet__fail(UNET_E_FORMAT, "tiff '%s': empty (0 bytes)", name);
    unet__tiff_reader *r = new_reader(name);
    TIFFOpenOptions *opts = r ? make_options(&r->log) : NULL;
    if (!opts) {
        unet__tiff_close(r);
        return unet__fail(UNET_E_NOMEM, "tiff '%s': no memory for a reader", name);
    }
    r->mem.data = data;
    r->mem.size = size;
    r->file_size = size;
    r->tif = TIFFClientOpenExt(r->name, "r", &r->mem, mem_read, mem_write, mem_seek, mem_close,
                               mem_size, mem_map, mem_unmap, opts);
    return finish_open(r, opts, out);
}

static int select_page(unet__tiff_reader *r, int64_t page)
{
    if (r->current_page == page)
        return UNET_OK;
    r->current_page = -1;
    log_reset(&r->log);
    if (!TIFFSetSubDirectory(r->tif, r->pages[page].dir_offset))
        return unet__fail(UNET_E_FORMAT, "tiff '%s': cannot read the directory of page %lld: %s",
                          r->name, (long long)page, log_text(&r->log));
    /* Re-validate: the directory must still be the page scanned at open (a file can change
     * under us, and every size below was checked against that scan). */
    page_layout again;
    int rc = read_page(r, page, false, &again);
    if (rc != UNET_OK)
        return rc;
    if (memcmp(&again, &r->pages[page], sizeof again) != 0)
        return unet__fail(UNET_E_FORMAT, "tiff '%s': page %lld changed since the file was opened",
                          r->name, (long long)page);
    r->current_page = page;
    return UNET_OK;
}

/* How many decoded chunks the cache may hold for pages laid out as L. */
static size_t cache_capacity(const unet__tiff_reader *r, const page_layout *L)
{
    size_t row = (size_t)L->across * (L->separate ? (size_t)r->info.channels : 1);
    size_t chunk = (size_t)L->chunk_bytes; /* <= MAX_CHUNK_BYTES */
    size_t cap = r->cache_budget / chunk;
    if (cap < row) {
        size_t row_cap = CACHE_ROW_BYTES / chunk;
        cap = row < row_cap ? row : row_cap;
    }
    if (cap > MAX_CACHE_ENTRIES)
        cap = MAX_CACHE_ENTRIES;
    return cap ? cap : 1;
}

/* The decoded bytes of a chunk: a whole one, or the rows left in the bottom strip. */
static size_t chunk_need(const unet__tiff_reader *r, const page_layout *L, uint32_t chunk)
{
    size_t need = (size_t)L->chunk_bytes;
    if (!L->tiled) {
        uint32_t row0 = (chunk % L->per_plane) * L->chunk_h;
        uint32_t rows = (uint32_t)r->info.height - row0;
        if (rows < L->chunk_h)
            need = need / L->chunk_h * rows;
    }
    return need;
}

/* The decoded chunk `chunk` of `page` (the current page), from the cache or libtiff. */
static int get_chunk(unet__tiff_reader *r, int64_t page, uint32_t chunk, const uint8_t **out)
{
    const unet__chunk *hit = unet__chunk_cache_find(&r->cache, page, chunk);
    if (hit) {
        *out = hit->data;
        return UNET_OK;
    }
    const page_layout *L = &r->pages[page];
    const char *kind = L->tiled ? "tile" : "strip";
    size_t need = chunk_need(r, L, chunk);
    uint64_t stored = TIFFGetStrileByteCount(r->tif, chunk);
    if (stored == 0) /* libtiff would decode whatever bytes it guesses and call it success */
        return unet__fail(UNET_E_FORMAT,
                          "tiff '%s': %s %u of page %lld has no data (byte count 0)", r->name,
                          kind, chunk, (long long)page);
    if (need > UNCHECKED_CHUNK_BYTES && need / max_expansion(L->compression) > stored)
        return unet__fail(UNET_E_FORMAT,
                          "tiff '%s': %s %u of page %lld claims %zu decoded bytes from %llu "
                          "stored bytes",
                          r->name, kind, chunk, (long long)page, need,
                          (unsigned long long)stored);
    unet__chunk *e = unet__chunk_cache_slot(&r->cache, cache_capacity(r, L),
                                            (size_t)L->chunk_bytes);
    if (!e)
        return unet__fail(UNET_E_NOMEM, "tiff '%s': no memory for a %zu-byte %s", r->name,
                          (size_t)L->chunk_bytes, kind);
    /* libtiff can report success without filling the buffer (4.5 accepts libdeflate's
     * "insufficient space" on corrupt streams): start from zeros, so no stale or uninitialised
     * bytes ever reach the caller. */
    if (!e->zeroed)
        memset(e->data, 0, need);
    e->zeroed = false;
    log_reset(&r->log);
    tmsize_t got = L->tiled ? TIFFReadEncodedTile(r->tif, chunk, e->data, (tmsize_t)need)
                            : TIFFReadEncodedStrip(r->tif, chunk, e->data, (tmsize_t)need);
    r->decoded++;
    if (got < 0 || (size_t)got != need)
        return unet__fail(UNET_E_FORMAT,
                          "tiff '%s': cannot decode %s %u of page %lld (%lld of %zu bytes): %s",
                          r->name, kind, chunk, (long long)page, (long long)got, need,
                          log_text(&r->log));
    unet__chunk_cache_insert(&r->cache, e, page, chunk);
    *out = e->data;
    return UNET_OK;
}

/* n samples `stride` samples apart in src to consecutive elements of dst. */
static void copy_samples(uint8_t *dst, const uint8_t *src, size_t n, size_t stride, size_t size,
                         bool int32_to_f64)
{
    if (int32_to_f64) {
        for (size_t i = 0; i < n; i++) {
            int32_t v;
            memcpy(&v, src + i * stride * 4, 4);
            double d = v;
            memcpy(dst + i * 8, &d, 8);
        }
        return;
    }
    if (stride == 1) {
        memcpy(dst, src, n * size);
        return;
    }
    /* Fixed-size memcpy compiles to plain loads and stores. */
    switch (size) {
    case 1:
        for (size_t i = 0; i < n; i++)
            dst[i] = src[i * stride];
        break;
    case 2:
        for (size_t i = 0; i < n; i++)
            memcpy(dst + i * 2, src + i * stride * 2, 2);
        break;
    case 4:
        for (size_t i = 0; i < n; i++)
            memcpy(dst + i * 4, src + i * stride * 4, 4);
        break;
    default:
        for (size_t i = 0; i < n; i++)
            memcpy(dst + i * 8, src + i * stride * 8, 8);
        break;
    }
}

#ifdef UNET_HAVE_LIBDEFLATE
/* Chunks inflated on the pool's threads from their stored bytes (read one by one through
 * libtiff) straight into their cache entries. */
typedef struct inflate_job {
    uint8_t **raw, **out;
    uint64_t *stored;
    size_t *need;
    bool *ok;
    struct libdeflate_decompressor **dec; /* per thread */
} inflate_job;

static void inflate_chunks(void *ctx, int64_t begin, int64_t end, int tid)
{
    const inflate_job *j = ctx;
    for (int64_t i = begin; i < end; i++) {
        size_t got = 0;
        j->ok[i] = j->raw[i] &&
                   libdeflate_zlib_decompress(j->dec[tid], j->raw[i], j->stored[i], j->out[i],
                                              j->need[i], &got) == LIBDEFLATE_SUCCESS &&
                   got == j->need[i];
    }
}

/* Decode the chunks of a region that the cache lacks on the reader's threads, before the copy
 * loop asks for them one by one: plain deflate only (no predictor, native byte order), as many
 * as the cache holds. A chunk this cannot decode exactly (or that looks odd: no bytes, more
 * stored bytes than deflate needs) is left to libtiff, which reports what is wrong with it. */
static void prefetch_chunks(unet__tiff_reader *r, int64_t page, const page_layout *L,
                            int planes, int64_t cy0, int64_t cy1, int64_t cx0, int64_t cx1)
{
    if (r->threads < 2 || !L->plain_deflate)
        return;
    const size_t cap = cache_capacity(r, L);
    uint64_t total = (uint64_t)planes * (uint64_t)(cy1 - cy0 + 1) * (uint64_t)(cx1 - cx0 + 1);
    size_t n = total < cap ? (size_t)total : cap, k = 0;
    if (n < 2)
        return;
    uint32_t *chunk = malloc(n * sizeof *chunk), *entry = malloc(n * sizeof *entry);
    uint8_t **raw = calloc(n, sizeof *raw), **out = calloc(n, sizeof *out);
    uint64_t *stored = calloc(n, sizeof *stored);
    size_t *need = calloc(n, sizeof *need);
    bool *ok = calloc(n, sizeof *ok);
    struct libdeflate_decompressor **dec = calloc((size_t)r->threads, sizeof *dec);
    bool ready = chunk && entry && raw && out && stored && need && ok && dec;
    for (int t = 0; ready && t < r->threads; t++)
        ready = (dec[t] = libdeflate_alloc_decompressor()) != NULL;
    for (int plane = 0; ready && plane < planes && k < n; plane++)
        for (int64_t cy = cy0; cy <= cy1 && k < n; cy++)
            for (int64_t cx = cx0; cx <= cx1 && k < n; cx++) {
                uint32_t c = (uint32_t)((uint64_t)plane * L->per_plane +
                                        (uint64_t)cy * L->across + (uint64_t)cx);
                if (unet__chunk_cache_find(&r->cache, page, c))
                    continue;
                chunk[k] = c;
                need[k] = chunk_need(r, L, c);
                stored[k] = TIFFGetStrileByteCount(r->tif, c);
                if (stored[k] == 0 || stored[k] > need[k] + need[k] / 8 + 1024)
                    continue; /* libtiff's to decode or refuse */
                /* The entry, fresh or the least recently used (never one taken here: k never
                 * passes the cache's size); kept by index, as a later slot may move entries. */
                unet__chunk *e = unet__chunk_cache_slot(&r->cache, cap, (size_t)L->chunk_bytes);
                if (!e)
                    break;
                e->zeroed = false;
                entry[k] = (uint32_t)(e - r->cache.entries);
                if ((raw[k] = malloc(stored[k]))) {
                    log_reset(&r->log);
                    tmsize_t got = L->tiled
                                       ? TIFFReadRawTile(r->tif, c, raw[k], (tmsize_t)stored[k])
                                       : TIFFReadRawStrip(r->tif, c, raw[k], (tmsize_t)stored[k]);
                    if (got != (tmsize_t)stored[k]) {
                        free(raw[k]);
                        raw[k] = NULL;
                    }
                }
                k++;
            }
    if (ready && k >= 2) {
        for (size_t i = 0; i < k; i++)
            out[i] = raw[i] ? r->cache.entries[entry[i]].data : NULL;
        inflate_job job = {raw, out, stored, need, ok, dec};
        unet__pool_for(r->threads, (int64_t)k, 1, inflate_chunks, &job);
        for (size_t i = 0; i < k; i++)
            if (ok[i]) { /* the others stay unindexed entries, reused by the next slot */
                unet__chunk_cache_insert(&r->cache, &r->cache.entries[entry[i]], page,
                                         chunk[i]);
                r->decoded++;
            }
    }
    for (size_t i = 0; i < n && raw; i++)
        free(raw[i]);
    for (int t = 0; dec && t < r->threads; t++)
        if (dec[t])
            libdeflate_free_decompressor(dec[t]);
    free(dec);
    free(ok);
    free(need);
    free(stored);
    free(out);
    free(raw);
    free(entry);
    free(chunk);
}
#endif

int unet__tiff_read_region(unet__tiff_reader *r, int64_t page, int64_t y0, int64_t x0,
                           int64_t h, int64_t w, void *dst)
{
    if (!r)
        return unet__fail(UNET_E_INVALID_ARG, "tiff read: reader is NULL");
    const unet__tiff_info *in = &r->info;
    if (page < 0 || page >= in->pages)
        return unet__fail(UNET_E_INVALID_ARG, "tiff '%s': page %lld out of range (%lld pages)",
                          r->name, (long long)page, (long long)in->pages);
    if (y0 < 0 || x0 < 0 || h < 0 || w < 0 || y0 > in->height - h || x0 > in->width - w)
        return unet__fail(UNET_E_INVALID_ARG,
                          "tiff '%s': region of %lldx%lld at row %lld, column %lld is outside "
                          "the %lldx%lld image",
                          r->name, (long long)h, (long long)w, (long long)y0, (long long)x0,
                          (long long)in->height, (long long)in->width);
    if (h == 0 || w == 0)
        return UNET_OK;
    if (!dst)
        return unet__fail(UNET_E_INVALID_ARG, "tiff '%s': destination is NULL", r->name);
    int rc = select_page(r, page);
    if (rc != UNET_OK)
        return rc;

    const page_layout *L = &r->pages[page];
    const size_t in_size = r->file_sample_bytes, out_size = unet__dtype_size(in->dtype);
    const size_t spc = (size_t)L->samples_per_chunk;
    const int planes = L->separate ? in->channels : 1;
    const int64_t cy0 = y0 / L->chunk_h, cy1 = (y0 + h - 1) / L->chunk_h;
    const int64_t cx0 = x0 / L->chunk_w, cx1 = (x0 + w - 1) / L->chunk_w;
    uint8_t *out = dst;
#ifdef UNET_HAVE_LIBDEFLATE
    prefetch_chunks(r, page, L, planes, cy0, cy1, cx0, cx1);
#endif

    for (int plane = 0; plane < planes; plane++) {
        for (int64_t cy = cy0; cy <= cy1; cy++) {
            for (int64_t cx = cx0; cx <= cx1; cx++) {
                uint32_t chunk = (uint32_t)((uint64_t)plane * L->per_plane +
                                            (uint64_t)cy * L->across + (uint64_t)cx);
                const uint8_t *data = NULL;
                rc = get_chunk(r, page, chunk, &data);
                if (rc != UNET_OK)
                    return rc;
                /* The part of the region inside this chunk. */
                const int64_t top = cy * L->chunk_h, left = cx * L->chunk_w;
                const int64_t ya = y0 > top ? y0 : top;
                const int64_t yb = y0 + h < top + L->chunk_h ? y0 + h : top + L->chunk_h;
                const int64_t xa = x0 > left ? x0 : left;
                const int64_t xb = x0 + w < left + L->chunk_w ? x0 + w : left + L->chunk_w;
                const size_t n = (size_t)(xb - xa);
                for (int64_t y = ya; y < yb; y++) {
                    const uint8_t *src =
                        data + ((size_t)(y - top) * L->chunk_w + (size_t)(xa - left)) * spc *
                                   in_size;
                    for (size_t s = 0; s < spc; s++) {
                        size_t c = (size_t)plane + s;
                        uint8_t *d = out + ((c * (size_t)h + (size_t)(y - y0)) * (size_t)w +
                                            (size_t)(xa - x0)) *
                                               out_size;
                        copy_samples(d, src + s * in_size, n, spc, in_size, r->int32_to_f64);
                    }
                }
            }
        }
    }
    return UNET_OK;
}

/* ---- writer ------------------------------------------------------------------------------- */

struct unet__tiff_writer {
    TIFF *tif;
    char *path;
    unet__output file; /* a temporary file renamed onto `path` when the writer closes well */
    tiff_log log;
    int64_t width, height, pages;
    int channels;
    unet_dtype_t dtype;
    size_t sample_bytes, row_bytes; /* row_bytes: one interleaved row of all channels */
    unet__tiff_write_opts opts;
    bool bigtiff;
    int64_t rows_per_strip;
    int64_t page, row;   /* where the next rows must start */
    uint8_t *strip;      /* `batch` strips of strip_bytes: filled ones, then the one filling */
    int64_t strip_rows;  /* rows in the one filling */
    size_t strip_bytes;  /* of a full strip */
    int batch, batch_used; /* strips the buffer holds; filled ones not yet written */
    uint32_t batch_first;  /* the strip number of the first filled one */
    size_t *batch_bytes;   /* bytes of each filled one */
    unet__deflate_batch *packer; /* deflates a batch on several threads; NULL: libtiff does */
    uint16_t *extra_samples; /* channels - 1 zeros (EXTRASAMPLE_UNSPECIFIED) */
    char *description;   /* ImageDescription (a copy), or NULL */
    int status;          /* the first failure; sticky */
    char failure[TIFF_MSG_LEN];
};

/* Record a failure that leaves the file unusable: later calls repeat it. */
static int writer_fail(unet__tiff_writer *w, int status, const char *fmt, ...) UNET__PRINTF(3, 4);
static int writer_fail(unet__tiff_writer *w, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->failure, sizeof w->failure, fmt, ap);
    va_end(ap);
    w->status = status;
    return unet__fail(status, "%s", w->failure);
}

static bool set_page_tags(unet__tiff_writer *w)
{
    TIFF *tif = w->tif;
    uint16_t format = w->dtype == UNET_F32 || w->dtype == UNET_F64 ? SAMPLEFORMAT_IEEEFP
                      : w->dtype == UNET_I16                       ? SAMPLEFORMAT_INT
                                                                   : SAMPLEFORMAT_UINT;
    bool ok = TIFFSetField(tif, TIFFTAG_IMAGEWIDTH, (uint32_t)w->width) &&
              TIFFSetField(tif, TIFFTAG_IMAGELENGTH, (uint32_t)w->height) &&
              TIFFSetField(tif, TIFFTAG_SAMPLESPERPIXEL, (uint16_t)w->channels) &&
              TIFFSetField(tif, TIFFTAG_BITSPERSAMPLE, (uint16_t)(w->sample_bytes * 8)) &&
              TIFFSetField(tif, TIFFTAG_SAMPLEFORMAT, format) &&
              TIFFSetField(tif, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISBLACK) &&
              TIFFSetField(tif, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG) &&
              TIFFSetField(tif, TIFFTAG_COMPRESSION,
                           w->opts.deflate ? COMPRESSION_ADOBE_DEFLATE : COMPRESSION_NONE) &&
              TIFFSetField(tif, TIFFTAG_ROWSPERSTRIP, (uint32_t)w->rows_per_strip) &&
              TIFFSetField(tif, TIFFTAG_SOFTWARE, "libunet");
    if (ok && w->channels > 1) /* channels beyond the first are "unspecified" extra samples */
        ok = TIFFSetField(tif, TIFFTAG_EXTRASAMPLES, (uint16_t)(w->channels - 1),
                          w->extra_samples);
    if (ok && w->opts.x_resolution > 0) {
        ok = TIFFSetField(tif, TIFFTAG_XRESOLUTION, w->opts.x_resolution) &&
             TIFFSetField(tif, TIFFTAG_YRESOLUTION, w->opts.y_resolution);
        if (ok && w->opts.resolution_unit)
            ok = TIFFSetField(tif, TIFFTAG_RESOLUTIONUNIT, (uint16_t)w->opts.resolution_unit);
    }
    if (ok && w->description)
        ok = TIFFSetField(tif, TIFFTAG_IMAGEDESCRIPTION, w->description);
    if (ok && w->pages > 1)
        ok = TIFFSetField(tif, TIFFTAG_SUBFILETYPE, FILETYPE_PAGE);
    if (ok && w->pages > 1 && w->pages <= UINT16_MAX) /* PageNumber is two SHORTs */
        ok = TIFFSetField(tif, TIFFTAG_PAGENUMBER, (uint16_t)w->page, (uint16_t)w->pages);
    return ok;
}

/* Whether a file of these pages might pass 4 GiB: the uncompressed pixels (deflate can only
 * grow incompressible data slightly, 1% is ample), two 4-byte entries per strip and ~1 KiB of
 * tags per page, against 4 GiB less a margin. */
static bool needs_bigtiff(const unet__tiff_writer *w)
{
    const uint64_t limit = UINT32_MAX - BIGTIFF_MARGIN;
    uint64_t bytes = unet__sat_mul(unet__sat_mul(w->row_bytes, (uint64_t)w->height),
                                   (uint64_t)w->pages);
    if (bytes > limit)
        return true;
    if (w->opts.deflate)
        bytes += bytes / 100;
    uint64_t strips = ((uint64_t)w->height + (uint64_t)w->rows_per_strip - 1) /
                      (uint64_t)w->rows_per_strip * (uint64_t)w->pages;
    bytes += strips * 8 + (uint64_t)w->pages * 1024;
    return bytes > limit;
}

static void writer_free(unet__tiff_writer *w)
{
    free(w->description);
    free(w->extra_samples);
    free(w->strip);
    free(w->batch_bytes);
#ifdef UNET_HAVE_LIBDEFLATE
    unet__deflate_batch_free(w->packer);
#endif
    free(w->path);
    free(w);
}

int unet__tiff_writer_open(const char *path, int64_t width, int64_t height, int64_t pages,
                           int channels, unet_dtype_t dtype, const unet__tiff_write_opts *opts,
                           unet__tiff_writer **out)
{
    if (out)
        *out = NULL;
    if (!path || !out)
        return unet__fail(UNET_E_INVALID_ARG, "tiff writer: %s is NULL", path ? "out" : "path");
    if (width < 1 || width > INT32_MAX || height < 1 || height > INT32_MAX)
        return unet__fail(UNET_E_INVALID_ARG,
                          "tiff '%s': size %lldx%lld out of range (1 .. %d per side)", path,
                          (long long)width, (long long)height, INT32_MAX);
    if (pages < 1 || pages > MAX_PAGES)
        return unet__fail(UNET_E_INVALID_ARG, "tiff '%s': %lld pages out of range (1 .. %lld)",
                          path, (long long)pages, (long long)MAX_PAGES);
    if (channels < 1 || channels > 65535)
        return unet__fail(UNET_E_INVALID_ARG, "tiff '%s': %d channels out of range (1 .. 65535)",
                          path, channels);
    if (unet__dtype_size(dtype) == 0)
        return unet__fail(UNET_E_INVALID_ARG, "tiff '%s': unknown element type %d", path,
                          (int)dtype);
    unet__tiff_write_opts o = {0};
    if (opts)
        o = *opts;
    if (o.rows_per_strip < 0)
        return unet__fail(UNET_E_INVALID_ARG, "tiff '%s': rows_per_strip %lld is negative",
                          path, (long long)o.rows_per_strip);
    /* !(x >= 0) also catches NaN. */
    if (!(o.x_resolution >= 0) || !(o.y_resolution >= 0) ||
        (o.x_resolution > 0) != (o.y_resolution > 0) || o.x_resolution > 1e9 ||
        o.y_resolution > 1e9)
        return unet__fail(UNET_E_INVALID_ARG,
                          "tiff '%s': resolution %g x %g: give both, positive and finite, or "
                          "neither",
                          path, o.x_resolution, o.y_resolution);
    if (o.resolution_unit < 0 || o.resolution_unit > RESUNIT_CENTIMETER)
        return unet__fail(UNET_E_INVALID_ARG,
                          "tiff '%s': resolution unit %d (0 omit, 1 none, 2 inch, 3 cm)", path,
                          o.resolution_unit);

    unet__tiff_writer *w = calloc(1, sizeof *w);
    if (!w)
        return unet__fail(UNET_E_NOMEM, "tiff '%s': no memory for a writer", path);
    w->path = unet__strdup(path);
    w->width = width;
    w->height = height;
    w->pages = pages;
    w->channels = channels;
    w->dtype = dtype;
    w->sample_bytes = unet__dtype_size(dtype);
    w->opts = o;
    w->opts.description = NULL; /* the caller's string need not outlive this call */
    if (o.description && !(w->description = unet__strdup(o.description))) {
        writer_free(w);
        return unet__fail(UNET_E_NOMEM, "tiff '%s': no memory for a description", path);
    }
    size_t pixel_bytes = (size_t)channels * w->sample_bytes; /* < 2^19 */
    if (!unet__mul_size((size_t)width, pixel_bytes, &w->row_bytes)) {
        writer_free(w);
        return unet__fail(UNET_E_NOMEM, "tiff '%s': a row of %lld pixels of %zu bytes is too "
                                        "large", path, (long long)width, pixel_bytes);
    }
    if (o.rows_per_strip > 0) {
        w->rows_per_strip = o.rows_per_strip;
    } else {
        size_t by_size = WRITER_STRIP_BYTES / w->row_bytes;
        w->rows_per_strip = by_size < 1 ? 1 : by_size > WRITER_STRIP_ROWS ? WRITER_STRIP_ROWS
                                                                          : (int64_t)by_size;
    }
    if (w->rows_per_strip > height)
        w->rows_per_strip = height;
    size_t strip_bytes = 0, batch_bytes = 0;
    w->batch = 1;
    bool sized = unet__mul_size(w->row_bytes, (size_t)w->rows_per_strip, &strip_bytes);
#ifdef UNET_HAVE_LIBDEFLATE
    if (sized && o.deflate) { /* compress strips in batches on the pool's threads */
        int threads = unet__resolve_threads(o.threads);
        size_t by_size = WRITER_BATCH_BYTES / strip_bytes;
        w->batch = by_size < 2 ? 1 : by_size > (size_t)(4 * threads) ? 4 * threads
                                                                        : (int)by_size;
        if (w->batch > 1 && unet__deflate_batch_create(threads, w->batch, strip_bytes,
                                                       &w->packer) != UNET_OK)
            w->batch = 0; /* no memory: refused below */
    }
#endif
    w->strip_bytes = strip_bytes;
    if (sized && w->batch > 0 && unet__mul_size(strip_bytes, (size_t)w->batch, &batch_bytes))
        w->strip = malloc(batch_bytes);
    w->batch_bytes = calloc((size_t)(w->batch > 0 ? w->batch : 1), sizeof *w->batch_bytes);
    w->extra_samples = calloc((size_t)channels, sizeof *w->extra_samples);
    if (!w->path || !w->strip || !w->batch_bytes || !w->extra_samples) {
        int rc = unet__fail(UNET_E_NOMEM,
                            "tiff '%s': no memory for a strip of %lld rows of %zu bytes", path,
                            (long long)w->rows_per_strip, w->row_bytes);
        writer_free(w);
        return rc;
    }
    w->bigtiff = o.force_bigtiff || needs_bigtiff(w);

    int rc = unet__output_begin(path, &w->file);
    if (rc != UNET_OK) {
        writer_free(w);
        return rc;
    }
    TIFFOpenOptions *topts = make_options(&w->log);
    if (topts) {
        w->tif = TIFFFdOpenExt(w->file.fd, path, w->bigtiff ? "w8" : "w", topts);
        TIFFOpenOptionsFree(topts);
    }
    if (!w->tif) {
        rc = unet__fail(topts ? UNET_E_IO : UNET_E_NOMEM, "tiff '%s': cannot start writing: %s",
                        path, log_text(&w->log));
        unet__output_abort(&w->file, 0);
        writer_free(w);
        return rc;
    }
    if (!set_page_tags(w)) {
        int rc = unet__fail(UNET_E_IO, "tiff '%s': cannot set tags: %s", path,
                            log_text(&w->log));
        unet__tiff_writer_discard(w);
        return rc;
    }
    *out = w;
    return UNET_OK;
}

bool unet__tiff_writer_is_bigtiff(const unet__tiff_writer *w)
{
    return w && w->bigtiff;
}

/* The filled strips of the batch, compressed together, into the file. */
static int write_batch(unet__tiff_writer *w)
{
#ifdef UNET_HAVE_LIBDEFLATE
    int rc = unet__deflate_batch_run(w->packer, w->strip, w->strip_bytes, w->batch_bytes,
                                     w->batch_used);
    if (rc != UNET_OK)
        return writer_fail(w, rc, "tiff '%s': cannot compress strips of page %lld", w->path,
                           (long long)w->page);
    for (int i = 0; i < w->batch_used; i++) {
        size_t bytes;
        const uint8_t *data = unet__deflate_batch_out(w->packer, i, &bytes);
        uint32_t strip = w->batch_first + (uint32_t)i;
        log_reset(&w->log);
        if (TIFFWriteRawStrip(w->tif, strip, (void *)data, (tmsize_t)bytes) != (tmsize_t)bytes)
            return writer_fail(w, UNET_E_IO, "tiff '%s': cannot write strip %u of page %lld: "
                                             "%s",
                               w->path, strip, (long long)w->page, log_text(&w->log));
    }
#endif
    w->batch_used = 0;
    return UNET_OK;
}

/* The strip just filled: written at once (libtiff compresses it), or kept for its batch, which
 * is written when full and at the page's end. */
static int flush_strip(unet__tiff_writer *w)
{
    uint32_t strip = (uint32_t)((w->row - w->strip_rows) / w->rows_per_strip);
    size_t bytes = w->row_bytes * (size_t)w->strip_rows;
    w->strip_rows = 0;
    if (w->packer) {
        if (w->batch_used == 0)
            w->batch_first = strip;
        w->batch_bytes[w->batch_used++] = bytes;
        return w->batch_used == w->batch || w->row == w->height ? write_batch(w) : UNET_OK;
    }
    log_reset(&w->log);
    if (TIFFWriteEncodedStrip(w->tif, strip, w->strip, (tmsize_t)bytes) != (tmsize_t)bytes)
        return writer_fail(w, UNET_E_IO, "tiff '%s': cannot write strip %u of page %lld: %s",
                           w->path, strip, (long long)w->page, log_text(&w->log));
    return UNET_OK;
}

/* One row of `channels` planes (each `plane_stride` bytes apart) into the strip, interleaved. */
static void interleave_row(unet__tiff_writer *w, const uint8_t *src, size_t plane_stride)
{
    uint8_t *dst = w->strip + (size_t)w->batch_used * w->strip_bytes +
                   (size_t)w->strip_rows * w->row_bytes;
    const size_t C = (size_t)w->channels, size = w->sample_bytes, n = (size_t)w->width;
    if (C == 1) {
        memcpy(dst, src, w->row_bytes);
        return;
    }
    for (size_t c = 0; c < C; c++) {
        const uint8_t *s = src + c * plane_stride;
        uint8_t *d = dst + c * size;
        switch (size) {
        case 1:
            for (size_t x = 0; x < n; x++)
                d[x * C] = s[x];
            break;
        case 2:
            for (size_t x = 0; x < n; x++)
                memcpy(d + x * C * 2, s + x * 2, 2);
            break;
        case 4:
            for (size_t x = 0; x < n; x++)
                memcpy(d + x * C * 4, s + x * 4, 4);
            break;
        default:
            for (size_t x = 0; x < n; x++)
                memcpy(d + x * C * 8, s + x * 8, 8);
            break;
        }
    }
}

int unet__tiff_write_rows(unet__tiff_writer *w, int64_t page, int64_t y0, int64_t h,
                          const void *src)
{
    if (!w)
        return unet__fail(UNET_E_INVALID_ARG, "tiff write: writer is NULL");
    if (w->status != UNET_OK)
        return unet__fail(w->status, "%s (earlier failure)", w->failure);
    if (w->page >= w->pages)
        return unet__fail(UNET_E_INVALID_ARG, "tiff '%s': all %lld pages are already written",
                          w->path, (long long)w->pages);
    if (page != w->page || y0 != w->row)
        return unet__fail(UNET_E_INVALID_ARG,
                          "tiff '%s': rows must arrive in order: expected page %lld row %lld, "
                          "got page %lld row %lld",
                          w->path, (long long)w->page, (long long)w->row, (long long)page,
                          (long long)y0);
    if (h < 0 || h > w->height - y0)
        return unet__fail(UNET_E_INVALID_ARG,
                          "tiff '%s': %lld rows from row %lld pass the image height %lld",
                          w->path, (long long)h, (long long)y0, (long long)w->height);
    if (h == 0)
        return UNET_OK;
    if (!src)
        return unet__fail(UNET_E_INVALID_ARG, "tiff '%s': source is NULL", w->path);

    const uint8_t *in = src;
    const size_t plane_stride = (size_t)h * (size_t)w->width * w->sample_bytes;
    for (int64_t i = 0; i < h; i++) {
        interleave_row(w, in + (size_t)i * (size_t)w->width * w->sample_bytes, plane_stride);
        w->strip_rows++;
        w->row++;
        if (w->strip_rows == w->rows_per_strip || w->row == w->height) {
            int rc = flush_strip(w);
            if (rc != UNET_OK)
                return rc;
        }
        if (w->row == w->height) { /* page complete: write its directory, start the next */
            log_reset(&w->log);
            if (!TIFFWriteDirectory(w->tif))
                return writer_fail(w, UNET_E_IO, "tiff '%s': cannot write the directory of "
                                                 "page %lld: %s",
                                   w->path, (long long)w->page, log_text(&w->log));
            w->page++;
            w->row = 0;
            if (w->page < w->pages && !set_page_tags(w))
                return writer_fail(w, UNET_E_IO, "tiff '%s': cannot set tags of page %lld: %s",
                                   w->path, (long long)w->page, log_text(&w->log));
        }
    }
    return UNET_OK;
}

int unet__tiff_writer_close(unet__tiff_writer *w)
{
    if (!w)
        return UNET_OK;
    if (w->status == UNET_OK && w->page < w->pages)
        writer_fail(w, UNET_E_INVALID_ARG,
                    "tiff '%s': closed at page %lld row %lld of %lld pages of %lld rows",
                    w->path, (long long)w->page, (long long)w->row, (long long)w->pages,
                    (long long)w->height);
    log_reset(&w->log);
    if (w->status == UNET_OK && !TIFFFlush(w->tif))
        writer_fail(w, UNET_E_IO, "tiff '%s': cannot flush: %s", w->path, log_text(&w->log));
    TIFFClose(w->tif); /* returns nothing: its errors reach us through the log */
    if (w->status == UNET_OK && w->log.failed)
        writer_fail(w, UNET_E_IO, "tiff '%s': cannot close: %s", w->path, w->log.error);
    int rc = w->status;
    if (rc == UNET_OK) {
        rc = unet__output_commit(&w->file, 1); /* TIFFClose closed the descriptor */
    } else {
        unet__output_abort(&w->file, 1);
        unet__fail(rc, "%s", w->failure);
    }
    writer_free(w);
    return rc;
}

void unet__tiff_writer_discard(unet__tiff_writer *w)
{
    if (!w)
        return;
    TIFFClose(w->tif);
    unet__output_abort(&w->file, 1);
    writer_free(w);
}
