/* The user's files are never lost: an output that is an input (by device and inode, whatever
 * the spelling) is refused before work starts; outputs are written beside the target and
 * renamed into place only on success, so a failed or cancelled run leaves an existing file as
 * it was and no stray file behind; a saved model never clobbers a neighbour. Public API only. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unet.h"

#include "run_suite.h"
#include "temp_files.h"

static char dir[64];

static void assert_unchanged(const char *path, const char *before, size_t before_len)
{
    size_t len;
    char *now = read_whole_file(path, &len);
    ck_assert_msg(len == before_len && memcmp(now, before, len) == 0, "%s changed", path);
    free(now);
}

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/unet_files_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
    remove_flat_dir(dir);
}

static unet_model_t *small_model(void)
{
    unet_model_t *m = NULL;
    ck_assert_int_eq(unet_model_create("{\"depth\": 2, \"base_features\": 4, "
                                       "\"final_activation\": \"sigmoid\"}",
                                       1, &m),
                     UNET_OK);
    return m;
}

/* A 40x48 float image as a TIFF. */
static void write_input(const char *path)
{
    float img[40 * 48];
    for (int i = 0; i < 40 * 48; i++)
        img[i] = (float)((i * 37) % 101) / 100.0f;
    int64_t shape[2] = {40, 48};
    ck_assert_int_eq(unet_tiff_write(path, img, UNET_F32, 2, shape, 0), UNET_OK);
}

/* "./in.tif", a hard link and a symbolic link to the input are the input. */
START_TEST(test_output_is_input_refused)
{
    unet_model_t *m = small_model();
    const char *in = path_in(dir, "in.tif");
    write_input(in);
    size_t len;
    char *before = read_whole_file(in, &len);
    char dotted[600], hard[600], soft[600];
    snprintf(dotted, sizeof dotted, "%s/./in.tif", dir);
    snprintf(hard, sizeof hard, "%s", path_in(dir, "hard.tif"));
    snprintf(soft, sizeof soft, "%s", path_in(dir, "soft.tif"));
    ck_assert_int_eq(link(in, hard), 0);
    ck_assert_int_eq(symlink(in, soft), 0);
    const char *outs[] = {in, dotted, hard, soft};
    for (int i = 0; i < 4; i++) {
        int rc = unet_predict_tiff(m, NULL, in, outs[i], UNET_F32, 0);
        ck_assert_msg(rc == UNET_E_INVALID_ARG, "predict to %s: rc %d", outs[i], rc);
        ck_assert_msg(strstr(unet_last_error(), "is the input"), "%s", unet_last_error());
        uint32_t n = 99;
        rc = unet_segment_tiff(m, NULL, in, outs[i], 0, &n);
        ck_assert_msg(rc == UNET_E_INVALID_ARG, "segment to %s: rc %d", outs[i], rc);
        ck_assert_uint_eq(n, 0);
        assert_unchanged(in, before, len);
    }
    ck_assert_int_eq(count_dir_entries(dir), 3); /* in, hard, soft: nothing else was created */
    free(before);
    unet_model_free(m);
}
END_TEST

static int cancel_at_once(void *user, double fraction, const char *stage)
{
    (void)fraction, (void)stage;
    ++*(int *)user;
    return 1;
}

/* A cancelled or failed run leaves an existing output as it was, and no file behind; a
 * successful one replaces it. */
START_TEST(test_failed_run_keeps_existing_output)
{
    unet_model_t *m = small_model();
    const char *in = path_in(dir, "in.tif"), *out = path_in(dir, "out.tif");
    write_input(in);
    write_text_file(out, "the user's precious file");
    size_t len;
    char *before = read_whole_file(out, &len);

    unet_predict_opts_t *o = NULL;
    ck_assert_int_eq(unet_predict_opts_create(&o), UNET_OK);
    int calls = 0;
    ck_assert_int_eq(unet_predict_opts_set_progress(o, cancel_at_once, &calls), UNET_OK);
    ck_assert_int_eq(unet_predict_tiff(m, o, in, out, UNET_F32, 0), UNET_E_CANCELLED);
    ck_assert_int_ge(calls, 1);
    assert_unchanged(out, before, len);
    ck_assert_int_eq(count_dir_entries(dir), 2);

    /* An input that is not a TIFF fails after the output was named: still untouched. */
    const char *bad = path_in(dir, "bad.tif");
    write_text_file(bad, "not a tiff at all");
    ck_assert_int_ne(unet_predict_tiff(m, NULL, bad, out, UNET_F32, 0), UNET_OK);
    assert_unchanged(out, before, len);
    uint32_t n;
    ck_assert_int_ne(unet_segment_tiff(m, NULL, bad, out, 0, &n), UNET_OK);
    assert_unchanged(out, before, len);
    ck_assert_int_eq(count_dir_entries(dir), 3);

    /* Success replaces it with a TIFF of the input's size. */
    ck_assert_int_eq(unet_predict_tiff(m, NULL, in, out, UNET_F32, 0), UNET_OK);
    int64_t planes, channels, height, width;
    unet_dtype_t dtype;
    ck_assert_int_eq(unet_tiff_info(out, &planes, &channels, &height, &width, &dtype),
                     UNET_OK);
    ck_assert(height == 40 && width == 48 && dtype == UNET_F32);
    ck_assert_int_eq(count_dir_entries(dir), 3);

    /* An output in a folder that does not exist: refused, nothing created. */
    ck_assert_int_eq(unet_predict_tiff(m, NULL, in, path_in(dir, "no/such/dir.tif"), UNET_F32, 0),
                     UNET_E_IO);
    ck_assert_int_eq(count_dir_entries(dir), 3);
    unet_predict_opts_free(o);
    free(before);
    unet_model_free(m);
}
END_TEST

/* Saving a model touches nothing but its own path ("model.unet.tmp" used to be truncated and
 * removed), and a save that fails leaves an existing file as it was. */
START_TEST(test_model_save_touches_nothing_else)
{
    unet_model_t *m = small_model();
    const char *path = path_in(dir, "model.unet"), *neighbour = path_in(dir, "model.unet.tmp");
    write_text_file(neighbour, "a file of the user's that happens to have this name");
    size_t len;
    char *before = read_whole_file(neighbour, &len);
    ck_assert_int_eq(unet_model_save(m, path), UNET_OK);
    assert_unchanged(neighbour, before, len);
    unet_model_t *back = NULL;
    ck_assert_int_eq(unet_model_load(path, &back), UNET_OK);
    unet_model_free(back);
    ck_assert_int_eq(count_dir_entries(dir), 2);
    /* A folder as the target: refused, the folder untouched. */
    ck_assert_int_eq(unet_model_save(m, dir), UNET_E_IO);
    ck_assert_int_eq(count_dir_entries(dir), 2);
    free(before);
    unet_model_free(m);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("files");
    TCase *tc = tcase_create("files");
    tcase_set_timeout(tc, 120);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_output_is_input_refused);
    tcase_add_test(tc, test_failed_run_keeps_existing_output);
    tcase_add_test(tc, test_model_save_touches_nothing_else);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
