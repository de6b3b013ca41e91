/* The library's worker pool (lib/core/pool.h) and the default thread count (core/threads.h):
 * every index of a loop runs exactly once on a participant id below the thread count, from
 * many host threads at once and nested; concurrent callers never hold more workers than the
 * CPUs allow; a waiting caller or idle worker sleeps instead of spinning; a forked child gets
 * a working pool; the cgroup v2 quota is read as the kernel documents it. */
#include <check.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/pool.h"
#include "core/threads.h"

#include "run_suite.h"
#include "temp_files.h"

/* ---- a loop that records who ran what ---- */

/* Bodies running on workers (tid > 0) right now, across every loop of every host thread, and
 * the most seen at once. */
static atomic_int helpers_now, helpers_max;

typedef struct record {
    int64_t n;
    int threads;
    atomic_int *runs;      /* per index */
    atomic_int bad_tid;    /* a tid outside [0, threads) */
    atomic_int bad_range;  /* a chunk outside [0, n) or empty */
    long spin_ns;          /* busy work per index */
} record;

static long elapsed_ns(const struct timespec *a, const struct timespec *b)
{
    return (b->tv_sec - a->tv_sec) * 1000000000L + (b->tv_nsec - a->tv_nsec);
}

static void busy_wait(long ns)
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do
        clock_gettime(CLOCK_MONOTONIC, &t1);
    while (elapsed_ns(&t0, &t1) < ns);
}

static void record_body(void *ctx, int64_t b, int64_t e, int tid)
{
    record *r = ctx;
    if (tid < 0 || tid >= r->threads)
        atomic_store(&r->bad_tid, 1);
    if (b < 0 || e > r->n || b >= e)
        atomic_store(&r->bad_range, 1);
    if (tid > 0) {
        int now = atomic_fetch_add(&helpers_now, 1) + 1, max = atomic_load(&helpers_max);
        while (now > max && !atomic_compare_exchange_weak(&helpers_max, &max, now))
            ;
    }
    for (int64_t i = b; i < e && i >= 0 && i < r->n; i++) {
        atomic_fetch_add(&r->runs[i], 1);
        if (r->spin_ns)
            busy_wait(r->spin_ns);
    }
    if (tid > 0)
        atomic_fetch_sub(&helpers_now, 1);
}

static int record_init(record *r, int64_t n, int threads)
{
    memset(r, 0, sizeof *r);
    r->n = n;
    r->threads = threads;
    r->runs = calloc(n > 0 ? (size_t)n : 1, sizeof *r->runs);
    return r->runs != NULL;
}

/* Indices that did not run exactly once, plus bad ids and ranges; frees the counts. */
static int record_errors(record *r)
{
    int errors = atomic_load(&r->bad_tid) + atomic_load(&r->bad_range);
    for (int64_t i = 0; i < r->n; i++)
        errors += atomic_load(&r->runs[i]) != 1;
    free(r->runs);
    return errors;
}

START_TEST(test_every_index_once)
{
    const int64_t sizes[] = {1, 2, 7, 1000, 100003};
    const int64_t chunks[] = {0, 1, 3, 64, 100000};
    for (int threads = 1; threads <= 8; threads++)
        for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++)
            for (size_t c = 0; c < sizeof chunks / sizeof *chunks; c++) {
                record r;
                ck_assert(record_init(&r, sizes[s], threads));
                unet__pool_for(threads, sizes[s], chunks[c], record_body, &r);
                ck_assert_msg(record_errors(&r) == 0, "threads %d, n %lld, chunk %lld", threads,
                              (long long)sizes[s], (long long)chunks[c]);
            }
    /* Nothing to do is nothing done. */
    record r;
    ck_assert(record_init(&r, 1, 4));
    unet__pool_for(4, 0, 1, record_body, &r);
    unet__pool_for(4, -5, 1, record_body, &r);
    ck_assert_int_eq(atomic_load(&r.runs[0]), 0);
    free(r.runs);
}
END_TEST

/* Many short loops: workers are handed a loop and often taken back before they start. */
START_TEST(test_short_loops_taken_back)
{
    for (int k = 0; k < 20000; k++) {
        record r;
        ck_assert(record_init(&r, 2 + k % 3, 2 + k % 3));
        unet__pool_for(r.threads, r.n, 1, record_body, &r);
        ck_assert_int_eq(record_errors(&r), 0);
    }
}
END_TEST

