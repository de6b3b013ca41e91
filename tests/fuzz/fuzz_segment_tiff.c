/* libFuzzer target: fuzzed TIFF files through unet_segment_tiff with the built-in model, the
 * path a plugin takes with whatever file a user drops on it. Images over max_pixels (32 x 32)
 * must be refused before they are decoded, which keeps every run short. Oracles:
 * - a failure has a known status and a message, and leaves no output file (nor a temporary
 *   one) behind;
 * - a success leaves one label TIFF of the input's size, and the whole-image path (what the
 *   CLI's --overlay / --measure take: unet_tiff_read_limited, then unet_segment) must read the
 *   same file and give the same labels.
 * With UNET_FUZZ_SEED_DIR set, start-up writes small valid TIFFs there (tiff_seeds.c);
 * corpus/fuzz_segment_tiff holds what longer runs learned. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unet.h"

#include "tiff_seeds.h"

#define MAX_PIXELS 1024

static void require(int ok)
{
    if (!ok)
        __builtin_trap();
}

static unet_model_t *model;
static unet_segment_opts_t *opts;
static char dir[64], in_path[128], out_path[128];

int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    const char *seeds = getenv("UNET_FUZZ_SEED_DIR");
    if (seeds && *seeds) {
        mkdir(seeds, 0777);
        write_tiff_seeds(seeds);
    }
    /* One model and one set of options for the whole run (freed at exit by the OS: libFuzzer
     * has no teardown hook). */
    require(unet_model_load_builtin("nuclei", &model) == UNET_OK);
    require(unet_segment_opts_create(&opts) == UNET_OK);
    require(unet_segment_opts_set_threads(opts, 1) == UNET_OK);
    require(unet_segment_opts_set_max_pixels(opts, MAX_PIXELS) == UNET_OK);
    snprintf(dir, sizeof dir, "/tmp/unet_fuzz_segment_XXXXXX");
    require(mkdtemp(dir) != NULL);
    snprintf(in_path, sizeof in_path, "%s/in.tif", dir);
    snprintf(out_path, sizeof out_path, "%s/labels.tif", dir);
    return 0;
}

static int files_in_dir(void)
{
    DIR *d = opendir(dir);
    require(d != NULL);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

static int known_failure(int rc)
{
    return rc == UNET_E_FORMAT || rc == UNET_E_UNSUPPORTED || rc == UNET_E_NOMEM ||
           rc == UNET_E_INVALID_ARG || rc == UNET_E_SHAPE || rc == UNET_E_IO;
}

/* The whole-image path on the same file: labels equal to the streamed file's. */
static void check_whole_image_path(uint32_t count)
{
    float *im = NULL, *written = NULL;
    int64_t shape[3], lshape[3];
    require(unet_tiff_read_limited(in_path, MAX_PIXELS, &im, shape) == UNET_OK);
    require(unet_tiff_read_limited(out_path, MAX_PIXELS, &written, lshape) == UNET_OK);
    require(lshape[0] == 1 && lshape[1] == shape[1] && lshape[2] == shape[2]);
    size_t n = (size_t)(shape[1] * shape[2]);
    uint32_t *labels = malloc(n * sizeof *labels), again = 0;
    require(labels != NULL);
    require(unet_segment(model, opts, im, UNET_F32, 3, shape, labels, n, &again) == UNET_OK);
    require(again == count);
    for (size_t i = 0; i < n; i++)
        require((float)labels[i] == written[i]);
    free(labels);
    unet_buffer_free(im);
    unet_buffer_free(written);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FILE *f = fopen(in_path, "wb");
    require(f != NULL);
    require(fwrite(data, 1, size, f) == size || size == 0);
    require(fclose(f) == 0);
    uint32_t count = 7;
    int rc = unet_segment_tiff(model, opts, in_path, out_path, 0, &count);
    if (rc != UNET_OK) {
        require(known_failure(rc) && unet_last_error()[0] != '\0');
        require(count == 0);
        require(files_in_dir() == 1); /* no output, no temporary file */
        return 0;
    }
    int64_t planes, channels, h, w, pages, ih, iw;
    require(unet_tiff_info(out_path, &planes, &channels, &h, &w, NULL) == UNET_OK);
    require(unet_tiff_info(in_path, &pages, NULL, &ih, &iw, NULL) == UNET_OK);
    /* A stack becomes a label stack of as many pages (planes segmented one by one). */
    require(planes == pages && channels == 1 && h == ih && w == iw &&
            planes * h * w <= MAX_PIXELS);
    if (planes == 1) /* the whole-image path takes one plane */
        check_whole_image_path(count);
    require(unlink(out_path) == 0);
    return 0;
}
