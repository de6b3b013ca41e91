/*
 * Default thread counts. OpenMP's default (omp_get_max_threads) counts the CPUs of the
 * affinity mask but not a container's CPU quota: a job limited to 2 CPUs on a 64-core host
 * would run 64 threads on 2 CPUs' worth of time.
 */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT_S */
#include "core/threads.h"

#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* CPUs in the affinity mask, or the online CPUs when it cannot be read. */
static int affinity_cpus(void)
{
    for (int ncpu = 1024; ncpu <= (1 << 20); ncpu *= 2) {
        cpu_set_t *set = CPU_ALLOC(ncpu);
        if (!set)
            break;
        const size_t size = CPU_ALLOC_SIZE(ncpu);
        if (sched_getaffinity(0, size, set) == 0) {
            const int n = CPU_COUNT_S(size, set);
            CPU_FREE(set);
            return n;
        }
        CPU_FREE(set);
        /* EINVAL: the kernel's mask is larger than ours; try a larger one. */
    }
    const long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 && n < INT_MAX ? (int)n : 1;
}

/* ceil(quota / period) from a cpu.max file, 0 for "max" or anything unreadable. */
static int read_cpu_max(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    char quota[32];
    long long period = 0;
    const int got = fscanf(f, "%31s %lld", quota, &period);
    fclose(f);
    if (got != 2 || period <= 0 || strcmp(quota, "max") == 0)
        return 0;
    char *end;
    const long long q = strtoll(quota, &end, 10);
    if (*end || q <= 0)
        return 0;
    const long long cpus = (q + period - 1) / period;
    return cpus > INT_MAX ? INT_MAX : (int)cpus;
}

int unet__cgroup_cpu_limit(const char *sysfs, const char *proc_cgroup)
{
    FILE *f = fopen(proc_cgroup, "r");
    if (!f)
        return 0;
    char line[4096], path[4096] = "";
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "0::", 3) == 0) { /* the v2 hierarchy */
            line[strcspn(line, "\n")] = '\0';
            snprintf(path, sizeof path, "%s", line + 3);
            break;
        }
    fclose(f);
    if (path[0] != '/')
        return 0;
    /* The cgroup and each ancestor up to the root of the (namespaced) hierarchy. */
    int limit = 0;
    for (;;) {
        char file[8192];
        snprintf(file, sizeof file, "%s%s/cpu.max", sysfs, strcmp(path, "/") ? path : "");
        const int l = read_cpu_max(file);
        if (l > 0 && (limit == 0 || l < limit))
            limit = l;
        char *slash = strrchr(path, '/');
        if (slash == path) {
            if (path[1] == '\0')
                break;
            path[1] = '\0';
        } else {
            *slash = '\0';
        }
    }
    return limit;
}

static int cpus, default_threads;
static pthread_once_t cpus_once = PTHREAD_ONCE_INIT;

static void detect(void)
{
    int n = affinity_cpus();
    const int quota = unet__cgroup_cpu_limit("/sys/fs/cgroup", "/proc/self/cgroup");
    if (quota > 0 && quota < n)
        n = quota;
    cpus = default_threads = n < 1 ? 1 : n;
    /* OMP_NUM_THREADS kept its meaning when the engine moved off OpenMP: a lower value still
     * lowers the default (read once, like the CPUs). */
    const char *env = getenv("OMP_NUM_THREADS");
    if (env && *env) {
        char *end;
        const long v = strtol(env, &end, 10);
        if ((*end == '\0' || *end == ',') && v > 0 && v < default_threads)
            default_threads = (int)v;
    }
}

int unet__cpu_count(void)
{
    pthread_once(&cpus_once, detect);
    return cpus;
}

int unet__resolve_threads(int num_threads)
{
    if (num_threads <= 0) {
        pthread_once(&cpus_once, detect);
        num_threads = default_threads;
    }
    return num_threads > UNET__MAX_THREADS ? UNET__MAX_THREADS : num_threads;
}
