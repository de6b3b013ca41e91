/* The worker pool's life with the library's: a host that dlopens libunet, predicts with
 * several threads (so workers exist) and dlcloses it is left with no worker thread, and can
 * load it again and predict again. Not linked with libunet: argv[1] is the library's path. */
#include <check.h>
#include <dirent.h>
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unet.h"

#include "run_suite.h"

static const char *library;

/* Threads of this process named as the pool names its workers. */
static int worker_threads(void)
{
    DIR *d = opendir("/proc/self/task");
    ck_assert_ptr_nonnull(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.') {
            char path[300], name[64] = "";
            snprintf(path, sizeof path, "/proc/self/task/%s/comm", e->d_name);
            FILE *f = fopen(path, "r");
            if (f) {
                if (fgets(name, sizeof name, f))
                    n += strncmp(name, "unet-worker", 11) == 0;
                fclose(f);
            }
        }
    closedir(d);
    return n;
}

#define SYM(h, name) ((__typeof__(&name))dlsym(h, #name))

/* Load the library, predict 64 x 64 with 3 threads; the handle. */
static void *load_and_predict(void)
{
    void *h = dlopen(library, RTLD_NOW | RTLD_LOCAL);
    ck_assert_msg(h != NULL, "dlopen %s: %s", library, dlerror());
    unet_model_t *m = NULL;
    unet_predict_opts_t *o = NULL;
    ck_assert_int_eq(SYM(h, unet_model_create)("{\"depth\": 2, \"base_features\": 8}", 1, &m),
                     UNET_OK);
    ck_assert_int_eq(SYM(h, unet_predict_opts_create)(&o), UNET_OK);
    ck_assert_int_eq(SYM(h, unet_predict_opts_set_threads)(o, 3), UNET_OK);
    static float in[64 * 64], out[64 * 64];
    for (int i = 0; i < 64 * 64; i++)
        in[i] = (float)(i % 17);
    int64_t shape[2] = {64, 64};
    ck_assert_int_eq(SYM(h, unet_predict)(m, o, in, UNET_F32, 2, shape, out, 64 * 64), UNET_OK);
    SYM(h, unet_predict_opts_free)(o);
    SYM(h, unet_model_free)(m);
    return h;
}

START_TEST(test_unload_joins_workers)
{
    ck_assert_int_eq(worker_threads(), 0);
    for (int round = 0; round < 2; round++) {
        void *h = load_and_predict();
        ck_assert_msg(worker_threads() >= 1, "round %d: no worker threads while loaded", round);
        ck_assert_int_eq(dlclose(h), 0);
        ck_assert_msg(worker_threads() == 0, "round %d: %d worker threads after dlclose", round,
                      worker_threads());
    }
}
END_TEST

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s LIBUNET.so\n", argv[0]);
        return EXIT_FAILURE;
    }
    library = argv[1];
    /* libgomp (libunet's training still uses OpenMP) leaks 8 bytes every time it is unloaded,
     * which the sanitizer build reports: keep it loaded, as an OpenMP host would. libunet
     * itself is still unloaded. */
    if (!dlopen("libgomp.so.1", RTLD_NOW | RTLD_GLOBAL | RTLD_NODELETE))
        fprintf(stderr, "libgomp.so.1 not preloaded: %s\n", dlerror());
    Suite *s = suite_create("unload");
    TCase *tc = tcase_create("unload");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_unload_joins_workers);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
