/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/* Small helpers shared by zerod, zero-shim, zeroctl and the plugins. All return -errno. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/macro.h"

#define USEC_PER_SEC 1000000ULL
#define USEC_PER_MSEC 1000ULL

/* Instance, image and operation names: [a-z0-9][a-z0-9-]{0,62}. */
#define ZERO_NAME_MAX 63
bool zero_name_is_valid(const char *name);

uint64_t zero_now_usec(void);      /* CLOCK_REALTIME */
uint64_t zero_monotonic_usec(void); /* CLOCK_MONOTONIC */
/* Waits (poll(), EINTR retried) until fd has one of events or the deadline (CLOCK_MONOTONIC µs;
 * 0: none) passes: 1 with the events that came in *ret_revents (may be NULL), 0 when the deadline
 * passed first, -errno. Never on an event loop: for the bounded waits of short-lived helpers. */
int zero_fd_wait(int fd, short events, uint64_t deadline, short *ret_revents);
/* "2026-11-25T15:32:07.123Z"; buf must hold 32 bytes. */
char *zero_format_time(uint64_t usec, char buf[static 32]);

/* 32 lowercase hex characters from getrandom(2), NUL-terminated. */
int zero_random_id(char ret[static 33]);

/* Crash-consistent replace: write path.tmp, fsync, rename, fsync the directory. */
int zero_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode);
/* The same without the fsyncs: readers never see a partial file, even if the writer is killed,
 * but a power cut may lose it. For the run directory, which is volatile by design (tmpfs). */
int zero_write_file_replace(const char *path, const void *data, size_t len, mode_t mode);
/* Reads a whole file of at most max bytes (NUL-terminated). -EFBIG if larger. */
int zero_read_file(const char *path, size_t max, char **ret, size_t *ret_len);

int zero_mkdir_p(const char *path, mode_t mode);
/* Removes a tree without crossing into other file systems (mounts are left alone: -EBUSY). */
int zero_rm_rf(const char *path);

/* Lexically: "a/./b//c/" as "a/b/c", "/x/../y" as "/y" ("." and empty components dropped, ".."
 * takes away the component before it, never going above the start); "/" for the root, "" for a
 * relative path of nothing. Symlinks are not looked at. NULL when out of memory. */
char *zero_path_simplify(const char *path);
/* Whether a component of path is "..". */
bool zero_path_has_dotdot(const char *path);
/* n bytes as base64 (RFC 4648, padded), NUL-terminated; NULL on allocation failure. */
char *zero_base64(const void *data, size_t n);

/* asprintf that returns NULL on failure. */
char *zero_strdup_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Appends n bytes of data to the buffer *buf (*len bytes used, *cap allocated), kept
 * NUL-terminated, growing it by doubling (from 256): 0, or -ENOMEM with nothing changed. The
 * caller bounds *len + n. */
int zero_buf_append(char **buf, size_t *len, size_t *cap, const void *data, size_t n);

/* In a forked child: stdin from /dev/null, stdout and stderr to out, no inherited service
 * environment (NOTIFY_SOCKET, LISTEN_FDS) and no blocked signals, then exec argv (PATH searched).
 * Never returns: 127 when the exec fails, with the reason on out. */
_Noreturn void zero_child_exec(char *const *argv, int out);
/* The same with stdin from in (/dev/null when < 0), stdout to out, stderr to err; each of them
 * must be above 2 or already in its place. */
_Noreturn void zero_child_exec_fds(char *const *argv, int in, int out, int err);

/* What a child gets besides (flags of the calls below; 0: nothing). */
enum {
        /*
         * A mount namespace of its own whose /proc is an empty tmpfs, and EXT2FS_NO_MTAB_OK=1: for
         * mkfs.ext4 on a file of ours, which nothing can have mounted. mkfs.ext4 looks for its
         * file among the mounts, and asks every mounted loop device for its backing file on the
         * way (LOOP_GET_STATUS64), which stats that file: a loop device over a FUSE export whose
         * daemon is stopped or hung (the softcard's host-block exports, a container's root on
         * one) held it in D state for as long as that daemon stayed so, and a volume job with it
         * (test_softcard's test_make_beside_stopped). With no mount table it goes on at once.
         * Where the namespace cannot be had (not root), the child runs without it.
         */
        ZERO_CHILD_HIDE_MOUNTS = 1 << 0,
};
_Noreturn void zero_child_exec_flags(char *const *argv, int in, int out, int err, unsigned flags);

/* Runs argv to completion (stdin /dev/null, stdout/stderr captured up to 4 KiB into *ret_output
 * if given). Returns the exit status (>= 0) or -errno if it could not run; 128+signal if killed. */
int zero_run_wait(char *const argv[], char **ret_output);
/* The same, killing and reaping the child if it has not ended within timeout_ms (< 0: never):
 * -ETIMEDOUT then. The end is waited for through a pidfd; without one (kernels before 5.3)
 * only the output is bounded. */
int zero_run_wait_timeout(char *const argv[], int timeout_ms, char **ret_output);
/* The same, the child started with flags (ZERO_CHILD_*). */
int zero_run_wait_flags(char *const argv[], int timeout_ms, unsigned flags, char **ret_output);
/* A bare command name is looked up in $PATH (so that the shim, whose environment may differ,
 * runs the same binary); a name with a slash is kept. -ENOENT when not found. */
int zero_program_resolve(const char *name, char **ret);

/* Blocking-safe writes and reads on fds that may be interrupted. */
int zero_write_all(int fd, const void *buf, size_t len);

/* In a forked child before exec: drop what systemd handed zerod (NOTIFY_SOCKET, WATCHDOG_*,
 * LISTEN_*), which belongs to zerod alone. crun, for one, waits for READY=1 from the container
 * when it finds NOTIFY_SOCKET set, and would hang every start under systemd. */
void zero_unset_service_environment(void);
/* The same as a copy of environ without those variables, for execve() after vfork(). The array
 * is the caller's to free, its strings are environ's. */
char **zero_service_free_environment(void);

/* Files with several names, met while walking a tree: the first name of (dev, ino) in *ret, or
 * NULL when this is the first (it is remembered). *map starts NULL; free it with
 * zero_hardlink_map_free(). */
int zero_hardlink_first(void **map, dev_t dev, ino_t ino, const char *name, const char **ret);
void zero_hardlink_map_free(void *map);

/* Parses a decimal integer in [min, max]. */
int zero_parse_int64(const char *s, int64_t min, int64_t max, int64_t *ret);