/* A body that runs a loop of its own. */
static void nested_body(void *ctx, int64_t b, int64_t e, int tid)
{
    (void)tid;
    record *inner = ctx;
    for (int64_t i = b; i < e; i++)
        unet__pool_for(2, 100, 7, record_body, &inner[i]);
}

START_TEST(test_nested_loops)
{
    record inner[16];
    for (int i = 0; i < 16; i++)
        ck_assert(record_init(&inner[i], 100, 2));
    unet__pool_for(4, 16, 1, nested_body, inner);
    for (int i = 0; i < 16; i++)
        ck_assert_int_eq(record_errors(&inner[i]), 0);
}
END_TEST

/* ---- several host threads at once ---- */

#define HOSTS 8
#define HOST_LOOPS 200

typedef struct host {
    int threads, errors;
} host;

static void *host_loop(void *arg)
{
    host *h = arg;
    for (int k = 0; k < HOST_LOOPS; k++) {
        record r;
        if (!record_init(&r, 64, h->threads)) {
            h->errors++;
            continue;
        }
        r.spin_ns = 2000;
        unet__pool_for(h->threads, r.n, 1, record_body, &r);
        h->errors += record_errors(&r);
    }
    return NULL;
}

/* Host threads that each ask for every CPU (the default thread count) hold, all together, at
 * most cpus - 1 workers at any moment: the callers' own threads already fill the rest. */
START_TEST(test_concurrent_callers_share_the_cpus)
{
    const int cpus = unet__cpu_count();
    atomic_store(&helpers_now, 0);
    atomic_store(&helpers_max, 0);
    pthread_t t[HOSTS];
    host hosts[HOSTS];
    for (int i = 0; i < HOSTS; i++) {
        hosts[i] = (host){cpus > 1 ? cpus : 2, 0};
        ck_assert_int_eq(pthread_create(&t[i], NULL, host_loop, &hosts[i]), 0);
    }
    for (int i = 0; i < HOSTS; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < HOSTS; i++)
        ck_assert_msg(hosts[i].errors == 0, "host %d: %d errors", i, hosts[i].errors);
    const int budget = cpus > 1 ? cpus - 1 : 1; /* one CPU: a loop of 2 asked for 2 */
    ck_assert_msg(atomic_load(&helpers_max) <= budget, "%d workers at once for %d CPUs",
                  atomic_load(&helpers_max), cpus);
    /* And they were used at all: one host alone gets its workers. */
    atomic_store(&helpers_max, 0);
    host one = {2, 0};
    host_loop(&one);
    ck_assert_int_eq(one.errors, 0);
    ck_assert_int_ge(unet__pool_workers(), 1);
}
END_TEST

/* Two callers share the budget equally: while another caller is in a loop, a loop asking for
 * 4 threads (a budget of 4) gets at most 4 / 2 = 2 of them, itself included. */
static atomic_int blocker_in, blocker_release;

static void blocking_body(void *ctx, int64_t b, int64_t e, int tid)
{
    (void)ctx, (void)b, (void)e, (void)tid;
    atomic_store(&blocker_in, 1);
    while (!atomic_load(&blocker_release))
        nanosleep(&(struct timespec){0, 1000000}, NULL);
}

static void *blocking_caller(void *arg)
{
    (void)arg;
    unet__pool_for(1, 1, 1, blocking_body, NULL);
    return NULL;
}

typedef struct tids {
    atomic_int max_tid;
} tids;

static void tid_body(void *ctx, int64_t b, int64_t e, int tid)
{
    (void)b, (void)e;
    tids *t = ctx;
    int max = atomic_load(&t->max_tid);
    while (tid > max && !atomic_compare_exchange_weak(&t->max_tid, &max, tid))
        ;
    busy_wait(20000);
}

