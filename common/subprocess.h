/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * A child process watched on an sd-event loop through its pidfd, for card drivers and plugins,
 * which run on zerod's loop but must neither block it (zero_run_wait()) nor touch its signal
 * mask (sd_event_add_child wants SIGCHLD blocked process-wide: the agent's decision, spawn.h).
 * Two kinds: a command (fork + exec), and a call, a function of the caller's run in a forked
 * child for the syscalls that can sleep on somebody else (a FUSE daemon) and must not do so on
 * the loop.
 */
#include <stdint.h>
#include <systemd/sd-event.h>

#include "zero/error.h"

struct zero_subprocess;
/* status: the exit status, 128+signal, -ETIMEDOUT (zero_subprocess_set_timeout()), or -errno;
 * output: the first 4 KiB of its stdout and stderr, NUL-terminated. Called from the loop once
 * the child is reaped and freed. */
typedef void (*zero_subprocess_done_fn)(void *userdata, int status, const char *output);
/* Forks and execs argv (PATH searched; stdin /dev/null; it dies with zerod: PDEATHSIG). */
int zero_subprocess_start(sd_event *e, char *const argv[], zero_subprocess_done_fn done, void *userdata,
                          struct zero_subprocess **ret);
/* The same, the child started with flags (ZERO_CHILD_*, common/util.h). */
int zero_subprocess_start_flags(sd_event *e, char *const argv[], unsigned flags, zero_subprocess_done_fn done,
                                void *userdata, struct zero_subprocess **ret);
/* Kills the child (and ends it, done called) when it has not ended within timeout_usec from now
 * (0: never). */
int zero_subprocess_set_timeout(struct zero_subprocess *c, uint64_t timeout_usec);
/* A child still running is killed (SIGKILL) and reaped, from the loop if it cannot die at once
 * (D state: it goes when what it sleeps on lets it); done is not called. NULL-safe. */
struct zero_subprocess *zero_subprocess_free(struct zero_subprocess *c);

/* A call: fn runs in a forked child (no exec) with the child's copy of arg (nothing it changes
 * comes back) and fills res: r (>= 0 success), err when r < 0, text (a device's path, ...). The
 * child keeps none of the caller's fds (it closes them first), so one stuck in D state holds no
 * lock, socket or connection of zerod's. */
struct zero_subprocess_result {
        int r;
        struct zero_error err;
        char text[64];
};
typedef void (*zero_subprocess_fn)(void *arg, struct zero_subprocess_result *res);
/* Called from the loop with the result; r = -ETIMEDOUT (ZERO_E_TIMEOUT) when it did not end
 * within its timeout (it is killed), -EIO when it died without one. */
typedef void (*zero_subprocess_result_fn)(void *userdata, const struct zero_subprocess_result *res);
/* what: a static name for errors ("the loop device's attach"); timeout_usec: 0 for none. */
int zero_subprocess_call(sd_event *e, const char *what, zero_subprocess_fn fn, void *arg, uint64_t timeout_usec,
                         zero_subprocess_result_fn done, void *userdata, struct zero_subprocess **ret);
