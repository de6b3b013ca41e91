/* The public C API: status codes and messages, model creation, getters, shapes, forward and
 * predict, threads, and NULL/bad-argument handling at every entry point. */
#include <check.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unet.h"

#include "api_calls.h"
#include "run_suite.h"

static unet_model_t *create(const char *json, uint64_t seed)
{
    unet_model_t *m = NULL;
    int rc = unet_model_create(json, seed, &m);
    ck_assert_msg(rc == UNET_OK, "%s: %s", json, unet_last_error());
    return m;
}

static float *random_floats(size_t n, unsigned seed)
{
    float *x = malloc(n * sizeof *x);
    srand(seed);
    for (size_t i = 0; i < n; i++)
        x[i] = (float)rand() / RAND_MAX * 2.0f - 1.0f;
    return x;
}

START_TEST(test_version_and_status)
{
    ck_assert_uint_eq(unet_version(), UNET_VERSION_NUMBER);
    char v[32];
    snprintf(v, sizeof v, "%d.%d.%d", UNET_VERSION_MAJOR, UNET_VERSION_MINOR, UNET_VERSION_PATCH);
    ck_assert_str_eq(unet_version_string(), v);
    int codes[] = {UNET_OK, UNET_E_INVALID_ARG, UNET_E_IO, UNET_E_FORMAT, UNET_E_NOMEM,
                   UNET_E_CANCELLED, UNET_E_UNSUPPORTED, UNET_E_SHAPE, UNET_E_INTERNAL};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        ck_assert_int_eq(codes[i], -(int)i); /* stable values */
        ck_assert_str_ne(unet_status_string(codes[i]), "unknown status code");
    }
    ck_assert_str_eq(unet_status_string(-1000), "unknown status code");
    ck_assert_str_eq(unet_status_string(UNET_E_SHAPE), "shape not accepted");
}
END_TEST

START_TEST(test_create_errors_and_null_safety)
{
    unet_model_t *m = (unet_model_t *)0x1;
    ck_assert_int_eq(unet_model_create("{\"padding\": \"mirror\"}", 0, &m), UNET_E_INVALID_ARG);
    ck_assert_ptr_null(m);
    ck_assert_ptr_nonnull(strstr(unet_last_error(), "mirror"));
    ck_assert_int_eq(unet_model_create("{\"ndim\": 3}", 0, &m), UNET_E_UNSUPPORTED);
    ck_assert_int_eq(unet_model_create(NULL, 0, &m), UNET_E_INVALID_ARG);
    ck_assert_int_eq(unet_model_create("{}", 0, NULL), UNET_E_INVALID_ARG);
    unet_model_free(NULL);
    unet_predict_opts_free(NULL);
    unet_buffer_free(NULL);
    ck_assert_int_eq(model_int(unet_model_ndim, NULL), UNET_E_INVALID_ARG);
    ck_assert_int_eq(model_int(unet_model_halo, NULL), UNET_E_INVALID_ARG);
    ck_assert_int_eq(model_param_count(NULL), UNET_E_INVALID_ARG);
    ck_assert_ptr_null(model_architecture(NULL));
    ck_assert_ptr_null(model_metadata(NULL));
    ck_assert_int_eq(unet_model_load(NULL, &m), UNET_E_INVALID_ARG);
    ck_assert_int_eq(unet_model_load("/nonexistent/model.unet", &m), UNET_E_IO);
    ck_assert_ptr_nonnull(strstr(unet_last_error(), "/nonexistent/model.unet"));
    ck_assert_int_eq(unet_model_load("/", &m), UNET_E_IO);
    ck_assert_int_eq(unet_model_save(NULL, "/tmp/x.unet"), UNET_E_INVALID_ARG);
    /* A successful call clears the previous message. */
    m = create("{\"depth\": 2, \"base_features\": 4}", 0);
    ck_assert_int_eq(model_int(unet_model_depth, m), 2);
    ck_assert_str_eq(unet_last_error(), "");
    unet_model_free(m);
}
END_TEST

