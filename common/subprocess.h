/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * A child process watched on an sd-event loop through its pidfd, for card drivers and plugins,
 * which run on zerod's loop but must neither block it (zero_run_wait()) nor touch its signal
 * mask (sd_event_add_child wants SIGCHLD blocked process-wide: the agent's decision, spawn.h).
 */
#include <systemd/sd-event.h>

struct zero_subprocess;
/* status: the exit status, 128+signal, or -errno; output: the first 4 KiB of its stdout and
 * stderr, NUL-terminated. Called from the loop once the child is reaped and freed. */
typedef void (*zero_subprocess_done_fn)(void *userdata, int status, const char *output);
/* Forks and execs argv (PATH searched; stdin /dev/null; it dies with zerod: PDEATHSIG). */
int zero_subprocess_start(sd_event *e, char *const argv[], zero_subprocess_done_fn done, void *userdata,
                          struct zero_subprocess **ret);
/* A child still running is killed (SIGKILL) and reaped, at once or, when it cannot die at once
 * (in D state, waiting on a device that does not answer), from the loop once it can: never
 * waited for here. done is not called. NULL-safe. */
struct zero_subprocess *zero_subprocess_free(struct zero_subprocess *c);
