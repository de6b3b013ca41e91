/* Clocks and the median the benchmark drivers report. */
#ifndef UNET_BENCH_TIME_H
#define UNET_BENCH_TIME_H

/* Seconds of wall time (monotonic) and of this process's CPU time. */
double bench_now(void);
double bench_cpu_now(void);
/* Median of v[0..n) (sorts v); NaN when n is 0. */
double bench_median(double *v, int n);

#endif
