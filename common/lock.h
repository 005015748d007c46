/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * One zerod per state directory and per run directory (and one card daemon per card's: who is the
 * program's name, the lock file DIR/WHO.lock). A second zerod on the same state would
 * restart the first one's storage daemon, resume its operations a second time and reconcile
 * links and exports it does not own (issue 10, row 14); so each directory carries a lock file,
 * DIR/zerod.lock, held with flock(2) for zerod's whole life and holding its pid. flock rather
 * than a POSIX record lock: the kernel drops it when the process dies however it dies, a fork
 * does not take it away, and flock(1) in deploy/quickstart sees the same lock. The fd is
 * O_CLOEXEC: a shim or a daemon that outlives zerod must never keep the lock.
 */
#include "zero/error.h"

/* Locks dir (which must exist) without waiting and writes our pid into its lock file. -EBUSY
 * when another process holds it, with err naming the holder's pid (from the file) and dir.
 * *ret_fd holds the lock until it is closed (or the process exits). */
int zero_lock_dir(const char *dir, const char *who, int *ret_fd, struct zero_error *err);

/* The state directory's lock and, unless it is the same directory, the run directory's: the
 * first thing zerod (or zero-card) does once it knows them, before it opens the store or the card. */
int zero_lock_dirs(const char *state_dir, const char *run_dir, const char *who, int ret_fds[static 2],
                   struct zero_error *err);
