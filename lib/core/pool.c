/*
 * The worker pool (see pool.h). Each worker has a mailbox `slot`: NULL when free, a loop a
 * caller has handed it, TAKEN while it runs that loop, STOP when the library is unloaded. A
 * caller claims free workers with a compare-and-swap, runs chunks itself, then takes back
 * (swaps to NULL) every mailbox whose worker has not picked the loop up yet, and waits only for
 * the ones that did. The loop descriptor lives on the caller's stack; `pending` counts the
 * workers that may still touch it.
 */
#define _GNU_SOURCE /* pthread_setname_np */
#include "core/pool.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "core/threads.h"

#if defined(__linux__)
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define cpu_relax() _mm_pause()
#elif defined(__aarch64__)
#define cpu_relax() __asm__ __volatile__("yield")
#else
#define cpu_relax() ((void)0)
#endif

#define MAX_WORKERS (UNET__MAX_THREADS - 1)
/* `pending`: workers that may touch the loop, and a flag set while the caller sleeps. */
#define WAITING 0x80000000u

typedef struct loop {
    unet__pool_fn fn;
    void *ctx;
    int64_t n, chunk;
    _Atomic int64_t next; /* start of the next chunk to hand out */
    atomic_int tid;       /* the next worker's participant id */
    _Atomic uint32_t pending;
} loop;

/* Mailbox values besides NULL and a loop. */
static loop taken_mark, stop_mark;
#define TAKEN (&taken_mark)
#define STOP (&stop_mark)

typedef struct worker {
    _Alignas(64) _Atomic(loop *) slot;
    _Atomic uint32_t seq; /* futex word: bumped whenever the slot is given a loop or STOP */
    atomic_int sleeping;
    pthread_t thread;
} worker;

static struct {
    pthread_once_t once;
    pthread_mutex_t grow; /* creating workers */
    worker workers[MAX_WORKERS];
    atomic_int count;     /* workers[0, count) exist */
    atomic_int busy;      /* threads running loops now: callers and the workers they hold */
    atomic_int callers;   /* callers running loops now */
    atomic_bool no_more;  /* creating a thread failed: do not try again */
} pool = {.once = PTHREAD_ONCE_INIT, .grow = PTHREAD_MUTEX_INITIALIZER};

/* ---- waiting ---- */

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Sleep while *word == val (or until woken; spurious returns are fine, callers re-check). */
static void wait_on(_Atomic uint32_t *word, uint32_t val)
{
#if defined(__linux__)
    syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
#else
    /* No futex: nap briefly and let the caller re-check. */
    if (atomic_load(word) == val)
        nanosleep(&(struct timespec){0, 100000}, NULL);
#endif
}

static void wake_on(_Atomic uint32_t *word)
{
#if defined(__linux__)
    syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
#else
    (void)word;
#endif
}

/* ---- running a loop ---- */

static void run_chunks(loop *l, int tid)
{
    for (;;) {
        const int64_t b = atomic_fetch_add_explicit(&l->next, l->chunk, memory_order_relaxed);
        if (b >= l->n)
            return;
        l->fn(l->ctx, b, l->n - b < l->chunk ? l->n : b + l->chunk, tid);
    }
}

/* A worker is done with l: the last one out wakes the caller if it sleeps. After the
 * decrement the loop may be gone; waking a stale address is harmless (futex waiters re-check). */
static void leave(loop *l)
{
    _Atomic uint32_t *p = &l->pending;
    if (atomic_fetch_sub_explicit(p, 1, memory_order_acq_rel) == (WAITING | 1u))
        wake_on(p);
}

/* The caller waits until no worker can touch l any more. */
static void wait_workers(loop *l)
{
    const uint64_t deadline = now_ns() + UNET__POOL_SPIN_NS;
    do {
        for (int i = 0; i < 64; i++) {
            if ((atomic_load_explicit(&l->pending, memory_order_acquire) & ~WAITING) == 0)
                return;
            cpu_relax();
        }
    } while (now_ns() < deadline);
    for (;;) {
        uint32_t v = atomic_load_explicit(&l->pending, memory_order_acquire);
        if ((v & ~WAITING) == 0)
            return;
        if (!(v & WAITING) && !atomic_compare_exchange_weak(&l->pending, &v, v | WAITING))
            continue;
        wait_on(&l->pending, v | WAITING);
    }
}

/* ---- workers ---- */