START_TEST(test_getters)
{
    unet_model_t *m = create("{\"depth\": 3, \"in_channels\": 2, \"out_channels\": 3, "
                             "\"base_features\": 8}", 0);
    ck_assert_int_eq(model_int(unet_model_ndim, m), 2);
    ck_assert_int_eq(model_int(unet_model_in_channels, m), 2);
    ck_assert_int_eq(model_int(unet_model_out_channels, m), 3);
    ck_assert_int_eq(model_int(unet_model_depth, m), 3);
    ck_assert_int_eq(model_int(unet_model_block_multiple, m), 4);
    ck_assert_int_eq(model_int(unet_model_is_same_padding, m), 1);
    ck_assert_int_gt(model_int(unet_model_halo, m), 0);
    /* Parameter count equals the sum over tensors. */
    int64_t total = 0;
    for (int i = 0; i < model_int(unet_model_tensor_count, m); i++) {
        const char *name;
        int nd;
        int64_t shape[4], numel = 1;
        ck_assert_int_eq(unet_model_tensor_info(m, i, &name, &nd, shape), UNET_OK);
        for (int d = 0; d < nd; d++)
            numel *= shape[d];
        total += numel;
    }
    ck_assert_int_eq(total, model_param_count(m));
    ck_assert_int_eq(unet_model_tensor_info(m, -1, NULL, NULL, NULL), UNET_E_INVALID_ARG);
    ck_assert_int_eq(unet_model_tensor_info(m, 1000, NULL, NULL, NULL), UNET_E_INVALID_ARG);
    const char *arch = model_architecture(m);
    ck_assert_ptr_nonnull(strstr(arch, "\"out_channels\":3"));
    ck_assert_ptr_nonnull(strstr(arch, "\"block\":\"crcr\""));
    /* The architecture string recreates the same model. */
    unet_model_t *m2 = create(arch, 0);
    ck_assert_str_eq(model_architecture(m2), arch);
    unet_model_free(m2);
    unet_model_free(m);
}
END_TEST

START_TEST(test_seeded_init)
{
    unet_model_t *a = create("{\"depth\": 2, \"base_features\": 4}", 42);
    unet_model_t *b = create("{\"depth\": 2, \"base_features\": 4}", 42);
    unet_model_t *c = create("{\"depth\": 2, \"base_features\": 4}", 43);
    float wa[4 * 1 * 9], wb[36], wc[36];
    ck_assert_int_eq(unet_model_get_tensor(a, "down0.conv0.weight", wa, 36), UNET_OK);
    ck_assert_int_eq(unet_model_get_tensor(b, "down0.conv0.weight", wb, 36), UNET_OK);
    ck_assert_int_eq(unet_model_get_tensor(c, "down0.conv0.weight", wc, 36), UNET_OK);
    ck_assert_mem_eq(wa, wb, sizeof wa);
    ck_assert(memcmp(wa, wc, sizeof wa) != 0);
    /* He: variance ~ 2 / fan_in over a larger tensor (fan_in 4*9). */
    int64_t n = 8 * 4 * 9;
    float *w = malloc((size_t)n * sizeof *w);
    ck_assert_int_eq(unet_model_get_tensor(a, "down1.conv0.weight", w, (size_t)n), UNET_OK);
    double var = 0;
    for (int64_t i = 0; i < n; i++)
        var += (double)w[i] * w[i];
    var /= (double)n;
    ck_assert_double_gt(var, 2.0 / 36 * 0.7);
    ck_assert_double_lt(var, 2.0 / 36 * 1.3);
    free(w);
    float bias[4] = {1, 1, 1, 1};
    ck_assert_int_eq(unet_model_get_tensor(a, "down0.conv0.bias", bias, 4), UNET_OK);
    ck_assert(bias[0] == 0 && bias[3] == 0);
    ck_assert_int_eq(unet_model_get_tensor(a, "down0.conv0.bias", bias, 3), UNET_E_SHAPE);
    ck_assert_int_eq(unet_model_get_tensor(a, "nope", bias, 4), UNET_E_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(unet_last_error(), "nope"));
    bias[1] = NAN;
    ck_assert_int_eq(unet_model_set_tensor(a, "down0.conv0.bias", bias, 4), UNET_E_INVALID_ARG);
    unet_model_free(a);
    unet_model_free(b);
    unet_model_free(c);
}
END_TEST

