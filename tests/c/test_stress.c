/* Many host threads on one model with cancels arriving at random: 8 threads x 200 predictions,
 * a ninth thread cancelling half of them at random moments, and progress callbacks that cancel
 * at random. Every call must end OK with exactly the single-threaded reference result, or
 * UNET_E_CANCELLED; nothing else, nothing leaked (the sanitizer build checks leaks at exit).
 * Run twice: each call on one thread, then on 2 or 3 threads (the library's worker pool shared
 * by 8 callers at once, its workers taken back and handed on while calls are cancelled).
 * Public API only. */
#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "unet.h"

#include "run_suite.h"

#define THREADS 8
#define CALLS 200
#define H 48
#define W 40

typedef struct worker {
    const unet_model_t *model;
    unet_predict_opts_t *opts;
    const float *input, *reference;
    uint64_t rng;
    int cancel_in_progress; /* 1 in N progress calls cancels (0: never) */
    int ok, cancelled, other, mismatched;
    int last_rc;
    char last_error[256];
} worker;

static atomic_int running;

static uint64_t next_random(uint64_t *s) /* splitmix64 */
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static int maybe_cancel(void *user, double fraction, const char *stage)
{
    (void)fraction, (void)stage;
    worker *w = user;
    return w->cancel_in_progress && next_random(&w->rng) % (uint64_t)w->cancel_in_progress == 0;
}

static void *predict_loop(void *arg)
{
    worker *w = arg;
    float *out = malloc(sizeof(float) * H * W);
    int64_t shape[2] = {H, W};
    for (int i = 0; i < CALLS && out; i++) {
        unet_predict_opts_reset_cancel(w->opts);
        w->cancel_in_progress = (int)(next_random(&w->rng) % 4); /* 0: no cancelling callback */
        int rc = unet_predict(w->model, w->opts, w->input, UNET_F32, 2, shape, out, H * W);
        if (rc == UNET_OK) {
            w->ok++;
            w->mismatched += memcmp(out, w->reference, sizeof(float) * H * W) != 0;
        } else if (rc == UNET_E_CANCELLED) {
            w->cancelled++;
        } else {
            w->other++;
            w->last_rc = rc;
            strncpy(w->last_error, unet_last_error(), sizeof w->last_error - 1);
        }
    }
    free(out);
    atomic_fetch_sub(&running, 1);
    return NULL;
}

typedef struct canceller {
    worker *workers;
    uint64_t rng;
    int sent;
} canceller;

static void *cancel_loop(void *arg)
{
    canceller *c = arg;
    while (atomic_load(&running) > 0) {
        /* Odd workers only: the even ones are cancelled by their own progress callbacks
         * alone, so some calls complete however slow the build (the sanitizer's is). */
        worker *w = &c->workers[1 + 2 * (next_random(&c->rng) % (THREADS / 2))];
        unet_predict_opts_cancel(w->opts);
        c->sent++;
        struct timespec pause = {0, (long)(next_random(&c->rng) % 3000000)};
        nanosleep(&pause, NULL);
    }
    return NULL;
}

/* Threads per call: loop 0, one; loop 1, 2 and 3 alternately. */
static int call_threads(int loop, int worker)
{
    return loop == 0 ? 1 : 2 + worker % 2;
}

START_TEST(test_threads_share_a_model_with_random_cancels)
{
    unet_model_t *m = NULL;
    ck_assert_int_eq(unet_model_create("{\"depth\": 2, \"base_features\": 8, "
                                       "\"final_activation\": \"sigmoid\"}",
                                       5, &m),
                     UNET_OK);
    static float input[H * W], reference[H * W];
    for (int i = 0; i < H * W; i++)
        input[i] = (float)((i * 7919) % 1000) / 1000.0f;
    unet_predict_opts_t *ref_opts = NULL;
    ck_assert_int_eq(unet_predict_opts_create(&ref_opts), UNET_OK);
    ck_assert_int_eq(unet_predict_opts_set_threads(ref_opts, 1), UNET_OK);
    ck_assert_int_eq(unet_predict_opts_set_tile(ref_opts, 16), UNET_OK);
    int64_t shape[2] = {H, W};
    ck_assert_int_eq(unet_predict(m, ref_opts, input, UNET_F32, 2, shape, reference, H * W),
                     UNET_OK);
    unet_predict_opts_free(ref_opts);

    worker workers[THREADS];
    pthread_t threads[THREADS];
    atomic_store(&running, THREADS);
    for (int t = 0; t < THREADS; t++) {
        worker *w = &workers[t];
        memset(w, 0, sizeof *w);
        w->model = m;
        w->input = input;
        w->reference = reference;
        w->rng = 1000u + (uint64_t)t;
        ck_assert_int_eq(unet_predict_opts_create(&w->opts), UNET_OK);
        ck_assert_int_eq(unet_predict_opts_set_threads(w->opts, call_threads(_i, t)), UNET_OK);
        ck_assert_int_eq(unet_predict_opts_set_tile(w->opts, 16), UNET_OK); /* 9 tiles */
        ck_assert_int_eq(unet_predict_opts_set_progress(w->opts, maybe_cancel, w), UNET_OK);
    }
    for (int t = 0; t < THREADS; t++)
        ck_assert_int_eq(pthread_create(&threads[t], NULL, predict_loop, &workers[t]), 0);
    canceller c = {workers, 77, 0};
    pthread_t cancel_thread;
    ck_assert_int_eq(pthread_create(&cancel_thread, NULL, cancel_loop, &c), 0);
    for (int t = 0; t < THREADS; t++)
        pthread_join(threads[t], NULL);
    pthread_join(cancel_thread, NULL);

    int ok = 0, cancelled = 0;
    for (int t = 0; t < THREADS; t++) {
        worker *w = &workers[t];
        ck_assert_msg(w->other == 0, "thread %d: %d calls failed, last rc %d: %s", t, w->other,
                      w->last_rc, w->last_error);
        ck_assert_msg(w->mismatched == 0, "thread %d: %d results differ from the reference", t,
                      w->mismatched);
        ck_assert_int_eq(w->ok + w->cancelled, CALLS);
        ok += w->ok;
        cancelled += w->cancelled;
        unet_predict_opts_free(w->opts);
    }
    /* Both outcomes must really have happened for the test to mean anything. */
    ck_assert_msg(ok > 0 && cancelled > 0, "%d ok, %d cancelled of %d", ok, cancelled,
                  THREADS * CALLS);
    ck_assert_int_gt(c.sent, 0);
    printf("stress (%s): %d predictions ok, %d cancelled, %d cancels sent from another thread\n",
           _i ? "2-3 threads per call" : "1 thread per call", ok, cancelled, c.sent);
    unet_model_free(m);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("stress");
    TCase *tc = tcase_create("stress");
    tcase_set_timeout(tc, 600);
    tcase_add_loop_test(tc, test_threads_share_a_model_with_random_cancels, 0, 2);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
