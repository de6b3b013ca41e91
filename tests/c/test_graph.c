/* The U-Net builder, config validation and shape analysis. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "graph/config.h"
#include "graph/graph.h"

#include "run_suite.h"

static unet__graph build(const char *json)
{
    unet__config cfg;
    unet__graph g;
    ck_assert_int_eq(unet__config_parse(json, &cfg), UNET_OK);
    ck_assert_int_eq(unet__build_unet(&cfg, &g), UNET_OK);
    return g;
}

START_TEST(test_defaults)
{
    unet__config cfg;
    ck_assert_int_eq(unet__config_parse("{}", &cfg), UNET_OK);
    ck_assert_int_eq(cfg.depth, 4);
    ck_assert_int_eq(cfg.base_features, 32);
    ck_assert_str_eq(cfg.block, "crcr");
    ck_assert(cfg.same_padding);
    ck_assert_int_eq(unet__config_features(&cfg, 3), 256);
}
END_TEST

START_TEST(test_features_rounding)
{
    unet__config cfg;
    ck_assert_int_eq(unet__config_parse("{\"base_features\": 8, \"growth\": 1.5}", &cfg), UNET_OK);
    /* floor(8 * 1.5^l + 0.5): 8, 12, 18, 27 */
    ck_assert_int_eq(unet__config_features(&cfg, 1), 12);
    ck_assert_int_eq(unet__config_features(&cfg, 2), 18);
    ck_assert_int_eq(unet__config_features(&cfg, 3), 27);
}
END_TEST

START_TEST(test_config_errors)
{
    unet__config cfg;
    struct { const char *json; int code; const char *needle; } cases[] = {
        {"{\"depht\": 3}", UNET_E_INVALID_ARG, "depht"},
        {"{\"ndim\": 3}", UNET_E_UNSUPPORTED, "3-D"},
        {"{\"ndim\": 1}", UNET_E_INVALID_ARG, "ndim"},
        {"{\"padding\": \"full\"}", UNET_E_INVALID_ARG, "full"},
        {"{\"block\": \"rr\"}", UNET_E_INVALID_ARG, "no convolution"},
        {"{\"block\": \"cxr\"}", UNET_E_INVALID_ARG, "'x'"},
        {"{\"depth\": 0}", UNET_E_INVALID_ARG, "depth"},
        {"{\"depth\": 9}", UNET_E_INVALID_ARG, "depth"},
        {"{\"kernel_size\": 4}", UNET_E_INVALID_ARG, "odd"},
        {"{\"growth\": \"2\"}", UNET_E_INVALID_ARG, "growth"},
        {"{\"growth\": 100}", UNET_E_INVALID_ARG, "growth"},
        {"{\"upsample_conv\": 1}", UNET_E_INVALID_ARG, "upsample_conv"},
        {"{\"skip\": \"add\"}", UNET_E_INVALID_ARG, "add"},
        {"{\"final_activation\": \"tanh\"}", UNET_E_INVALID_ARG, "tanh"},
        {"{\"upsample\": \"cubic\"}", UNET_E_INVALID_ARG, "cubic"},
        {"{\"downsample\": \"stride\"}", UNET_E_INVALID_ARG, "stride"},
        {"{\"factor\": 1}", UNET_E_INVALID_ARG, "factor"},
        {"{\"in_channels\": -1}", UNET_E_INVALID_ARG, "in_channels"},
        {"{\"out_channels\": 1.5}", UNET_E_INVALID_ARG, "out_channels"},
        {"{\"depth\": 8, \"factor\": 8}", UNET_E_INVALID_ARG, "too large"},
        {"[1, 2]", UNET_E_INVALID_ARG, "object"},
        {"{\"depth\": 3", UNET_E_INVALID_ARG, "invalid JSON"},
        {"{\"depth\": 3, \"depth\": 4}", UNET_E_INVALID_ARG, "invalid JSON"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        unet__clear_error();
        ck_assert_msg(unet__config_parse(cases[i].json, &cfg) == cases[i].code, "%s",
                      cases[i].json);
        ck_assert_msg(strstr(unet_last_error(), cases[i].needle), "%s -> %s", cases[i].json,
                      unet_last_error());
    }
}
END_TEST

START_TEST(test_param_names)
{
    unet__graph g = build("{\"depth\": 3, \"block\": \"cbrcbr\"}");
    const char *expected[] = {"down0.conv0.weight", "down0.conv0.bias", "down0.bn0.weight",
                              "down0.bn0.running_var", "down2.conv1.weight", "up1.weight",
                              "up1.bias", "up1.conv0.weight", "up0.bn1.running_mean",
                              "out.weight", "out.bias"};
    for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++)
        ck_assert_msg(unet__graph_find_param(&g, expected[i]) >= 0, "%s", expected[i]);
    ck_assert_int_lt(unet__graph_find_param(&g, "up2.weight"), 0);
    /* up1 is the transposed conv f(2)=128 -> f(1)=64, weight [in, out, 2, 2] */
    const unet__param_spec *p = &g.params[unet__graph_find_param(&g, "up1.weight")];
    ck_assert_int_eq(p->shape[0], 128);
    ck_assert_int_eq(p->shape[1], 64);
    /* decoder block input: skip 64 + upsampled 64 */
    p = &g.params[unet__graph_find_param(&g, "up1.conv0.weight")];
    ck_assert_int_eq(p->shape[1], 128);
    unet__graph_clear(&g);

    g = build("{\"depth\": 2, \"upsample\": \"bilinear\", \"base_features\": 4}");
    ck_assert_int_lt(unet__graph_find_param(&g, "up0.weight"), 0);
    p = &g.params[unet__graph_find_param(&g, "up0.conv0.weight")];
    ck_assert_int_eq(p->shape[1], 4 + 8); /* no upsample_conv: skip 4 + upsampled 8 */
    unet__graph_clear(&g);

    g = build("{\"depth\": 2, \"upsample\": \"nearest\", \"upsample_conv\": true, "
              "\"block\": \"cgr\", \"base_features\": 12}");
    p = &g.params[unet__graph_find_param(&g, "up0.weight")];
    ck_assert_int_eq(p->shape[0], 12);
    ck_assert_int_eq(p->shape[1], 24);
    ck_assert_int_eq(p->shape[2], 1);
    ck_assert_int_ge(unet__graph_find_param(&g, "down1.gn0.bias"), 0);
    unet__graph_clear(&g);
}
END_TEST