/* The next loop (or STOP) put into w's mailbox: spin a little, then sleep. */
static loop *next_loop(worker *w)
{
    const uint64_t deadline = now_ns() + UNET__POOL_SPIN_NS;
    do {
        for (int i = 0; i < 64; i++) {
            loop *l = atomic_load_explicit(&w->slot, memory_order_acquire);
            if (l && l != TAKEN)
                return l;
            cpu_relax();
        }
    } while (now_ns() < deadline);
    for (;;) {
        const uint32_t seq = atomic_load(&w->seq);
        /* Announce the sleep, then look once more: a caller stores the slot and then reads
         * `sleeping`, so one of the two sees the other (both sequentially consistent). */
        atomic_store(&w->sleeping, 1);
        loop *l = atomic_load(&w->slot);
        if (!l || l == TAKEN)
            wait_on(&w->seq, seq);
        atomic_store(&w->sleeping, 0);
        l = atomic_load_explicit(&w->slot, memory_order_acquire);
        if (l && l != TAKEN)
            return l;
    }
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    for (;;) {
        loop *l = next_loop(w);
        if (l == STOP)
            return NULL;
        loop *expect = l;
        if (!atomic_compare_exchange_strong(&w->slot, &expect, TAKEN))
            continue; /* the caller finished without us and took the loop back */
        run_chunks(l, atomic_fetch_add_explicit(&l->tid, 1, memory_order_relaxed));
        /* Free again before the caller hears we are done, so its next loop can have us. */
        atomic_store_explicit(&w->slot, NULL, memory_order_release);
        leave(l);
    }
}

static void wake_worker(worker *w)
{
    atomic_fetch_add(&w->seq, 1);
    if (atomic_load(&w->sleeping))
        wake_on(&w->seq);
}

/* A new worker whose mailbox already holds l, or NULL. Under pool.grow. */
static worker *create_worker(loop *l)
{
    const int i = atomic_load(&pool.count);
    if (i >= MAX_WORKERS || atomic_load(&pool.no_more))
        return NULL;
    worker *w = &pool.workers[i];
    atomic_store(&w->slot, l);
    atomic_store(&w->seq, 0);
    atomic_store(&w->sleeping, 0);
    /* Workers take no asynchronous signals: hosts' handlers (Ctrl-C in the CLI, Python's) run
     * on their own threads. Faults stay deliverable, so a crash is reported where it happens
     * (by a sanitizer, a JVM). The new thread inherits the mask set here. */
    sigset_t all, old;
    sigfillset(&all);
    static const int faults[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS, SIGABRT};
    for (size_t k = 0; k < sizeof faults / sizeof *faults; k++)
        sigdelset(&all, faults[k]);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    const int rc = pthread_create(&w->thread, NULL, worker_main, w);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        atomic_store(&w->slot, NULL);
        atomic_store(&pool.no_more, true);
        return NULL;
    }
#if defined(__linux__)
    pthread_setname_np(w->thread, "unet-worker");
#endif
    atomic_store_explicit(&pool.count, i + 1, memory_order_release);
    return w;
}

/* ---- process life: fork and unload ---- */

static void before_fork(void) { pthread_mutex_lock(&pool.grow); }
static void after_fork_parent(void) { pthread_mutex_unlock(&pool.grow); }

/* The child has only the forking thread: forget the parent's workers and loops. */
static void after_fork_child(void)
{
    atomic_store(&pool.count, 0);
    atomic_store(&pool.busy, 0);
    atomic_store(&pool.callers, 0);
    atomic_store(&pool.no_more, false);
    pthread_mutex_init(&pool.grow, NULL);
}

static void pool_init(void)
{
    pthread_atfork(before_fork, after_fork_parent, after_fork_child);
}

/* At unload or exit: stop every worker once it is free (callers still running loops at exit
 * finish their current one) and join it, so no thread runs code that is being unmapped. */
__attribute__((destructor)) static void pool_fini(void)
{
    atomic_store(&pool.no_more, true); /* loops still running at exit go on without workers */
    const int n = atomic_load(&pool.count);
    for (int i = 0; i < n; i++) {
        worker *w = &pool.workers[i];
        bool stopped = false;
        /* A worker busy for more than about a second is left alone (and not joined). */
        for (int tries = 0; tries < 1000 && !stopped; tries++) {
            loop *expect = NULL;
            stopped = atomic_compare_exchange_strong(&w->slot, &expect, STOP);
            if (!stopped)
                nanosleep(&(struct timespec){0, 1000000}, NULL);
        }
        if (stopped) {
            atomic_fetch_add(&w->seq, 1);
            wake_on(&w->seq);
            pthread_join(w->thread, NULL);
        }
    }
}