START_TEST(test_shape_errors_name_nearest_sizes)
{
    unet_model_t *m = create("{\"depth\": 4, \"base_features\": 4}", 0);
    int64_t in[4] = {1, 1, 100, 64}, out[4];
    ck_assert_int_eq(unet_model_output_shape(m, 4, in, out), UNET_E_SHAPE);
    ck_assert_ptr_nonnull(strstr(unet_last_error(), "height 100"));
    ck_assert_ptr_nonnull(strstr(unet_last_error(), "96 and 104"));
    in[2] = 96;
    ck_assert_int_eq(unet_model_output_shape(m, 4, in, out), UNET_OK);
    ck_assert_int_eq(out[2], 96);
    in[1] = 2;
    ck_assert_int_eq(unet_model_output_shape(m, 4, in, out), UNET_E_SHAPE);
    ck_assert_ptr_nonnull(strstr(unet_last_error(), "channels"));
    in[1] = 1;
    in[0] = 0;
    ck_assert_int_eq(unet_model_output_shape(m, 4, in, out), UNET_E_SHAPE);
    ck_assert_int_eq(unet_model_output_shape(m, 3, in, out), UNET_E_SHAPE);
    in[0] = 1;
    in[3] = 3;
    ck_assert_int_eq(unet_model_output_shape(m, 4, in, out), UNET_E_SHAPE);
    ck_assert_ptr_nonnull(strstr(unet_last_error(), "smallest accepted size is 8"));
    int64_t fin, fout;
    ck_assert_int_eq(unet_model_fit_size(m, 3, &fin, &fout), UNET_OK);
    ck_assert_int_eq(fin, 8);
    ck_assert_int_eq(unet_model_fit_size(m, 0, &fin, &fout), UNET_E_INVALID_ARG);
    unet_model_free(m);

    m = create("{\"depth\": 3, \"base_features\": 4, \"padding\": \"valid\"}", 0);
    ck_assert_int_eq(model_int(unet_model_is_same_padding, m), 0);
    ck_assert_int_eq(unet_model_fit_size(m, 50, &fin, &fout), UNET_OK);
    int64_t in2[4] = {2, 1, fin, fin}, out2[4];
    ck_assert_int_eq(unet_model_output_shape(m, 4, in2, out2), UNET_OK);
    ck_assert_int_eq(out2[2], fout);
    ck_assert_int_eq(fin - fout, 2 * model_int(unet_model_halo, m));
    in2[2] = fin + 1;
    ck_assert_int_eq(unet_model_output_shape(m, 4, in2, out2), UNET_E_SHAPE);
    unet_model_free(m);

    /* Counts agree with their noun: "1 channel", not "1 channels". */
    m = create("{\"depth\": 2, \"base_features\": 4, \"in_channels\": 2}", 0);
    int64_t one[4] = {1, 1, 16, 16}, o4[4];
    ck_assert_int_eq(unet_model_output_shape(m, 4, one, o4), UNET_E_SHAPE);
    ck_assert_msg(strstr(unet_last_error(), "input has 1 channel; the model takes 2"), "%s",
                  unet_last_error());
    unet_trainer_t *t;
    ck_assert_int_eq(unet_trainer_create(m, NULL, &t), UNET_OK);
    uint8_t image[16 * 16] = {0}, labels[16 * 16] = {0};
    ck_assert_int_eq(unet_trainer_add_data(t, image, UNET_U8, 2, one + 2, labels, UNET_U8, 2,
                                           one + 2, UNET_SPLIT_TRAIN),
                     UNET_E_SHAPE);
    ck_assert_msg(strstr(unet_last_error(), "has 1 channel; the model takes 2"), "%s",
                  unet_last_error());
    unet_trainer_free(t);
    unet_model_free(m);
}
END_TEST

