/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * Durability without blocking the loop. What zerod answers 202 for must survive a power cut
 * (store.h: zero_store_sync), but an fsync can take from a millisecond to seconds (a journal
 * commit of the whole filesystem under write load) and nothing may stall the loop that long.
 * A child forked at the start ("zerod-sync") does the fsyncs: zerod asks it by sequence number
 * over a socket pair and goes on; the answer comes back on the loop. It is a group commit: while
 * one fsync runs, the commits made meanwhile wait for the next one, which covers them all.
 *
 * Without the child (it could not be made, or it died) every wait is an fsync on the loop, as
 * before, and says so in the log once.
 */
#include <stdbool.h>

struct zero_agent;
struct zero_durable;

/* Called once what was committed before the wait is on disk (r = 0), or the fsync failed (r < 0:
 * the commit stands, but a power cut may lose it), or zerod goes (r = -ECANCELED). */
typedef void (*zero_durable_fn)(struct zero_agent *a, int r, void *userdata);

/* Forks the child that syncs log_path (the store's write-ahead log; the file may come and go:
 * the child opens it for each fsync, and fsyncs its directory when it is new). */
int zero_durable_new(struct zero_agent *a, const char *log_path, struct zero_durable **ret);
/* Ends the child; waiters still there are called with -ECANCELED. */
struct zero_durable *zero_durable_free(struct zero_durable *d);

/* Calls done(a, r, userdata) once every commit made so far is durable: later, from the loop; or
 * before it returns when there is no child (an fsync on the loop). -ENOMEM: nothing is called. */
int zero_durable_wait(struct zero_durable *d, zero_durable_fn done, void *userdata);
/* Forgets the waits with this userdata (what they were for is going); their done is not called. */
void zero_durable_forget(struct zero_durable *d, void *userdata);
/* Everything waiting made durable now, with an fsync on the loop: for a caller that cannot wait
 * (the HTTP front out of room to park a request). Its waiters are called before it returns. */
void zero_durable_flush(struct zero_durable *d);
/* How many fsyncs the child made, and how many waits they answered (for the log and tests). */
void zero_durable_counts(const struct zero_durable *d, unsigned long long *ret_syncs, unsigned long long *ret_waits);
