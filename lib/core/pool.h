/*
 * The library's worker pool: parallel loops for inference and post-processing, in place of
 * OpenMP, whose workers spin at every barrier (libgomp reads its wait policy only from the
 * environment) and so lose badly to one thread on a loaded machine.
 *
 * The pool is the one piece of process-wide state the design allows: workers are created the
 * first time a loop wants them, stay parked between calls, and are stopped and joined when the
 * library is unloaded (or the process exits). A worker that finds no work spins for
 * UNET__POOL_SPIN_NS, then sleeps on a futex until a caller hands it a loop.
 *
 * A loop is run by its caller and by whichever workers are free at that moment, up to the
 * thread count asked for and within the CPU budget (the CPUs the process may use, less the
 * threads already running other callers' loops, and at most an equal share of them per caller
 * running a loop), so several host threads calling at once share the CPUs instead of
 * multiplying threads; a caller never waits for another caller. Workers are handed out again
 * at every loop (a node of the network), so shares follow callers coming and going. Chunks of
 * the index range are handed out in order to whichever participant asks next, and the caller
 * waits only for workers that actually took a chunk: a worker that has not woken up by the time
 * the caller has run the rest is taken back, so a descheduled worker never holds a loop up
 * unless it is in the middle of a chunk.
 *
 * After fork() the child has no workers (a fork handler resets the pool) and creates new ones
 * when it needs them.
 */
#ifndef UNET_CORE_POOL_H
#define UNET_CORE_POOL_H

#include <stdint.h>

/* How long an idle worker (and a caller waiting for its workers) spins before it sleeps. */
#define UNET__POOL_SPIN_NS 50000

/* One chunk [begin, end) of a loop, run by participant `tid`: 0 is the caller, workers are
 * 1, 2, ... in the order they join; tid < the loop's thread count, so per-thread scratch can be
 * indexed by it. Which participant runs which chunk varies from run to run: a body must give
 * the same result whichever thread runs it. */
typedef void (*unet__pool_fn)(void *ctx, int64_t begin, int64_t end, int tid);

/* fn over [0, n) in chunks of `chunk` indices (the last may be shorter) on at most `threads`
 * threads (the caller included). Returns when every chunk has run. Never fails: without
 * workers (none free, none can be created) the caller runs every chunk itself. n <= 0 does
 * nothing; chunk < 1 counts as 1. fn may itself call unet__pool_for. */
void unet__pool_for(int threads, int64_t n, int64_t chunk, unet__pool_fn fn, void *ctx);

/* A chunk size for n indices on `threads` threads: about `per_thread` chunks per thread (more
 * chunks balance better when a thread loses its CPU for a while), at least `min_chunk`. */
int64_t unet__pool_chunk(int64_t n, int threads, int per_thread, int64_t min_chunk);

/* Tests: workers created so far (alive, parked or working). */
int unet__pool_workers(void);

#endif