START_TEST(test_same_padding_shapes)
{
    unet__graph g = build("{\"depth\": 4}");
    int64_t out;
    ck_assert_int_eq(unet__graph_block_multiple(&g), 8);
    ck_assert_int_eq(unet__graph_axis_size(&g, 64, &out, NULL), UNET_OK);
    ck_assert_int_eq(out, 64);
    ck_assert_int_eq(unet__graph_axis_size(&g, 8, &out, NULL), UNET_OK);
    ck_assert_int_eq(unet__graph_axis_size(&g, 60, &out, NULL), UNET_E_SHAPE);
    ck_assert_int_eq(unet__graph_axis_size(&g, 0, &out, NULL), UNET_E_SHAPE);
    ck_assert_int_eq(unet__graph_size_at_or_above(&g, 60), 64);
    ck_assert_int_eq(unet__graph_size_at_or_below(&g, 60), 56);
    ck_assert_int_eq(unet__graph_size_at_or_above(&g, 1), 8);
    unet__graph_clear(&g);

    g = build("{\"depth\": 3, \"factor\": 3}");
    ck_assert_int_eq(unet__graph_block_multiple(&g), 9);
    ck_assert_int_eq(unet__graph_size_at_or_above(&g, 10), 18);
    unet__graph_clear(&g);
}
END_TEST

START_TEST(test_valid_padding_shapes)
{
    /* The U-Net paper's network: 572 -> 388 with depth 5, two 3x3 valid convs per block. */
    unet__graph g = build("{\"depth\": 5, \"padding\": \"valid\", \"base_features\": 2}");
    int64_t out;
    ck_assert_int_eq(unet__graph_axis_size(&g, 572, &out, NULL), UNET_OK);
    ck_assert_int_eq(out, 388);
    ck_assert_int_eq(unet__graph_axis_size(&g, 573, &out, NULL), UNET_E_SHAPE);
    ck_assert_int_eq(unet__graph_halo(&g, 0), 92);
    ck_assert_int_eq(unet__graph_size_at_or_above(&g, 1), 188); /* 188 -> 4 */
    ck_assert_int_eq(unet__graph_size_at_or_above(&g, 189), 204);
    unet__graph_clear(&g);
}
END_TEST

START_TEST(test_halo_same_padding)
{
    /* One level, two 3x3 convs: each sees one pixel further. */
    unet__graph g = build("{\"depth\": 1}");
    ck_assert_int_eq(unet__graph_halo(&g, 1), 2);
    unet__graph_clear(&g);
    /* depth 2, k3, crcr, transposed: down0 2, pool (s 2), down1 +2*2 = 6, up (s 1) +1 = 7,
     * up0 convs +2 = 9. */
    g = build("{\"depth\": 2}");
    ck_assert_int_eq(unet__graph_halo(&g, 1), 9);
    unet__graph_clear(&g);
    /* kernel 5 doubles the per-conv reach. */
    g = build("{\"depth\": 1, \"kernel_size\": 5}");
    ck_assert_int_eq(unet__graph_halo(&g, 1), 4);
    unet__graph_clear(&g);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("graph");
    TCase *tc = tcase_create("graph");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_defaults);
    tcase_add_test(tc, test_features_rounding);
    tcase_add_test(tc, test_config_errors);
    tcase_add_test(tc, test_param_names);
    tcase_add_test(tc, test_same_padding_shapes);
    tcase_add_test(tc, test_valid_padding_shapes);
    tcase_add_test(tc, test_halo_same_padding);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