START_TEST(test_callers_share_equally)
{
    /* Workers exist and are free. */
    record r;
    ck_assert(record_init(&r, 64, 4));
    unet__pool_for(4, r.n, 1, record_body, &r);
    ck_assert_int_eq(record_errors(&r), 0);

    atomic_store(&blocker_in, 0);
    atomic_store(&blocker_release, 0);
    pthread_t other;
    ck_assert_int_eq(pthread_create(&other, NULL, blocking_caller, NULL), 0);
    while (!atomic_load(&blocker_in))
        nanosleep(&(struct timespec){0, 1000000}, NULL);
    int most = 0;
    for (int k = 0; k < 20; k++) {
        tids t;
        atomic_init(&t.max_tid, 0);
        unet__pool_for(4, 64, 1, tid_body, &t);
        most = atomic_load(&t.max_tid) > most ? atomic_load(&t.max_tid) : most;
    }
    atomic_store(&blocker_release, 1);
    pthread_join(other, NULL);
    ck_assert_msg(most <= 1, "participant %d took part beside another caller (share: 2)", most);
}
END_TEST

/* ---- waiting costs no CPU ---- */

static atomic_int worker_in;

/* The caller's chunk waits (napping, not spinning) until a worker holds the other chunk; the
 * worker keeps it 200 ms, so the caller then has to wait for it. */
static void sleepy_body(void *ctx, int64_t b, int64_t e, int tid)
{
    (void)ctx, (void)b, (void)e;
    if (tid > 0) {
        atomic_store(&worker_in, 1);
        nanosleep(&(struct timespec){0, 200000000}, NULL);
        return;
    }
    for (int i = 0; i < 2000 && !atomic_load(&worker_in); i++)
        nanosleep(&(struct timespec){0, 1000000}, NULL);
}

static double cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

START_TEST(test_waiting_sleeps)
{
    /* The caller waits 200 ms for a worker: it must sleep, not spin. Then idle workers must
     * sleep too. With spinning waits the process would burn about 400 ms of CPU here. */
    const double c0 = cpu_seconds();
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    atomic_store(&worker_in, 0);
    unet__pool_for(2, 2, 1, sleepy_body, NULL);
    ck_assert_int_eq(atomic_load(&worker_in), 1);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    const double loop = 1e-9 * (double)elapsed_ns(&t0, &t1);
    ck_assert_msg(loop >= 0.2, "the loop returned after %.3f s, before its worker", loop);
    nanosleep(&(struct timespec){0, 200000000}, NULL);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    const double cpu = cpu_seconds() - c0, wall = 1e-9 * (double)elapsed_ns(&t0, &t1);
    printf("waiting: %.4f s of CPU in %.3f s\n", cpu, wall);
    ck_assert_msg(cpu < 0.1 * wall, "%.3f s of CPU in %.3f s of waiting", cpu, wall);
}
END_TEST

/* ---- fork ---- */

START_TEST(test_pool_after_fork)
{
    record r;
    ck_assert(record_init(&r, 1000, 4));
    unet__pool_for(4, r.n, 1, record_body, &r); /* the parent has workers now */
    ck_assert_int_eq(record_errors(&r), 0);
    ck_assert_int_ge(unet__pool_workers(), 1);
    fflush(NULL);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        alarm(30); /* a hang in the child fails the test instead of stalling it */
        int errors = unet__pool_workers() != 0; /* the parent's workers did not come along */
        for (int k = 0; k < 100; k++) {
            record c;
            if (!record_init(&c, 1000, 4))
                _exit(3);
            unet__pool_for(4, c.n, 3, record_body, &c);
            errors += record_errors(&c);
        }
        _exit(errors ? 1 : 0);
    }
    int status = 0;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", status);
    /* The parent's pool still works. */
    ck_assert(record_init(&r, 1000, 4));
    unet__pool_for(4, r.n, 1, record_body, &r);
    ck_assert_int_eq(record_errors(&r), 0);
}
END_TEST

/* ---- thread counts ---- */

