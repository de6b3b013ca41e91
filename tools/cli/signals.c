/* Signals that stop a run (see signals.h). */
#include "signals.h"

#include <signal.h>
#include <stddef.h>
#include <string.h>

static volatile sig_atomic_t caught;
static cli_cancel_fn volatile cancel_fn;
static void *volatile cancel_target;

static const int stop_signals[] = {SIGINT, SIGTERM, SIGHUP};
#define NSTOP ((int)(sizeof stop_signals / sizeof *stop_signals))

static void on_stop(int sig)
{
    if (!caught)
        caught = sig;
    cli_cancel_fn fn = cancel_fn;
    if (fn)
        fn(cancel_target);
}

/* The handler never sees the target half-updated: the signals wait while it changes. */
static void block_stop_signals(int how, sigset_t *old)
{
    sigset_t set;
    sigemptyset(&set);
    for (int i = 0; i < NSTOP; i++)
        sigaddset(&set, stop_signals[i]);
    sigprocmask(how, &set, old);
}

void cli_signals_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;
    sigemptyset(&sa.sa_mask);
    for (int i = 0; i < NSTOP; i++)
        sigaddset(&sa.sa_mask, stop_signals[i]);
    for (int i = 0; i < NSTOP; i++)
        sigaction(stop_signals[i], &sa, NULL);
}

void cli_signals_cancel_with(cli_cancel_fn cancel, void *target)
{
    sigset_t old;
    block_stop_signals(SIG_BLOCK, &old);
    cancel_fn = NULL;
    cancel_target = target;
    cancel_fn = cancel;
    if (caught && cancel)
        cancel(target);
    sigprocmask(SIG_SETMASK, &old, NULL);
}

int cli_signal_caught(void)
{
    return caught;
}

int cli_signal_status(void)
{
    return 128 + (caught ? caught : SIGINT);
}

const char *cli_signal_name(void)
{
    switch (caught) {
    case SIGTERM: return "SIGTERM";
    case SIGHUP: return "SIGHUP";
    default: return "Ctrl-C";
    }
}