/* ---- the loop ---- */

int64_t unet__pool_chunk(int64_t n, int threads, int per_thread, int64_t min_chunk)
{
    const int64_t parts = (int64_t)(threads > 1 ? threads : 1) * (per_thread > 1 ? per_thread : 1);
    int64_t c = n / parts;
    if (c < min_chunk)
        c = min_chunk;
    return c < 1 ? 1 : c;
}

int unet__pool_workers(void) { return atomic_load(&pool.count); }

/* Reserve this caller's thread and up to `want` more within the CPU budget: the CPUs (or the
 * thread count asked for, if larger) less the threads already running loops, and no more than
 * an equal share among the callers running loops now (so the first of two callers does not
 * keep every worker). The number of extra threads reserved. */
static int reserve(int threads, int want, int callers)
{
    const int cpus = unet__cpu_count();
    const int limit = threads > cpus ? threads : cpus;
    const int share = limit / (callers > 1 ? callers : 1);
    if (want > share - 1)
        want = share - 1;
    int b = atomic_load(&pool.busy), take;
    do {
        take = limit - b - 1;
        take = take < 0 ? 0 : take > want ? want : take;
    } while (!atomic_compare_exchange_weak(&pool.busy, &b, b + 1 + take));
    return take;
}

void unet__pool_for(int threads, int64_t n, int64_t chunk, unet__pool_fn fn, void *ctx)
{
    if (n <= 0)
        return;
    if (chunk < 1)
        chunk = 1;
    if (threads > UNET__MAX_THREADS)
        threads = UNET__MAX_THREADS;
    const int64_t chunks = (n - 1) / chunk + 1;
    int want = threads - 1;
    if (want > chunks - 1)
        want = (int)(chunks - 1);
    if (want <= 0) {
        /* Counted all the same: a single-threaded caller uses a CPU other loops should leave. */
        atomic_fetch_add(&pool.callers, 1);
        atomic_fetch_add(&pool.busy, 1);
        fn(ctx, 0, n, 0);
        atomic_fetch_sub(&pool.busy, 1);
        atomic_fetch_sub(&pool.callers, 1);
        return;
    }
    pthread_once(&pool.once, pool_init);
    loop l = {.fn = fn, .ctx = ctx, .n = n, .chunk = chunk};
    atomic_init(&l.next, 0);
    atomic_init(&l.tid, 1);
    atomic_init(&l.pending, 0);

    const int take = reserve(threads, want, atomic_fetch_add(&pool.callers, 1) + 1);
    worker *held[MAX_WORKERS];
    int got = 0;
    /* Free workers, those still spinning first (they start at once), then sleeping ones. */
    const int count = atomic_load_explicit(&pool.count, memory_order_acquire);
    for (int pass = 0; pass < 2 && got < take; pass++)
        for (int i = 0; i < count && got < take; i++) {
            worker *w = &pool.workers[i];
            if (atomic_load_explicit(&w->sleeping, memory_order_relaxed) != pass)
                continue;
            if (atomic_load_explicit(&w->slot, memory_order_relaxed) != NULL)
                continue;
            /* Counted before the worker can see the loop: a spinning one starts at once. */
            atomic_fetch_add(&l.pending, 1);
            loop *expect = NULL;
            if (atomic_compare_exchange_strong(&w->slot, &expect, &l))
                held[got++] = w;
            else
                atomic_fetch_sub(&l.pending, 1);
        }
    if (got < take && count < MAX_WORKERS && !atomic_load(&pool.no_more)) {
        pthread_mutex_lock(&pool.grow);
        while (got < take) {
            atomic_fetch_add(&l.pending, 1);
            worker *w = create_worker(&l);
            if (!w) {
                atomic_fetch_sub(&l.pending, 1);
                break;
            }
            held[got++] = w;
        }
        pthread_mutex_unlock(&pool.grow);
    }
    if (got < take)
        atomic_fetch_sub(&pool.busy, take - got);
    /* Wake the sleeping ones (spinning ones may have started already). */
    for (int i = 0; i < got; i++)
        wake_worker(held[i]);

    run_chunks(&l, 0);

    /* Take back the loop from workers that have not started it; wait for the others. */
    for (int i = 0; i < got; i++) {
        loop *expect = &l;
        if (atomic_compare_exchange_strong(&held[i]->slot, &expect, NULL))
            atomic_fetch_sub(&l.pending, 1);
    }
    wait_workers(&l);
    atomic_fetch_sub(&pool.busy, 1 + got);
    atomic_fetch_sub(&pool.callers, 1);
}