START_TEST(test_forward_validation)
{
    unet_model_t *m = create("{\"depth\": 2, \"base_features\": 4}", 0);
    int64_t shape[4] = {1, 1, 16, 16};
    float *x = random_floats(256, 1), y[256];
    ck_assert_int_eq(forward_threads(m, x, 4, shape, y, 256, 1), UNET_OK);
    ck_assert_int_eq(forward_threads(m, x, 4, shape, y, 255, 1), UNET_E_SHAPE);
    ck_assert_int_eq(forward_threads(m, NULL, 4, shape, y, 256, 1), UNET_E_INVALID_ARG);
    ck_assert_int_eq(forward_threads(NULL, x, 4, shape, y, 256, 1), UNET_E_INVALID_ARG);
    ck_assert_int_eq(forward_threads(m, x, 5, shape, y, 256, 1), UNET_E_SHAPE);
    x[17] = NAN;
    ck_assert_int_eq(forward_threads(m, x, 4, shape, y, 256, 1), UNET_E_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(unet_last_error(), "NaN"));
    x[17] = INFINITY;
    ck_assert_int_eq(forward_threads(m, x, 4, shape, y, 256, 1), UNET_E_INVALID_ARG);
    /* Huge sizes are refused before any allocation. */
    int64_t huge[4] = {1, 1, (int64_t)1 << 40, 16};
    ck_assert_int_eq(forward_threads(m, x, 4, huge, y, 256, 1), UNET_E_SHAPE);
    free(x);
    unet_model_free(m);
}
END_TEST

/* Threads give identical results, and so does the batch: sample 1 of a batch of 2 equals the
 * same image alone. */
START_TEST(test_forward_threads_and_batch)
{
    unet_model_t *m = create("{\"depth\": 3, \"base_features\": 6, \"in_channels\": 2, "
                             "\"out_channels\": 2, \"block\": \"cgrcbr\"}", 5);
    int64_t shape[4] = {2, 2, 24, 40};
    size_t n = 2 * 2 * 24 * 40;
    float *x = random_floats(n, 2), *y1 = malloc(n * 4), *y2 = malloc(n * 4), *y3 = malloc(n * 4);
    ck_assert_int_eq(forward_threads(m, x, 4, shape, y1, n, 1), UNET_OK);
    ck_assert_int_eq(forward_threads(m, x, 4, shape, y2, n, 2), UNET_OK);
    ck_assert_mem_eq(y1, y2, n * 4);
    int64_t one[4] = {1, 2, 24, 40};
    ck_assert_int_eq(forward_threads(m, x + n / 2, 4, one, y3, n / 2, 2), UNET_OK);
    ck_assert_mem_eq(y1 + n / 2, y3, n / 2 * 4);
    free(x);
    free(y1);
    free(y2);
    free(y3);
    unet_model_free(m);
}
END_TEST

/* Final activations: sigmoid in (0,1), softmax sums to 1 over channels. */
START_TEST(test_final_activation)
{
    unet_model_t *m = create("{\"depth\": 2, \"base_features\": 4, \"out_channels\": 3, "
                             "\"final_activation\": \"softmax\"}", 3);
    int64_t shape[4] = {1, 1, 8, 8};
    float *x = random_floats(64, 3), y[3 * 64];
    ck_assert_int_eq(forward_threads(m, x, 4, shape, y, 3 * 64, 1), UNET_OK);
    for (int i = 0; i < 64; i++)
        ck_assert_float_eq_tol(y[i] + y[64 + i] + y[128 + i], 1.0f, 1e-5f);
    unet_model_free(m);
    m = create("{\"depth\": 2, \"base_features\": 4, \"final_activation\": \"sigmoid\"}", 3);
    ck_assert_int_eq(forward_threads(m, x, 4, shape, y, 64, 1), UNET_OK);
    for (int i = 0; i < 64; i++)
        ck_assert(y[i] > 0.0f && y[i] < 1.0f);
    unet_model_free(m);
    free(x);
}
END_TEST

