/* The thread count of a call: every entry point takes one (0 = the default: the CPUs the
 * process may use). */
#ifndef UNET_CORE_THREADS_H
#define UNET_CORE_THREADS_H

/* The most threads one call uses (the documented range of the `threads` option). */
#define UNET__MAX_THREADS 1024

/* num_threads <= 0: the default, unet__cpu_count() (lowered by OMP_NUM_THREADS when that is
 * set and smaller); anything above UNET__MAX_THREADS is capped. */
int unet__resolve_threads(int num_threads);

/* The CPUs this process may use, detected once: the CPUs of its affinity mask
 * (sched_getaffinity), lowered to the cgroup v2 CPU quota (cpu.max of its cgroup and every
 * ancestor: quota / period, rounded up). At least 1. */
int unet__cpu_count(void);

/* The cgroup v2 CPU limit below `sysfs` (normally "/sys/fs/cgroup") for the cgroup named in
 * the file `proc_cgroup` (normally "/proc/self/cgroup", a line "0::/path"): the smallest
 * ceil(quota / period) of cpu.max over the cgroup and its ancestors, or 0 for no limit (files
 * missing, "max", unreadable). Separate for tests. */
int unet__cgroup_cpu_limit(const char *sysfs, const char *proc_cgroup);

#endif
