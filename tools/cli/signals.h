/* SIGINT (Ctrl-C), SIGTERM and SIGHUP stop a run the same way: the first one cancels the
 * running library call through its own cancel function and is remembered, so the command
 * removes its partial outputs, leaves existing files untouched, and exits with 128 + the
 * signal number (130 for SIGINT, 143 for SIGTERM, 129 for SIGHUP), as shells report a process
 * killed by that signal. */
#ifndef UNET_CLI_SIGNALS_H
#define UNET_CLI_SIGNALS_H

typedef void (*cli_cancel_fn)(void *target);

/* Catch the three signals from now on (call before any work; the previous handlers are not
 * restored: the command ends after its run). */
void cli_signals_install(void);
/* What a signal cancels from now on (NULL: nothing, only remember it). The library's cancel
 * functions are one atomic store, safe in a signal handler. A signal that came before this
 * call cancels the target at once. */
void cli_signals_cancel_with(cli_cancel_fn cancel, void *target);
/* The number of the first signal caught, or 0. */
int cli_signal_caught(void);
/* 128 + that signal, or 130 when none was caught (a cancel from elsewhere reads as Ctrl-C). */
int cli_signal_status(void);
/* "interrupted (SIGTERM)" and the like, for the closing message. */
const char *cli_signal_name(void);

#endif