START_TEST(test_predict)
{
    unet_model_t *m = create("{\"depth\": 3, \"base_features\": 4}", 9);
    /* A same-padding model on an image already on the block grid: predict == forward. */
    int64_t shape2[2] = {16, 24}, shape4[4] = {1, 1, 16, 24};
    float *x = random_floats(16 * 24, 4), y[16 * 24], z[16 * 24];
    ck_assert_int_eq(unet_predict(m, NULL, x, UNET_F32, 2, shape2, y, 16 * 24), UNET_OK);
    ck_assert_int_eq(forward_threads(m, x, 4, shape4, z, 16 * 24, 0), UNET_OK);
    ck_assert_mem_eq(y, z, sizeof y);
    /* Odd sizes keep their size; every dtype; zero and reflect borders. */
    int64_t odd[2] = {13, 7};
    uint16_t img16[13 * 7];
    uint8_t img8[13 * 7];
    for (int i = 0; i < 13 * 7; i++)
        img16[i] = (uint16_t)(i * 37 % 1000), img8[i] = (uint8_t)(i * 7);
    float out[13 * 7];
    unet_predict_opts_t *o;
    ck_assert_int_eq(unet_predict_opts_create(&o), UNET_OK);
    for (int border = 0; border <= 3; border++) {
        ck_assert_int_eq(unet_predict_opts_set_border(o, border), UNET_OK);
        ck_assert_int_eq(unet_predict(m, o, img16, UNET_U16, 2, odd, out, 13 * 7), UNET_OK);
        ck_assert_int_eq(unet_predict(m, o, img8, UNET_U8, 2, odd, out, 13 * 7), UNET_OK);
    }
    /* 1x1 images work. */
    int64_t tiny[2] = {1, 1};
    ck_assert_int_eq(unet_predict(m, o, img8, UNET_U8, 2, tiny, out, 1), UNET_OK);
    /* Normalisation: zmuv makes predict invariant to an affine change of intensities. */
    ck_assert_int_eq(unet_predict_opts_set_normalize(o, UNET_NORMALIZE_ZMUV, 0, 0), UNET_OK);
    float a[13 * 7], b[13 * 7], img_scaled[13 * 7];
    for (int i = 0; i < 13 * 7; i++)
        img_scaled[i] = img16[i] * 3.0f + 100.0f;
    ck_assert_int_eq(unet_predict(m, o, img16, UNET_U16, 2, odd, a, 13 * 7), UNET_OK);
    ck_assert_int_eq(unet_predict(m, o, img_scaled, UNET_F32, 2, odd, b, 13 * 7), UNET_OK);
    for (int i = 0; i < 13 * 7; i++)
        ck_assert_float_eq_tol(a[i], b[i], 1e-4f);
    /* Bad input. */
    ck_assert_int_eq(unet_predict(m, o, img16, 99, 2, odd, out, 13 * 7), UNET_E_INVALID_ARG);
    ck_assert_int_eq(unet_predict(m, o, img16, UNET_U16, 2, odd, out, 13 * 7 - 1), UNET_E_SHAPE);
    int64_t zero[2] = {0, 5};
    ck_assert_int_eq(unet_predict(m, o, img16, UNET_U16, 2, zero, out, 0), UNET_E_SHAPE);
    int64_t three[3] = {2, 13, 7};
    ck_assert_int_eq(unet_predict(m, o, img16, UNET_U16, 3, three, out, 13 * 7), UNET_E_SHAPE);
    ck_assert_ptr_nonnull(strstr(unet_last_error(), "channels"));
    x[5] = NAN;
    ck_assert_int_eq(unet_predict(m, NULL, x, UNET_F32, 2, shape2, y, 16 * 24),
                     UNET_E_INVALID_ARG);
    ck_assert_int_eq(unet_predict_opts_set_border(o, 7), UNET_E_INVALID_ARG);
    ck_assert_int_eq(unet_predict_opts_set_threads(o, -1), UNET_E_INVALID_ARG);
    ck_assert_int_eq(unet_predict_opts_set_normalize(o, UNET_NORMALIZE_PERCENTILE, 50, 10),
                     UNET_E_INVALID_ARG);
    ck_assert_int_eq(unet_predict_opts_set_normalize(o, UNET_NORMALIZE_FIXED, 0, 0),
                     UNET_E_INVALID_ARG);
    unet_predict_opts_free(o);
    free(x);
    unet_model_free(m);
}
END_TEST

