/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
/*
 * What every benchmark in tests/bench needs: a fresh temp dir, a zerod of its own listening on a
 * unix socket there (debug log kept), an HTTP client with one persistent connection, figures
 * (median, nearest-rank p99), and a cleanup that leaves no process, mount or file behind.
 * Functions return -errno; the reason is in b->err, which only main prints.
 */
#include <curl/curl.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "zero/error.h"

#define BENCH_OP_WAIT_S 30

struct bench {
        /* Inputs: the binaries under test and the source tree (deploy/). */
        const char *zerod, *shim, *plugin_dir, *source_dir, *crun;
        char *const *zerod_args; /* more of zerod's options (NULL-terminated), or NULL */
        char tmp[64];                   /* /tmp/zero-bench.XXXXXX, "" until made */
        char *sock, *run_dir, *state_dir, *log;
        pid_t zerod_pid;
        CURL *curl;
        char *body; /* the last answer's body */
        size_t body_len;
        struct zero_error err;
};

#define bench_fail(b, r, ...) zero_error_set(&(b)->err, (r), ZERO_E_INTERNAL, __VA_ARGS__)

void bench_sleep_ms(long ms);
/* "Key:   1234 kB" from /proc/PID/status, in KiB; -1 if unreadable. */
long bench_proc_status_kib(pid_t pid, const char *key);
/* Whether the command line of pid (its arguments joined by spaces, its first 4 KiB) contains s. */
bool bench_proc_names(pid_t pid, const char *s);
/* TMP/name, or NULL. */
char *bench_path(const struct bench *b, const char *name);
/* Runs argv to its end; any exit status but 0 is an error. */
int bench_run(struct bench *b, char *const argv[]);

int bench_tmp_new(struct bench *b);
/* Starts zerod with --log-level debug and config text conf (may be NULL); waits for its API. */
int bench_zerod_start(struct bench *b, const char *conf);
/* Makes a busybox rootfs with deploy/make-busybox-rootfs and imports it as image NAME. */
int bench_image_import(struct bench *b, const char *name);

/* One request on the one persistent connection; the answer must have status want. */
int bench_api(struct bench *b, const char *method, const char *path, const char *json, long want, json_t **ret);
/* An asynchronous call: 202, then long-polls its operation until it succeeded. ret_id (40 bytes)
 * gets the operation's id, ret_accept_usec the time until the 202; both optional. */
int bench_act(struct bench *b, const char *method, const char *path, const char *json, char *ret_id,
              uint64_t *ret_accept_usec);

/* Sorts v; prints "what  median p99 min max" in ms (v in µs); returns the median in µs. */
double bench_stats(const char *what, uint64_t *v, size_t n);
/* Medians of zerod's "Operation ID KIND: step NAME took N µs" log lines of the n operations ids. */
void bench_step_stats(const struct bench *b, char (*ids)[40], size_t n);

/* Deletes every instance through the API, stops zerod, then clears by force what is left (crun
 * containers under crun_roots, processes naming the temp dir, mounts under it) and removes the
 * temp dir. Fails if anything had to be cleared by force or could not be removed. */
int bench_cleanup(struct bench *b, const char *const *crun_roots);