START_TEST(test_cgroup_quota)
{
    char root[] = "/tmp/unet_cgroupXXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(root));
    char sys[256], proc[256], p[1024];
    snprintf(sys, sizeof sys, "%s/sys", root);
    snprintf(proc, sizeof proc, "%s/cgroup", root);
    ck_assert_int_eq(mkdir(sys, 0700), 0);
    snprintf(p, sizeof p, "%s/a", sys);
    ck_assert_int_eq(mkdir(p, 0700), 0);
    snprintf(p, sizeof p, "%s/a/b", sys);
    ck_assert_int_eq(mkdir(p, 0700), 0);

    /* No proc file, no v2 line, a relative path: no limit. */
    ck_assert_int_eq(unet__cgroup_cpu_limit(sys, proc), 0);
    write_text_file(proc, "12:cpu,cpuacct:/a/b\n");
    ck_assert_int_eq(unet__cgroup_cpu_limit(sys, proc), 0);
    write_text_file(proc, "1:name=systemd:/x\n0::/a/b\n");
    /* No cpu.max anywhere: no limit. */
    ck_assert_int_eq(unet__cgroup_cpu_limit(sys, proc), 0);
    /* "max" is no limit; the smallest quota of the cgroup and its ancestors counts, rounded
     * up to whole CPUs. */
    snprintf(p, sizeof p, "%s/a/b/cpu.max", sys);
    write_text_file(p, "max 100000\n");
    ck_assert_int_eq(unet__cgroup_cpu_limit(sys, proc), 0);
    snprintf(p, sizeof p, "%s/a/cpu.max", sys);
    write_text_file(p, "150000 100000\n");
    ck_assert_int_eq(unet__cgroup_cpu_limit(sys, proc), 2);
    snprintf(p, sizeof p, "%s/cpu.max", sys);
    write_text_file(p, "50000 100000\n");
    ck_assert_int_eq(unet__cgroup_cpu_limit(sys, proc), 1);
    write_text_file(p, "400000 100000\n");
    ck_assert_int_eq(unet__cgroup_cpu_limit(sys, proc), 2);
    snprintf(p, sizeof p, "%s/a/b/cpu.max", sys);
    write_text_file(p, "300000 100000\n");
    ck_assert_int_eq(unet__cgroup_cpu_limit(sys, proc), 2);
    /* The root of a namespaced hierarchy ("0::/") is /sys/fs/cgroup itself. */
    write_text_file(proc, "0::/\n");
    ck_assert_int_eq(unet__cgroup_cpu_limit(sys, proc), 4);
    /* Garbage is no limit, not a crash. */
    snprintf(p, sizeof p, "%s/cpu.max", sys);
    write_text_file(p, "lots 0\n");
    ck_assert_int_eq(unet__cgroup_cpu_limit(sys, proc), 0);
    write_text_file(p, "-5 100000\n");
    ck_assert_int_eq(unet__cgroup_cpu_limit(sys, proc), 0);

    snprintf(p, sizeof p, "rm -rf '%s'", root);
    ck_assert_int_eq(system(p), 0);
}
END_TEST

START_TEST(test_default_threads)
{
    const int cpus = unet__cpu_count();
    const long online = sysconf(_SC_NPROCESSORS_ONLN);
    ck_assert_int_ge(cpus, 1);
    ck_assert_int_le(cpus, online > 0 ? online : cpus);
    /* The default never exceeds the CPUs; explicit counts are kept, up to the maximum. */
    ck_assert_int_ge(unet__resolve_threads(0), 1);
    ck_assert_int_le(unet__resolve_threads(0), cpus);
    ck_assert_int_eq(unet__resolve_threads(-3), unet__resolve_threads(0));
    ck_assert_int_eq(unet__resolve_threads(5), 5);
    ck_assert_int_eq(unet__resolve_threads(5000), UNET__MAX_THREADS);
    /* This machine's quota, as the library reads it, bounds the count. */
    const int quota = unet__cgroup_cpu_limit("/sys/fs/cgroup", "/proc/self/cgroup");
    if (quota > 0)
        ck_assert_int_le(cpus, quota);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("pool");
    TCase *tc = tcase_create("pool");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_concurrent_callers_share_the_cpus);
    tcase_add_test(tc, test_every_index_once);
    tcase_add_test(tc, test_short_loops_taken_back);
    tcase_add_test(tc, test_nested_loops);
    tcase_add_test(tc, test_callers_share_equally);
    tcase_add_test(tc, test_waiting_sleeps);
    tcase_add_test(tc, test_pool_after_fork);
    tcase_add_test(tc, test_cgroup_quota);
    tcase_add_test(tc, test_default_threads);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