START_TEST(test_predict_valid_padding)
{
    unet_model_t *m = create("{\"depth\": 2, \"base_features\": 4, \"padding\": \"valid\"}", 2);
    int64_t shape[2] = {37, 53};
    float *x = random_floats(37 * 53, 5), *y = malloc(37 * 53 * 4);
    ck_assert_int_eq(unet_predict(m, NULL, x, UNET_F32, 2, shape, y, 37 * 53), UNET_OK);
    unet_predict_opts_t *o;
    ck_assert_int_eq(unet_predict_opts_create(&o), UNET_OK);
    ck_assert_int_eq(unet_predict_opts_set_border(o, UNET_BORDER_NETWORK), UNET_OK);
    ck_assert_int_eq(unet_predict(m, o, x, UNET_F32, 2, shape, y, 37 * 53), UNET_E_INVALID_ARG);
    ck_assert_int_eq(unet_predict_opts_set_border(o, UNET_BORDER_ZERO), UNET_OK);
    ck_assert_int_eq(unet_predict(m, o, x, UNET_F32, 2, shape, y, 37 * 53), UNET_OK);
    unet_predict_opts_free(o);
    free(x);
    free(y);
    unet_model_free(m);
}
END_TEST

START_TEST(test_metadata)
{
    unet_model_t *m = create("{\"depth\": 2, \"base_features\": 4}", 0);
    ck_assert_ptr_nonnull(strstr(model_metadata(m), "\"format_version\":1"));
    ck_assert_ptr_null(strstr(model_metadata(m), "preprocessing"));
    ck_assert_int_eq(unet_model_set_metadata(m, "preprocessing",
                                             "{\"normalize\": \"zmuv\", \"eps\": 1e-6}"),
                     UNET_OK);
    ck_assert_ptr_nonnull(strstr(model_metadata(m), "zmuv"));
    ck_assert_int_eq(unet_model_set_metadata(m, "preprocessing", "{\"normalize\": \"magic\"}"),
                     UNET_E_INVALID_ARG);
    ck_assert_int_eq(unet_model_set_metadata(m, "preprocessing",
                                             "{\"normalize\": \"percentile\", \"low\": 90, "
                                             "\"high\": 10}"),
                     UNET_E_INVALID_ARG);
    ck_assert_int_eq(unet_model_set_metadata(m, "colour", "{}"), UNET_E_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(unet_last_error(), "colour"));
    ck_assert_int_eq(unet_model_set_metadata(m, "halo", "-3"), UNET_E_INVALID_ARG);
    int computed = model_int(unet_model_halo, m);
    /* A stated halo can raise the computed one, never lower it. */
    ck_assert_int_eq(unet_model_set_metadata(m, "halo", "1"), UNET_OK);
    ck_assert_int_eq(model_int(unet_model_halo, m), computed);
    ck_assert_int_eq(unet_model_set_metadata(m, "halo", "40"), UNET_OK);
    ck_assert_int_eq(model_int(unet_model_halo, m), 40);
    ck_assert_int_eq(unet_model_set_metadata(m, "halo", NULL), UNET_OK);
    ck_assert_int_eq(model_int(unet_model_halo, m), computed);
    ck_assert_int_eq(unet_model_set_metadata(m, "training", "{\"epochs\": 3}"), UNET_OK);
    ck_assert_int_eq(unet_model_set_metadata(m, "training", "[1]"), UNET_E_INVALID_ARG);
    ck_assert_int_eq(unet_model_set_metadata(m, "training", "{bad json"), UNET_E_INVALID_ARG);
    unet_model_free(m);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("api");
    TCase *tc = tcase_create("api");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_version_and_status);
    tcase_add_test(tc, test_create_errors_and_null_safety);
    tcase_add_test(tc, test_getters);
    tcase_add_test(tc, test_seeded_init);
    tcase_add_test(tc, test_shape_errors_name_nearest_sizes);
    tcase_add_test(tc, test_forward_validation);
    tcase_add_test(tc, test_forward_threads_and_batch);
    tcase_add_test(tc, test_final_activation);
    tcase_add_test(tc, test_predict);
    tcase_add_test(tc, test_predict_valid_padding);
    tcase_add_test(tc, test_metadata);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
