/* The one way every Check suite here runs: verbose, so Check's closing line reaches the log,
 * and an exit status that tells meson whether anything failed. */
#ifndef UNET_TESTS_RUN_SUITE_H
#define UNET_TESTS_RUN_SUITE_H

#include <check.h>
#include <stdlib.h>

static inline int run_suite(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_VERBOSE);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif
